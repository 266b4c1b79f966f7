"""An HTTP proxy on 127.0.0.1 that forwards GETs to a real peer and fails some.

    with FlakyProxy("http://127.0.0.1:9999/Default", faults={3: "500"}) as proxy:
        proxy.url   # same path as upstream, on the proxy's port

Faults by request number (1-based): "500", "drop", "truncate"; ``down`` (a set of
request numbers or the string "all") answers 500 to everything while set.
"""
from __future__ import annotations

import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.support import QuietHandler
from urllib.parse import urlsplit


class FlakyProxy:
    """Forward to upstream, failing the requests named in ``faults``."""

    def __init__(self, upstream: str, faults: dict[int, str] | None = None) -> None:
        parts = urlsplit(upstream)
        self.base = f"{parts.scheme}://{parts.netloc}"
        self.faults = dict(faults or {})
        self.count = 0
        self.paths: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_port}{parts.path}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.lock = threading.Lock()

    def __enter__(self) -> FlakyProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:  # noqa: N802
                with proxy.lock:
                    proxy.count += 1
                    fault = proxy.faults.get(proxy.count, proxy.faults.get(0, ""))
                    proxy.paths.append(self.path)
                if fault in ("drop", "500"):
                    self.reply(-1 if fault == "drop" else 500, b"upstream trouble")
                    return
                with urllib.request.urlopen(proxy.base + self.path, timeout=30) as resp:
                    body = resp.read()
                self.reply(200, body[: len(body) // 2] if fault == "truncate" else body)

        return Handler
