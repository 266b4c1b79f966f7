"""SRU 1.1, 1.2 and 2.0: request parameters, their checks, and the response envelopes.

A request is a list of (name, value) pairs from a GET query string, a form-encoded
POST body or an SRW SOAP body.  :func:`parse_request` checks them against the
version's parameter table and raises :class:`~unioncat.errors.SRUDiagnostic` for
the first problem: 4 unsupported operation, 5 unsupported version, 6 unsupported
parameter value (also a repeated parameter), 7 mandatory parameter missing,
8 unsupported parameter, 66 unknown record schema, 71 unsupported record packing,
72 recordXPath, 121 too many scan terms.  Parameters starting with ``x-`` are
ignored, as the standard says.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from unioncat.config.model import ServerConfig
from unioncat.marc.xmltext import SPECIAL, escape
from unioncat.errors import SRUDiagnostic
from unioncat.serving.records import Schema, clean, find_schema

VERSIONS = ("1.1", "1.2", "2.0")
OPERATIONS = ("explain", "searchRetrieve", "scan")
SRW_NS = "http://www.loc.gov/zing/srw/"
SRW_DIAG_NS = "http://www.loc.gov/zing/srw/diagnostic/"
SRU2_NS = "http://docs.oasis-open.org/ns/search-ws/sruResponse"
SRU2_SCAN_NS = "http://docs.oasis-open.org/ns/search-ws/scan"
SRU2_DIAG_NS = "http://docs.oasis-open.org/ns/search-ws/diagnostic"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"  # SOAP 1.1, as SRW began
SOAP12_NS = "http://www.w3.org/2003/05/soap-envelope"

_COMMON = {"operation", "version", "stylesheet"}
_PARAMS: dict[tuple[str, str], set[str]] = {
    ("1", "explain"): {"recordPacking", "extraRequestData"},
    ("2", "explain"): {"recordXMLEscaping", "recordPacking", "httpAccept", "responseType"},
    ("1.1", "searchRetrieve"): {"query", "startRecord", "maximumRecords", "recordPacking", "recordSchema",
                                "recordXPath", "resultSetTTL", "sortKeys", "extraRequestData"},
    ("1.2", "searchRetrieve"): {"query", "startRecord", "maximumRecords", "recordPacking", "recordSchema",
                                "recordXPath", "resultSetTTL", "extraRequestData"},
    ("2", "searchRetrieve"): {"query", "queryType", "startRecord", "maximumRecords", "recordXMLEscaping",
                              "recordPacking", "recordSchema", "resultSetTTL", "sortKeys", "renderedBy",
                              "httpAccept", "responseType", "facetLimit"},
    ("1", "scan"): {"scanClause", "responsePosition", "maximumTerms", "extraRequestData"},
    ("2", "scan"): {"scanClause", "responsePosition", "maximumTerms", "httpAccept", "responseType"},
}


@dataclass
class SRURequest:
    """A checked SRU request."""

    version: str
    operation: str
    params: dict[str, str] = field(default_factory=dict)
    escaping: str = "xml"  # record packing (1.x) / recordXMLEscaping (2.0): xml or string
    stylesheet: str = ""
    query: str = ""
    start: int = 1
    maximum: int = 10
    schema: Schema | None = None
    sort_keys: str = ""
    facets: tuple[tuple[str, int], ...] = ()  # (CQL index, how many terms): SRU 2.0 facetLimit
    scan_clause: str = ""
    pquery: str = ""  # x-pquery / x-pScanClause: PQF instead of CQL, as Zebra takes it
    response_position: int = 1
    maximum_terms: int = 20


def version_of(pairs: list[tuple[str, str]], default: str) -> str:
    """Return the request's version, or raise diagnostic 5 (answered in ``default``)."""
    values = [v for k, v in pairs if k == "version"]
    if not values or values[0].strip() == "":
        return default
    if values[0].strip() not in VERSIONS:
        raise SRUDiagnostic(5, "2.0", f"unsupported version {values[0]!r} (supported: 1.1, 1.2, 2.0)")
    return values[0].strip()


