"""A web process that shuts down gracefully.

GET / answers "ok from DYNO vN" (after ?delay=SECONDS, logged when it
starts); GET /health answers 200, or 500 when HEALTH_FAIL=1. BOOT_DELAY
seconds pass before it listens.
On SIGTERM it logs the time, stops accepting connections, lets the requests
in flight finish, logs "drained, exiting" and exits 0.
"""
import http.server
import os
import signal
import sys
import threading
import time
import urllib.parse

DYNO = os.environ.get("DYNO", "?")
RELEASE = os.environ.get("PAAS_RELEASE", "?")


class Handler(http.server.BaseHTTPRequestHandler):
    # HTTP/1.0: one request per connection, so an idle kept-alive
    # connection never holds the process open after SIGTERM.

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/health":
            if os.environ.get("HEALTH_FAIL") == "1":
                self.reply(500, "unhealthy\n")
            else:
                self.reply(200, "healthy\n")
            return
        delay = urllib.parse.parse_qs(url.query).get("delay")
        if delay:
            # Only long delays are logged: tests wait for the line before
            # signalling; the short ones of a load test would flood the log.
            if float(delay[0]) >= 0.5:
                print("delaying a request by %s s" % delay[0], flush=True)
            time.sleep(float(delay[0]))
        self.reply(200, "ok from %s %s\n" % (DYNO, RELEASE))

    def reply(self, status, text):
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    # Handler threads are joined by server_close(): in-flight requests finish.
    daemon_threads = False
    # The default backlog of 5 drops connections under load tests.
    request_queue_size = 128


def main():
    server = None

    def on_term(signum, frame):
        print("got SIGTERM at %.3f" % time.time(), flush=True)
        if server is None:  # still booting: nothing to drain
            print("drained, exiting", flush=True)
            sys.exit(0)
        # shutdown() waits for serve_forever() to return, which runs in this
        # (the main) thread: call it from another one.
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, on_term)
    time.sleep(float(os.environ.get("BOOT_DELAY") or 0))
    server = Server(("", int(os.environ["PORT"])), Handler)
    print("%s %s listening on %s" % (DYNO, RELEASE, os.environ["PORT"]), flush=True)
    server.serve_forever()
    server.server_close()
    print("drained, exiting", flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
