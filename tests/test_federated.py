"""Federated live search against real peers: Zebra over SRU and Z39.50 (the same records, so every
live hit comes twice and must be shown once), merged with the union catalogue's own masters;
yaz-ztest; and the faults: a dead port, a target that never answers, one that answers garbage."""
from __future__ import annotations

import json
import shutil
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest
from click.testing import CliRunner

from tests.conftest import MARC, ROOT
from tests.peers import yaz_ztest, zebra
from unioncat.cli import cli
from unioncat.config import load_config
from unioncat.cql import parse
from unioncat.errors import ConfigError
from unioncat.federated.translate import to_pqf
from unioncat.z3950.pqf import parse_pqf

HILLSIDE = ROOT / "examples" / "demo" / "data" / "hillside.mrc"  # the VILL member's records


@pytest.fixture(scope="module")
def zebra_peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    src = tmp_path_factory.mktemp("zebra-live")
    shutil.copy(HILLSIDE, src / "hillside.mrc")
    shutil.copy(MARC / "loc_utf8_100.mrc", src / "loc100.mrc")  # records no member has
    with zebra(src) as env:
        yield env


@pytest.fixture(scope="module")
def ztest() -> Iterator[str]:
    with yaz_ztest() as address:
        yield address


class Silent:
    """A TCP server that accepts connections and never says a word (a hung target)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


class Garbage:
    """An HTTP server whose every answer is bytes that are no protocol at all, and a TCP
    server sending the same to a Z39.50 client."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 -- the stdlib's name
                body = b"\x00\xff<searchRetrieveResponse><numberOfRecords>zz</numberOf\x1d<<<"
                self.send_response(200)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that gave up on the garbage (a broken pipe) is no news

        self.http = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        self.tcp = socket.socket()
        self.tcp.bind(("127.0.0.1", 0))
        self.tcp.listen(16)
        threading.Thread(target=self._z, daemon=True).start()

    def _z(self) -> None:
        while True:
            try:
                conn, _ = self.tcp.accept()
            except OSError:
                return
            conn.sendall(b"\x30\x84\xff\xff\xff\xff garbage, not BER" * 10)
            conn.close()

    def close(self) -> None:
        self.http.shutdown()
        self.tcp.close()


@pytest.fixture(scope="module")
def faulty() -> Iterator[tuple[Silent, Garbage]]:
    silent, garbage = Silent(), Garbage()
    yield silent, garbage
    silent.close()
    garbage.close()


@pytest.fixture(scope="module")
def live_site(site: Path, zebra_peer: dict[str, str], ztest: str, faulty: tuple[Silent, Garbage]) -> Path:
    silent, garbage = faulty
    host, port = zebra_peer["Z3950"].split("/")[0].split(":")
    targets = [("ZS", "sru", zebra_peer["SRU_URL"], ""), ("ZZ", "z3950", f"{host}:{port}/Default", ""),
               ("ZTEST", "z3950", f"{ztest}/Default", ""), ("DEAD", "z3950", f"127.0.0.1:{_closed_port()}/Default", ""),
               ("SLOW", "sru", f"http://127.0.0.1:{silent.port}/sru", ""),
               ("JUNK", "sru", f"http://127.0.0.1:{garbage.http.server_port}/sru", ""),
               ("JUNKZ", "z3950", f"127.0.0.1:{garbage.tcp.getsockname()[1]}/Default", "")]
    text = site.read_text(encoding="utf-8") + "\n[live]\nbudget = 4\nmax_records = 20\n"
    for tid, kind, url, _ in targets:
        text += f'\n[[target]]\nid = "{tid}"\nname = "{tid} peer"\ntype = "{kind}"\nurl = "{url}"\ntimeout = 30\n'
    live = site.parent / "live.toml"
    live.write_text(text.replace('path = "var/', f'path = "{site.parent}/var/'), encoding="utf-8")
    return live


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    sock.close()
    return port


def search(config: Path, query: str, *args: str) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["--config", str(config), "search", query, "--live", "--json", *args])
    assert result.exit_code == 0, result.output
    found: dict[str, Any] = json.loads(result.stdout)  # output also holds stderr, which threads here may write
    return found


