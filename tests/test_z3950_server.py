"""The Z39.50 target on the demo consortium: yaz-client transcripts, the same hits as
SRU, our own harvester, diagnostics, and malformed or hostile connections."""
from __future__ import annotations

import dataclasses
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from unioncat.config import load_config
from unioncat.errors import RemoteDiagnostic, Z3950Error
from unioncat.sru_server import create_app
from unioncat.sru_server.app import SRUApp
from unioncat.z3950.client import Z3950Client
from unioncat.z3950.codec import SYNTAXES, bits, encode, read_pdu, decode
from unioncat.z3950.pqf import parse_pqf
from unioncat.z3950_server.server import Z3950Server, serve_z3950
from tests.peers import free_port
from tests.support.demo_site import assert_harvested_completely
from tests.support.wsgi import call

LIANCHENGJUE = "M736a9c241586"


def _server(site: Path, **server: Any) -> Z3950Server:
    cfg = load_config(str(site))
    if server:
        cfg = dataclasses.replace(cfg, server=dataclasses.replace(cfg.server, **server))
    return serve_z3950(cfg, "127.0.0.1", free_port())


@pytest.fixture(scope="module")
def target(site: Path) -> Iterator[tuple[str, int]]:
    server = _server(site)
    yield server.server_address[:2]  # type: ignore[misc]
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def sru(site: Path) -> SRUApp:
    return create_app(load_config(str(site)))


def client(target: tuple[str, int]) -> Z3950Client:
    return Z3950Client(target[0], target[1], timeout=10)


def hits(target: tuple[str, int], pqf: str, database: str = "Default") -> int:
    with client(target) as z:
        return z.search(database, parse_pqf(pqf))


def yaz(target: tuple[str, int], *commands: str) -> str:
    """Run yaz-client on a command file; return its transcript."""
    with tempfile.TemporaryDirectory() as home:
        script = Path(home) / "commands"
        script.write_text("\n".join([f"open tcp:{target[0]}:{target[1]}/Default", *commands, "quit"]) + "\n",
                          encoding="utf-8")
        out = subprocess.run(["yaz-client", "-f", str(script)], stdin=subprocess.DEVNULL, capture_output=True,
                             text=True, timeout=60, env={"HOME": home, "PATH": "/usr/bin:/bin"})
    return out.stdout


# yaz-client ---------------------------------------------------------------------------------
def test_yaz_client_find_show_in_every_syntax_scan_sort_close(target: tuple[str, int]) -> None:
    out = yaz(target, "find @attr 1=4 lian", "format usmarc", "show 1", "format xml", "elements F", "show 1",
              "elements dc", "show 1", "format opac", "elements F", "show 1", "format unimarc", "show 1",
              "scan @attr 1=4 lian", "format usmarc", "sort 1=31 >", "show 1+4", "querytype cql",
              "find dc.title=lian and dc.date>=2000", "close")
    assert "ID     : unioncat" in out and "Options: search present delSet scan sort namedResultSets" in out
    assert "Number of hits: 4, setno 1" in out
    assert "852    $a CITY $b Central $h PL2848.Y8 L5 2000 $p CITY31000002 $t 1 $9 available $z Available" in out
    assert 'Record type: XML\n<record xmlns="http://www.loc.gov/MARC21/slim">' in out
    assert "<srw_dc:dc" in out and "<dc:title>Lian cheng jue</dc:title>" in out
    opac = out.split("Record type: OPAC")[1]
    assert "nucCode: CITY" in opac and "nucCode: DIST" in opac and "availableNow: 1" in opac  # CITY's feed (YAZ encodes TRUE as 1)
    assert "itemId: CITY31000002" in opac
    unimarc = out.split("Record type: Unimarc")[1].split("nextResultSetPosition")[0]  # UNIV's CNMARC record
    assert "001 M736a9c241586" in unimarc and "852    $a CITY" in unimarc and "200 1  $a 連城訣" in unimarc
    assert "* Lian cheng jue (1)" in out and "Received ScanResponse" in out  # whole title headings
    assert "Received SortResponse: status=success" in out
    years = [line[11:15] for line in out.split("sort 1=31")[-1].splitlines() if line.startswith("008 ")][:4]
    assert years == sorted(years, reverse=True) and len(years) == 4
    assert "Number of hits: 1, setno 2" in out  # the CQL query, type-104
    assert "Target has closed the association." in out and "Reason: finished" in out


