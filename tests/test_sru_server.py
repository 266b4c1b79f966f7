"""The SRU server on the demo consortium: protocol, schemas, holdings, diagnostics.

Most tests call the WSGI app in-process; the interoperability tests start
`unioncat serve` and drive it with yaz-client and with our own SRU harvester.
"""
from __future__ import annotations

import dataclasses
import re
import sqlite3
import subprocess
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest
from click.testing import CliRunner
from lxml import etree

from unioncat.cli import cli
from unioncat.config import load_config
from unioncat.sru_server import create_app
from unioncat.sru_server.app import SRUApp
from tests.peers import need_peers
from unioncat.text import fold
from tests.support.demo_site import assert_harvested_completely, demo_site
from tests.support.serving import unioncat_serve
from tests.support.wsgi import NS, Answer, call

LIANCHENGJUE = "M736a9c241586"  # CITY, DIST (MARC 21) and UNIV (CNMARC) records of one book


@pytest.fixture(scope="module")
def app(site: Path) -> SRUApp:
    return create_app(load_config(str(site)))


def _app_with(site: Path, **server: Any) -> SRUApp:
    cfg = load_config(str(site))
    return create_app(dataclasses.replace(cfg, server=dataclasses.replace(cfg.server, **server)))


def search(app: SRUApp, query: str, version: str = "1.2", **params: str) -> Answer:
    return call(app, {"operation": "searchRetrieve", "version": version, "query": query, **params})


def hits(answer: Answer) -> int:
    found = answer.first("//zs:numberOfRecords/text() | //sru:numberOfRecords/text()")
    assert found != "", answer.body[:500]
    return int(found)


def masters(site: Path, sql: str) -> int:
    with sqlite3.connect(site.parent / "var" / "store.db") as db:
        return int(db.execute(sql).fetchone()[0])


# explain ---------------------------------------------------------------------------------
@pytest.mark.parametrize("version, ns", [("1.1", NS["zs"]), ("1.2", NS["zs"]), ("2.0", NS["sru"])])
def test_explain_describes_indexes_schemas_and_limits(app: SRUApp, version: str, ns: str) -> None:
    answer = call(app, {"operation": "explain", "version": version})
    assert answer.status == "200 OK" and answer.headers["Content-Type"].startswith("text/xml")
    root = answer.xml
    assert root.tag == f"{{{ns}}}explainResponse"
    assert (root.findtext(f"{{{ns}}}version") == version) == (version != "2.0")
    explain = root.find(f".//{{{NS['zr']}}}explain")
    assert explain is not None
    names = {(n.get("set"), n.text) for n in explain.iter(f"{{{NS['zr']}}}name")}
    assert {("bath", "possessingInstitution"), ("local", "available"), ("dc", "title"), ("cql", "serverChoice"),
            ("rec", "id"), ("bath", "isbn"), ("dc", "date")} <= names
    schemas = {s.get("name") for s in explain.iter(f"{{{NS['zr']}}}schema")}
    assert schemas == {"marcxml", "dc", "mods", "opacxml", "isohold", "unimarcxml"}
    settings = {(s.get("type"), s.text) for s in explain.iter(f"{{{NS['zr']}}}setting")}
    assert ("maximumRecords", "100") in settings
    assert explain.findtext(f".//{{{NS['zr']}}}databaseInfo/{{{NS['zr']}}}title") == "Union catalogue"


def test_a_failed_explain_still_carries_the_explain_record(app: SRUApp) -> None:
    for version, ns in (("1.2", NS["zs"]), ("3.0", NS["sru"])):
        answer = call(app, {"operation": "explain", "version": version, "recordPacking": "binary"})
        assert answer.diagnostics() and answer.xml.find(f"{{{ns}}}record") is not None
        assert answer.xml.find(f".//{{{NS['zr']}}}explain") is not None


def test_bare_base_url_is_an_explain_in_the_default_version(app: SRUApp) -> None:
    for path in ("/sru", "/sru/"):
        root = call(app, path=path).xml
        assert root.tag == f"{{{NS['sru']}}}explainResponse"  # no version given: 2.0, as YAZ and Zebra


# searchRetrieve --------------------------------------------------------------------------
def test_paging_positions_and_next_record_position(app: SRUApp, site: Path) -> None:
    total = masters(site, "SELECT count(DISTINCT master_id) FROM clusters")
    first = search(app, "cql.allRecords=1", startRecord="11", maximumRecords="5")
    assert hits(first) == total == 1476
    positions = first.xml.xpath("//zs:recordPosition/text()", namespaces=NS)
    assert positions == ["11", "12", "13", "14", "15"]
    assert first.first("//zs:nextRecordPosition/text()") == "16"
    last = search(app, "cql.allRecords=1", startRecord=str(total - 1), maximumRecords="5")
    assert last.xml.xpath("//zs:recordPosition/text()", namespaces=NS) == [str(total - 1), str(total)]
    assert last.first("//zs:nextRecordPosition/text()") == ""
    default = search(app, "cql.allRecords=1")
    assert len(default.xml.xpath("//zs:record", namespaces=NS)) == 10  # default maximumRecords
    capped = search(app, "cql.allRecords=1", maximumRecords="5000")
    assert len(capped.xml.xpath("//zs:record", namespaces=NS)) == 100  # [server] max_records
    count_only = search(app, "cql.allRecords=1", maximumRecords="0")
    assert hits(count_only) == total and not count_only.xml.xpath("//zs:record", namespaces=NS)