def test_cql_goes_to_z3950_as_rpn() -> None:
    cases = {'dc.title="lian cheng jue"': '@attr 1=4 @attr 4=1 "lian cheng jue"',
             "dc.title all \"history canada\"": '@and @attr 1=4 @attr 4=2 "history" @attr 1=4 @attr 4=2 "canada"',
             "dc.creator any \"smith jones\"": '@or @attr 1=1003 @attr 4=2 "smith" @attr 1=1003 @attr 4=2 "jones"',
             "dc.date>=1990 and bath.isbn=9780306406157":
                 '@and @attr 1=30 @attr 2=4 "1990" @attr 1=7 @attr 4=2 "9780306406157"',
             "histor*": '@attr 1=1016 @attr 4=2 @attr 5=1 "histor"',
             "cql.allRecords=1": '@attr 1=_ALLRECORDS @attr 2=103 ""'}
    for cql, pqf in cases.items():
        assert to_pqf(parse(cql)) == pqf, cql
        assert parse_pqf(pqf)  # our own PQF reader (and so the client's encoder) takes it


def test_sru_and_z3950_answers_of_one_record_are_one_record_merged_with_the_master(live_site: Path) -> None:
    found = search(live_site, "histoire", "--targets", "ZS,ZZ", "--limit", "0")
    status = {t["id"]: t for t in found["targets"]}
    assert status["ZS"]["status"] == status["ZZ"]["status"] == "ok"
    assert status["ZS"]["hits"] == status["ZZ"]["hits"] > 0
    live = [r for r in found["records"] if {"ZS", "ZZ"} & set(r["sources"])]
    # every record Zebra has is the VILL member's, which the union catalogue holds: all merge
    assert live and all(r["master"] and {"local", "ZS", "ZZ"} <= set(r["sources"]) for r in live)
    assert len(live) == min(status["ZS"]["records"], status["ZS"]["hits"])  # once each, not twice
    for r in live:
        assert r["records"]["ZS"] == r["records"]["ZZ"]  # the same record, by its 001
    assert not [r for r in found["records"] if r["master"] is None]


def test_live_records_no_master_matches_are_shown_once(live_site: Path) -> None:
    """Records only Zebra has (no member holds them) come from both of its protocols: each once."""
    found = search(live_site, "dc.title=poems", "--targets", "ZS,ZZ", "--limit", "0")
    status = {t["id"]: t for t in found["targets"]}
    assert status["ZS"]["hits"] == status["ZZ"]["hits"] >= 2
    live_only = [r for r in found["records"] if r["master"] is None]
    merged = [r for r in found["records"] if r["master"] and "ZS" in r["sources"]]
    assert len(live_only) >= 2 and len(live_only) + len(merged) == status["ZS"]["records"]  # not twice as many
    for record in live_only:
        assert record["sources"] == ["ZS", "ZZ"] and record["records"]["ZS"] == record["records"]["ZZ"]
        assert "poems" in record["title"].lower()


def test_faults_each_show_their_status_and_hold_nothing_up(live_site: Path) -> None:
    found = search(live_site, "histoire", "--budget", "6")
    status = {t["id"]: t for t in found["targets"]}
    assert status["DEAD"]["status"] == "error" and "connect" in status["DEAD"]["error"]
    assert status["SLOW"]["status"] == "timeout"  # still silent when the budget ran out
    assert status["JUNK"]["status"] == "error" and status["JUNKZ"]["status"] == "error"
    assert status["ZS"]["status"] == "ok" and status["ZTEST"]["status"] == "ok"
    assert status["ZTEST"]["hits"] > 0
    assert found["total"] > 0 and found["records"]  # the union catalogue's own answer is all there


