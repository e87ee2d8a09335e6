"""A loopback HTTP server serving fixed bytes per path, for URL hashing tests.

Real HTTP on 127.0.0.1 (stdlib ``ThreadingHTTPServer`` in a thread). ``routes`` maps a
path to ``(status, body)`` or to a redirect target (``("redirect", location)``); every
request received is recorded in ``requests`` so tests can assert what was fetched.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ByteServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, routes: dict[str, tuple]):
        self.routes = routes
        self.requests: list[str] = []
        super().__init__(("127.0.0.1", 0), _Handler)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


class _Handler(BaseHTTPRequestHandler):
    server: ByteServer

    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):
        self.server.requests.append(self.path)
        route = self.server.routes.get(self.path)
        if route is None:
            route = (404, b"not found")
        if route[0] == "redirect":
            self.send_response(302)
            self.send_header("Location", route[1])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        status, body = route
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def serve_bytes(routes: dict[str, tuple]):
    server = ByteServer(routes)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
