"""The OAI-PMH 2.0 provider of the master records: ``create_app(config, res)`` (WSGI).

Verbs Identify, ListMetadataFormats, ListSets, ListIdentifiers, ListRecords and GetRecord, over
GET and POST (form-encoded).  Formats ``marc21`` (MARCXML of the master record with every
member's holdings as 852 fields, as SRU sends it; CNMARC-only masters through the crosswalk),
``oai_dc`` and ``mods``.  Sets ``member:CODE`` and ``type:WORD``.  Datestamps, deletions and
set membership come from :mod:`unioncat.index.stamps` (written by the nightly index run).

Resumption tokens carry the request and the (datestamp, master id) the page ended with, not
server memory, so a harvest goes on across a server restart or a nightly run; an expired or
malformed one is ``badResumptionToken``.  Every error is one of the protocol's, HTTP 200, with
the request echoed (without attributes for badVerb and badArgument, as the protocol asks).
"""
from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future
import zlib
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable
from urllib.parse import parse_qsl, urlsplit

from lxml import etree

from unioncat.config.model import Config
from unioncat.errors import UnioncatError
from unioncat.index import stamps
from unioncat.serving import Resources
from unioncat.serving.records import MARC_NS, OAI_DC_NS

log = logging.getLogger("unioncat.oai")
StartResponse = Callable[..., Any]
OAI_NS = "http://www.openarchives.org/OAI/2.0/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
ID_NS = "http://www.openarchives.org/OAI/2.0/oai-identifier"
MODS_NS = "http://www.loc.gov/mods/v3"
FORMATS = {  # prefix -> (schema, namespace)
    "marc21": ("http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd", MARC_NS),
    "oai_dc": ("http://www.openarchives.org/OAI/2.0/oai_dc.xsd", OAI_DC_NS),
    "mods": ("http://www.loc.gov/standards/mods/v3/mods-3-7.xsd", MODS_NS),
}
ARGUMENTS = {  # verb -> (required, optional, exclusive)
    "Identify": (set(), set(), None),
    "ListMetadataFormats": (set(), {"identifier"}, None),
    "ListSets": (set(), set(), "resumptionToken"),
    "ListIdentifiers": ({"metadataPrefix"}, {"from", "until", "set"}, "resumptionToken"),
    "ListRecords": ({"metadataPrefix"}, {"from", "until", "set"}, "resumptionToken"),
    "GetRecord": ({"identifier", "metadataPrefix"}, set(), None),
}
TYPE_NAMES = {"book": "Books", "serial": "Serials (journals, newspapers)", "article": "Articles",
              "map": "Maps", "score": "Music scores", "music-recording": "Music recordings",
              "video": "Video", "audiobook": "Audiobooks", "computer-file": "Computer files",
              "picture": "Pictures", "manuscript": "Manuscripts", "kit": "Kits", "object": "Objects",
              "mixed-material": "Mixed materials", "other": "Other materials"}
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SECOND = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
MAX_BODY = 1 << 16
AHEAD = 16  # pages built ahead and not yet asked for, kept at most (one per harvest in progress)
SPLICE = re.compile(rb"<\?unioncat-record (\d+)\?>")
MARC_SCHEMA_LOCATION = f'<record xsi:schemaLocation="{MARC_NS} {FORMATS["marc21"][0]}" '


def _ahead_key(pairs: list[tuple[str, str]], base: str) -> tuple[str, ...] | None:
    """Return the key of a ListRecords request by resumptionToken alone, else None."""
    if len(pairs) == 2 and dict(pairs).get("verb") == "ListRecords" and "resumptionToken" in dict(pairs):
        return (base, dict(pairs)["resumptionToken"])
    return None