def parse_request(pairs: list[tuple[str, str]], version: str, cfg: ServerConfig) -> SRURequest:
    """Check the parameters of a request whose version is known; raise SRUDiagnostic."""
    params: dict[str, str] = {}
    pqf = {k: v for k, v in pairs if k in ("x-pquery", "x-pScanClause") and v.strip()}
    if "x-pquery" in pqf and not any(k == "query" for k, _ in pairs):
        pairs = [*pairs, ("query", "")]  # filled from the PQF by the app
    if "x-pScanClause" in pqf and not any(k == "scanClause" for k, _ in pairs):
        pairs = [*pairs, ("scanClause", "x")]
    for key, value in pairs:
        if key.startswith("x-"):
            continue
        if key in params:
            raise SRUDiagnostic(6, key, f"parameter {key} given more than once")
        params[key] = value
    operation = params.get("operation", "").strip()
    if not operation:
        # SRU 2.0 has no operation parameter; a bare 1.x base URL is an explain request.
        operation = "searchRetrieve" if "query" in params else "scan" if "scanClause" in params else "explain"
    if operation not in OPERATIONS:
        raise SRUDiagnostic(4, operation, f"unsupported operation {operation!r}")
    family = "2" if version == "2.0" else "1"
    allowed = _COMMON | _PARAMS.get((version, operation), _PARAMS.get((family, operation), set()))
    for key in params:
        if key not in allowed:
            raise SRUDiagnostic(8, key, f"unsupported parameter {key!r} in SRU {version} {operation}")
    req = SRURequest(version, operation, params, stylesheet=params.get("stylesheet", ""),
                     pquery=pqf.get("x-pquery" if operation == "searchRetrieve" else "x-pScanClause", ""))
    if "?>" in req.stylesheet or any(c in req.stylesheet for c in '"<>'):
        raise SRUDiagnostic(6, "stylesheet", "the stylesheet URL has characters it cannot carry")
    req.escaping = _escaping(params, family)
    if operation == "searchRetrieve":
        _search_params(req, params, cfg)
    elif operation == "scan":
        _scan_params(req, params, cfg)
    return req


def _escaping(params: dict[str, str], family: str) -> str:
    name = "recordXMLEscaping" if family == "2" else "recordPacking"
    value = params.get(name, "xml").strip().lower() or "xml"
    if value not in ("xml", "string"):
        raise SRUDiagnostic(71, value, f"unsupported {name} {value!r} (xml or string)")
    if family == "2" and params.get("recordPacking", "packed").strip().lower() not in ("packed", ""):
        raise SRUDiagnostic(71, params["recordPacking"], "only packed records are supported")
    return value


def _number(params: dict[str, str], name: str, default: int, low: int) -> int:
    raw = params.get(name, "").strip()
    if raw == "":
        return default
    if not raw.isdigit() or int(raw) < low or len(raw) > 9:
        raise SRUDiagnostic(6, name, f"{name} must be a whole number of at least {low}, got {raw!r}")
    return int(raw)


def _search_params(req: SRURequest, params: dict[str, str], cfg: ServerConfig) -> None:
    if "query" not in params or not (params["query"] or req.pquery):
        raise SRUDiagnostic(7, "query", "searchRetrieve needs a query")
    req.query = params["query"]
    if params.get("queryType", "cql").strip().lower() not in ("cql", ""):
        raise SRUDiagnostic(6, "queryType", f"unsupported queryType {params['queryType']!r} (cql)")
    req.start = _number(params, "startRecord", 1, 1)
    req.maximum = min(_number(params, "maximumRecords", cfg.default_records, 0), cfg.max_records)
    _number(params, "resultSetTTL", 0, 0)
    if params.get("recordXPath", "").strip():
        raise SRUDiagnostic(72, params["recordXPath"], "XPath retrieval is not supported")
    requested = params.get("recordSchema", "").strip() or cfg.default_schema
    req.schema = find_schema(requested)
    if req.schema is None:
        raise SRUDiagnostic(66, requested, f"unknown record schema {requested!r}")
    req.sort_keys = params.get("sortKeys", "").strip()
    req.facets = _facet_limit(params.get("facetLimit", ""))
    accept = params.get("httpAccept", "").strip().lower()
    if accept and "xml" not in accept and accept != "*/*":
        raise SRUDiagnostic(6, "httpAccept", f"only XML responses are available, not {accept!r}")