def test_yaz_client_unimarc_and_usmarc_follow_the_members_formats(target: tuple[str, int]) -> None:
    out = yaz(target, "find @attr 1=12 ENU00000120", "format unimarc", "show 1", "format usmarc", "show 1",
              "find @not @attr 1=1044 VILL @attr 1=1044 UNIV", "format unimarc", "show 1")
    assert "Number of hits: 1" in out and "Record type: Unimarc" in out, out[-1500:]
    # a CNMARC-only master: UNIMARC as catalogued, and USMARC through the crosswalk (it was 238);
    # VILL's MARC 21-only record has no UNIMARC form
    unimarc, usmarc = out.split("Record type: Unimarc")[1].split("Record type: USmarc")
    assert "852    $a UNIV" in unimarc and "200 1  $a" in unimarc
    assert re.search(r"\n245 [01]\d \$a", usmarc) and "\n008 " in usmarc and "\n200 " not in usmarc, usmarc[:800]
    assert out.count("[238] Record not available in requested syntax") == 1 and "v3 addinfo 'usmarc'" in out


# the same answers as SRU --------------------------------------------------------------------
EQUIVALENT = [
    ("@attr 1=4 lian", "dc.title=lian"),
    ("@attr 1=1003 jin", "dc.creator=jin"),
    ("@attr 1=21 history", "dc.subject=history"),
    ("@attr 1=1016 china", "cql.serverChoice=china"),
    ("@attr 1=7 9573229315", "bath.isbn=9573229315"),
    ("@attr 1=12 00470353", "bath.localNumber=00470353"),
    ("@attr 1=31 @attr 2=4 2000", "dc.date>=2000"),
    ("@attr 1=30 @attr 2=1 1950", "dc.date<1950"),
    ("@attr 1=54 chi", "dc.language=chi"),
    ("@attr 1=1018 press", "dc.publisher=press"),
    ("@attr 1=1044 VILL", "bath.possessingInstitution=VILL"),
    ("@attr 1=4 @attr 5=1 hist", "dc.title=hist*"),
    ("@attr 1=4 @attr 4=1 \"lian cheng\"", "dc.title=\"lian cheng\""),
    ("@and @attr 1=21 history @attr 1=31 @attr 2=4 1990", "dc.subject=history and dc.date>=1990"),
    ("@or @attr 1=4 lian @attr 1=4 hong", "dc.title=lian or dc.title=hong"),
    ("@not @attr 1=21 history @attr 1=54 eng", "dc.subject=history not dc.language=eng"),
    ("@attr 1=9999 true", "local.available=true"),
    ("@attr 1=_ALLRECORDS @attr 2=103 \"\"", "cql.allRecords=1"),
]


@pytest.mark.parametrize("pqf, cql", EQUIVALENT)
def test_hit_counts_equal_sru(target: tuple[str, int], sru: SRUApp, pqf: str, cql: str) -> None:
    answer = call(sru, {"operation": "searchRetrieve", "version": "1.2", "query": cql, "maximumRecords": "0"})
    expected = int(answer.first("//zs:numberOfRecords/text()"))
    assert expected > 0, cql
    assert hits(target, pqf) == expected


def test_a_gb18030_term_finds_what_the_utf8_term_finds(target: tuple[str, int]) -> None:
    rpn = parse_pqf("@attr 1=4 x")
    utf8 = hits(target, "@attr 1=4 連城訣")
    rpn["rpn"][1][1]["term"] = ("general", "連城訣".encode("gb18030"))
    with client(target) as z:
        assert z.search("Default", rpn) == utf8 == 1


