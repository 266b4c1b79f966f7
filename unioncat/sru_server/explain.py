"""The ZeeRex explain record, generated from the config and the index mapping.

Every CQL index name the server accepts is listed under the field it searches,
with its context set, the relations it takes and whether it scans and sorts, so an
OPAC that reads explain sees exactly what :mod:`unioncat.index.query` answers.
"""
from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from lxml import etree

from unioncat.config.model import ServerConfig
from unioncat.index.query import INDEXES, NUMERIC, RAW_FIELDS
from unioncat.serving.records import SCHEMAS, sub
from unioncat.serving.resources import NOT_SCANNABLE

ZEEREX_NS = "http://explain.z3950.org/dtd/2.0/"
CONTEXT_SETS = {
    "cql": "info:srw/cql-context-set/1/cql-v1.2",
    "dc": "info:srw/cql-context-set/1/dc-v1.1",
    "bath": "http://zing.z3950.org/cql/bath/2.0/",
    "rec": "info:srw/cql-context-set/2/rec-1.1",
    "local": "info:srw/cql-context-set/15/unioncat-1.0",
}
TITLES = {
    "any": "Any word (every field)", "*": "All records", "title": "Title", "author": "Author, creator, contributor",
    "subject": "Subject", "publisher": "Publisher", "place": "Place of publication", "isbn": "ISBN (10 or 13)",
    "issn": "ISSN", "ids": "Identifiers (LCCN, 035, 024, local number)", "id": "Master record id",
    "year": "Year of publication", "language": "Language (MARC code)", "format": "Type of record (leader/06-07)",
    "member": "Holding member library", "classification": "Classification number", "series": "Series",
    "notes": "Notes", "pinyin": "Title or author in pinyin", "available": "On the shelf now (true, false "
    "or a member code)",
}
SORTABLE = {"year", "title"}


def relations(field: str) -> list[str]:
    """Return the CQL relations an index field answers."""
    if field == "*":
        return ["="]
    if field == "available":
        return ["=", "==", "any"]
    if field in NUMERIC:
        return ["=", "<", "<=", ">", ">=", "<>", "within"]
    if field in RAW_FIELDS:
        return ["=", "==", "any", "all", "<>"]
    return ["=", "==", "adj", "all", "any", "<>"]


def _version() -> str:
    try:
        return version("unioncat")
    except PackageNotFoundError:
        return "0"


def zeerex(cfg: ServerConfig, host: str, port: int, protocol_version: str,
           database: str = "") -> etree._Element:
    """Return the ZeeRex <explain> record for this server."""
    root = etree.Element(f"{{{ZEEREX_NS}}}explain", nsmap={None: ZEEREX_NS})
    z = f"{{{ZEEREX_NS}}}"
    server = sub(root, z + "serverInfo", protocol="SRU", version=protocol_version, transport="http")
    sub(server, z + "host", host)
    sub(server, z + "port", str(port))
    sub(server, z + "database", database or cfg.base_path.strip("/") or "sru")
    db = sub(root, z + "databaseInfo")
    sub(db, z + "title", cfg.title, lang="en", primary="true")
    sub(db, z + "description", cfg.description, lang="en", primary="true")
    impl = sub(db, z + "implementation", identifier="unioncat", version=_version())
    sub(impl, z + "title", "unioncat union catalogue engine")
    info = sub(root, z + "indexInfo")
    for name, uri in CONTEXT_SETS.items():
        sub(info, z + "set", identifier=uri, name=name)
    by_field: dict[str, list[str]] = {}
    for cql_name, target in INDEXES.items():
        if "." in cql_name:
            by_field.setdefault(target, []).append(cql_name)
    for target, names in by_field.items():
        index = sub(info, z + "index", search="true", scan="false" if target in NOT_SCANNABLE else "true",
                    sort="true" if target in SORTABLE else "false")
        sub(index, z + "title", TITLES.get(target, target), lang="en")
        for cql_name in sorted(names, key=lambda n: (n.split(".")[0] != "dc", n)):
            prefix, _, local = cql_name.partition(".")
            sub(sub(index, z + "map"), z + "name", _camel(local), set=prefix)
        conf = sub(index, z + "configInfo")
        for rel in relations(target):
            sub(conf, z + "supports", rel, type="relation")
    search = sub(root, z + "searchInfo")  # OASIS's explain.xsd wants it between indexInfo and schemaInfo
    for example in ("dc.title=history and dc.date>=1990", "bath.possessingInstitution=CITY and local.available=true",
                    "dc.creator=smith sortBy dc.date/sort.descending"):
        sub(search, z + "queryExample", example)
    schemas = sub(root, z + "schemaInfo")
    for schema in SCHEMAS:
        elem = sub(schemas, z + "schema", identifier=schema.uri, name=schema.name, sort="false",
                   retrieve="true")
        sub(elem, z + "title", schema.title, lang="en")
    conf = sub(root, z + "configInfo")
    sub(conf, z + "default", str(cfg.default_records), type="numberOfRecords")
    sub(conf, z + "setting", str(cfg.max_records), type="maximumRecords")
    sub(conf, z + "default", "cql.serverChoice", type="index")
    sub(conf, z + "default", "=", type="relation")
    sub(conf, z + "default", cfg.default_schema, type="retrieveSchema")
    sub(conf, z + "default", cfg.default_version, type="version")
    sub(conf, z + "setting", str(cfg.max_terms), type="maximumTerms")
    sub(conf, z + "setting", str(cfg.result_set_ttl), type="resultSetTTL")
    for feature in ("sort", "resultSets", "recordPacking", "scan"):
        sub(conf, z + "supports", type=feature)
    for key in ("sort.ascending", "sort.descending"):
        sub(conf, z + "supports", key, type="sortModifier")
    return root


_CAMEL = {"serverchoice": "serverChoice", "allrecords": "allRecords", "allindexes": "allIndexes",
          "keytitle": "keyTitle", "uniformtitle": "uniformTitle", "seriestitle": "seriesTitle",
          "personalname": "personalName", "corporatename": "corporateName", "conferencename": "conferenceName",
          "topicalsubject": "topicalSubject", "geographicname": "geographicName",
          "standardidentifier": "standardIdentifier", "localnumber": "localNumber",
          "possessinginstitution": "possessingInstitution"}


def _camel(name: str) -> str:
    return _CAMEL.get(name, name)