FACET_INDEXES = ("bath.possessingInstitution", "dc.date", "dc.language", "dc.type")


def _facet_limit(value: str) -> tuple[tuple[str, int], ...]:
    """Read SRU 2.0 ``facetLimit``: ``count:index`` items separated by commas (a bare
    count applies to every facet index)."""
    out: list[tuple[str, int]] = []
    for item in (i.strip() for i in value.split(",") if i.strip()):
        count, _, index = item.partition(":")
        if not count.strip().isdigit() or not 0 < int(count) <= 100 or len(count.strip()) > 3:
            raise SRUDiagnostic(6, "facetLimit", f"facetLimit wants count:index with a count of 1-100, got {item!r}")
        out.extend((name, int(count)) for name in ([index.strip()] if index.strip() else FACET_INDEXES))
    return tuple(out)


def _scan_params(req: SRURequest, params: dict[str, str], cfg: ServerConfig) -> None:
    if not params.get("scanClause", "").strip():
        raise SRUDiagnostic(7, "scanClause", "scan needs a scanClause")
    req.scan_clause = params["scanClause"]
    req.maximum_terms = _number(params, "maximumTerms", min(20, cfg.max_terms), 1)
    if req.maximum_terms > cfg.max_terms:
        raise SRUDiagnostic(121, str(cfg.max_terms), f"at most {cfg.max_terms} terms per scan")
    raw = params.get("responsePosition", "").strip()
    if raw and not (raw.isdigit() and len(raw) < 10):
        raise SRUDiagnostic(6, "responsePosition", f"responsePosition must be a number, got {raw!r}")
    req.response_position = int(raw) if raw else 1
    if req.response_position > req.maximum_terms + 1:
        raise SRUDiagnostic(120, raw, "responsePosition lies beyond the terms asked for")


# responses -------------------------------------------------------------------------
# A response is written as text from a small tree of :class:`XmlNode` (about 30 elements a
# searchRetrieve of 10 records) with the records' XML text spliced in as it is: building the
# envelope with lxml and serializing it cost more than the search and the records together
# (0.3 ms of 0.8 ms a cold request on 50,000 records, profiled).
def _escape(text: str) -> str:
    text = clean(text)
    text = escape(text) if SPECIAL.search(text) else text
    return text.replace("\r", "&#13;") if "\r" in text else text  # a bare CR would be read back as a line feed


class XmlNode:
    """One element of a response: a prefixed tag (``zs:records``), its escaped text, its
    children (elements, or well-formed XML text written as it is) and a namespace declaration."""

    __slots__ = ("tag", "text", "children", "xmlns")

    def __init__(self, tag: str, text: str = "", xmlns: str = "") -> None:
        self.tag = tag
        self.text = text
        self.children: list[XmlNode | str] = []
        self.xmlns = xmlns  # ' xmlns:zs="..."' on the element that declares its prefix

    @property
    def prefix(self) -> str:
        """The tag's prefix with its colon ("zs:"), or ""."""
        return self.tag[:self.tag.find(":") + 1]

    def write(self, out: list[str]) -> None:
        """Append this element's XML text to ``out``."""
        if not self.children and not self.text:
            out.append(f"<{self.tag}{self.xmlns}/>")
            return
        out.append(f"<{self.tag}{self.xmlns}>{self.text}")
        for child in self.children:
            if isinstance(child, str):
                out.append(child)
            else:
                child.write(out)
        out.append(f"</{self.tag}>")

    def xml(self) -> str:
        """Return this element as XML text."""
        out: list[str] = []
        self.write(out)
        return "".join(out)


