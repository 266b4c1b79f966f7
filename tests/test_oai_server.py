"""The OAI-PMH provider on the demo consortium: Sickle, pyoai and our own harvester harvest it
completely; an incremental harvest after a night of changes, a merge and a deletion returns
exactly the masters that changed; every error the protocol lists; tokens across a restart."""
from __future__ import annotations

import base64
import json
import time
import zlib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterator

import pytest
from click.testing import CliRunner
from lxml import etree

from tests.conftest import ROOT
from tests.support.demo_site import assert_harvested_completely, demo_site, site_store
from tests.support.serving import unioncat_serve
from tests.support.wsgi import call
from unioncat.cli import cli
from unioncat.config import load_config
from unioncat.store import open_store
from unioncat.store.stamps import stamp_page_query
from unioncat.serve import Site, create_app

OAI = "{http://www.openarchives.org/OAI/2.0/}"
NS = {"o": "http://www.openarchives.org/OAI/2.0/", "m": "http://www.loc.gov/MARC21/slim",
      "dc": "http://purl.org/dc/elements/1.1/", "mods": "http://www.loc.gov/mods/v3"}
LIANCHENGJUE = "M736a9c241586"

# Datestamps, sets and resumption live in the store: every harvest here runs on both back ends.
STORE_BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="module")
def app(site: Path) -> Site:
    return create_app(load_config(str(site)))


@pytest.fixture(scope="module")
def served(site: Path) -> Iterator[str]:
    with unioncat_serve(site, "/oai?verb=Identify") as url:
        yield url.split("?")[0]


def oai(app: Site, **params: str) -> etree._Element:
    answer = call(app, params, path="/oai", headers={"Host": "union.example.org"})
    assert answer.status == "200 OK" and answer.headers["Content-Type"] == "text/xml; charset=utf-8"
    return etree.fromstring(answer.body)


def error(root: etree._Element) -> str:
    found = root.find(f"{OAI}error")
    return found.get("code") if found is not None else ""


def masters(site: Path) -> set[str]:
    with site_store(site) as store:
        return set(store.all_masters())


def snapshot(site: Path) -> dict[str, frozenset[tuple[str, bytes]]]:
    """Each master's members and their contents: what its datestamp follows."""
    out: dict[str, set[tuple[str, bytes]]] = {}
    with site_store(site) as store:
        for master, rid, digest in store.db.execute("SELECT c.master_id, r.id, r.hash FROM clusters c JOIN records r"
                                              " ON r.id = c.record_id WHERE r.deleted = 0"):
            out.setdefault(master, set()).add((rid, bytes(digest)))
    return {m: frozenset(v) for m, v in out.items()}


# real harvesters -------------------------------------------------------------------------------
@pytest.mark.parametrize("prefix", ["marc21", "oai_dc", "mods"])
def test_sickle_harvests_everything_in_every_format(served: str, site: Path, prefix: str) -> None:
    from sickle import Sickle

    harvester = Sickle(served, max_retries=1, timeout=60)
    seen: dict[str, Any] = {}
    for record in harvester.ListRecords(metadataPrefix=prefix):
        assert not record.deleted
        seen[record.header.identifier.rsplit(":", 1)[1]] = record
    assert set(seen) == masters(site) and len(seen) == 1476
    sample = seen[LIANCHENGJUE].xml
    if prefix == "marc21":
        holdings = sample.xpath(".//m:datafield[@tag='852']/m:subfield[@code='a']/text()", namespaces=NS)
        assert {"CITY", "DIST"} <= set(holdings)  # every member's copies, as 852s
        assert sample.xpath(".//m:controlfield[@tag='001']/text()", namespaces=NS) == [LIANCHENGJUE]
    elif prefix == "oai_dc":
        assert "連城訣" in sample.xpath(".//dc:title/text()", namespaces=NS)
    else:
        assert sample.xpath(".//mods:titleInfo/mods:title/text()", namespaces=NS)


def test_a_cnmarc_only_master_comes_as_marc21(app: Site) -> None:
    with open_store(app.res.cfg.store) as store:
        only_cnmarc = store.db.execute(
            "SELECT c.master_id FROM clusters c JOIN records r ON r.id = c.record_id GROUP BY c.master_id"
            " HAVING min(r.format) = 'cnmarc' AND max(r.format) = 'cnmarc' LIMIT 1").fetchone()[0]
    root = oai(app, verb="GetRecord", identifier=f"oai:unioncat.local:{only_cnmarc}", metadataPrefix="marc21")
    record = root.find(f".//{{{NS['m']}}}record")
    assert record is not None and record.xpath("m:datafield[@tag='245']", namespaces=NS)  # MARC 21 tags
    assert record.xpath("m:datafield[@tag='852']", namespaces=NS)


