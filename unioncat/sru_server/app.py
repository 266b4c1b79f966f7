"""The SRU server as a plain WSGI application: ``create_app(config)``.

    from unioncat.config.loader import load_config
    from unioncat.sru_server import create_app
    app = create_app(load_config("unioncat.toml"))      # for waitress, gunicorn, ...

Every request gets HTTP 200 with an SRU response; every problem in it is an SRU
diagnostic in that response, including failures of ours (diagnostic 1, with the
details in the server log, never a traceback in the response).  Only a path other
than the base path (404) and a method other than GET, HEAD and POST (405) are HTTP
errors.  Records that cannot be built are replaced by surrogate diagnostics, so one
broken record never spoils a page.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable, Iterable
from urllib.parse import parse_qsl, urlsplit

from lxml import etree

from unioncat import xmlsafe
from unioncat.config import load_config
from unioncat.config.model import Config, ServerConfig
from unioncat.cql import BooleanNode, CQLQuery, Modifier, Node, SearchClause, SortKey, walk
from unioncat.errors import SRUDiagnostic, UnioncatError
from unioncat.index.query import field_for
from unioncat.sru_server.explain import ZEEREX_NS, zeerex
from unioncat.serving.rpn import pqf_to_cql
from unioncat.sru_server.protocol import (FACET_INDEXES, SOAP12_NS, SOAP_NS, SRURequest, XmlNode, add, add_diagnostics,
                                          add_record, diagnostic_element, element, envelope, parse_request,
                                          serialize, version_of)
from unioncat.serving.resources import Resources, make_result_set_id, read_result_set_id

log = logging.getLogger("unioncat.sru")
FACET_NS = "http://docs.oasis-open.org/ns/search-ws/facetedResults"
FACET_NAMES = {"member": "library", "year": "year", "language": "language", "format": "format"}
FACET_LABELS = {"library": "Holding library", "year": "Year", "language": "Language", "format": "Type of record"}
MAX_BODY = 1 << 20
DIAGNOSTIC_SCHEMA = "info:srw/schema/1/diagnostics-v1.1"
StartResponse = Callable[..., Any]


def public_address(server: ServerConfig, environ: dict[str, Any]) -> tuple[str, int, str]:
    """Return (host, port, database path) as clients reach the endpoint: ``server.public_url``
    if set, else the Host header the request carried (the config's port only without one)."""
    if server.public_url:
        url = urlsplit(server.public_url)
        default = 443 if url.scheme == "https" else 80
        return url.hostname or server.host, url.port or default, url.path.strip("/") or server.base_path.strip("/")
    scheme = environ.get("wsgi.url_scheme", "http")
    header = environ.get("HTTP_HOST", "")
    if header:
        url = urlsplit(f"{scheme}://{header}")
        try:
            port = url.port or (443 if scheme == "https" else 80)
        except ValueError:  # a Host header with a port that is no port
            port = int(environ.get("SERVER_PORT") or server.port)
        return url.hostname or server.host, port, server.base_path.strip("/")
    return environ.get("SERVER_NAME") or server.host, int(environ.get("SERVER_PORT") or server.port), \
        server.base_path.strip("/")

class SRUApp:
    """WSGI callable answering SRU explain, searchRetrieve and scan."""

    def __init__(self, cfg: Config, res: Resources | None = None) -> None:
        self.cfg = cfg
        self.server = cfg.server
        self.res = res or Resources(cfg)
        self.base = cfg.server.base_path.rstrip("/") or "/"

    # HTTP ------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "") or "/"
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if (path.rstrip("/") or "/") != self.base:
            return _plain(start_response, "404 Not Found", f"No SRU service here: it is at {self.base}\n")
        if method not in ("GET", "HEAD", "POST"):
            return _plain(start_response, "405 Method Not Allowed", "SRU takes GET and POST\n",
                          [("Allow", "GET, HEAD, POST")])
        started = time.monotonic()
        try:
            body = self.handle(environ, method)
        except (KeyboardInterrupt, SystemExit, GeneratorExit):
            raise
        except BaseException:  # noqa: B036 -- last line of defence (a Rust panic is a BaseException)
            log.exception("SRU request failed: %s", environ.get("QUERY_STRING", "")[:500])
            body = serialize(self.failure(self.server.default_version, "explain",
                                          SRUDiagnostic(1, "", "internal error; see the server log")))
        log.debug("%s %s %.1f ms", method, environ.get("QUERY_STRING", "")[:200],
                  (time.monotonic() - started) * 1000)
        # SOAP 1.2 is answered as application/soap+xml (its media type), all else as text/xml.
        kind = "application/soap+xml" if environ.get("unioncat.soap") == SOAP12_NS else "text/xml"
        start_response("200 OK", [("Content-Type", f"{kind}; charset=utf-8"),
                                  ("Content-Length", str(len(body)))])
        return [b"" if method == "HEAD" else body]

    def handle(self, environ: dict[str, Any], method: str) -> bytes:
        """Return the response document of one request."""
        soap = ""
        pairs = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        if method == "POST":
            try:
                body_pairs, soap = _post_pairs(environ)
            except SRUDiagnostic as diag:
                return serialize(self.failure(self.server.default_version, "explain", diag))
            environ["unioncat.soap"] = soap
            pairs += body_pairs
        try:
            version = version_of(pairs, self.server.default_version)
        except SRUDiagnostic as diag:
            requested = next((v for k, v in pairs if k == "version"), "")
            operation = next((v for k, v in pairs if k == "operation"), "explain")
            operation = operation if operation in ("searchRetrieve", "scan") else "explain"
            return serialize(self.failure("1.2" if requested.startswith("1") else "2.0", operation, diag),
                             soap=soap)
        try:
            req = parse_request(pairs, version, self.server)
            if req.pquery and req.operation == "searchRetrieve":
                req.query = pqf_to_cql(req.pquery)
            elif req.pquery and req.operation == "scan":
                req.scan_clause = pqf_to_cql(req.pquery)
        except SRUDiagnostic as diag:
            operation = next((v for k, v in pairs if k == "operation"), "")
            if operation not in ("searchRetrieve", "scan"):
                operation = "searchRetrieve" if any(k == "query" for k, _ in pairs) else "explain"
            return serialize(self.failure(version, operation, diag), soap=soap)
        if req.operation == "searchRetrieve":
            root = self.search_retrieve(req)
        elif req.operation == "scan":
            root = self.scan(req)
        else:
            root = self.explain(req, environ)
        return serialize(root, req.stylesheet, soap)

    def failure(self, version: str, operation: str, diag: SRUDiagnostic) -> XmlNode:
        """Return a response carrying a fatal diagnostic (an explainResponse must carry the
        explain record too, so a client that reads the record still gets it)."""
        root = envelope(version, operation)
        if operation == "searchRetrieve":
            add(root, "numberOfRecords", 0)
        elif operation == "explain":
            req = SRURequest(version, "explain")
            zr = zeerex(self.server, self.server.host, self.server.port, version)
            add_record(root, req, ZEEREX_NS, zr, 1)
        add_diagnostics(root, version, [diag])
        return root

    # explain ---------------------------------------------------------------------------
    def explain(self, req: SRURequest, environ: dict[str, Any]) -> XmlNode:
        """Return an explainResponse with the ZeeRex record."""
        root = envelope(req.version, "explain")
        host, port, database = public_address(self.server, environ)
        add_record(root, req, ZEEREX_NS, zeerex(self.server, host, port, req.version, database), 1)
        echo = add(root, "echoedExplainRequest")
        add(echo, "version", req.version)
        add(echo, "recordXMLEscaping" if req.version == "2.0" else "recordPacking", req.escaping)
        return root

    # searchRetrieve --------------------------------------------------------------------
    def search_retrieve(self, req: SRURequest) -> XmlNode:
        """Run a query and return a searchRetrieveResponse."""
        root = envelope(req.version, "searchRetrieve")
        try:
            parsed, text, sort_text = self.query(req)
            facets = {FACET_NAMES.get(field_for(index), ""): (index, count) for index, count in req.facets}
            if "" in facets:
                raise SRUDiagnostic(6, "facetLimit", f"facets are available for {', '.join(FACET_INDEXES)}")
            hits = self.res.search(parsed, limit=req.maximum, offset=req.start - 1,
                                   sort=_sort_keys(sort_text), facets=tuple(facets))
            if hits.total and req.maximum and req.start > hits.total:
                raise SRUDiagnostic(61, str(req.start), f"startRecord {req.start} is beyond the "
                                    f"{hits.total} records found")
        except (SRUDiagnostic, UnioncatError) as exc:
            diag = _diagnostic(exc)
            add(root, "numberOfRecords", 0)
            self.echo(root, req)
            add_diagnostics(root, req.version, [diag])
            return root
        add(root, "numberOfRecords", hits.total)
        if hits.total:
            add(root, "resultSetId", make_result_set_id(text, sort_text))
            if req.version != "2.0":
                add(root, "resultSetIdleTime", self.server.result_set_ttl)
        if hits.ids:
            holder = add(root, "records")
            assert req.schema is not None
            built = self.res.render_many(req.schema.name, list(zip(hits.ids, hits.displays)))
            for position, master in enumerate(hits.ids, req.start):
                self.add_hit(holder, req, master, built[master], position)
        if req.start + len(hits.ids) <= hits.total and hits.ids:
            add(root, "nextRecordPosition", req.start + len(hits.ids))
        self.echo(root, req)
        if req.version == "2.0":  # 2.0 puts these after the echo (sruResponse.xsd)
            if hits.total:
                add(root, "resultSetTTL", self.server.result_set_ttl)
            add(root, "resultCountPrecision", "info:srw/vocabulary/resultCountPrecision/1/exact")
            self.add_facets(root, req, facets, hits.facets)
        return root

    def add_facets(self, root: XmlNode, req: SRURequest, asked: dict[str, tuple[str, int]],
                   found: dict[str, dict[str, int]]) -> None:
        """Append SRU 2.0 facetedResults: per facet its terms with counts and drill-down query."""
        holder = None
        for name, (index, count) in asked.items():
            terms = list(found.get(name, {}).items())[:count]
            if not terms:
                continue
            if holder is None:  # the wrapper is sruResponse's, its content facetedResults'
                holder = element(root, root.prefix + "facetedResults", ns=("facet", FACET_NS))
            facet = element(holder, "facet:facet")
            element(facet, "facet:facetDisplayLabel", FACET_LABELS[name])
            element(facet, "facet:index", index)
            box = element(facet, "facet:terms")
            for value, number in terms:
                term = element(box, "facet:term")
                element(term, "facet:actualTerm", value)
                element(term, "facet:query", f'({req.query}) and {index}="{value}"')
                element(term, "facet:count", number)

    def query(self, req: SRURequest) -> tuple[CQLQuery, str, str]:
        """Parse the query, expanding cql.resultSetId clauses; return it, its text and sort keys."""
        parsed = self.res.parse(req.query)
        sort_text = req.sort_keys
        if any(c.index.lower() == "cql.resultsetid" for c in walk(parsed.root)):
            found: dict[str, str] = {}

            def expand(node: Node) -> Node:
                if isinstance(node, BooleanNode):
                    return BooleanNode(node.op, expand(node.left), expand(node.right), node.modifiers)
                if node.index.lower() != "cql.resultsetid":
                    return node
                text, keys = read_result_set_id(node.term.strip(), self.server.result_set_ttl)
                found[node.term] = keys
                return self.res.parse(text).root

            parsed = CQLQuery(expand(parsed.root), parsed.sort, parsed.prefixes)
            if not sort_text and not parsed.sort and len(found) == 1:
                sort_text = next(iter(found.values()))
        if parsed.sort and sort_text:
            raise SRUDiagnostic(80, sort_text, "sort either with sortKeys or with sortBy, not both")
        return parsed, req.query, sort_text

    def add_hit(self, holder: XmlNode, req: SRURequest, master: str, data: etree._Element | str | Exception,
                position: int) -> None:
        """Append one record (built by ``render_many``), or a surrogate diagnostic if it could
        not be built."""
        assert req.schema is not None
        if isinstance(data, SRUDiagnostic):  # e.g. 67: no record in the schema asked for
            add_record(holder, req, DIAGNOSTIC_SCHEMA, diagnostic_element(req.version, data), position)
            return
        if isinstance(data, Exception):
            log.warning("record %s cannot be shown as %s: %s", master, req.schema.name, data)
            diag = SRUDiagnostic(64, master, f"record {master} is unavailable: {data}")
            add_record(holder, req, DIAGNOSTIC_SCHEMA, diagnostic_element(req.version, diag), position)
            return
        add_record(holder, req, req.schema.uri, data, position)

    def echo(self, root: XmlNode, req: SRURequest) -> None:
        """Append echoedSearchRetrieveRequest."""
        echo = add(root, "echoedSearchRetrieveRequest")
        add(echo, "version", req.version)
        add(echo, "query", req.pquery or req.query)  # a PQF query echoed as sent, as Zebra does
        for name in ("startRecord", "maximumRecords"):
            if name in req.params:
                add(echo, name, req.params[name])
        add(echo, "recordXMLEscaping" if req.version == "2.0" else "recordPacking", req.escaping)
        for name in ("recordSchema", "facetLimit", "resultSetTTL", "sortKeys", "stylesheet"):
            if req.params.get(name):
                if name == "facetLimit":
                    add(echo, "facetParameters", f"facetLimit={req.params[name]}")
                else:
                    add(echo, name, req.params[name])

    # scan --------------------------------------------------------------------------
    def scan(self, req: SRURequest) -> XmlNode:
        """Return a scanResponse: terms around the scan clause's term, with counts."""
        root = envelope(req.version, "scan")
        try:
            found = self.scan_terms(req)
        except (SRUDiagnostic, UnioncatError) as exc:
            add_diagnostics(root, req.version, [_diagnostic(exc)])
            return root
        if found:
            terms = add(root, "terms")
            for value, count in found:
                term = add(terms, "term")
                add(term, "value", value)
                add(term, "numberOfRecords", count)
                add(term, "displayTerm", value)
        echo = add(root, "echoedScanRequest")
        if req.version != "2.0":
            add(echo, "version", req.version)
        add(echo, "scanClause", req.scan_clause)
        add(echo, "responsePosition", req.response_position)
        add(echo, "maximumTerms", req.maximum_terms)
        return root

    def scan_terms(self, req: SRURequest) -> list[tuple[str, int]]:
        """Return the terms of a scan request."""
        parsed = self.res.parse(req.scan_clause, max_clauses=1)
        clause = parsed.root
        if not isinstance(clause, SearchClause) or parsed.sort:
            raise SRUDiagnostic(10, req.scan_clause, "a scan clause is one index, relation and term")
        return self.res.scan(clause.index, clause.term, req.response_position, req.maximum_terms)


def _diagnostic(exc: Exception) -> SRUDiagnostic:
    """Return the diagnostic for a failed operation: its own, or 1 with the cause logged."""
    if isinstance(exc, SRUDiagnostic):
        return exc
    log.error("SRU operation failed: %s", exc)
    return SRUDiagnostic(1, "", "the union catalogue's index is not available just now")


def _sort_keys(text: str) -> tuple[SortKey, ...]:
    """Read SRU 1.1 / 2.0 sortKeys: ``path,schema,ascending,caseSensitive,missingValue ...``."""
    keys = []
    for key in text.split():
        parts = key.split(",")
        if not parts[0]:
            raise SRUDiagnostic(80, key, "a sort key needs an index")
        descending = len(parts) > 2 and parts[2] == "0"
        keys.append(SortKey(parts[0], (Modifier("sort.descending"),) if descending else ()))
    return tuple(keys)


def _post_pairs(environ: dict[str, Any]) -> tuple[list[tuple[str, str]], str]:
    """Return the parameters of a POST body (form or SRW SOAP) and the SOAP envelope's
    namespace ("" for a form)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise SRUDiagnostic(6, "Content-Length", "bad Content-Length") from None
    if length > MAX_BODY:
        raise SRUDiagnostic(6, "Content-Length", f"request body larger than {MAX_BODY} bytes")
    body = environ["wsgi.input"].read(length) if length else b""
    kind = environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if kind in ("text/xml", "application/xml", "application/soap+xml") or body.lstrip()[:1] == b"<":
        return _soap_pairs(body)
    return parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True), ""


_SOAP_OPERATIONS = {"searchRetrieveRequest": "searchRetrieve", "scanRequest": "scan",
                    "explainRequest": "explain"}


def _soap_pairs(body: bytes) -> tuple[list[tuple[str, str]], str]:
    try:
        doc = xmlsafe.fromstring(body)
    except etree.XMLSyntaxError as exc:
        raise SRUDiagnostic(1, "", f"the SOAP request is not well-formed XML: {exc}") from None
    if xmlsafe.has_entity(doc):
        raise SRUDiagnostic(6, "", "entity references are not accepted")
    request, soap = doc, SOAP_NS  # a bare SRW request is answered in SOAP 1.1, as before
    if etree.QName(doc).localname == "Envelope":
        soap = SOAP12_NS if etree.QName(doc).namespace == SOAP12_NS else SOAP_NS
        body_elem = doc.find(f"{{{soap}}}Body")
        request = body_elem[0] if body_elem is not None and len(body_elem) else doc
    operation = _SOAP_OPERATIONS.get(etree.QName(request).localname)
    if operation is None:
        raise SRUDiagnostic(4, etree.QName(request).localname, "unknown SRW request")
    pairs = [("operation", operation)]
    for child in request:
        if isinstance(child.tag, str):
            pairs.append((etree.QName(child).localname, (child.text or "").strip()))
    return pairs, soap


def _plain(start_response: StartResponse, status: str, text: str,
           extra: list[tuple[str, str]] | None = None) -> list[bytes]:
    body = text.encode("utf-8")
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"),
                            ("Content-Length", str(len(body)))] + (extra or []))
    return [body]


def create_app(cfg: Config, res: Resources | None = None) -> SRUApp:
    """Return the SRU server's WSGI application for a configuration (sharing ``res``, the
    serving layer, with the other faces if given)."""
    return SRUApp(cfg, res)


def wsgi_app(config_file: str | None = None) -> SRUApp:
    """Return the app for a WSGI server (config from the argument or $UNIONCAT_CONFIG):

        gunicorn -k gthread -w 2 --threads 4 --reuse-port -b 127.0.0.1:8765 \\
            'unioncat.sru_server.app:wsgi_app()'
    """
    return create_app(load_config(config_file))