def element(parent: XmlNode | None, tag: str, text: str | int | None = None, ns: tuple[str, str] | None = None) -> XmlNode:
    """Return a new element ``tag`` (prefixed), appended to ``parent`` if given; ``ns`` is a
    (prefix, namespace) it declares."""
    node = XmlNode(tag, "" if text is None else _escape(str(text)), f' xmlns:{ns[0]}="{ns[1]}"' if ns else "")
    if parent is not None:
        parent.children.append(node)
    return node


def response_ns(version: str, operation: str) -> str:
    """Return the namespace of a response element."""
    if version != "2.0":
        return SRW_NS
    return SRU2_SCAN_NS if operation == "scan" else SRU2_NS


def envelope(version: str, operation: str) -> XmlNode:
    """Return the empty response element of an operation, with <version> in 1.x."""
    root = element(None, f"zs:{operation}Response", ns=("zs", response_ns(version, operation)))
    if version != "2.0":
        add(root, "version", version)
    return root


def add(parent: XmlNode, name: str, text: str | int | None = None) -> XmlNode:
    """Append a child in the parent's namespace."""
    return element(parent, parent.prefix + name, text)


def diagnostic_element(version: str, diag: SRUDiagnostic) -> XmlNode:
    """Return one <diagnostic> element."""
    elem = element(None, "diag:diagnostic", ns=("diag", SRU2_DIAG_NS if version == "2.0" else SRW_DIAG_NS))
    add(elem, "uri", diag.uri)
    if diag.details:
        add(elem, "details", clean(diag.details)[:500])
    add(elem, "message", clean(diag.message)[:500])
    return elem


def add_diagnostics(root: XmlNode, version: str, diags: list[SRUDiagnostic]) -> None:
    """Append <diagnostics> with each diagnostic."""
    if diags:
        holder = add(root, "diagnostics")
        holder.children.extend(diagnostic_element(version, diag) for diag in diags)


def add_record(parent: XmlNode, req: SRURequest, schema_uri: str, data: XmlNode | etree._Element | str,
               position: int | None) -> None:
    """Append one <record> with the packing the request asked for; ``data`` is an element or
    a record's XML text (well-formed, its characters cleaned).  The record is written as text
    at once, not as five nodes written later: the same bytes, a page of ten records in 24 instead
    of 60 us (measured, envelope and serialisation included)."""
    p = parent.prefix
    text = data.xml() if isinstance(data, XmlNode) else data if isinstance(data, str) \
        else etree.tostring(data, encoding="unicode")
    packing = "recordXMLEscaping" if req.version == "2.0" else "recordPacking"
    where = "" if position is None else f"<{p}recordPosition>{position}</{p}recordPosition>"
    parent.children.append(
        f"<{p}record><{p}recordSchema>{_escape(schema_uri)}</{p}recordSchema>"
        f"<{p}{packing}>{_escape(req.escaping)}</{p}{packing}>"
        f"<{p}recordData>{_escape(text) if req.escaping == 'string' else text}</{p}recordData>{where}</{p}record>")


def serialize(root: XmlNode, stylesheet: str = "", soap: str = "") -> bytes:
    """Return the response document as UTF-8 bytes, in the SOAP envelope (1.1 or 1.2, by its
    namespace) that the request came in, if it came in one."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n']
    if stylesheet:
        out.append(f'<?xml-stylesheet type="text/xsl" href="{stylesheet}"?>\n')
    if soap:
        prefix = "SOAP-ENV" if soap == SOAP_NS else "env"
        out.append(f'<{prefix}:Envelope xmlns:{prefix}="{soap}"><{prefix}:Body>')
        root.write(out)
        out.append(f"</{prefix}:Body></{prefix}:Envelope>")
    else:
        root.write(out)
    return "".join(out).encode("utf-8")