def test_pyoai_harvests_everything(served: str, site: Path) -> None:
    from oaipmh.client import Client
    from oaipmh.metadata import MetadataRegistry, oai_dc_reader

    registry = MetadataRegistry()
    registry.registerReader("oai_dc", oai_dc_reader)
    client = Client(served, registry)
    identity = client.identify()
    assert identity.repositoryName() == "Union catalogue" and identity.deletedRecord() == "persistent"
    assert identity.granularity() == "YYYY-MM-DDThh:mm:ssZ"
    records = list(client.listRecords(metadataPrefix="oai_dc"))
    assert {h.identifier().rsplit(":", 1)[1] for h, _, _ in records} == masters(site)
    assert all(metadata is not None and metadata.getField("title") for _, metadata, _ in records)
    for prefix in ("marc21", "mods"):
        headers = list(client.listIdentifiers(metadataPrefix=prefix))
        assert len(headers) == 1476
    formats = {f[0] for f in client.listMetadataFormats()}
    assert formats == {"marc21", "oai_dc", "mods"}
    sets = {s[0] for s in client.listSets()}
    assert {"member:CITY", "member:DIST", "member:UNIV", "member:VILL", "type:book"} <= sets
    in_vill = list(client.listIdentifiers(metadataPrefix="oai_dc", set="member:VILL"))
    assert len(in_vill) == 100 and all("member:VILL" in h.setSpec() for h in in_vill)


def test_our_harvester_takes_the_catalogue_with_its_holdings(served: str, site: Path, tmp_path: Path,
                                                             write_config: Any, run_cli: Any) -> None:
    cfg = write_config({"id": "UNION", "type": "oai", "url": served, "metadata_prefix": "marc21",
                        "holdings": "852", "wait": 0.05})
    result = run_cli(cfg, "harvest", "UNION", "--json")
    assert result.exit_code == 0, result.output
    assert_harvested_completely(site, tmp_path / "store.db")


# paging ------------------------------------------------------------------------------------------
def test_pages_carry_size_cursor_and_a_final_empty_token(app: Site) -> None:
    root = oai(app, verb="ListIdentifiers", metadataPrefix="oai_dc")
    seen, cursors = [], []
    while True:
        seen += root.xpath("//o:header/o:identifier/text()", namespaces=NS)
        token = root.find(f".//{OAI}resumptionToken")
        assert token is not None and token.get("completeListSize") == "1476"
        cursors.append(int(token.get("cursor")))
        if not token.text:
            break
        assert token.get("expirationDate")
        root = oai(app, verb="ListIdentifiers", resumptionToken=token.text)
    assert len(seen) == len(set(seen)) == 1476
    assert cursors == list(range(0, 1476, 100))


def test_a_token_survives_a_restart(site: Path, app: Site) -> None:
    token = oai(app, verb="ListRecords", metadataPrefix="marc21").find(f".//{OAI}resumptionToken").text
    restarted = create_app(load_config(str(site)))
    root = oai(restarted, verb="ListRecords", resumptionToken=token)
    assert not error(root) and len(root.findall(f".//{OAI}record")) == 100


def test_expired_and_malformed_tokens(app: Site) -> None:
    token = oai(app, verb="ListIdentifiers", metadataPrefix="oai_dc").find(f".//{OAI}resumptionToken").text
    state = json.loads(zlib.decompress(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))))
    state["t"] -= app.res.cfg.oai.token_ttl + 10
    old = base64.urlsafe_b64encode(zlib.compress(json.dumps(state).encode())).decode().rstrip("=")
    assert error(oai(app, verb="ListIdentifiers", resumptionToken=old)) == "badResumptionToken"
    for bad in ("", "x", token[:-3], "AAAA", token + "zz"):
        assert error(oai(app, verb="ListIdentifiers", resumptionToken=bad)) == "badResumptionToken", bad
    assert error(oai(app, verb="ListRecords", resumptionToken=token)) == "badResumptionToken"  # another verb's


