import http.server
import os

PORT = int(os.environ.get("PORT", "8000"))


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        data = ("dockerfile app on port %d\n" % PORT).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


print("dockerfile app listening on %d" % PORT, flush=True)
http.server.ThreadingHTTPServer(("", PORT), Handler).serve_forever()
