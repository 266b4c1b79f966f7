"""Call a WSGI app in-process and parse its XML answer (no sockets)."""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode
from wsgiref.util import setup_testing_defaults

from lxml import etree

NS = {"zs": "http://www.loc.gov/zing/srw/", "sru": "http://docs.oasis-open.org/ns/search-ws/sruResponse",
      "scan": "http://docs.oasis-open.org/ns/search-ws/scan",
      "diag": "http://www.loc.gov/zing/srw/diagnostic/", "diag2": "http://docs.oasis-open.org/ns/search-ws/diagnostic",
      "marc": "http://www.loc.gov/MARC21/slim", "zr": "http://explain.z3950.org/dtd/2.0/",
      "dc": "http://purl.org/dc/elements/1.1/", "mods": "http://www.loc.gov/mods/v3",
      "iso": "http://www.loc.gov/standards/iso20775/"}


@dataclass
class Answer:
    """An HTTP answer: status line, headers and body."""

    status: str
    headers: dict[str, str]
    body: bytes
    header_list: list[tuple[str, str]] = field(default_factory=list)  # repeated ones too (Set-Cookie)

    @property
    def xml(self) -> etree._Element:
        return etree.fromstring(self.body)

    def diagnostics(self) -> list[str]:
        """Return the diagnostic URIs of the response (1.x or 2.0)."""
        return [str(u) for u in self.xml.xpath("//diag:uri/text() | //diag2:uri/text()", namespaces=NS)]

    def first(self, xpath: str) -> str:
        found = self.xml.xpath(xpath, namespaces=NS)
        return str(found[0]) if found else ""


def call(app: Any, params: dict[str, str] | list[tuple[str, str]] | None = None, *, method: str = "GET",
         body: bytes = b"", content_type: str = "application/x-www-form-urlencoded",
         path: str = "/sru", query_string: str | None = None, headers: dict[str, str] | None = None,
         environ_extra: dict[str, Any] | None = None) -> Answer:
    """Send one request to a WSGI app (``headers``: extra HTTP headers, e.g. Host; ``environ_extra``:
    other environ keys, e.g. wsgi.url_scheme)."""
    environ: dict[str, Any] = {}
    setup_testing_defaults(environ)
    environ.update({"REQUEST_METHOD": method, "PATH_INFO": path,
                    "QUERY_STRING": query_string if query_string is not None else urlencode(params or {}),
                    "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)),
                    "CONTENT_TYPE": content_type})
    environ.update({"HTTP_" + k.upper().replace("-", "_"): v for k, v in (headers or {}).items()})
    environ.update(environ_extra or {})
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"], seen["headers"], seen["list"] = status, dict(headers), list(headers)

    data = b"".join(app(environ, start_response))
    return Answer(seen["status"], seen["headers"], data, seen["list"])