# errors ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("params, code", [
    ({}, "badVerb"),
    ({"verb": "Harvest"}, "badVerb"),
    ({"verb": "Identify", "set": "x"}, "badArgument"),
    ({"verb": "ListRecords"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "marc21", "from": "2026-13-45"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "marc21", "from": "yesterday"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "marc21", "from": "2026-01-01", "until": "2026-01-01T00:00:00Z"},
     "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "marc21", "from": "2026-02-01", "until": "2026-01-01"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "marc21", "set": "no spaces allowed"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "marc21", "resumptionToken": "x"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "pica"}, "cannotDisseminateFormat"),
    ({"verb": "ListRecords", "metadataPrefix": "marc21", "set": "member:NOBODY"}, "noRecordsMatch"),
    ({"verb": "ListRecords", "metadataPrefix": "marc21", "from": "2100-01-01"}, "noRecordsMatch"),
    ({"verb": "ListRecords", "metadataPrefix": "marc21", "until": "1999-12-31"}, "noRecordsMatch"),
    ({"verb": "GetRecord", "metadataPrefix": "marc21"}, "badArgument"),
    ({"verb": "GetRecord", "identifier": "oai:unioncat.local:M000000000000", "metadataPrefix": "marc21"},
     "idDoesNotExist"),
    ({"verb": "GetRecord", "identifier": f"oai:elsewhere.org:{LIANCHENGJUE}", "metadataPrefix": "marc21"},
     "idDoesNotExist"),
    ({"verb": "GetRecord", "identifier": f"oai:unioncat.local:{LIANCHENGJUE}", "metadataPrefix": "pica"},
     "cannotDisseminateFormat"),
    ({"verb": "ListMetadataFormats", "identifier": "oai:unioncat.local:nope"}, "idDoesNotExist"),
    ({"verb": "ListSets", "resumptionToken": "bogus"}, "badResumptionToken"),
])
def test_every_error_the_protocol_lists(app: Site, params: dict[str, str], code: str) -> None:
    root = oai(app, **params)
    assert error(root) == code, etree.tostring(root)[-300:]
    request = root.find(f"{OAI}request")
    assert request.text == "http://union.example.org/oai"
    if code in ("badVerb", "badArgument"):
        assert not request.attrib  # echoed without attributes
    else:
        assert request.get("verb") == params["verb"]


def test_repeated_arguments_and_post(app: Site) -> None:
    answer = call(app, query_string="verb=ListRecords&metadataPrefix=marc21&metadataPrefix=oai_dc", path="/oai")
    assert error(etree.fromstring(answer.body)) == "badArgument"
    answer = call(app, query_string="verb=Identify&verb=Identify", path="/oai")
    assert error(etree.fromstring(answer.body)) == "badVerb"
    posted = call(app, method="POST", body=b"verb=GetRecord&metadataPrefix=oai_dc&identifier=oai%3Aunioncat.local%3A"
                  + LIANCHENGJUE.encode(), path="/oai")
    assert posted.status == "200 OK" and b"<dc:title>" in posted.body


