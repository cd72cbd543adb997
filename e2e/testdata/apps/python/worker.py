import os
import time

while True:
    print("worker %s tick" % os.environ.get("DYNO"), flush=True)
    time.sleep(1)
