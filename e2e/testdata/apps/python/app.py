import http.server
import os
import sys

VERSION = "one"


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = "%s %s from %s %s\n" % (
            os.environ.get("GREETING", "hello"),
            VERSION,
            os.environ.get("DYNO", "?"),
            os.environ.get("PAAS_RELEASE", "?"),
        )
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        print("served %s for %s" % (self.path, self.headers.get("X-Forwarded-For")), flush=True)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    port = int(os.environ["PORT"])
    print("listening on %d" % port, flush=True)
    sys.stdout.flush()
    http.server.ThreadingHTTPServer(("", port), Handler).serve_forever()