def test_named_result_sets_and_set_references(target: tuple[str, int]) -> None:
    with client(target) as z:
        history = z.search("Default", parse_pqf("@attr 1=21 history"), result_set="h")
        recent = z.search("Default", parse_pqf("@attr 1=31 @attr 2=4 2000"), result_set="r")
        both = z.search("Default", parse_pqf("@and @set h @set r"), result_set="b")
        direct = z.search("Default", parse_pqf("@and @attr 1=21 history @attr 1=31 @attr 2=4 2000"))
        assert 0 < both == direct < min(history, recent)
        first = z.present(1, 3, "xml", "F", result_set="h")
        assert len(first) == 3 and all(r.octets.startswith(b"<record") for r in first)
        with pytest.raises(RemoteDiagnostic, match="bib-1 30"):
            z.present(1, 1, "usmarc", result_set="nosuchset")


# diagnostics -------------------------------------------------------------------------------
@pytest.mark.parametrize("pqf, database, condition", [
    ("@attr 1=4 lian", "Nowhere", 109),
    ("@attr 1=9998 lian", "Default", 114),
    ("@attr 1=4 @attr 2=7 lian", "Default", 117),
    ("@attr 1=4 @attr 4=999 lian", "Default", 118),
    ("@attr 1=4 @attr 3=9 lian", "Default", 119),
    ("@attr 1=4 @attr 5=102 lian", "Default", 120),
    ("@attr 1=4 @attr 6=9 lian", "Default", 122),
    ("@attr 1=4 @attr 2=1 lian", "Default", 117),
    ("@attrset 1.2.840.10003.3.2 @attr 1=4 lian", "Default", 121),
    ("@attr 1=4 @attr 5=1 a", "Default", 120),
    ("@set nosuchset", "Default", 30),
])
def test_bib1_diagnostics(target: tuple[str, int], pqf: str, database: str, condition: int) -> None:
    with pytest.raises(RemoteDiagnostic, match=f"bib-1 {condition}:"):
        hits(target, pqf, database)


def test_present_diagnostics(target: tuple[str, int]) -> None:
    with client(target) as z:
        total = z.search("Default", parse_pqf("@attr 1=4 lian"))
        with pytest.raises(RemoteDiagnostic, match="bib-1 13"):
            z.present(total + 1, 1, "usmarc")
        with pytest.raises(RemoteDiagnostic, match="bib-1 239"):
            z.present(1, 1, "1.2.840.10003.5.1000.81.99")  # a syntax we do not offer
        assert "bib-1 25" in z.present(1, 1, "usmarc", "Q")[0].diagnostic
        brief, full = z.present(1, 1, "usmarc", "B")[0], z.present(1, 1, "usmarc", "F")[0]
        assert 0 < len(brief.octets) < len(full.octets)


def test_present_respects_the_negotiated_message_size(target: tuple[str, int]) -> None:
    sock = socket.create_connection(target, timeout=10)
    buffer = bytearray()
    sock.sendall(encode("initRequest", {"protocolVersion": bits([0, 1, 2], 3), "options": bits([0, 1], 16),
                                        "preferredMessageSize": 4096, "exceptionalRecordSize": 4096}))
    kind, init = decode(read_pdu(sock, buffer))
    assert kind == "initResponse" and init["preferredMessageSize"] == 4096
    sock.sendall(encode("searchRequest", {"smallSetUpperBound": 0, "largeSetLowerBound": 1,
                                          "mediumSetPresentNumber": 0, "replaceIndicator": True,
                                          "resultSetName": "default", "databaseNames": ["Default"],
                                          "query": ("type-1", parse_pqf("@attr 1=21 history"))}))
    decode(read_pdu(sock, buffer))
    sock.sendall(encode("presentRequest", {"resultSetId": "default", "resultSetStartPoint": 1,
                                           "numberOfRecordsRequested": 10,
                                           "preferredRecordSyntax": SYNTAXES["usmarc"]}))
    kind, present = decode(read_pdu(sock, buffer))
    assert kind == "presentResponse" and present["presentStatus"] == 2
    assert 1 <= present["numberOfRecordsReturned"] < 10
    assert present["nextResultSetPosition"] == 1 + present["numberOfRecordsReturned"]
    sock.close()