def test_from_and_until_are_inclusive_at_second_granularity(app: Site) -> None:
    first = oai(app, verb="ListIdentifiers", metadataPrefix="oai_dc", set="member:VILL")
    stamp = first.xpath("//o:header/o:datestamp/text()", namespaces=NS)[0]
    both = oai(app, verb="ListIdentifiers", metadataPrefix="oai_dc", set="member:VILL", **{"from": stamp},
               until=stamp)
    assert len(both.findall(f".//{OAI}header")) == 100
    later = (datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ") + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert error(oai(app, verb="ListIdentifiers", metadataPrefix="oai_dc", **{"from": later})) == "noRecordsMatch"
    day = oai(app, verb="ListIdentifiers", metadataPrefix="oai_dc", set="member:VILL", until=stamp[:10])
    assert len(day.findall(f".//{OAI}header")) == 100


# incremental harvests ----------------------------------------------------------------------------
def _field(record: bytes, tag: bytes) -> tuple[int, int]:
    """Return (start, length) of a control field's data in an ISO 2709 record."""
    base = int(record[12:17])
    directory = record[24:base - 1]
    for i in range(0, len(directory), 12):
        if directory[i:i + 3] == tag:
            return base + int(directory[i + 7:i + 12]), int(directory[i + 3:i + 7])
    raise AssertionError(f"no {tag!r}")


def _bump_005(record: bytes) -> bytes:
    """Return a MARC record with a digit of its 005 changed (same length: a new version)."""
    at = _field(record, b"005")[0] + 13
    digit = record[at:at + 1]
    return record[:at] + (b"1" if digit != b"1" else b"2") + record[at + 1:]


@pytest.mark.parametrize("index", [("index",), ("index", "--rebuild")])
def test_an_incremental_harvest_gets_exactly_what_changed(tmp_path: Path, index: tuple[str, ...]) -> None:
    # A rebuild stamps as an update does: what it wrote is read back from a temporary file,
    # the masters no longer there found in the store (not kept in memory: millions at scale).
    import gzip

    site = demo_site(tmp_path)
    app = create_app(load_config(str(site)))
    runner = CliRunner()

    def unioncat(*args: str) -> None:
        result = runner.invoke(cli, ["--config", str(site), *args])
        assert result.exit_code == 0, result.output

    full = oai(app, verb="ListIdentifiers", metadataPrefix="oai_dc")
    harvested_at = full.find(f"{OAI}responseDate").text
    before = snapshot(site)
    alone = sorted(rid for members in before.values() if len(members) == 1
                   for rid, _ in members if rid.startswith("CITY."))
    gone, changed_record, merged = alone[:3]
    time.sleep(1.1)  # datestamps have second granularity: tonight's changes come a second later

    # Tonight: CITY's drop (a full dump) lacks one record and has another changed, and a
    # cataloguer merges a third into 連城訣's cluster.
    drop = gzip.decompress((ROOT / "examples" / "demo" / "data" / "city-2026-11-23.mrc.gz").read_bytes())
    tonight = []
    for record in drop.split(b"\x1d")[:-1]:
        start, length = _field(record, b"001")
        rid = "CITY." + record[start:start + length].rstrip(b"\x1e").decode().strip()
        if rid != gone:
            tonight.append(_bump_005(record) if rid == changed_record else record)
    (tmp_path / "city-tonight.mrc").write_bytes(b"\x1d".join(tonight) + b"\x1d")
    unioncat("import", "CITY", str(tmp_path / "city-tonight.mrc"), "--full", "--force")
    unioncat("dedup")
    unioncat(*index)
    unioncat("dedup", "merge", merged, "CITY.00470353")
    after = snapshot(site)
    changed = {m for m in after if before.get(m) != after[m]}
    deleted = set(before) - set(after)
    master_of = {rid: m for m, members in before.items() for rid, _ in members}
    assert {master_of[gone], master_of[merged]} <= deleted  # lost its last member; merged into another
    assert {master_of[changed_record], LIANCHENGJUE} <= changed

    since = (datetime.strptime(harvested_at, "%Y-%m-%dT%H:%M:%SZ") + timedelta(seconds=1)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    root = oai(app, verb="ListIdentifiers", metadataPrefix="marc21", **{"from": since})
    headers = {h.findtext(f"{OAI}identifier").rsplit(":", 1)[1]: h.get("status") for h in root.iter(f"{OAI}header")}
    assert {m for m, s in headers.items() if s == "deleted"} == deleted
    assert {m for m, s in headers.items() if s != "deleted"} == changed
    for master in deleted:  # persistent: GetRecord still answers, as a deleted record
        got = oai(app, verb="GetRecord", identifier=f"oai:unioncat.local:{master}", metadataPrefix="marc21")
        assert got.find(f".//{OAI}header").get("status") == "deleted" and got.find(f".//{OAI}metadata") is None
    in_city = oai(app, verb="ListIdentifiers", metadataPrefix="marc21", set="member:CITY", **{"from": since})
    assert master_of[gone] in {h.findtext(f"{OAI}identifier").rsplit(":", 1)[1]
                               for h in in_city.iter(f"{OAI}header") if h.get("status") == "deleted"}
    untouched = next(iter(set(before) - changed - deleted))
    got = oai(app, verb="GetRecord", identifier=f"oai:unioncat.local:{untouched}", metadataPrefix="oai_dc")
    assert got.findtext(f".//{OAI}datestamp") <= harvested_at


def test_every_verbs_response_is_valid_against_the_schema(app: Site) -> None:
    """Every verb, every format, a last page and every error, against the OAI-PMH 2.0 response
    structure (tests/data/oai: restated from the specification; bench/oai_schema_check.py
    checks against the official schema files)."""
    schema = etree.XMLSchema(etree.parse(str(ROOT / "tests" / "data" / "oai" / "OAI-PMH-restated.xsd")))
    ident = f"oai:unioncat.local:{LIANCHENGJUE}"
    requests: list[dict[str, str]] = [
        {"verb": "Identify"}, {"verb": "ListMetadataFormats"}, {"verb": "ListMetadataFormats", "identifier": ident},
        {"verb": "ListSets"}, {"verb": "ListIdentifiers", "metadataPrefix": "marc21", "set": "type:book"},
        *({"verb": "ListRecords", "metadataPrefix": p} for p in ("marc21", "oai_dc", "mods")),
        *({"verb": "GetRecord", "identifier": ident, "metadataPrefix": p} for p in ("marc21", "oai_dc", "mods")),
        {"verb": "ListRecords", "metadataPrefix": "oai_dc", "until": "2000-01-01"}, {"verb": "Bad"}, {},
        {"verb": "GetRecord", "identifier": "oai:x:y", "metadataPrefix": "marc21"},
        {"verb": "ListRecords", "metadataPrefix": "x"}, {"verb": "ListSets", "resumptionToken": "x"},
    ]
    last = oai(app, verb="ListIdentifiers", metadataPrefix="oai_dc")
    while last.findtext(f".//{OAI}resumptionToken"):
        last = oai(app, verb="ListIdentifiers", resumptionToken=last.findtext(f".//{OAI}resumptionToken"))
    answers = [oai(app, **params) for params in requests] + [last]
    for params, root in zip(requests + [{"last": "page"}], answers):
        assert schema.validate(root), (params, str(schema.error_log.last_error))
    assert {error(r) for r in answers} >= {"", "badVerb", "idDoesNotExist", "noRecordsMatch",
                                           "cannotDisseminateFormat", "badResumptionToken"}


def test_the_next_page_is_built_ahead_and_is_the_same_page(site: Path) -> None:
    """While a harvester reads one page of ListRecords the server builds the next (Sickle asks
    for one page at a time); what it serves from there is what it would have built anew."""
    ahead = create_app(load_config(str(site)))
    first = oai(ahead, verb="ListRecords", metadataPrefix="marc21")
    token = first.findtext(f".//{OAI}resumptionToken")
    assert len(ahead.oai._ahead) == 1  # the page after this one, on its way
    served = oai(ahead, verb="ListRecords", resumptionToken=token)
    fresh = oai(create_app(load_config(str(site))), verb="ListRecords", resumptionToken=token)

    def records(root: etree._Element) -> list[bytes]:
        return [etree.tostring(r) for r in root.iter(f"{OAI}record")]

    assert records(served) == records(fresh) and len(records(served)) == 100
    def state(root: etree._Element) -> dict[str, Any]:  # the token's request and position, not its birth time
        token = root.findtext(f".//{OAI}resumptionToken")
        decoded = json.loads(zlib.decompress(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))))
        return {k: v for k, v in decoded.items() if k != "t"}

    assert state(served) == state(fresh)
    assert len(ahead.oai._ahead) == 1  # taken, and the one after it started