@pytest.mark.parametrize("version", ["1.1", "1.2", "2.0"])
def test_version_specific_envelopes(app: SRUApp, version: str) -> None:
    answer = search(app, "dc.title=lian", version=version, maximumRecords="1")
    ns = NS["sru"] if version == "2.0" else NS["zs"]
    root = answer.xml
    assert root.tag == f"{{{ns}}}searchRetrieveResponse"
    children = [el.tag.split("}")[1] for el in root]
    order_1x = ["version", "numberOfRecords", "resultSetId", "resultSetIdleTime", "records",
                "nextRecordPosition", "echoedSearchRetrieveRequest"]
    order_2 = ["numberOfRecords", "resultSetId", "records", "nextRecordPosition",  # as OASIS sruResponse.xsd
               "echoedSearchRetrieveRequest", "resultSetTTL", "resultCountPrecision"]
    assert children == (order_2 if version == "2.0" else order_1x)
    record = root.find(f".//{{{ns}}}record")
    assert record is not None
    assert [el.tag.split("}")[1] for el in record] == [
        "recordSchema", "recordXMLEscaping" if version == "2.0" else "recordPacking", "recordData",
        "recordPosition"]
    echoed = root.find(f"{{{ns}}}echoedSearchRetrieveRequest")
    assert echoed is not None and echoed.findtext(f"{{{ns}}}query") == "dc.title=lian"


def test_marcxml_carries_an_852_per_item_with_status(app: SRUApp) -> None:
    answer = search(app, f"rec.id={LIANCHENGJUE}")
    assert hits(answer) == 1
    record = answer.xml.find(f".//{{{NS['marc']}}}record")
    assert record is not None
    assert record.findtext(f"{{{NS['marc']}}}controlfield[@tag='001']") == LIANCHENGJUE
    holdings = [{s.get("code"): s.text for s in f} for f in record.findall(f"{{{NS['marc']}}}datafield[@tag='852']")]
    by_member = {h["a"]: h for h in holdings}
    assert set(by_member) == {"CITY", "DIST", "UNIV"}
    assert by_member["CITY"]["9"] == "available" and by_member["CITY"]["z"] == "Available"  # from the feed
    assert by_member["CITY"]["p"] == "CITY31000002" and by_member["CITY"]["h"] == "PL2848.Y8 L5 2000"
    assert all(h.get("9") for h in holdings)


def test_marcxml_holdings_per_member(site: Path) -> None:
    app = _app_with(site, holdings="member")
    record = search(app, f"rec.id={LIANCHENGJUE}").xml.find(f".//{{{NS['marc']}}}record")
    assert record is not None
    holdings = {f.findtext(f"{{{NS['marc']}}}subfield[@code='a']"): f.findtext(f"{{{NS['marc']}}}subfield[@code='z']")
                for f in record.findall(f"{{{NS['marc']}}}datafield[@tag='852']")}
    assert holdings["CITY"] == "1 of 1 copies available" and set(holdings) == {"CITY", "DIST", "UNIV"}


def test_dc_mods_opacxml_and_isohold(app: SRUApp) -> None:
    def data(schema: str) -> Any:
        answer = search(app, f"rec.id={LIANCHENGJUE}", recordSchema=schema)
        holder = answer.xml.find(f".//{{{NS['zs']}}}recordData")
        assert holder is not None and len(holder) == 1, answer.body[:800]
        return holder[0]

    dc = data("dc")
    # the title in its own script first, then romanised (ISBD " /" chopped)
    assert [t.text for t in dc.findall(f"{{{NS['dc']}}}title")][:2] == ["連城訣", "Lian cheng jue"]
    assert "URN:ISBN:9573229315" in [e.text for e in dc.findall(f"{{{NS['dc']}}}identifier")]
    mods = data("info:srw/schema/1/mods-v3.6")
    assert mods.tag == f"{{{NS['mods']}}}mods"
    assert "連城訣" in [t.text for t in mods.iter(f"{{{NS['mods']}}}title")]
    opac = data("opacxml")
    assert opac.tag == "opacRecord" and opac.find(f"bibliographicRecord/{{{NS['marc']}}}record") is not None
    now = {h.findtext("nucCode"): [c.find("availableNow").get("value") for c in h.iter("circulation")]
           for h in opac.iter("holding")}
    assert now["CITY"] == ["1"] and now["DIST"] == ["0"]
    iso = data("isohold")
    counts = {h.findtext(f"{{{NS['iso']}}}institutionIdentifier/{{{NS['iso']}}}value"):
              h.findtext(f".//{{{NS['iso']}}}availableCount") for h in iso.findall(f"{{{NS['iso']}}}holding")}
    assert counts == {"CITY": "1", "UNIV": "0", "DIST": "0"}  # only CITY sent a feed


def test_string_packing_and_escaping(app: SRUApp) -> None:
    for version, name in (("1.2", "recordPacking"), ("2.0", "recordXMLEscaping")):
        answer = search(app, f"rec.id={LIANCHENGJUE}", version=version, **{name: "string"})
        ns = NS["sru"] if version == "2.0" else NS["zs"]
        record = answer.xml.find(f".//{{{ns}}}recordData")
        assert record is not None and len(record) == 0
        assert (record.text or "").startswith("<record xmlns=\"http://www.loc.gov/MARC21/slim\"")


