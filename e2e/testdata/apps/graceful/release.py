"""Release phase: optionally slow (RELEASE_SLEEP seconds), then exits with RELEASE_EXIT."""
import os
import sys
import time

time.sleep(float(os.environ.get("RELEASE_SLEEP") or 0))
print("release phase ran for %s" % os.environ.get("PAAS_RELEASE", "?"), flush=True)
sys.exit(int(os.environ.get("RELEASE_EXIT") or 0))
