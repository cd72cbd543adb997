import http.server
import os


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        data = ("ready: %s says %s\n" % (os.environ.get("DYNO", "?"), os.environ.get("GREETING", "?"))).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    http.server.ThreadingHTTPServer(("", int(os.environ["PORT"])), Handler).serve_forever()
