import os
import sys

print("migrating %s with GREETING=%s" % (os.environ.get("PAAS_RELEASE"), os.environ.get("GREETING")))
sys.exit(int(os.environ.get("MIGRATE_EXIT", "3")))
