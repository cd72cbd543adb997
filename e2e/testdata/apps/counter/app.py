"""A web process that counts its hits in Redis.

GET / increments the key "hits" of the Redis server at REDIS_URL and
answers "hits N from DYNO". It speaks Redis's wire protocol (RESP) over a
socket itself: the standard library has no Redis client.
"""
import http.server
import os
import socket
import urllib.parse

DYNO = os.environ.get("DYNO", "?")


def command(sock, reader, *args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    sock.sendall(out)
    line = reader.readline().rstrip(b"\r\n")
    if line[:1] == b"-":
        raise RuntimeError(line[1:].decode())
    if line[:1] == b":":
        return int(line[1:])
    return line[1:].decode()


def incr():
    url = urllib.parse.urlsplit(os.environ["REDIS_URL"])
    with socket.create_connection((url.hostname, url.port or 6379), timeout=5) as sock:
        reader = sock.makefile("rb")
        if url.password:
            command(sock, reader, "AUTH", urllib.parse.unquote(url.username or "default"),
                    urllib.parse.unquote(url.password))
        return command(sock, reader, "INCR", "hits")


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        try:
            text, status = "hits %d from %s\n" % (incr(), DYNO), 200
        except Exception as e:  # the test reads the reason
            text, status = "redis: %s\n" % e, 502
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("", int(os.environ["PORT"])), Handler).serve_forever()
