"""The staff console: no page or action without a session and the right role; login, session,
CSRF and lockout rules; health, rejects, reports and the dedup review queue, whose decisions
survive the next nightly run."""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from urllib.parse import urlencode

import pytest
from click.testing import CliRunner

from tests.support.demo_site import site_store
from tests.support.wsgi import Answer, call
from unioncat.cli import cli
from unioncat.config import load_config
from unioncat.holdings.reports import REPORTS
from unioncat.serve import Site, create_app
from unioncat.staff.app import ACTIONS, PAGES

PASSWORDS = {"vic": "viewer-password-1", "cat": "cataloguer-password-1", "ada": "admin-password-1"}
ROLES = {"vic": "viewer", "cat": "cataloguer", "ada": "admin"}
# Accounts, sessions, lockouts and review decisions are kept in the store: on both back ends.
STORE_BACKENDS = ("sqlite", "postgresql")


def unioncat(site: Path, *args: str, stdin: str | None = None) -> str:
    result = CliRunner().invoke(cli, ["--config", str(site), *args], input=stdin)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def app(site: Path) -> Site:
    text = site.read_text(encoding="utf-8")
    site.write_text(text + "\n[staff]\nmax_failures = 3\n", encoding="utf-8")
    for name, password in PASSWORDS.items():
        unioncat(site, "staff", "add", name, "--role", ROLES[name], "--password-stdin", stdin=password + "\n")
    return create_app(load_config(str(site)))


def cookies_of(answer: Answer) -> dict[str, str]:
    out = {}
    for key, value in answer.header_list:
        if key == "Set-Cookie":
            name, _, rest = value.partition("=")
            out[name] = rest.split(";")[0]
    return out


def login(app: Site, name: str, password: str | None = None, address: str = "10.0.0.1") -> Answer:
    form = call(app, path="/staff/login", environ_extra={"REMOTE_ADDR": address})
    nonce = cookies_of(form)["unioncat_login"]
    body = urlencode({"user": name, "password": password or PASSWORDS[name], "csrf": nonce,
                      "next": "/staff/"}).encode()
    return call(app, method="POST", path="/staff/login", body=body, headers={"Cookie": f"unioncat_login={nonce}"},
                environ_extra={"REMOTE_ADDR": address})


def session(app: Site, name: str) -> tuple[str, str]:
    """Sign in; return the session cookie header and the session's CSRF token."""
    answer = login(app, name)
    assert answer.status == "303 See Other", answer.body[:300]
    cookie = f"unioncat_staff={cookies_of(answer)['unioncat_staff']}"
    page = call(app, path="/staff/", headers={"Cookie": cookie})
    token = re.search(rb'name="csrf" value="([^"]+)"', page.body)
    assert token is not None
    return cookie, token.group(1).decode()


def every_get() -> list[str]:
    return [f"/staff{p if p != '/' else '/'}" for p in PAGES] + [f"/staff/reports/{r}" for r in REPORTS] + \
        ["/staff/rejects/1.mrc", "/staff/reports/overlap?csv=1", "/staff"]


def test_nothing_without_a_session(app: Site) -> None:
    for path in every_get():
        answer = call(app, path=path.split("?")[0], query_string=path.partition("?")[2])
        assert answer.status == "303 See Other", path
        assert answer.headers["Location"].startswith("/staff/login?next="), path
        assert b"<table" not in answer.body
    for path in ACTIONS:
        answer = call(app, method="POST", path=f"/staff{path}", body=b"action=merge&a=x&b=y&csrf=z")
        assert answer.status == "401 Unauthorized", path
    forged = call(app, path="/staff/", headers={"Cookie": "unioncat_staff=not-a-session"})
    assert forged.status == "303 See Other"
    assert call(app, path="/staff/login").status == "200 OK"


def test_each_role_reaches_what_it_may_and_no_more(app: Site) -> None:
    for name, role in ROLES.items():
        cookie, _ = session(app, name)
        for path, (needed, _) in PAGES.items():
            answer = call(app, path=f"/staff{path}", headers={"Cookie": cookie})
            may = ["viewer", "cataloguer", "admin"].index(role) >= ["viewer", "cataloguer", "admin"].index(needed)
            assert answer.status == ("200 OK" if may else "403 Forbidden"), (name, path, answer.status)
        for report in REPORTS:
            assert call(app, path=f"/staff/reports/{report}", headers={"Cookie": cookie}).status == "200 OK"
    cookie, token = session(app, "vic")
    refused = call(app, method="POST", path="/staff/review", headers={"Cookie": cookie},
                   body=urlencode({"action": "merge", "a": "CITY.1", "b": "DIST.1", "csrf": token}).encode())
    assert refused.status == "403 Forbidden" and b"cataloguer" in refused.body


