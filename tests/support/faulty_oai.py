"""A small OAI-PMH provider on 127.0.0.1 that misbehaves on purpose.

It serves real MARC records (as MARCXML) in pages linked by resumption tokens and
injects the faults members' servers really produce: 503 with Retry-After in seconds
or as an HTTP date, 500, a dropped connection, a page cut short, a token it no longer
knows (after a "restart"), the same token forever, and characters XML forbids.

    with FaultyOAI(records, page_size=10, faults={2: "503-seconds"}) as server:
        server.url  ->  http://127.0.0.1:PORT/oai

``faults`` maps the number of a ListRecords request (1-based, counting every
request including retried ones) to a fault; ``restart()`` changes the token epoch
so earlier tokens become bad.
"""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.support import QuietHandler
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

import pymarc

OAI = "http://www.openarchives.org/OAI/2.0/"


class FaultyOAI:
    """The provider; a context manager that serves in a background thread."""

    def __init__(self, records: list[pymarc.Record], *, page_size: int = 10,
                 faults: dict[int, str] | None = None, deleted: set[str] | None = None,
                 granularity: str = "YYYY-MM-DDThh:mm:ssZ", deleted_record: str = "persistent") -> None:
        self.records = records
        self.page_size = page_size
        self.faults = dict(faults or {})
        self.deleted = deleted or set()
        self.granularity = granularity
        self.deleted_record = deleted_record
        self.epoch = 1
        self.requests: list[dict[str, str]] = []
        self.list_requests = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_port}/oai"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FaultyOAI:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def restart(self) -> None:
        """Forget every resumption token handed out so far."""
        self.epoch += 1

    def ids(self) -> set[str]:
        """Return the 001s of the live (not deleted) records."""
        return {r["001"].data.strip() for r in self.records} - self.deleted

    # responses -------------------------------------------------------------------
    def respond(self, params: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        self.requests.append(params)
        verb = params.get("verb", "")
        if verb == "Identify":
            return 200, {}, self._envelope(params, f"""<Identify><repositoryName>faulty</repositoryName>
<baseURL>{self.url}</baseURL><protocolVersion>2.0</protocolVersion>
<adminEmail>x@example.org</adminEmail><earliestDatestamp>2000-01-01T00:00:00Z</earliestDatestamp>
<deletedRecord>{self.deleted_record}</deletedRecord><granularity>{self.granularity}</granularity></Identify>""")
        if verb not in ("ListRecords", "ListIdentifiers"):
            return 200, {}, self._error(params, "badVerb", "no such verb")
        self.list_requests += 1
        fault = self.faults.get(self.list_requests, "")
        if self.faults.get("always") == "slow" or fault == "slow":
            time.sleep(20)  # a member's server that hangs (the client is interrupted meanwhile)
        if fault == "503-seconds":
            return 503, {"Retry-After": "1"}, b"busy"
        if fault == "503-date":
            when = datetime.now(timezone.utc) + timedelta(seconds=1)
            return 503, {"Retry-After": format_datetime(when, usegmt=True)}, b"busy"
        if fault == "429":
            return 429, {"Retry-After": "1"}, b"slow down"
        if fault == "500":
            return 500, {}, b"<html>Internal Server Error</html>"
        if fault == "drop":
            return -1, {}, b""
        token = params.get("resumptionToken")
        cursor = 0
        if token and self.faults.get("always") == "bad-token":
            return 200, {}, self._error(params, "badResumptionToken", "every token is refused")
        if token:
            epoch, _, pos = token.partition(":")
            if epoch != str(self.epoch) or not pos.isdigit():
                return 200, {}, self._error(params, "badResumptionToken", "unknown token")
            cursor = int(pos)
        page = self.records[cursor:cursor + self.page_size]
        if not page:
            return 200, {}, self._error(params, "noRecordsMatch", "nothing")
        nxt = cursor + self.page_size
        if fault == "same-token" or self.faults.get("always") == "same-token":
            nxt = cursor
        body = "".join(self._record(r, verb) for r in page)
        if fault == "invalid-chars":
            body = body.replace("</leader>", "\x0b&#x1;</leader>", 1)
        more = f"<resumptionToken>{self.epoch}:{nxt}</resumptionToken>" if nxt < len(self.records) else ""
        data = self._envelope(params, f"<{verb}>{body}{more}</{verb}>")
        if fault == "truncate":
            return 200, {}, data[: len(data) // 2]
        if fault == "chunked-cut" or self.faults.get("always") == "chunked-cut":
            return -2, {}, data
        return 200, {}, data

    def _record(self, rec: pymarc.Record, verb: str) -> str:
        ident = rec["001"].data.strip()
        stamp = "2020-01-01T00:00:00Z"
        if ident in self.deleted:
            header = f'<header status="deleted"><identifier>oai:faulty:{ident}</identifier><datestamp>{stamp}</datestamp></header>'
            return header if verb == "ListIdentifiers" else f"<record>{header}</record>"
        header = f"<header><identifier>oai:faulty:{ident}</identifier><datestamp>{stamp}</datestamp></header>"
        if verb == "ListIdentifiers":
            return header
        xml = pymarc.record_to_xml(rec, namespace=True).decode("utf-8")
        return f"<record>{header}<metadata>{xml}</metadata></record>"

    def _envelope(self, params: dict[str, str], inner: str) -> bytes:
        attrs = " ".join(f'{k}="{escape(v)}"' for k, v in params.items())
        return (f'<?xml version="1.0" encoding="UTF-8"?><OAI-PMH xmlns="{OAI}">'
                f"<responseDate>{datetime.now(timezone.utc):%Y-%m-%dT%H:%M:%SZ}</responseDate>"
                f"<request {attrs}>{self.url}</request>{inner}</OAI-PMH>").encode("utf-8")

    def _error(self, params: dict[str, str], code: str, text: str) -> bytes:
        return self._envelope(params, f'<error code="{code}">{text}</error>')

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                query = parse_qs(urlsplit(self.path).query)
                status, headers, body = provider.respond({k: v[0] for k, v in query.items()})
                self.reply(status, body, headers)

        return Handler