def test_fetch_takes_one_record_as_the_target_sends_it(live_site: Path, tmp_path: Path) -> None:
    for target, fmt in (("ZZ", "marc"), ("ZS", "marcxml")):
        result = CliRunner().invoke(cli, ["--config", str(live_site), "fetch", target, "01-0127185", "--format", fmt])
        assert result.exit_code == 0, result.output
        if fmt == "marc":
            assert result.stdout_bytes.endswith(b"\x1d") and b"01-0127185" in result.stdout_bytes
        else:
            assert result.output.startswith("<record") and "01-0127185" in result.output
    missing = CliRunner().invoke(cli, ["--config", str(live_site), "fetch", "ZS", "no-such-record"])
    assert missing.exit_code == 1 and "no record 'no-such-record'" in missing.output
    unknown = CliRunner().invoke(cli, ["--config", str(live_site), "fetch", "NOPE", "1"])
    assert unknown.exit_code == 1 and "no live target NOPE" in unknown.output


def test_targets_are_validated_like_sources(tmp_path: Path) -> None:
    base = '[store]\npath = "s.db"\n[index]\npath = "i"\n[[source]]\nid = "CITY"\nname = "City"\ntype = "file"\npath = "x"\n'
    bad = {'[[target]]\nid = "T"\nname = "t"\ntype = "ftp"\nurl = "x"\n': "target[1].type",
           '[[target]]\nid = "T"\nname = "t"\ntype = "sru"\nurl = "not a url"\n': "target[1].url",
           '[[target]]\nid = "CITY"\nname = "t"\ntype = "sru"\nurl = "http://x/sru"\n': "target[1].id",
           '[[target]]\nid = "T"\nname = "t"\ntype = "z3950"\nurl = "h:1/D"\nmember = "NOPE"\n': "target[1].member",
           '[live]\nbudget = 0\n': "live",
           '[[target]]\nid = "T"\nname = "t"\ntype = "sru"\nurl = "http://x/sru"\n' * 2: "target[2].id"}
    for extra, where in bad.items():
        path = tmp_path / "u.toml"
        path.write_text(base + extra, encoding="utf-8")
        with pytest.raises(ConfigError) as caught:
            load_config(str(path))
        assert where in str(caught.value), (extra, str(caught.value))
    path.write_text(base.replace('type = "file"\npath = "x"', 'type = "file"\npath = "x"\nlive = true'), encoding="utf-8")
    with pytest.raises(ConfigError, match="only sru and z3950"):
        load_config(str(path))


def test_the_web_catalogue_searches_live_on_request(live_site: Path) -> None:
    from tests.support.wsgi import call
    from unioncat.serve import create_app

    cfg = load_config(str(live_site))
    app = create_app(cfg)
    plain = call(app, {"q": "histoire", "lang": "en"}, path="/search").body.decode()
    assert "Also search the member libraries" in plain and "Searched live" not in plain
    assert "/search?q=histoire&amp;live=1" in plain
    page = call(app, {"q": "histoire", "live": "1", "lang": "en"}, path="/search")
    html = page.body.decode()
    assert page.status == "200 OK" and "Searched live just now" in html
    assert "ZS peer: " in html and "DEAD peer: not available" in html
    assert "Also found live at: ZS peer, ZZ peer" in html
    poems = call(app, {"title": "poems", "live": "1", "lang": "zh-Hans"}, path="/search").body.decode()
    assert "联合目录中没有的" in poems and "ZS peer, ZZ peer" in poems
    filtered = call(app, {"q": "histoire", "library": "VILL", "available": "1", "live": "1"}, path="/search")
    assert filtered.status == "200 OK"  # the union catalogue's own filters are not sent to the targets


def test_a_target_answering_with_a_diagnostic_is_that_targets_error(live_site: Path) -> None:
    """An index a target does not have: Zebra's SRU diagnostic, its BIB-1 one over Z39.50; the
    union catalogue answers as ever."""
    found = search(live_site, "dc.title=histoire and local.available=true", "--targets", "ZS,ZZ")
    status = {t["id"]: t for t in found["targets"]}
    assert status["ZS"]["status"] == status["ZZ"]["status"] == "error"
    assert "info:srw/diagnostic/1/" in status["ZS"]["error"]  # Zebra: 15, unsupported context set
    assert "bib-1" in status["ZZ"]["error"].lower()