def test_the_session_cookie(app: Site) -> None:
    answer = login(app, "vic")
    header = next(v for k, v in answer.header_list if k == "Set-Cookie" and v.startswith("unioncat_staff="))
    assert "HttpOnly" in header and "SameSite=Strict" in header and "Path=/staff/" in header
    assert "Secure" not in header  # served over plain HTTP here
    form = call(app, path="/staff/login", environ_extra={"wsgi.url_scheme": "https"})
    nonce = cookies_of(form)["unioncat_login"]
    over_https = call(app, method="POST", path="/staff/login", headers={"Cookie": f"unioncat_login={nonce}"},
                      body=urlencode({"user": "vic", "password": PASSWORDS["vic"], "csrf": nonce}).encode(),
                      environ_extra={"wsgi.url_scheme": "https"})
    header = next(v for k, v in over_https.header_list if k == "Set-Cookie" and v.startswith("unioncat_staff="))
    assert "Secure" in header


def test_csrf_on_every_form(app: Site) -> None:
    no_nonce = call(app, method="POST", path="/staff/login",
                    body=urlencode({"user": "vic", "password": PASSWORDS["vic"], "csrf": "guess"}).encode())
    assert no_nonce.status == "403 Forbidden" and "unioncat_staff" not in cookies_of(no_nonce)
    cookie, token = session(app, "cat")
    for bad in ("", "x" * 43, token[:-1]):
        answer = call(app, method="POST", path="/staff/review", headers={"Cookie": cookie},
                      body=urlencode({"action": "apart", "a": "CITY.1", "b": "DIST.1", "csrf": bad}).encode())
        assert answer.status == "403 Forbidden"
    out = call(app, method="POST", path="/staff/logout", headers={"Cookie": cookie}, body=b"csrf=wrong")
    assert out.status == "403 Forbidden"
    assert call(app, path="/staff/", headers={"Cookie": cookie}).status == "200 OK"  # still signed in
    out = call(app, method="POST", path="/staff/logout", headers={"Cookie": cookie},
               body=urlencode({"csrf": token}).encode())
    assert out.status == "303 See Other"
    assert call(app, path="/staff/", headers={"Cookie": cookie}).status == "303 See Other"  # signed out


def test_failed_logins_are_slowed_down_and_logged(app: Site, site: Path, caplog: pytest.LogCaptureFixture) -> None:
    for _ in range(3):  # staff.max_failures = 3
        answer = login(app, "ada", "wrong-password-0", address="10.9.9.9")
        assert answer.status == "401 Unauthorized"
    assert "login failed: 'ada' from 10.9.9.9" in caplog.text
    locked = login(app, "ada", address="10.9.9.9")  # the right password, too early
    assert locked.status == "429 Too Many Requests" and b"try again in" in locked.body
    elsewhere = login(app, "ada", address="10.1.1.1")  # the account is held back from every address
    assert elsewhere.status == "429 Too Many Requests"
    with site_store(site) as store:  # 15 minutes on
        store.db.execute("UPDATE staff_failures SET at = at - 901")
    assert login(app, "ada", address="10.9.9.9").status == "303 See Other"
    unknown = login(app, "nobody", "whatever-password")
    assert unknown.status == "401 Unauthorized" and b"do not match" in unknown.body


def test_sessions_end(app: Site, site: Path) -> None:
    cookie, _ = session(app, "vic")
    with site_store(site) as store:  # 31 minutes without a request
        store.db.execute("UPDATE staff_sessions SET seen = seen - 31 * 60")
    assert call(app, path="/staff/", headers={"Cookie": cookie}).status == "303 See Other"
    cookie, _ = session(app, "vic")
    unioncat(site, "staff", "passwd", "vic", "--password-stdin", stdin=PASSWORDS["vic"] + "\n")
    assert call(app, path="/staff/", headers={"Cookie": cookie}).status == "303 See Other"


