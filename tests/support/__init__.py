"""Test servers that misbehave on purpose (OAI-PMH faults, an HTTP proxy, a TCP cutter)."""
from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from typing import Any


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that answers with one call and logs nothing."""

    def reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        """Send a whole response; status -1 drops the connection instead, -2 sends the
        first half of the body chunked and then drops the connection (a body cut short)."""
        if status == -2:
            self.protocol_version = "HTTP/1.1"
            self.send_response(200)
            self.send_header("Content-Type", "text/xml; charset=utf-8")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            half = body[: len(body) // 2] or b"<"
            self.wfile.write(f"{len(body):x}\r\n".encode() + half)
            self.wfile.flush()
            self.close_connection = True
            self.connection.close()
            return
        if status < 0:
            self.close_connection = True
            self.connection.close()
            return
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Type", "text/xml; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass
