#!/bin/sh
# Prepares the environment, then runs the command it was given, as the
# entrypoints of official images do.
set -e
export ENTRYPOINT_RAN=yes
exec "$@"
