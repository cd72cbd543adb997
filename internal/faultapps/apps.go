// Package faultapps holds the apps the fault tests and the fault
// benchmark deploy: a calm one whose answers show who answered and
// whether it restarted, and a noisy one that attacks its neighbours.
// Both are Python with the standard library only, run as
// `python3 server.py ARG`.
package faultapps

import _ "embed"

// Calm answers every request with "NAME TOKEN", NAME its first argument
// and TOKEN made at its start, so that a restart shows; it prints the
// path of each /mark-N request, for the log tests.
//
//go:embed calm.py
var Calm string

// Noisy serves "forked=N refused=M" on $PORT from one thread (a fork
// bomb leaves it no room for more) and, five seconds after it starts,
// runs the attack its first argument names in another: forkbomb (3000
// forks at most, each child spinning for two minutes), memory (16 MB
// blocks up to 2 GB, printing each), logflood (stdout as fast as it
// goes), or nothing / connflood (the flood comes from outside).
//
//go:embed noisy.py
var Noisy string