def test_what_a_response_echoes_is_escaped(app: SRUApp) -> None:
    """The response is written as text: the echoed query, an unknown parameter's name in a
    diagnostic and a string-packed record keep their <, &, > and CR, and lose only the
    characters XML cannot carry."""
    query = 'dc.title="fish & <chips>\r\x01" and dc.title=lian'
    for version in ("1.2", "2.0"):
        answer = search(app, query, version=version)
        assert answer.first("//zs:echoedSearchRetrieveRequest/zs:query/text() | "
                            "//sru:echoedSearchRetrieveRequest/sru:query/text()") == query.replace("\x01", "")
    bad = call(app, {"operation": "searchRetrieve", "version": "1.2", "query": "x", "<&>": "1"})
    assert bad.diagnostics() == ["info:srw/diagnostic/1/8"]
    assert bad.first("//diag:details/text()") == "<&>" and "<&>" in bad.first("//diag:message/text()")


def test_stylesheet_is_echoed_and_x_parameters_ignored(app: SRUApp) -> None:
    answer = search(app, "dc.title=lian", stylesheet="/static/sru.xsl", **{"x-foo": "bar"})
    assert b'<?xml-stylesheet type="text/xsl" href="/static/sru.xsl"?>' in answer.body
    assert answer.diagnostics() == [] and hits(answer) == 4


def test_sorting_by_sortkeys_and_sortby(app: SRUApp) -> None:
    def years(answer: Answer) -> list[str]:
        return [str(v)[7:11] for v in answer.xml.xpath("//marc:controlfield[@tag='008']/text()", namespaces=NS)]

    by_keys = years(search(app, "dc.subject=history", version="1.1", sortKeys="dc.date,,0", maximumRecords="20"))
    by_cql = years(search(app, "dc.subject=history sortBy dc.date/sort.descending", maximumRecords="20"))
    assert by_keys == by_cql and len(by_keys) == 20
    assert sorted(by_keys, reverse=True) == by_keys
    diag = search(app, "dc.subject=history", version="1.2", sortKeys="dc.date,,0")
    assert diag.diagnostics() == ["info:srw/diagnostic/1/8"]  # sortKeys left SRU in 1.2


def test_sru2_facets_count_what_their_drill_down_queries_find(app: SRUApp) -> None:
    answer = call(app, {"version": "2.0", "query": "dc.subject=history", "maximumRecords": "0",
                        "facetLimit": "4:bath.possessingInstitution,3:dc.date"})
    facet_ns = "http://docs.oasis-open.org/ns/search-ws/facetedResults"
    wrapper = answer.xml.find(f"{{{NS['sru']}}}facetedResults")
    assert wrapper is not None
    facets = {f.findtext(f"{{{facet_ns}}}index"): [(t.findtext(f"{{{facet_ns}}}query"),
                                                    int(t.findtext(f"{{{facet_ns}}}count") or 0))
                                                   for t in f.iter(f"{{{facet_ns}}}term")]
              for f in wrapper.iter(f"{{{facet_ns}}}facet")}
    assert set(facets) == {"bath.possessingInstitution", "dc.date"} and len(facets["dc.date"]) == 3
    assert [q.split('"')[1] for q, _ in facets["bath.possessingInstitution"]] == ["CITY", "DIST", "UNIV", "VILL"]
    for index, terms in facets.items():
        for query, count in terms:
            assert hits(search(app, query, version="2.0", maximumRecords="0")) == count, query
    assert search(app, "a", version="2.0", facetLimit="5:dc.title").diagnostics() == ["info:srw/diagnostic/1/6"]
    assert search(app, "a", version="1.2", facetLimit="5").diagnostics() == ["info:srw/diagnostic/1/8"]


def test_result_sets_can_be_searched_again(app: SRUApp) -> None:
    first = search(app, "dc.subject=history")
    rsid = first.first("//zs:resultSetId/text()")
    assert rsid
    again = search(app, f'cql.resultSetId="{rsid}"')
    assert hits(again) == hits(first)
    narrowed = search(app, f'cql.resultSetId="{rsid}" and dc.date>=2000')
    assert 0 < hits(narrowed) < hits(first)
    assert search(app, 'cql.resultSetId="rBOGUS"').diagnostics() == ["info:srw/diagnostic/1/51"]


def test_a_result_set_id_carries_a_long_query_and_ids_made_before() -> None:
    """Ids are deflated with a small window: a query longer than the window (4,000 characters,
    CJK and quotes) comes back whole, and an id made as before (zlib.compress) is still read."""
    import base64
    import json
    import time
    import zlib

    from unioncat.serving.resources import make_result_set_id, read_result_set_id

    query = " or ".join(f'dc.title="連城訣 {n} \\"q\\""' for n in range(200))
    assert len(query) > 4000
    assert read_result_set_id(make_result_set_id(query, "year,,0"), 60) == (query, "year,,0")
    before = zlib.compress(json.dumps([int(time.time()), "dc.title=war", ""]).encode("utf-8"), 9)
    assert read_result_set_id("r" + base64.urlsafe_b64encode(before).decode("ascii").rstrip("="), 60) \
        == ("dc.title=war", "")


