"""A loopback HTTP server that serves media the way CDNs do, and misbehaves on request.

Used by the hashing tests and ``bench/bench_hashing.py``. Each path is a ``Route``:
a body (bytes, a file streamed with ``sendfile``, or a chunked stream), a status,
headers, a redirect, or a stall. Every request is recorded (path, headers) so tests
can assert what the client sent and how often.
"""

from __future__ import annotations

import os
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    file: str | None = None  # streamed with sendfile (no copy through Python)
    content_type: str = "application/octet-stream"
    headers: dict[str, str] = field(default_factory=dict)
    location: str | None = None  # sends a redirect (status defaults to 302)
    chunked: bool = False  # Transfer-Encoding: chunked, ``body`` repeated ``repeat`` times
    repeat: int = 1
    content_length: int | None = None  # announce this instead of the real length
    stall_before_headers: float = 0.0
    stall_after_bytes: int | None = None  # send this many body bytes, then stall
    stall_seconds: float = 0.0


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]


class MediaServer:
    """``with MediaServer() as server: server.route("/a.png", Route(body=...))``."""

    def __init__(self, host: str = "127.0.0.1", *, tls: tuple[str, str] | None = None):
        """``tls=(certfile, keyfile)`` serves HTTPS instead of HTTP."""
        self.routes: dict[str, Route] = {}
        self.requests: list[RecordedRequest] = []
        self._stop = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output quiet
                pass

            def do_GET(self):
                server.requests.append(RecordedRequest(self.path, dict(self.headers.items())))
                route = server.routes.get(self.path.split("?", 1)[0])
                if route is None:
                    route = Route(status=404, body=b"not found", content_type="text/plain")
                try:
                    server._serve(self, route)
                except (TimeoutError, BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.request_queue_size = 64
        self.scheme = "http"
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
            self.scheme = "https"
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def route(self, path: str, route: Route) -> str:
        self.routes[path] = route
        return self.url(path)

    def start(self) -> MediaServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> MediaServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _serve(self, handler: BaseHTTPRequestHandler, route: Route) -> None:
        if route.stall_before_headers:
            self._stop.wait(route.stall_before_headers)
        status = route.status
        if route.location is not None and status == 200:
            status = 302
        handler.send_response(status)
        handler.send_header("Content-Type", route.content_type)
        if route.location is not None:
            handler.send_header("Location", route.location)
        for key, value in route.headers.items():
            handler.send_header(key, value)
        if route.chunked:
            handler.send_header("Transfer-Encoding", "chunked")
            handler.end_headers()
            for _ in range(route.repeat):
                if self._stop.is_set():
                    return
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(route.body), route.body))
            handler.wfile.write(b"0\r\n\r\n")
            return
        size = os.path.getsize(route.file) if route.file else len(route.body)
        announced = size if route.content_length is None else route.content_length
        handler.send_header("Content-Length", str(announced))
        handler.end_headers()
        if announced != size:  # a lying length: close after the body so the client sees it
            handler.close_connection = True
        if route.file:
            handler.wfile.flush()
            with open(route.file, "rb") as f:
                handler.connection.sendfile(f)
            return
        body = route.body
        if route.stall_after_bytes is not None:
            handler.wfile.write(body[: route.stall_after_bytes])
            handler.wfile.flush()
            self._stop.wait(route.stall_seconds)
            handler.close_connection = True
            return
        handler.wfile.write(body)


def serving(bodies: dict[str, bytes]) -> MediaServer:
    """A server answering 200 with each path's bytes and 404 elsewhere: ``with serving({...})``."""
    server = MediaServer()
    for path, body in bodies.items():
        server.route(path, Route(body=body))
    return server
