import os
from http.server import BaseHTTPRequestHandler, HTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("dockerfile web, entrypoint ran: %s, mode %s\n" % (
            os.environ.get("ENTRYPOINT_RAN", "no"), os.environ.get("MODE", "-"))).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


HTTPServer(("", int(os.environ.get("PORT", "5000"))), Handler).serve_forever()
