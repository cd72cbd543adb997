"""A web process that answers every request with its app's name.

Fault tests poll several such apps through the router: an answer naming
another app is a request routed to the wrong app's container.
"""
import http.server
import os
import signal
import sys

ANSWER = ("marker:%s\n" % os.environ.get("PAAS_APP", "?")).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(ANSWER)))
        self.end_headers()
        self.wfile.write(ANSWER)

    def log_message(self, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
Server(("", int(os.environ["PORT"])), Handler).serve_forever()