class OAIError(Exception):
    """One of the protocol's errors."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class OAIApp:
    """WSGI callable answering OAI-PMH requests at ``oai.base_path``."""

    def __init__(self, cfg: Config, res: Resources) -> None:
        self.cfg = cfg
        self.oai = cfg.oai
        self.res = res
        self.names = {s.id: s.name or s.id for s in cfg.sources}
        self._lock = threading.Lock()
        self._ahead: OrderedDict[tuple[str, ...], Future[tuple[bytes, list[tuple[str, str]]]]] = OrderedDict()

    # HTTP ------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if method not in ("GET", "HEAD", "POST"):
            body = b"OAI-PMH takes GET and POST\n"
            start_response("405 Method Not Allowed", [("Content-Type", "text/plain; charset=utf-8"),
                                                      ("Allow", "GET, HEAD, POST"), ("Content-Length", str(len(body)))])
            return [body]
        started = time.monotonic()
        pairs = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        if method == "POST":
            try:
                length = min(int(environ.get("CONTENT_LENGTH") or 0), MAX_BODY)
            except ValueError:
                length = 0
            pairs += parse_qsl(environ["wsgi.input"].read(length).decode("utf-8", "replace"),
                               keep_blank_values=True)
        try:
            body, following = self.answer(pairs, environ)
        except (KeyboardInterrupt, SystemExit, GeneratorExit):
            raise
        except BaseException:  # noqa: B036 -- an OAI answer, never a traceback
            log.exception("OAI-PMH request failed: %s", environ.get("QUERY_STRING", "")[:500])
            body = b"the OAI-PMH provider failed on this request; see the server log\n"
            start_response("503 Service Unavailable", [("Content-Type", "text/plain; charset=utf-8"),
                                                       ("Retry-After", "60"), ("Content-Length", str(len(body)))])
            return [body]
        if following:
            self.read_ahead(following, environ)
        log.debug("OAI %s %.1f ms", environ.get("QUERY_STRING", "")[:200], (time.monotonic() - started) * 1000)
        start_response("200 OK", [("Content-Type", "text/xml; charset=utf-8"), ("Content-Length", str(len(body)))])
        return [b"" if method == "HEAD" else body]

    def answer(self, pairs: list[tuple[str, str]], environ: dict[str, Any]) -> tuple[bytes, list[tuple[str, str]]]:
        """Return the response document, and the request for the next page of a ListRecords
        (empty if there is none): a page built ahead for this request is taken as it is."""
        key = _ahead_key(pairs, self.base_url(environ))
        if key is not None:
            with self._lock:
                ready = self._ahead.pop(key, None)
            if ready is not None:
                try:
                    return ready.result(timeout=600)
                except Exception:  # noqa: BLE001 -- built anew below, so the error shows in this request
                    log.warning("a page built ahead failed; building it again", exc_info=True)
        return self.build(pairs, environ)

    def build(self, pairs: list[tuple[str, str]], environ: dict[str, Any]) -> tuple[bytes, list[tuple[str, str]]]:
        """Return a response document built now, and the request for its next page."""
        root, splices = self.respond(pairs, environ)
        body = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
        if splices:  # MARCXML built as text goes in as text: no parse, no second serialisation
            body = SPLICE.sub(lambda m: splices[int(m.group(1))].encode("utf-8"), body)
        token = root.findtext(f"{{{OAI_NS}}}ListRecords/{{{OAI_NS}}}resumptionToken")
        return body, ([("verb", "ListRecords"), ("resumptionToken", token)] if token else [])

    def read_ahead(self, pairs: list[tuple[str, str]], environ: dict[str, Any]) -> None:
        """Build the next page of a harvest in a thread of its own while the harvester reads
        this one (most harvesters, Sickle among them, ask for one page at a time).  The token
        still carries everything: a restarted server, or a page not built ahead, answers the
        same; only the latest ``AHEAD`` pages are kept."""
        key = _ahead_key(pairs, self.base_url(environ))
        future: Future[tuple[bytes, list[tuple[str, str]]]] = Future()
        context: dict[str, Any] = {k: environ[k] for k in ("HTTP_HOST", "wsgi.url_scheme") if k in environ}
        with self._lock:
            if key is None or key in self._ahead:
                return
            self._ahead[key] = future
            while len(self._ahead) > AHEAD:
                self._ahead.popitem(last=False)

        def build() -> None:
            try:
                future.set_result(self.build(pairs, context))
            except BaseException as exc:  # noqa: B036 -- handed to the request that takes the page
                future.set_exception(exc)

        threading.Thread(target=build, name="unioncat-oai-ahead", daemon=True).start()

    def base_url(self, environ: dict[str, Any]) -> str:
        """Return the provider's URL as clients reach it (``server.public_url`` if set)."""
        if self.cfg.server.public_url:
            url = urlsplit(self.cfg.server.public_url)
            return f"{url.scheme}://{url.netloc}{self.oai.base_path}"
        host = environ.get("HTTP_HOST") or f"{self.cfg.server.host}:{self.cfg.server.port}"
        return f"{environ.get('wsgi.url_scheme', 'http')}://{host}{self.oai.base_path}"

    def repository(self) -> str:
        if self.oai.repository_identifier:
            return self.oai.repository_identifier
        host = urlsplit(self.cfg.server.public_url or "").hostname or ""
        return host if re.fullmatch(r"[a-zA-Z][a-zA-Z0-9-]*(\.[a-zA-Z][a-zA-Z0-9-]*)+", host) else "unioncat.local"

    def identifier(self, master: str) -> str:
        return f"oai:{self.repository()}:{master}"

    def master_of(self, identifier: str) -> str:
        prefix = f"oai:{self.repository()}:"
        return identifier[len(prefix):] if identifier.startswith(prefix) else ""

    # the response ------------------------------------------------------------------------
    def respond(self, pairs: list[tuple[str, str]], environ: dict[str, Any]) -> tuple[etree._Element, list[str]]:
        """Return the response and the records to splice into it as text."""
        root = etree.Element(f"{{{OAI_NS}}}OAI-PMH", nsmap={None: OAI_NS, "xsi": XSI_NS})
        root.set(f"{{{XSI_NS}}}schemaLocation", f"{OAI_NS} http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd")
        etree.SubElement(root, f"{{{OAI_NS}}}responseDate").text = stamps.stamp_now()
        request = etree.SubElement(root, f"{{{OAI_NS}}}request")
        request.text = self.base_url(environ)
        splices: list[str] = []
        try:
            verb, args = self.arguments(pairs)
            for key, value in [("verb", verb), *sorted(args.items())]:
                request.set(key, value)
            getattr(self, verb)(root, args, splices)
        except OAIError as err:
            if err.code in ("badVerb", "badArgument"):
                request.attrib.clear()
            etree.SubElement(root, f"{{{OAI_NS}}}error", code=err.code).text = err.message
        return root, splices

    def arguments(self, pairs: list[tuple[str, str]]) -> tuple[str, dict[str, str]]:
        """Check the request's arguments against its verb's (raise badVerb, badArgument)."""
        verbs = [v for k, v in pairs if k == "verb"]
        if len(verbs) != 1 or verbs[0] not in ARGUMENTS:
            raise OAIError("badVerb", "no verb given" if not verbs else "the verb is given more than once"
                           if len(verbs) > 1 else f"{verbs[0][:60]!r} is not an OAI-PMH verb")
        verb = verbs[0]
        required, optional, exclusive = ARGUMENTS[verb]
        args: dict[str, str] = {}
        for key, value in pairs:
            if key == "verb":
                continue
            if key in args:
                raise OAIError("badArgument", f"the argument {key} is given more than once")
            if key not in required | optional and key != exclusive:
                raise OAIError("badArgument", f"{verb} takes no argument {key[:40]!r}")
            args[key] = value
        if exclusive and exclusive in args:
            if len(args) > 1:
                raise OAIError("badArgument", f"{exclusive} must be the only argument besides the verb")
            return verb, args
        missing = sorted(required - set(args))
        if missing:
            raise OAIError("badArgument", f"{verb} needs {', '.join(missing)}")
        return verb, args

    # verbs ---------------------------------------------------------------------------------
    def Identify(self, root: etree._Element, args: dict[str, str], splices: list[str]) -> None:
        store = self.res.store()
        node = self._sub(root, "Identify")
        self._sub(node, "repositoryName", self.cfg.server.title)
        self._sub(node, "baseURL", root.find(f"{{{OAI_NS}}}request").text)
        self._sub(node, "protocolVersion", "2.0")
        self._sub(node, "adminEmail", self.oai.admin_email)
        self._sub(node, "earliestDatestamp", store.earliest_stamp() or stamps.stamp_now())
        self._sub(node, "deletedRecord", "persistent")
        self._sub(node, "granularity", "YYYY-MM-DDThh:mm:ssZ")
        description = self._sub(node, "description")
        ident = etree.SubElement(description, f"{{{ID_NS}}}oai-identifier", nsmap={None: ID_NS})
        ident.set(f"{{{XSI_NS}}}schemaLocation", f"{ID_NS} http://www.openarchives.org/OAI/2.0/oai-identifier.xsd")
        for name, value in (("scheme", "oai"), ("repositoryIdentifier", self.repository()), ("delimiter", ":"),
                            ("sampleIdentifier", self.identifier("M0123456789ab"))):
            etree.SubElement(ident, f"{{{ID_NS}}}{name}").text = value

    def ListMetadataFormats(self, root: etree._Element, args: dict[str, str], splices: list[str]) -> None:
        if "identifier" in args:
            self._stamp_of(args["identifier"])
        node = self._sub(root, "ListMetadataFormats")
        for prefix, (schema, namespace) in FORMATS.items():
            entry = self._sub(node, "metadataFormat")
            self._sub(entry, "metadataPrefix", prefix)
            self._sub(entry, "schema", schema)
            self._sub(entry, "metadataNamespace", namespace)

    def ListSets(self, root: etree._Element, args: dict[str, str], splices: list[str]) -> None:
        specs = self.res.store().set_specs()
        position = 0
        if "resumptionToken" in args:
            position = int(self._token(args["resumptionToken"], "ListSets").get("a") or 0)
        node = self._sub(root, "ListSets")
        for spec in specs[position:position + self.oai.page_size]:
            entry = self._sub(node, "set")
            self._sub(entry, "setSpec", spec)
            kind, _, value = spec.partition(":")
            name = f"Held by {self.names.get(value, value)}" if kind == "member" else TYPE_NAMES.get(value, value)
            self._sub(entry, "setName", name)
        following = position + self.oai.page_size
        if following < len(specs) or position:
            token = self._make_token({"v": "ListSets", "a": following}) if following < len(specs) else ""
            self._resumption(node, token, len(specs), position)

    def ListIdentifiers(self, root: etree._Element, args: dict[str, str], splices: list[str]) -> None:
        self._list(root, args, "ListIdentifiers", splices)

    def ListRecords(self, root: etree._Element, args: dict[str, str], splices: list[str]) -> None:
        self._list(root, args, "ListRecords", splices)

    def GetRecord(self, root: etree._Element, args: dict[str, str], splices: list[str]) -> None:
        prefix = self._prefix(args["metadataPrefix"])
        found = self._stamp_of(args["identifier"])
        node = self._sub(root, "GetRecord")
        self._records(node, [found], prefix, True, splices)

    # lists -------------------------------------------------------------------------------
    def _list(self, root: etree._Element, args: dict[str, str], verb: str, splices: list[str]) -> None:
        if "resumptionToken" in args:
            state = self._token(args["resumptionToken"], verb)
        else:
            prefix = self._prefix(args["metadataPrefix"])
            since, until = self._window(args.get("from"), args.get("until"))
            spec = args.get("set") or None
            if spec is not None and not re.fullmatch(r"[A-Za-z0-9\-_.!~*'()]+(:[A-Za-z0-9\-_.!~*'()]+)*", spec):
                raise OAIError("badArgument", f"{spec[:60]!r} is not a setSpec")
            total = self.res.store().stamp_count(since, until, spec)
            if not total:
                raise OAIError("noRecordsMatch", "no record matches these arguments")
            state = {"v": verb, "p": prefix, "f": since, "u": until, "s": spec, "a": None, "c": 0, "n": total}
        store = self.res.store()
        after = tuple(state["a"]) if state["a"] else None
        found = store.stamp_page(state["f"], state["u"], state["s"], after, self.oai.page_size + 1)
        more, found = len(found) > self.oai.page_size, found[:self.oai.page_size]
        if not found and "resumptionToken" in args:
            raise OAIError("badResumptionToken", "this resumptionToken has nothing after it")
        node = self._sub(root, verb)
        self._records(node, found, state["p"], verb == "ListRecords", splices)
        cursor = int(state["c"])
        if more or cursor:
            token = ""
            if more:
                last = found[-1]
                token = self._make_token({**state, "a": [last.stamp, last.master_id], "c": cursor + len(found)})
            self._resumption(node, token, int(state["n"]), cursor)

    def _records(self, node: etree._Element, found: list[stamps.Stamp], prefix: str, with_metadata: bool,
                 splices: list[str]) -> None:
        live = [s.master_id for s in found if not s.deleted]
        displays = self.res.displays(live) if with_metadata and live else {}
        # MARCXML of the whole page at once (a few queries, not three a record)
        texts = self.res.marcxml_texts(displays) if prefix == "marc21" else {}
        for entry in found:
            if not with_metadata:
                self._header(node, entry, deleted=entry.deleted)
                continue
            display = displays.get(entry.master_id)
            record = self._sub(node, "record")
            metadata = None
            if not entry.deleted and display is not None:  # else gone, or (for a moment) between dedup and index
                metadata = self._metadata(prefix, entry.master_id, display, texts, splices)
            self._header(record, entry, deleted=metadata is None)
            if metadata is not None:
                self._sub(record, "metadata").append(metadata)

    def _metadata(self, prefix: str, master: str, display: dict[str, Any], texts: dict[str, str],
                  splices: list[str]) -> etree._Element | None:
        """Return a record's metadata (MARCXML, built as text, as a mark where it goes in), or
        None if it cannot be shown in this format (then it is listed as deleted, and logged)."""
        if prefix == "marc21":
            if master not in texts:  # logged by the serving layer
                return None
            splices.append(texts[master].replace("<record ", MARC_SCHEMA_LOCATION, 1))
            return etree.PI("unioncat-record", str(len(splices) - 1))
        try:
            if prefix == "oai_dc":
                element = self.res.oai_dc(master, display)
                element.set(f"{{{XSI_NS}}}schemaLocation", f"{OAI_DC_NS} {FORMATS['oai_dc'][0]}")
                return element
            element = self.res.render("mods", master, display)
        except (UnioncatError, ValueError, KeyError) as exc:
            log.warning("record %s cannot be shown as %s: %s", master, prefix, exc)
            return None
        element.set(f"{{{XSI_NS}}}schemaLocation", f"{FORMATS[prefix][1]} {FORMATS[prefix][0]}")
        return element

    def _header(self, parent: etree._Element, entry: stamps.Stamp, deleted: bool) -> None:
        header = self._sub(parent, "header")
        if deleted:
            header.set("status", "deleted")
        self._sub(header, "identifier", self.identifier(entry.master_id))
        self._sub(header, "datestamp", entry.stamp)
        for spec in entry.sets:
            self._sub(header, "setSpec", spec)

    def _stamp_of(self, identifier: str) -> stamps.Stamp:
        master = self.master_of(identifier)
        found = self.res.store().master_stamp(master) if master else None
        if found is None:
            raise OAIError("idDoesNotExist", f"{identifier[:100]!r} is not an identifier of this repository")
        return found

    def _prefix(self, prefix: str) -> str:
        if prefix not in FORMATS:
            raise OAIError("cannotDisseminateFormat", f"{prefix[:40]!r} is not one of {', '.join(FORMATS)}")
        return prefix

    def _window(self, since: str | None, until: str | None) -> tuple[str, str]:
        """Return from and until as second-granularity datestamps, inclusive."""
        for name, value in (("from", since), ("until", until)):
            if value is not None and not (DAY.match(value) or SECOND.match(value)):
                raise OAIError("badArgument", f"{name}={value[:40]!r} is not YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ")
            if value is not None:
                try:
                    datetime.strptime(value[:10], "%Y-%m-%d")
                except ValueError:
                    raise OAIError("badArgument", f"{name}={value!r} is no date") from None
        if since and until and len(since) != len(until):
            raise OAIError("badArgument", "from and until must have the same granularity")
        low = (since + "T00:00:00Z" if since and DAY.match(since) else since) or "0000-00-00T00:00:00Z"
        high = (until + "T23:59:59Z" if until and DAY.match(until) else until) or "9999-12-31T23:59:59Z"
        if low > high:
            raise OAIError("badArgument", "from is later than until")
        return low, high

    # tokens ------------------------------------------------------------------------------
    def _make_token(self, state: dict[str, Any]) -> str:
        payload = json.dumps({**state, "t": int(time.time())}, separators=(",", ":")).encode("utf-8")
        return base64.urlsafe_b64encode(zlib.compress(payload, 9)).decode("ascii").rstrip("=")

    def _token(self, token: str, verb: str) -> dict[str, Any]:
        try:
            inflate = zlib.decompressobj()
            raw = inflate.decompress(base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_",
                                                      validate=True), 65536)
            if not inflate.eof or inflate.unused_data or inflate.unconsumed_tail:
                raise ValueError(token)  # cut short, or something after the token
            state = json.loads(raw)
            if not isinstance(state, dict) or state.get("v") != verb:
                raise ValueError(token)
            created = int(state["t"])
            if verb != "ListSets":
                if state["p"] not in FORMATS or not isinstance(state["f"], str) or not isinstance(state["u"], str):
                    raise ValueError(token)
                if state["a"] is not None and not (isinstance(state["a"], list) and len(state["a"]) == 2):
                    raise ValueError(token)
                int(state["c"]), int(state["n"])
        except (ValueError, TypeError, KeyError, zlib.error, UnicodeError):
            raise OAIError("badResumptionToken", "this resumptionToken is not one of ours") from None
        if time.time() - created > self.oai.token_ttl:
            raise OAIError("badResumptionToken", f"this resumptionToken expired (they last {self.oai.token_ttl} s)")
        return state

    def _resumption(self, node: etree._Element, token: str, total: int, cursor: int) -> None:
        element = self._sub(node, "resumptionToken", token)
        element.set("completeListSize", str(total))
        element.set("cursor", str(cursor))
        if token:
            expires = datetime.now(timezone.utc) + timedelta(seconds=self.oai.token_ttl)
            element.set("expirationDate", expires.strftime("%Y-%m-%dT%H:%M:%SZ"))

    @staticmethod
    def _sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
        element = etree.SubElement(parent, f"{{{OAI_NS}}}{name}")
        if text is not None:
            element.text = text
        return element


def create_app(cfg: Config, res: Resources | None = None) -> OAIApp:
    """Return the OAI-PMH provider's WSGI application (sharing ``res`` with the other faces)."""
    return OAIApp(cfg, res or Resources(cfg))