def test_holdings_filters_and_availability_without_reindex(site: Path) -> None:
    app = _app_with(site, availability_cache=0)
    vill = masters(site, "SELECT count(DISTINCT c.master_id) FROM clusters c JOIN records r ON r.id=c.record_id"
                         " WHERE r.source='VILL' AND r.deleted=0")
    assert hits(search(app, "bath.possessingInstitution=VILL")) == vill == hits(search(app, "local.member=vill"))
    anywhere = hits(search(app, "local.available=true"))
    at_univ = hits(search(app, "dc.title=lian and local.available=UNIV"))
    assert anywhere == masters(site, "SELECT count(DISTINCT c.master_id) FROM clusters c JOIN items i ON"
                                     " i.record_id = c.record_id LEFT JOIN availability a ON a.item_id = i.item_id"
                                     " WHERE coalesce(a.status, i.status) = 'available'")
    assert at_univ == 0
    assert hits(search(app, "cql.allRecords=1 not local.available=true")) == 1476 - anywhere
    feed = site.parent / "univ.csv"
    feed.write_text("barcode,status\nENU-20001,available\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(site), "availability", "load", "UNIV", str(feed)])
    assert result.exit_code == 0, result.output
    assert hits(search(app, "dc.title=lian and local.available=UNIV")) == 1  # no reindex in between
    assert hits(search(app, "local.available=true")) == anywhere  # it was on the shelf at CITY already


def test_post_form_and_soap_answer_like_get(app: SRUApp) -> None:
    get = hits(search(app, "dc.title=lian"))
    form = call(app, method="POST", body=b"operation=searchRetrieve&version=1.2&query=dc.title%3Dlian")
    assert hits(form) == get
    soap = (b'<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Body>'
            b'<SRW:searchRetrieveRequest xmlns:SRW="http://www.loc.gov/zing/srw/"><SRW:version>1.1</SRW:version>'
            b'<SRW:query>dc.title=lian</SRW:query><SRW:maximumRecords>1</SRW:maximumRecords>'
            b'</SRW:searchRetrieveRequest></SOAP-ENV:Body></SOAP-ENV:Envelope>')
    answer = call(app, method="POST", body=soap, content_type="text/xml")
    assert answer.xml.tag.endswith("Envelope") and hits(answer) == get


def test_hostile_soap_bodies_are_refused_without_harm(app: SRUApp) -> None:
    xxe = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           b'<searchRetrieveRequest><query>&x;</query></searchRetrieveRequest>')
    answer = call(app, method="POST", body=xxe, content_type="text/xml")
    assert answer.status == "200 OK" and b"root:" not in answer.body and answer.diagnostics()
    laughs = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;">'
              b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]><searchRetrieveRequest><query>&c;</query>'
              b'</searchRetrieveRequest>')
    answer = call(app, method="POST", body=laughs, content_type="text/xml")
    assert answer.status == "200 OK" and answer.diagnostics()
    big = call(app, method="POST", body=b"query=" + b"a" * (2 << 20))
    assert big.diagnostics() == ["info:srw/diagnostic/1/6"]


def test_http_level_answers(app: SRUApp) -> None:
    assert call(app, path="/elsewhere").status.startswith("404")
    answer = call(app, method="DELETE")
    assert answer.status.startswith("405") and answer.headers["Allow"] == "GET, HEAD, POST"
    head = call(app, {"operation": "explain"}, method="HEAD")
    assert head.status == "200 OK" and head.body == b"" and int(head.headers["Content-Length"]) > 1000


# scan --------------------------------------------------------------------------------------
def test_scan_terms_counts_and_positions(app: SRUApp) -> None:
    def scan(clause: str, **params: str) -> list[tuple[str, int]]:
        answer = call(app, {"operation": "scan", "version": "1.2", "scanClause": clause, **params})
        assert answer.diagnostics() == [], answer.body[:500]
        return [(t.findtext(f"{{{NS['zs']}}}value"), int(t.findtext(f"{{{NS['zs']}}}numberOfRecords") or 0))
                for t in answer.xml.iter(f"{{{NS['zs']}}}term")]

    # titles, names and subjects are browsed as whole headings (two-character index pieces before),
    # sorted and matched folded, shown as catalogued; == finds exactly a heading's records
    terms = scan("dc.title=lian", maximumTerms="6")
    assert terms[0][0] == "Lian cheng jue" and len(terms) == 6
    assert [fold(t) for t, _ in terms] == sorted(fold(t) for t, _ in terms)
    for term, count in terms:
        assert hits(search(app, f'dc.title=="{term}"', maximumRecords="0")) == count
    around = scan("dc.title=lian", maximumTerms="6", responsePosition="3")
    assert around[2][0] == "Lian cheng jue" and around[3:] == terms[1:4]
    after = scan("dc.title=lian", maximumTerms="3", responsePosition="0")
    assert after == terms[:3]  # "lian" is no heading itself: the list starts after where it would be
    members = scan("bath.possessingInstitution=a", maximumTerms="10")
    assert [t for t, _ in members] == ["CITY", "DIST", "UNIV", "VILL"]
    v2 = call(app, {"operation": "scan", "version": "2.0", "scanClause": "dc.title=lian"}).xml
    assert v2.tag == f"{{{NS['scan']}}}scanResponse" and len(list(v2.iter(f"{{{NS['scan']}}}term"))) == 20