@pytest.mark.store_backends("sqlite")  # reads SQLite's query plan
@pytest.mark.parametrize("spec", [None, "member:CITY"])
def test_a_page_seeks_to_where_the_last_ended(app: Site, spec: str | None) -> None:
    """A night's index run stamps most masters with one datestamp: a page that began at the
    first master of its datestamp and skipped the ones before made a full harvest quadratic
    (29 ms a page at master 100,000 of 200,000); it seeks to (datestamp, master id) instead."""
    store = app.res.store()
    sql, args = stamp_page_query("2000-01-01T00:00:00Z", "2999-12-31T23:59:59Z", spec,
                                  ("2026-01-01T00:00:00Z", "M0"), 101)
    plan = " ".join(row[3] for row in store.db.execute("EXPLAIN QUERY PLAN " + sql, args))
    assert "(stamp,master_id)>(?,?)" in plan, plan
    assert "SCAN" not in plan, plan


def test_a_page_of_marcxml_is_what_each_record_alone_would_be(site: Path) -> None:
    """A page's MARCXML is read a page at a time (members, records, holdings: a query each);
    every record of it is what the record read alone is (as SRU serves it), the masters of
    several members and the CNMARC-only one included."""
    app = create_app(load_config(str(site)))  # nothing cached yet
    displays = app.res.displays(sorted(masters(site)))
    assert len(displays) == len(masters(site))
    several = [m for m, d in displays.items() if len(d["members"]) > 1]
    assert len(several) >= 5 and LIANCHENGJUE in displays
    texts = app.res.marcxml_texts(displays)
    assert texts.keys() == displays.keys()
    for master, display in displays.items():
        alone = app.res.render("marcxml", master, display)
        assert etree.tostring(etree.fromstring(texts[master].encode())) == etree.tostring(alone), master