def test_login_sends_back_only_within_the_console(app: Site) -> None:
    form = call(app, path="/staff/login")
    nonce = cookies_of(form)["unioncat_login"]
    for target, expected in (("//evil.example/x", "/staff/"), ("https://evil.example/", "/staff/"),
                             ("/staff/reports/unique", "/staff/reports/unique"), ("/search?q=x", "/staff/")):
        answer = call(app, method="POST", path="/staff/login", headers={"Cookie": f"unioncat_login={nonce}"},
                      body=urlencode({"user": "vic", "password": PASSWORDS["vic"], "csrf": nonce,
                                      "next": target}).encode())
        assert answer.headers["Location"] == expected


def test_health_shows_each_member_and_the_last_run(app: Site, site: Path) -> None:
    cookie, _ = session(app, "vic")
    page = call(app, path="/staff/", headers={"Cookie": cookie}).body.decode()
    cfg = load_config(str(site))
    for src in cfg.sources:
        assert src.name in page
    for stage in ("import CITY", "dedup", "index"):
        assert stage in page
    with site_store(site) as store:
        city = store.count("CITY", deleted=False)
        store.db.execute("UPDATE loads SET finished='2020-01-01T00:00:00.000Z' WHERE source='VILL'")
        items = store.item_counts("CITY")["items"]
    assert f"{city:,}" in page and f'<td class="n">{items:,}</td>' in page and "built-in method" not in page
    page = call(app, path="/staff/", headers={"Cookie": cookie}).body.decode()
    assert re.search(r"Hillside Village Library.*?not loaded for \d+ days", page, re.S)


def test_reports_pages_charts_and_csv(app: Site, site: Path) -> None:
    cookie, _ = session(app, "vic")
    overlap = call(app, path="/staff/reports/overlap", headers={"Cookie": cookie}).body.decode()
    assert "<svg" in overlap and 'role="img"' in overlap and "CITY and DIST: 400 titles" in overlap
    assert "style=" not in overlap  # the console's CSP allows no inline style
    unique = call(app, path="/staff/reports/unique", headers={"Cookie": cookie}).body.decode()
    assert "<svg" in unique and "CITY: 1,200 titles, 704 held by no other member" in unique
    download = call(app, path="/staff/reports/copies", query_string="csv=1&min=3", headers={"Cookie": cookie})
    assert download.headers["Content-Type"].startswith("text/csv")
    assert download.body.decode() == unioncat(site, "report", "copies", "--min", "3", "--csv")
    rows = list(csv.DictReader(io.StringIO(download.body.decode())))
    assert rows and all(int(r["copies"]) > 3 for r in rows)
    bad = call(app, path="/staff/reports/copies", query_string="min=lots", headers={"Cookie": cookie})
    assert bad.status == "400 Bad Request"


def test_rejects_with_the_raw_record(app: Site, site: Path) -> None:
    cookie, _ = session(app, "vic")
    with site_store(site) as store:
        found = store.db.execute("SELECT id, source, raw FROM rejects WHERE raw IS NOT NULL LIMIT 1").fetchone()
        if found is None:  # the demo's drops may all be clean: put one broken record in, as import would
            store.db.execute("INSERT INTO rejects(source, location, position, byte_offset, reason, raw, created)"
                             " VALUES ('DIST', 'broken.mrc', 7, 1234, 'record length 00999 is not a number', ?,"
                             " '2026-01-01T00:00:00Z')", (b"00999nam  broken\x1d",))
            found = store.db.execute("SELECT id, source, raw FROM rejects WHERE raw IS NOT NULL LIMIT 1").fetchone()
    page = call(app, path="/staff/rejects", query_string=f"member={found[1]}", headers={"Cookie": cookie})
    assert page.status == "200 OK" and f"/staff/rejects/{found[0]}.mrc" in page.body.decode()
    raw = call(app, path=f"/staff/rejects/{found[0]}.mrc", headers={"Cookie": cookie})
    assert raw.status == "200 OK" and raw.body == bytes(found[2])
    assert call(app, path="/staff/rejects/999999.mrc", headers={"Cookie": cookie}).status == "404 Not Found"
    assert call(app, path="/staff/rejects", query_string="member=NOPE", headers={"Cookie": cookie}).status == \
        "404 Not Found"


def masters_of(site: Path, *ids: str) -> list[str]:
    with site_store(site) as store:
        return [str(store.master_of(r)) for r in ids]