# harvesting our own target --------------------------------------------------------------------
def test_our_harvester_harvests_our_target_completely(target: tuple[str, int], site: Path, tmp_path: Path,
                                                      write_config: Any, run_cli: Any) -> None:
    cfg = write_config({"id": "UNION", "type": "z3950", "url": f"{target[0]}:{target[1]}/Default",
                        "syntax": "xml", "page_size": 97, "holdings": "852"})
    result = run_cli(cfg, "harvest", "UNION", "--json")
    assert result.exit_code == 0, result.output
    assert_harvested_completely(site, tmp_path / "store.db")


# robustness ---------------------------------------------------------------------------------
def _alive(target: tuple[str, int]) -> None:
    assert hits(target, "@attr 1=4 lian") == 4


def _send(target: tuple[str, int], data: bytes) -> bytes:
    with socket.create_connection(target, timeout=5) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
            out = b""
            while chunk := sock.recv(65536):
                out += chunk
            return out
        except OSError:
            return b""


def test_malformed_and_truncated_pdus_close_that_connection_only(target: tuple[str, int]) -> None:
    init = encode("initRequest", {"protocolVersion": bits([0, 1, 2], 3), "options": bits([0, 1, 7], 16),
                                  "preferredMessageSize": 1 << 20, "exceptionalRecordSize": 1 << 20})
    search = encode("searchRequest", {"smallSetUpperBound": 0, "largeSetLowerBound": 1, "mediumSetPresentNumber": 0,
                                      "replaceIndicator": True, "resultSetName": "default",
                                      "databaseNames": ["Default"], "query": ("type-1", parse_pqf("@attr 1=4 lian"))})
    rng = random.Random(20261123)
    cases = [b"", b"\x00", b"GET / HTTP/1.0\r\n\r\n", b"\xbf\x7f\x84\xff\xff\xff\xff", b"\x30\x80" + b"\x01" * 50,
             init[:5], init + search[:7], search, init + b"\x00\x00\x00"]
    for _ in range(300):
        data = bytearray(init + search)
        for _ in range(rng.randint(1, 6)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        cases.append(bytes(data[: rng.randint(1, len(data))]))
    cases += [bytes(rng.randrange(256) for _ in range(rng.randint(1, 400))) for _ in range(100)]
    closes = 0
    for data in cases:
        answer = _send(target, data)
        closes += b"\xbf\x30" in answer  # a Close PDU ([APPLICATION 48]) said why
    assert closes > 100
    _alive(target)


def test_oversized_pdu_and_idle_connections_are_closed(site: Path) -> None:
    server = _server(site, z3950_idle_timeout=1, z3950_message_size=65536)
    target = server.server_address[:2]
    try:
        huge = b"\xb4\x84\x10\x00\x00\x00"  # a searchRequest claiming 256 MiB
        answer = _send(target, huge + b"\x00" * 1000)  # type: ignore[arg-type]
        assert answer.startswith(b"\xbf\x30")  # Close: protocol error
        with socket.create_connection(target, timeout=5) as sock:  # type: ignore[arg-type]
            started = time.monotonic()
            kind, value = decode(read_pdu(sock, bytearray()))
            assert kind == "close" and value["closeReason"] == 7 and time.monotonic() - started < 4
        _alive(target)  # type: ignore[arg-type]
    finally:
        server.shutdown()
        server.server_close()


def test_concurrent_associations(target: tuple[str, int]) -> None:
    results: list[Any] = []

    def work() -> None:
        try:
            with client(target) as z:
                count = z.search("Default", parse_pqf("@attr 1=21 history"))
                got = z.present(1, 5, "usmarc")
                results.append((count, len(got)))
        except (Z3950Error, OSError) as exc:
            results.append(exc)

    threads = [threading.Thread(target=work) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 12 and len(set(results)) == 1 and isinstance(results[0], tuple), results


def test_serve_command_runs_z3950_without_sru_in_two_processes(site: Path, tmp_path: Path) -> None:
    config = tmp_path / "two.toml"
    config.write_text(site.read_text(encoding="utf-8").replace("[server]", "[server]\nz3950_workers = 2")
                      .replace('path = "var/', f'path = "{site.parent}/var/'), encoding="utf-8")
    port = free_port()
    proc = subprocess.Popen([str(Path(sys.executable).parent / "unioncat"), "--config", str(config), "serve",
                             "--no-sru", "--z3950-port", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                assert hits(("127.0.0.1", port), "@attr 1=4 lian") == 4
                break
            except Z3950Error:
                time.sleep(0.1)
        else:
            pytest.fail("unioncat serve --no-sru --z3950-port did not answer")
        results: list[Any] = []
        threads = [threading.Thread(target=lambda: results.append(hits(("127.0.0.1", port), "@attr 1=21 history")))
                   for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert len(results) == 6 and len(set(results)) == 1
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    time.sleep(2)  # the worker process notices its parent is gone within a second
    with pytest.raises(Z3950Error):
        hits(("127.0.0.1", port), "@attr 1=4 lian")


def test_cjk_strings_travel_as_utf8(target: tuple[str, int]) -> None:
    """InternationalStrings (scan display terms, diagnostic addinfo, OPAC holdings) go out as
    UTF-8: asn1tools alone writes Latin-1 and failed on the first Chinese term (found by the
    fuzz test)."""
    with pytest.raises(RemoteDiagnostic, match="圖書館"):
        hits(target, "@attr 1=4 lian", database="圖書館")
    out = yaz(target, "scan @attr 1=4 連城", "find @attr 1=4 連城訣", "format opac", "show 1")
    assert "* 連城訣 (1)" in out and "Number of hits: 1" in out and "nucCode: UNIV" in out


# limits ---------------------------------------------------------------------------------------
def test_associations_past_the_cap_are_refused(site: Path) -> None:
    """500 idle sockets held 502 threads: now the cap's worth, and the rest get Close (resources)."""
    server = _server(site, z3950_max_connections=3)
    target = server.server_address[:2]
    idle = [socket.create_connection(target, timeout=5) for _ in range(3)]
    try:
        for _ in range(50):  # the target has taken all three
            if server.open == 3:
                break
            time.sleep(0.05)
        threads = threading.active_count()
        refused = [socket.create_connection(target, timeout=5) for _ in range(20)]
        for sock in refused:
            kind, value = decode(read_pdu(sock, bytearray(), limit=1 << 16))
            assert kind == "close" and value["closeReason"] == 4 and "too many" in value["diagnosticInformation"]
            sock.close()
        assert threading.active_count() == threads and server.open == 3
        idle.pop().close()
        for _ in range(50):
            if server.open < 3:
                break
            time.sleep(0.05)
        assert hits(target, "@attr 1=4 lian") == 4  # a slot is free again
    finally:
        for sock in idle:
            sock.close()
        server.shutdown()
        server.server_close()


def test_sort_cannot_create_result_sets_past_the_cap(site: Path) -> None:
    from unioncat.serving.resources import Resources
    from unioncat.z3950_server.session import MAX_SETS, Session

    cfg = load_config(str(site))
    session = Session(Resources(cfg), cfg, "test")
    session.handle("initRequest", {"protocolVersion": bits([0, 1, 2], 3), "options": bits([0, 1, 7, 8], 16)})
    session.handle("searchRequest", {"replaceIndicator": True, "resultSetName": "default", "databaseNames": ["Default"],
                                     "query": ("type-1", parse_pqf("@attr 1=4 lian"))})
    sort = {"inputResultSetNames": ["default"], "sortSequence": [
        {"sortElement": ("generic", ("sortfield", "title")), "sortRelation": 0, "caseSensitivity": 0}]}
    statuses = [session.handle("sortRequest", {**sort, "sortedResultSetName": f"s{n}"})[1]["sortStatus"]
                for n in range(MAX_SETS + 5)]
    assert statuses == [0] * (MAX_SETS - 1) + [2] * 6 and len(session.sets) == MAX_SETS
    again = session.handle("sortRequest", {**sort, "sortedResultSetName": "s0"})[1]  # replacing is fine
    assert again["sortStatus"] == 0


# first contact with real clients ------------------------------------------------------------
def zoomsh(target: tuple[str, int], *commands: str) -> str:
    """Run zoomsh with commands on stdin; return its transcript."""
    script = "\n".join([*commands[:-1], commands[-1], "quit"]) + "\n"
    out = subprocess.run(["zoomsh"], input=script, capture_output=True, text=True, timeout=60)
    return out.stdout + out.stderr


def test_character_set_negotiation_with_yaz_client(target: tuple[str, int]) -> None:
    """An Init carrying the negotiation record closed the association ("undecodable PDU")."""
    out = yaz(target, "charset UTF-8", "close", f"open tcp:{target[0]}:{target[1]}/Default",
              "find @attr 1=4 連城訣", "show 1")
    assert "Options: search present delSet scan sort namedResultSets negotiationModel" in out
    assert "Accepted character set : UTF-8" in out and "Accepted records in ...: 1" in out
    assert "Number of hits: 1" in out and "連城訣" in out
    out = yaz(target, "negcharset UTF-8", "lang eng", "close", f"open tcp:{target[0]}:{target[1]}/Default",
              "find @attr 1=4 lian")
    assert "Accepted character set : UTF-8" in out and "Accepted code language : eng" in out
    assert "Number of hits: 4" in out
    # A set we do not speak: none is agreed, and records stay UTF-8 as without negotiation.
    out = yaz(target, "charset ISO-8859-1", "close", f"open tcp:{target[0]}:{target[1]}/Default",
              "find @attr 1=4 lian")
    assert "Accepted character set : none" in out and "Number of hits: 4" in out


def test_zoomsh_with_charset_and_lang(target: tuple[str, int]) -> None:
    out = zoomsh(target, "set charset UTF-8", "set lang zh", f"connect {target[0]}:{target[1]}/Default",
                 "search @attr 1=4 連城訣", "show 0 1")
    assert f"{target[0]}:{target[1]}/Default: 1 hits" in out and "245 10 $6 880-02 $a Lian cheng jue" in out


def test_piggybacked_records(target: tuple[str, int]) -> None:
    out = yaz(target, "ssub 10", "lslb 300", "mspn 3", "find @attr 1=4 history", "find @attr 1=21 history",
              "lslb 100", "find @attr 1=21 history")
    small, medium, large = out.split("Sent searchRequest.")[1:]
    assert "Number of hits: 7" in small and "records returned: 7" in small and small.count("Record type: USmarc") == 7
    assert "Number of hits: 275" in medium and "records returned: 3" in medium
    assert "Number of hits: 275" in large and "records returned: 0" in large


def test_sutrs_brief_records(target: tuple[str, int]) -> None:
    out = yaz(target, "format sutrs", "find @attr 1=4 lian", "show 1")
    record = out.split("Record type: SUTRS")[1]
    # yaz-client prints a SUTRS record's non-ASCII octets escaped: these are 連城訣's UTF-8 bytes
    utf8 = "".join(f"\\X{b:02X}" for b in "連城訣".encode())
    assert f"Title: {utf8} / Lian cheng jue" in record and "/ Jin, Yong, 1924-" in record
    assert "Held by: City Central Library (CITY); PL2848.Y8 L5 2000; 1 of 1 on the shelf" in record
    zoom = zoomsh(target, f"connect {target[0]}:{target[1]}/Default", "set preferredRecordSyntax sutrs",
                  "search @attr 1=4 lian", "show 0 1")
    assert "Title: 連城訣 / Lian cheng jue" in zoom


def test_scan_beyond_the_term_list(target: tuple[str, int]) -> None:
    """As Zebra answers: partial-5 when the list runs out, the term's position one past the end."""
    out = yaz(target, "scan @attr 1=4 鿿鿿", "scanpos 5", "scan @attr 1=4 鿿")
    past, end = out.split("query: @attr 1=4")[1:]
    assert "0 entries, position=1" in past and "Scan returned code 5" in past
    assert "4 entries, position=5" in end and "Scan returned code 5" in end