# diagnostics -------------------------------------------------------------------------------
SR = {"operation": "searchRetrieve", "version": "1.2"}
SCAN = {"operation": "scan", "version": "1.2"}
DIAGNOSTICS = [
    (4, {"operation": "update", "version": "1.2"}),
    (5, {"operation": "explain", "version": "3.0"}),
    (6, {**SR, "query": "a", "startRecord": "abc"}),
    (6, {**SR, "query": "a", "maximumRecords": "-1"}),
    (7, {**SR}),
    (7, {**SCAN}),
    (8, {**SR, "query": "a", "frobnicate": "1"}),
    (10, {**SR, "query": "((("}),
    (10, {**SR, "query": "a and"}),
    (10, {**SR, "query": "(" * 40 + "a" + ")" * 40}),
    (10, {**SR, "query": " and ".join(["a"] * 40)}),
    (10, {**SR, "query": "a" * 3000}),
    (13, {**SR, "query": "dc.title=a*"}),
    (14, {**SR, "query": 'dc.title="unbalanced'}),
    (15, {**SR, "query": "foo.bar=x"}),
    (16, {**SR, "query": "dc.foo=x"}),
    (19, {**SR, "query": "dc.title>x"}),
    (20, {**SR, "query": "dc.title =/stem running"}),
    (27, {**SR, "query": 'dc.title=""'}),
    (28, {**SR, "query": "bath.isbn=978*"}),
    (37, {**SR, "query": "a prox b"}),
    (51, {**SR, "query": 'cql.resultSetId="nosuchset"'}),
    (61, {**SR, "query": "dc.title=lian", "startRecord": "99"}),
    (66, {**SR, "query": "a", "recordSchema": "info:srw/schema/1/nonsense"}),
    (71, {**SR, "query": "a", "recordPacking": "binary"}),
    (72, {**SR, "query": "a", "recordXPath": "/record"}),
    (80, {**SR, "query": "a sortBy dc.subject"}),
    (120, {**SCAN, "scanClause": "dc.title=a", "maximumTerms": "5", "responsePosition": "9"}),
    (121, {**SCAN, "scanClause": "dc.title=a", "maximumTerms": "500"}),
    (16, {**SCAN, "scanClause": "local.notes=a"}),
    (10, {**SCAN, "scanClause": "dc.title=a and dc.title=b"}),
]


@pytest.mark.parametrize("number, params", DIAGNOSTICS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(DIAGNOSTICS)])
def test_every_bad_request_gets_its_diagnostic(site: Path, number: int, params: dict[str, str]) -> None:
    app = _app_with(site, max_clauses=32)
    answer = call(app, params)
    assert answer.status == "200 OK"
    assert answer.diagnostics() == [f"info:srw/diagnostic/1/{number}"], answer.body[:600]
    message = answer.first("//diag:message/text() | //diag2:message/text()")
    assert message and "Traceback" not in message


def test_a_missing_index_is_diagnostic_1_not_a_500(site: Path, tmp_path: Path) -> None:
    cfg = load_config(str(site))
    app = create_app(dataclasses.replace(cfg, index=dataclasses.replace(cfg.index, path=str(tmp_path / "none"))))
    answer = search(app, "dc.title=lian")
    assert answer.status == "200 OK" and answer.diagnostics() == ["info:srw/diagnostic/1/1"]
    assert str(tmp_path) not in answer.body.decode()  # paths stay in the log


def test_whoosh_engine_answers_the_same(tmp_path_factory: pytest.TempPathFactory, app: SRUApp) -> None:
    other = create_app(load_config(str(demo_site(tmp_path_factory.mktemp("sru-whoosh"), "whoosh"))))
    for query in ("dc.title=lian", "dc.subject=history and dc.date>=1990", "bath.possessingInstitution=UNIV",
                  "local.available=true", "cql.allRecords=1 not dc.title=history"):
        assert hits(search(other, query)) == hits(search(app, query)), query
    scan = {"operation": "scan", "version": "1.2", "scanClause": "dc.creator=smith", "maximumTerms": "5"}
    assert call(other, scan).body.split(b"<zs:echoed")[0] == call(app, scan).body.split(b"<zs:echoed")[0]


# the real server: yaz-client and our own harvester ---------------------------------------------
@pytest.fixture(scope="module")
def served(site: Path) -> Iterator[str]:
    with unioncat_serve(site) as url:
        yield url


