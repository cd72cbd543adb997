import http.server, os, sys, threading, time
forked = refused = 0
def forkbomb():
    # Bounded, so that a host without a process cap survives the test.
    global forked, refused
    while forked < 3000:
        try:
            pid = os.fork()
        except OSError:
            refused += 1
            time.sleep(0.01)
            continue
        if pid == 0:
            # Each child spins, from five seconds after its birth (when
            # the bomb has reached its cap) for two minutes at most.
            time.sleep(5)
            end = time.time() + 120
            while time.time() < end:
                pass
            os._exit(0)
        forked += 1
def memory():
    held = []
    print("hog started", flush=True)
    try:
        while len(held) < 128:
            held.append(b"\x01" * (16 << 20))
            print("held %d MB" % (16 * len(held)), flush=True)
    except MemoryError:
        print("allocation refused at %d MB" % (16 * len(held)), flush=True)
        os._exit(1)
    print("hog holds 2048 MB", flush=True)
def logflood():
    block = ("flood " + "x" * 100 + "\n") * 100
    while True:
        sys.stdout.write(block)
def nothing():
    pass
connflood = nothing  # the flood comes from outside
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("forked=%d refused=%d\n" % (forked, refused)).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer(("", int(os.environ["PORT"])), H)
def attack():
    time.sleep(5)  # after the deploy has seen the instance serve
    globals()[sys.argv[1]]()
threading.Thread(target=attack, daemon=True).start()
srv.serve_forever()
