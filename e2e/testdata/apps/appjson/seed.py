import os

print("seeded the database with %s" % os.environ["GREETING"], flush=True)