def test_review_decisions_are_logged_and_survive_the_next_run(app: Site, site: Path) -> None:
    cookie, token = session(app, "cat")
    page = call(app, path="/staff/review", headers={"Cookie": cookie}).body.decode()
    pairs = re.findall(r'name="a" value="([^"]+)"><input type="hidden" name="b" value="([^"]+)"', page)
    assert len(pairs) >= 2, "the demo has pairs to review"
    assert "VETO" in page  # the comparator's checks are shown
    vetoed = next((a, b) for a, b in pairs if len(set(masters_of(site, a, b))) == 2)
    with site_store(site) as store:  # a master of two records, merged by the run
        matched = store.db.execute("SELECT min(record_id), max(record_id) FROM clusters GROUP BY master_id"
                                   " HAVING count(*) = 2 ORDER BY master_id LIMIT 1").fetchone()
    kept_master = masters_of(site, *matched)[0]
    before_merge = set(masters_of(site, *vetoed))
    for action, (a, b) in (("merge", vetoed), ("apart", matched)):
        answer = call(app, method="POST", path="/staff/review", headers={"Cookie": cookie},
                      body=urlencode({"action": action, "a": a, "b": b, "csrf": token}).encode())
        assert answer.status == "303 See Other", answer.body[:300]
    merged = masters_of(site, *vetoed)
    assert merged[0] == merged[1] and merged[0] in before_merge  # one of the two master ids lives on
    apart = masters_of(site, *matched)
    assert apart[0] != apart[1] and kept_master in apart  # the master id stays with one of them
    assert app.staff.reindexing is not None
    app.staff.reindexing.join(120)  # the index brought up to date after the decisions
    log = unioncat(site, "dedup", "log", "--json")
    assert '"who": "cat"' in log and '"action": "merge"' in log and '"action": "apart"' in log
    page = call(app, path="/staff/log", headers={"Cookie": cookie}).body.decode()
    assert vetoed[0] in page and matched[1] in page
    unioncat(site, "run")
    assert masters_of(site, *vetoed) == merged and masters_of(site, *matched) == apart
    again = call(app, path="/staff/review", headers={"Cookie": cookie}).body.decode()
    assert f'value="{vetoed[0]}"><input type="hidden" name="b" value="{vetoed[1]}"' not in again


def test_bad_requests_get_pages_not_tracebacks(app: Site) -> None:
    cookie, token = session(app, "cat")
    for method, path, body in (("GET", "/staff/nowhere", b""), ("PUT", "/staff/", b""),
                               ("POST", "/staff/log", b"x=1"),
                               ("POST", "/staff/review", urlencode({"action": "burn", "a": "x", "b": "y",
                                                                     "csrf": token}).encode()),
                               ("POST", "/staff/review", urlencode({"action": "merge", "a": "NOPE.1",
                                                                     "b": "NOPE.2", "csrf": token}).encode())):
        answer = call(app, method=method, path=path, body=body, headers={"Cookie": cookie})
        assert answer.status[:3] in ("404", "405", "400", "409"), (method, path, answer.status)
        assert b"Traceback" not in answer.body
    assert "Content-Security-Policy" in call(app, path="/staff/login").headers


def test_staff_accounts_on_the_command_line(site: Path) -> None:
    listed = unioncat(site, "staff", "list", "--json")
    assert '"name": "ada"' in listed and '"role": "admin"' in listed
    result = CliRunner().invoke(cli, ["--config", str(site), "staff", "add", "eve", "--password-stdin"],
                                input="short\n")
    assert result.exit_code == 1 and "at least 10 characters" in result.output
    result = CliRunner().invoke(cli, ["--config", str(site), "staff", "add", "ada", "--password-stdin"],
                                input="another-password-1\n")
    assert result.exit_code == 1 and "already an account" in result.output
    with site_store(site) as store:
        stored = store.db.execute("SELECT hash FROM staff_users WHERE name='ada'").fetchone()[0]
    assert stored.startswith("$argon2id$") and PASSWORDS["ada"] not in stored
    unioncat(site, "staff", "add", "eve", "--password-stdin", stdin="eve-password-12\n")
    unioncat(site, "staff", "remove", "eve")
    assert '"name": "eve"' not in unioncat(site, "staff", "list", "--json")
