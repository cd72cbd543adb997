import http.server, os, sys
TOKEN = os.urandom(6).hex()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.startswith("/mark-"):
            print(self.path[1:], flush=True)
        body = ("%s %s\n" % (sys.argv[1], TOKEN)).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("", int(os.environ["PORT"])), H).serve_forever()
