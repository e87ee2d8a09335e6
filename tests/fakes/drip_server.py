"""A loopback HTTP server that answers slowly: the slow upstreams of the deadline tests.

Paths:

- ``/drip``: 200 with ``Content-Length: 1000000``, then one body byte per ``interval``;
- ``/drip-no-length``: the same without ``Content-Length`` (the body ends at close, so a
  cut connection must not pass for a complete file);
- ``/slow-headers``: the status line and headers one byte per ``interval``;
- ``/busy``: 503 with ``Retry-After: 1``, every time.

Each request is counted per path. A client that goes away ends its handler.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class DripServer:
    def __init__(self, interval: float = 1.0):
        self.interval = interval
        self.hits: Counter[str] = Counter()
        self._stop = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                path = self.path.split("?", 1)[0]
                outer.hits[path] += 1
                try:
                    if path == "/busy":
                        self.send_response(503)
                        self.send_header("Retry-After", "1")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                    elif path == "/slow-headers":
                        head = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"
                        self._drip(head)
                    elif path in ("/drip", "/drip-no-length"):
                        self.send_response(200)
                        self.send_header("Content-Type", "application/octet-stream")
                        if path == "/drip":
                            self.send_header("Content-Length", "1000000")
                        else:
                            self.send_header("Connection", "close")
                        self.end_headers()
                        self._drip(b"x" * 1000000)
                    else:
                        self.send_error(404)
                except OSError:
                    pass  # the client gave up
                self.close_connection = True

            def _drip(self, data: bytes) -> None:
                for i in range(len(data)):
                    if outer._stop.is_set():
                        return
                    self.wfile.write(data[i : i + 1])
                    self.wfile.flush()
                    time.sleep(outer.interval)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> DripServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