@pytest.mark.parametrize("method", ["get", "post", "soap"])
@pytest.mark.parametrize("version", ["1.1", "1.2", "2.0"])
def test_yaz_client_drives_the_server(served: str, version: str, method: str) -> None:
    check = need_peers() / "yaz-sru-check.sh"
    out = subprocess.run([str(check), "-V", version, "-m", method, "-q", "dc.title=lian", "-n", "4",
                          "-s", "marcxml", "-S", "dc.title=lian", served], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "PASS search: 4 hits" in out.stdout and "PASS scan: 20 terms" in out.stdout
    negative = subprocess.run([str(check), "-x", "-V", version, "-m", method, "-q", "dc.title>x", served],
                              capture_output=True, text=True, timeout=60)
    assert negative.returncode == 0 and "info:srw/diagnostic/1/19" in negative.stdout, negative.stdout


def test_contract_serve_lines(served: str) -> None:
    explain = urllib.request.urlopen(served + "?operation=explain&version=1.2", timeout=10).read()
    assert b"explain" in explain
    with urllib.request.urlopen(served + "?operation=searchRetrieve&version=1.2&query=(((", timeout=10) as resp:
        assert resp.status == 200 and b"info:srw/diagnostic/1/" in resp.read()


@pytest.mark.parametrize("version", ["1.2", "2.0"])
def test_our_harvester_harvests_our_server_completely(served: str, site: Path, tmp_path: Path,
                                                      write_config: Any, run_cli: Any, version: str) -> None:
    cfg = write_config({"id": "UNION", "type": "sru", "url": served, "sru_version": version, "page_size": 97,
                        "holdings": "852"})
    result = run_cli(cfg, "harvest", "UNION", "--json")
    assert result.exit_code == 0, result.output
    assert_harvested_completely(site, tmp_path / "store.db")


def test_isohold_uses_the_element_paths_alma_sends(app: SRUApp, shared_data: Path) -> None:
    """Every element path of our ISO 20775 records occurs in a real Alma isohold response
    (Beijing Normal University's SRU), so OPACs that read Alma's read ours."""
    from lxml import etree

    def paths(root: Any) -> set[str]:
        out = set()
        for el in root.iter():
            parts = []
            while el is not root:
                parts.append(etree.QName(el).localname)
                el = el.getparent()
            out.add("/".join(reversed(parts)))
        return out

    real = etree.parse(str(shared_data / "cnmarc-dp2-bnu-alma-sru" / "sample_isohold.xml")).getroot()
    theirs = set().union(*(paths(h) for h in real.iter("{http://www.loc.gov/standards/iso20775/}holdings")))
    answer = search(app, f"rec.id={LIANCHENGJUE}", recordSchema="isohold")
    ours = paths(answer.xml.find(f".//{{{NS['iso']}}}holdings"))
    assert len(ours) > 15 and ours - theirs == {"holding/holdingSimple/copyInformation/note"}  # ISO 20775 has note


def test_prefix_block_scans_equal_the_whole_term_list(app: SRUApp) -> None:
    from unioncat.index.engine import terms_window

    engine = app.res.engine()
    for field in ("title", "author", "any", "member"):
        whole = engine.all_terms(field)
        starts = [whole[i][0] for i in range(0, len(whole), max(1, len(whole) // 25))] + ["a", "m", "zzzz", "連"]
        for start in starts:
            for before, count in ((0, 20), (4, 10), (19, 20)):
                found = engine.terms(field, start, count, before, whole=False)
                if found is not None:
                    assert found == terms_window(whole, start, before, count), (field, start, before)
    whole_any = engine.all_terms("any")
    assert len(whole_any) > 1000
    assert app.res.scan("cql.serverChoice", "zzzz", 1, 5) == terms_window(whole_any, "zzzz", 0, 5)  # off the end


def test_852_due_date_in_a_public_note(app: SRUApp, site: Path) -> None:
    """The due date went out in 852 $y, which MARC 21 does not define; $z is the public note."""
    with sqlite3.connect(site.parent / "var" / "store.db") as db:
        master = db.execute("SELECT c.master_id FROM items i JOIN availability a ON a.item_id = i.item_id"
                            " JOIN clusters c ON c.record_id = i.record_id WHERE a.due_date LIKE '2026-12-14%'"
                            ).fetchone()[0]
    answer = search(app, f"rec.id={master}", recordSchema="marcxml")
    slim = "{http://www.loc.gov/MARC21/slim}"
    fields = [f for f in answer.xml.iter(slim + "datafield") if f.get("tag") == "852"]
    codes = {s.get("code") for f in fields for s in f.iter(slim + "subfield")}
    notes = [s.text for f in fields for s in f.iter(slim + "subfield") if s.get("code") == "z"]
    assert fields and "y" not in codes and "On loan, due 2026-12-14" in notes


def test_explain_reports_the_address_clients_used(app: SRUApp, site: Path) -> None:
    """Explain said the config's port even to a client that came through a proxy on another."""
    zr = "{http://explain.z3950.org/dtd/2.0/}"

    def server_info(answer: Answer) -> tuple[str, str, str]:
        info = answer.xml.find(f".//{zr}serverInfo")
        assert info is not None, answer.body[:300]
        return (info.findtext(zr + "host") or "", info.findtext(zr + "port") or "",
                info.findtext(zr + "database") or "")

    explain = {"operation": "explain", "version": "1.2"}
    assert server_info(call(app, explain, headers={"Host": "catalogue.example.org:8443"})) == \
        ("catalogue.example.org", "8443", "sru")
    assert server_info(call(app, explain, headers={"Host": "catalogue.example.org"})) == \
        ("catalogue.example.org", "80", "sru")
    proxied = _app_with(site, public_url="https://union.example.org/catalogue/sru")
    assert server_info(call(proxied, explain, headers={"Host": "127.0.0.1:8765"})) == \
        ("union.example.org", "443", "catalogue/sru")


def test_soap_12_is_answered_in_soap_12(app: SRUApp) -> None:
    """A SOAP 1.2 request was an unknown SRW request "Envelope"; now its answer comes back in a
    SOAP 1.2 envelope as application/soap+xml, and SOAP 1.1 stays 1.1 as text/xml."""
    soap12 = "http://www.w3.org/2003/05/soap-envelope"
    body = (f'<env:Envelope xmlns:env="{soap12}"><env:Body>'
            '<SRW:searchRetrieveRequest xmlns:SRW="http://www.loc.gov/zing/srw/"><SRW:version>1.2</SRW:version>'
            '<SRW:query>dc.title=lian</SRW:query><SRW:maximumRecords>2</SRW:maximumRecords>'
            '</SRW:searchRetrieveRequest></env:Body></env:Envelope>').encode()
    answer = call(app, method="POST", body=body, content_type="application/soap+xml")
    assert answer.xml.tag == f"{{{soap12}}}Envelope" and hits(answer) == 4
    assert answer.headers["Content-Type"].startswith("application/soap+xml")
    assert len(answer.xml.findall(".//{http://www.loc.gov/zing/srw/}record")) == 2
    old = call(app, method="POST", body=body.replace(soap12.encode(), b"http://schemas.xmlsoap.org/soap/envelope/"),
               content_type="text/xml")
    assert old.xml.tag == "{http://schemas.xmlsoap.org/soap/envelope/}Envelope"
    assert old.headers["Content-Type"].startswith("text/xml")


def test_pqf_over_sru_as_zebra_takes_it(app: SRUApp) -> None:
    """x-pquery and x-pScanClause: PQF in place of CQL (Zebra's extension), answered as the
    Z39.50 target answers the same PQF; they were ignored, and the request lacked a query."""
    for pqf, cql in (("@attr 1=4 lian", "dc.title=lian"), ("@and @attr 1=21 history @attr 2=4 @attr 1=31 2000",
                                                              "dc.subject=history and dc.date>=2000"),
                     ('@attr 1=4 "lian cheng jue"', 'dc.title="lian cheng jue"')):
        answer = call(app, {"operation": "searchRetrieve", "version": "1.2", "x-pquery": pqf})
        assert hits(answer) == hits(search(app, cql)) > 0, pqf
        assert answer.first("//zs:echoedSearchRetrieveRequest/zs:query/text()") == pqf
    scan = {"operation": "scan", "version": "1.2", "maximumTerms": "5"}
    by_pqf = call(app, {**scan, "x-pScanClause": "@attr 1=4 lian"})
    assert by_pqf.body.split(b"<zs:echoed")[0] == call(app, {**scan, "scanClause": "dc.title=lian"}).body.split(
        b"<zs:echoed")[0]
    bad = call(app, {"operation": "searchRetrieve", "version": "1.2", "x-pquery": "@and @attr 1=4"})
    assert bad.diagnostics() == ["info:srw/diagnostic/1/10"]
    unknown = call(app, {"operation": "searchRetrieve", "version": "1.2", "x-pquery": "@attr 1=9876 x"})
    assert unknown.diagnostics() == ["info:srw/diagnostic/1/16"]


def test_titles_in_their_script_in_dc_and_mods(app: SRUApp) -> None:
    dc = search(app, "dc.title=lian and dc.title=cheng and dc.title=jue", recordSchema="dc")
    titles = dc.xml.xpath("//dc:title/text()", namespaces={"dc": "http://purl.org/dc/elements/1.1/"})
    assert titles[:2] == ["連城訣", "Lian cheng jue"]
    mods = search(app, "dc.title=lian and dc.title=cheng and dc.title=jue", recordSchema="mods")
    ns = {"m": "http://www.loc.gov/mods/v3"}
    pair = mods.xml.xpath("//m:titleInfo[@altRepGroup='01']", namespaces=ns)
    assert [p.findtext("m:title", namespaces=ns) for p in pair] == ["連城訣", "Lian cheng jue"]
    assert pair[1].get("transliteration") == "ALA-LC"


def test_browse_lists_whole_headings(app: SRUApp) -> None:
    """Scan of dc.title=中国 listed two-character index pieces (低语, 况与); now whole titles,
    Traditional and Simplified together, names and subjects as headings too."""
    def scan(clause: str) -> list[str]:
        answer = call(app, {"operation": "scan", "version": "1.2", "scanClause": clause, "maximumTerms": "20"})
        return [t.findtext(f"{{{NS['zs']}}}value") or "" for t in answer.xml.iter(f"{{{NS['zs']}}}term")]

    titles = scan("dc.title=中国")
    assert len(titles) == 20 and all(fold(t).replace(" ", "").startswith("中国") for t in titles), titles
    assert "中国发展报告" in titles and any(t.startswith("中國") for t in titles)  # both scripts, as catalogued
    assert scan("dc.title=中國")[:3] == titles[:3]  # Traditional finds the same place in the list
    names = scan("dc.creator=jin")
    assert names[0] == "Jin, Yong, 1924-"
    assert all(len(fold(h)) > 3 for h in scan("dc.subject=history"))


def test_cnmarc_only_masters_go_out_as_marc21(app: SRUApp, site: Path) -> None:
    """The 26 CNMARC-only masters went out as marcxml in the MARC 21 namespace with UNIMARC tags:
    no title for a MARC 21 OPAC, and fixed-length data as the author."""
    from tests.test_crosswalk import slim_problems

    with sqlite3.connect(site.parent / "var" / "store.db") as db:
        only = [m for (m,) in db.execute("SELECT master_id FROM clusters GROUP BY master_id HAVING"
                                          " sum(record_id NOT LIKE 'UNIV.%') = 0")]
    assert len(only) == 26
    slim = "{http://www.loc.gov/MARC21/slim}"
    for master in only:
        answer = search(app, f"rec.id={master}", recordSchema="marcxml")
        record = answer.xml.find(f".//{slim}record")
        assert record is not None, answer.body[:300]
        tags = [d.get("tag") for d in record.iter(f"{slim}datafield")]
        assert "245" in tags and not {"200", "210", "215", "690"} & set(tags)  # MARC 21 tags only
        assert not slim_problems(etree.tostring(record)), master
        dc = search(app, f"rec.id={master}", recordSchema="dc")
        title = dc.xml.find(".//{http://purl.org/dc/elements/1.1/}title")
        assert title is not None and title.text


def test_unimarc_records_as_catalogued_under_their_own_schema(app: SRUApp) -> None:
    unimarc = "info:srw/schema/8/unimarcxml-v0.1"
    answer = search(app, "dc.title=lian and dc.title=cheng and dc.title=jue", recordSchema="unimarcxml")
    record = answer.xml.find(f".//{{{unimarc}}}record")
    assert record is not None and answer.first("//zs:recordSchema/text()") == unimarc
    tags = [d.get("tag") for d in record.iter(f"{{{unimarc}}}datafield")]
    assert "200" in tags and "245" not in tags and "852" in tags
    # a master with no UNIMARC member: a surrogate diagnostic 67 in the record's place
    marc21_only = search(app, "dc.title=history", recordSchema="unimarcxml", maximumRecords="1")
    assert marc21_only.diagnostics() == ["info:srw/diagnostic/1/67"]


@pytest.mark.parametrize("schema", ["marcxml", "opacxml", "dc"])
def test_a_record_that_cannot_be_built_is_a_diagnostic_among_the_others(site: Path, monkeypatch: pytest.MonkeyPatch,
                                                                         schema: str) -> None:
    """A page's records are built together (members, records and holdings read at once); one
    that cannot be built is a surrogate diagnostic 64 in its place, and the others come."""
    import unioncat.serving.resources as resources

    query = "dc.title=history"
    found = _app_with(site).res.search(_app_with(site).res.parse(query), limit=3)
    assert len(found.ids) == 3
    broken = found.ids[1]
    build, parts = resources.marc21_fields, resources.Resources._parts

    def marc21_fields(store, master, *args, **kwargs):  # type: ignore[no-untyped-def]
        if master == broken:
            raise KeyError("a record the store lost")
        return build(store, master, *args, **kwargs)

    def parts_of(self, master, ids):  # type: ignore[no-untyped-def]
        if master == broken:
            raise KeyError("a record the store lost")
        return parts(self, master, ids)

    kept = resources.Resources._kept  # what the index keeps of the broken one is not there either

    monkeypatch.setattr(resources, "marc21_fields", marc21_fields)
    monkeypatch.setattr(resources.Resources, "_parts", parts_of)
    monkeypatch.setattr(resources.Resources, "_kept", staticmethod(
        lambda display, mode: None if broken in str(display.get("marcxml")) else kept(display, mode)))
    answer = search(_app_with(site), query, maximumRecords="3", recordSchema=schema)
    schemas = answer.xml.xpath("//zs:record/zs:recordSchema/text()", namespaces=NS)
    assert answer.diagnostics() == ["info:srw/diagnostic/1/64"] and len(schemas) == 3
    assert schemas[1] == "info:srw/schema/1/diagnostics-v1.1"
    assert all(s != "info:srw/schema/1/diagnostics-v1.1" for s in schemas[::2])


@pytest.mark.parametrize("packing", ["xml", "string"])
def test_marcxml_written_as_text_is_the_record_render_builds(app: SRUApp, packing: str) -> None:
    """A page's MARCXML records go into the response as the text they were built as (not parsed
    into elements and written out again): the same records, characters and all, as ``render``
    gives one at a time, in both packings; CJK and escaped characters included."""
    query = "cql.allRecords=1"
    answer = search(app, query, maximumRecords="20", recordSchema="marcxml", recordPacking=packing)
    found = app.res.search(app.res.parse(query), limit=20)
    datas = answer.xml.xpath("//zs:record/zs:recordData", namespaces=NS)
    assert len(datas) == len(found.ids) == 20
    texts = []
    for data, master, display in zip(datas, found.ids, found.displays):
        got = etree.fromstring(data.text.encode("utf-8")) if packing == "string" else data[0]
        want = app.res.render("marcxml", master, display)
        assert etree.tostring(got, method="c14n", exclusive=True) == etree.tostring(want, method="c14n", exclusive=True)
        texts.append(etree.tostring(got, encoding="unicode"))
    assert any(any("\u4e00" <= c <= "\u9fff" for c in text) for text in texts)
    assert any("&amp;" in text or "&lt;" in text for text in texts)


def test_the_index_keeps_each_master_record_as_the_store_builds_it(site: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Each master's MARCXML up to the union's holdings is built when it is indexed and kept in
    the index: a searchRetrieve writes it as it is and reads no member record (on a cold query
    mix, reading members and records from the store took most of a request's time); what the
    index keeps is what building it from the store at request time gives."""
    from unioncat.cql import parse
    from unioncat.dedup.clusters import marc21_fields
    from unioncat.serving import records
    from unioncat.serving.resources import Resources
    from unioncat.store import open_store
    from unioncat.store.base import StoreCore
    from unioncat.store.dedup import DedupStore

    cfg = load_config(str(site))
    found = Resources(cfg).search(parse("cql.allRecords=1"), limit=5000)
    assert found.total == len(found.ids) > 1000
    with open_store(cfg.store, readonly=True) as store:
        for master, display in zip(found.ids, found.displays):
            assert display["marcxml"] == records.marcxml_head(*marc21_fields(store, master, display["members"]))
    query = {"maximumRecords": "50", "recordSchema": "marcxml"}
    built = search(create_app(cfg), "cql.allRecords=1", **query).body  # before reads are refused

    def refused(*_: object) -> None:
        raise AssertionError("a member record was read")

    monkeypatch.setattr(StoreCore, "get_many", refused)
    monkeypatch.setattr(DedupStore, "records_data", refused)
    kept = search(create_app(cfg), "cql.allRecords=1", **query)
    assert hits(kept) == found.total and len(kept.xml.findall(f".//{{{NS['marc']}}}record")) == 50
    monkeypatch.undo()
    monkeypatch.setattr(Resources, "_kept", staticmethod(lambda display, mode: None))
    # the same bytes but for the result-set id, which carries the second it was made in
    def same(body: bytes) -> bytes:
        return re.sub(rb"<zs:resultSetId>[^<]*<", b"<zs:resultSetId><", body)

    assert same(search(create_app(cfg), "cql.allRecords=1", **query).body) == same(kept.body)
    assert same(built) == same(kept.body) and same(built) != built
