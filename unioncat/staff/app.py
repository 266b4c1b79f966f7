"""The staff console, behind a login, at ``staff.base_path`` (``/staff``):

    /staff                       nightly health: each member's last load, counts, rejects, items,
                                 freshness; the last run's stages and times
    /staff/login, /staff/logout  (POST) sign in and out
    /staff/rejects?member=M      a member's rejected records; /staff/rejects/ID.mrc the raw bytes
    /staff/review                the dedup review queue; POST merge or keep apart (cataloguer)
    /staff/log                   who merged or kept apart what, and when
    /staff/reports/NAME          overlap (a heat map), unique (bars), copies, collisions; ?csv=1
    /staff/accounts              the staff accounts (admin)
    /staff/static/staff.css      the stylesheet

Every page but the login answers a request without a live session by sending the browser to the
login page (303; 401 for a POST), and 403 for a role that may not act.  Every form carries the
session's CSRF token (the login form one of its own in a cookie), compared in constant time; the
session cookie is HttpOnly, SameSite=Strict, limited to the console's path, and Secure when the
console is served over HTTPS.  Writes (login, actions) go through a writer connection of their own
that waits at most 5 s for the nightly run's write lock, then answers 503: pages only read.
"""
from __future__ import annotations

import logging
import secrets
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.cookies import CookieError, SimpleCookie
from importlib import resources
from typing import Any, Callable, Iterable, Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit

import jinja2
from markupsafe import Markup

from unioncat.config.model import Config
from unioncat.errors import UnioncatError
from unioncat.holdings.itemstore import item_counts
from unioncat.index.build import update as index_update
from unioncat.holdings.reports import REPORTS, report
from unioncat.reports import report_csv
from unioncat.serving import Resources
from unioncat.dedup import review
from unioncat.staff import accounts
from unioncat.staff.charts import chart
from unioncat.staff.accounts import Session
from unioncat.store import Store, open_store

log = logging.getLogger("unioncat.staff")
StartResponse = Callable[..., Any]
COOKIE = "unioncat_staff"
LOGIN_COOKIE = "unioncat_login"
MAX_BODY = 1 << 16
CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'none'")
HEADERS = [("Content-Security-Policy", CSP), ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "same-origin"),
           ("X-Frame-Options", "DENY"), ("Cache-Control", "no-store")]


# Every page, the role it needs and the method that builds it; besides these: the login, the
# stylesheet, /rejects/ID.mrc and /reports/NAME (viewer), and the POSTs: /review (cataloguer), /logout.
PAGES = {"/": ("viewer", "health"), "/rejects": ("viewer", "rejects"), "/review": ("viewer", "review"),
         "/log": ("viewer", "log"), "/accounts": ("admin", "accounts")}
ACTIONS = {"/review": "cataloguer", "/logout": "viewer"}


class Answer(Exception):
    """A response other than the page asked for: an error page, or a redirect (``location``)."""

    def __init__(self, status: str, message: str = "", location: str = "") -> None:
        super().__init__(message)
        self.status, self.message, self.location = status, message, location


@dataclass
class Request:
    method: str
    path: str  # below the console's base path, "/" for the base itself
    query: list[tuple[str, str]]
    form: dict[str, str]
    cookies: dict[str, str]
    address: str
    secure: bool
    session: Session | None = None
    set_cookies: list[str] = field(default_factory=list)

    def arg(self, name: str) -> str:
        return next((v for k, v in self.query if k == name), "")


class StaffApp:
    """WSGI callable serving the staff console."""

    def __init__(self, cfg: Config, res: Resources) -> None:
        self.cfg = cfg
        self.res = res
        self.base = cfg.staff.base_path.rstrip("/")
        self.names = {s.id: s.name or s.id for s in cfg.sources}
        self.css = resources.files("unioncat.staff").joinpath("static/staff.css").read_bytes()
        self.env = jinja2.Environment(loader=jinja2.PackageLoader("unioncat.staff", "templates"), autoescape=True,
                                      auto_reload=False, trim_blocks=True, lstrip_blocks=True,
                                      undefined=jinja2.StrictUndefined)
        self.env.filters["number"] = lambda n: f"{n:,}" if isinstance(n, int) else n
        self.env.filters["when"] = _when
        self.env.globals.update(base=self.base, names=self.names, reports=REPORTS)
        self.reindexing: threading.Thread | None = None  # the index update after a review decision
        self._reindex_lock = threading.Lock()

    # HTTP ------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        req = self._request(environ)
        headers: list[tuple[str, str]] = []
        try:
            status, headers, body = self.route(req)
        except Answer as exc:
            if exc.location:
                status, headers, body = exc.status, [("Location", exc.location)], b""
            else:
                status, body = exc.status, self.page(req, "error.html", status=exc.status, message=exc.message)
                if exc.status.startswith("503"):
                    headers = [("Retry-After", "60")]
        except (KeyboardInterrupt, SystemExit, GeneratorExit):
            raise
        except BaseException:  # noqa: B036 -- last line of defence: a page, never a traceback
            log.exception("staff request failed: %s %s", req.method, req.path)
            status, body = "500 Internal Server Error", self.page(
                req, "error.html", status="500", message="Something went wrong; it has been logged.")
        headers = headers + [("Content-Length", str(len(body)))] + HEADERS
        if not any(k == "Content-Type" for k, _ in headers):
            headers.append(("Content-Type", "text/html; charset=utf-8"))
        headers += [("Set-Cookie", c) for c in req.set_cookies]
        start_response(status, headers)
        return [b"" if req.method == "HEAD" else body]

    def _request(self, environ: dict[str, Any]) -> Request:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        path = (environ.get("PATH_INFO", "") or "/")[len(self.base):] or "/"
        query = parse_qsl(environ.get("QUERY_STRING", "")[:4096], keep_blank_values=True, max_num_fields=32)
        form: dict[str, str] = {}
        if method == "POST":
            try:
                length = min(int(environ.get("CONTENT_LENGTH") or 0), MAX_BODY)
            except ValueError:
                length = 0
            body = environ["wsgi.input"].read(length).decode("utf-8", "replace") if length > 0 else ""
            for key, value in parse_qsl(body, keep_blank_values=True, max_num_fields=32):
                form.setdefault(key, value)
        cookies: dict[str, str] = {}
        try:
            cookies = {k: m.value for k, m in SimpleCookie(environ.get("HTTP_COOKIE", "")[:4096]).items()}
        except CookieError:
            pass
        public = self.cfg.server.public_url or ""
        secure = environ.get("wsgi.url_scheme") == "https" or public.startswith("https:")
        return Request(method, path, query, form, cookies, environ.get("REMOTE_ADDR", "") or "unknown", secure)

    def _cookie(self, req: Request, name: str, value: str, age: int | None = None) -> str:
        parts = [f"{name}={value}", f"Path={self.base}/", "HttpOnly", "SameSite=Strict"]
        if age is not None:
            parts.append(f"Max-Age={age}")
        if req.secure:
            parts.append("Secure")
        return "; ".join(parts)

    # routing and access ----------------------------------------------------------------
    def route(self, req: Request) -> tuple[str, list[tuple[str, str]], bytes]:
        if req.method not in ("GET", "HEAD", "POST"):
            raise Answer("405 Method Not Allowed", "The console takes GET and POST.")
        if req.path == "/static/staff.css":
            return "200 OK", [("Content-Type", "text/css; charset=utf-8")], self.css
        if req.path == "/login":
            return self.login(req)
        self._authenticate(req)
        if req.method == "POST":
            if req.path not in ACTIONS:
                raise Answer("405 Method Not Allowed", "This page can only be read.")
            self._require(req, ACTIONS[req.path])
            return self.logout(req) if req.path == "/logout" else self.act(req)
        if req.path in PAGES:
            role, name = PAGES[req.path]
            self._require(req, role)
            build: Callable[[Request], dict[str, Any]] = getattr(self, name)
            return "200 OK", [], self.page(req, f"{name}.html", **build(req))
        if req.path.startswith("/rejects/") and req.path.endswith(".mrc"):
            self._require(req, "viewer")
            return self.reject_raw(req.path[len("/rejects/"):-len(".mrc")])
        if req.path.startswith("/reports/") and req.path[len("/reports/"):] in REPORTS:
            self._require(req, "viewer")
            return self.report(req, req.path[len("/reports/"):])
        raise Answer("404 Not Found", "There is no page at this address.")

    def _authenticate(self, req: Request) -> None:
        token = req.cookies.get(COOKIE, "")
        store = self.res.store()
        try:
            found, stale = accounts.session(store, self.cfg.staff, token)
        except store.Error:  # a store older than the console's tables: nobody has an account yet
            found, stale = None, False
        if found is None:
            if req.method == "POST":
                raise Answer("401 Unauthorized", "Your session has ended: sign in again.")
            here = self.base + (req.path if req.path != "/" else "/")
            target = here + ("?" + urlencode(req.query) if req.query else "")
            raise Answer("303 See Other", location=f"{self.base}/login?{urlencode({'next': target})}")
        if stale:
            try:
                with self._writer() as store:
                    accounts.touch(store, token)
            except Answer:
                pass  # the nightly run is writing: the session is marked seen at the next request
        req.session = found

    @staticmethod
    def _require(req: Request, role: str) -> None:
        assert req.session is not None
        if not req.session.may(role):
            raise Answer("403 Forbidden", f"This needs the {role} role; you have {req.session.role}.")

    def _check_csrf(self, req: Request, expected: str) -> None:
        if not accounts.same(req.form.get("csrf", ""), expected):
            raise Answer("403 Forbidden", "This form has expired or did not come from this console: "
                         "go back, reload the page and try again.")

    @contextmanager
    def _writer(self) -> Iterator[Store]:
        """A writer connection for one action; 503 if the nightly run holds the write lock for 5 s."""
        try:
            store = open_store(self.cfg.store, timeout=5)
        except UnioncatError as exc:
            raise Answer("503 Service Unavailable", f"The store cannot be written just now: {exc}") from None
        try:
            yield store
        except store.Error as exc:
            if store.busy(exc):
                raise Answer("503 Service Unavailable", "The nightly run is writing to the store: "
                             "try again in a minute.") from None
            raise
        finally:
            store.close()

    # login -----------------------------------------------------------------------------
    def login(self, req: Request) -> tuple[str, list[tuple[str, str]], bytes]:
        target = req.form.get("next") or req.arg("next")
        if not target.startswith(self.base + "/") or target.startswith("//") or urlsplit(target).netloc:
            target = self.base + "/"
        if req.method != "POST":
            nonce = secrets.token_urlsafe(24)
            req.set_cookies.append(self._cookie(req, LOGIN_COOKIE, nonce))
            return "200 OK", [], self.page(req, "login.html", next=target, nonce=nonce, message="")
        self._check_csrf(req, req.cookies.get(LOGIN_COOKIE, ""))
        name, password = req.form.get("user", "")[:64], req.form.get("password", "")[:1024]
        with self._writer() as store:
            wait = accounts.wait_before_login(store, self.cfg.staff, name, req.address)
            if wait:
                log.warning("staff login refused: %r from %s must wait %d s after failed logins", name, req.address, wait)
                raise Answer("429 Too Many Requests", f"Too many failed logins: try again in {wait} seconds.")
            token = accounts.login(store, self.cfg.staff, name, password, req.address)
        if token is None:
            log.warning("staff login failed: %r from %s", name, req.address)
            nonce = secrets.token_urlsafe(24)
            req.set_cookies.append(self._cookie(req, LOGIN_COOKIE, nonce))
            return "401 Unauthorized", [], self.page(req, "login.html", next=target, nonce=nonce,
                                                     message="That name and password do not match an account.")
        log.info("staff login: %s from %s", name, req.address)
        req.set_cookies += [self._cookie(req, COOKIE, token), self._cookie(req, LOGIN_COOKIE, "", 0)]
        return "303 See Other", [("Location", target)], b""

    def logout(self, req: Request) -> tuple[str, list[tuple[str, str]], bytes]:
        assert req.session is not None
        self._check_csrf(req, req.session.csrf)
        with self._writer() as store:
            accounts.logout(store, req.cookies.get(COOKIE, ""))
        req.set_cookies.append(self._cookie(req, COOKIE, "", 0))
        return "303 See Other", [("Location", f"{self.base}/login")], b""

    # pages -----------------------------------------------------------------------------
    def page(self, req: Request, template: str, **context: Any) -> bytes:
        return self.env.get_template(template).render(
            session=req.session, path=req.path, site=self.cfg.server.title, **context).encode("utf-8")

    def health(self, req: Request) -> dict[str, Any]:
        store = self.res.store()
        now = datetime.now(timezone.utc)
        members = []
        for src in self.cfg.sources:
            summary = store.source_summary(src.id)
            ok = summary["last_success"]
            age = _days(ok["finished"], now) if ok and ok["finished"] else None
            members.append({"id": src.id, "name": src.name or src.id, "type": src.type, **summary,
                            **item_counts(store, src.id), **store.freshness(src.id),
                            "days": age, "stale": age is None or age > self.cfg.staff.stale_days})
        return {"members": members, "run": store.last_run(), "stale_days": self.cfg.staff.stale_days}

    def rejects(self, req: Request) -> dict[str, Any]:
        member = req.arg("member")
        if member and member not in self.names:
            raise Answer("404 Not Found", f"There is no member {member[:40]!r}.")
        store = self.res.store()
        rows = store.rejects(member) if member else []
        counts = {src: store.source_summary(src)["rejects"] for src in self.names}
        return {"member": member, "rows": rows[:1000], "more": max(0, len(rows) - 1000), "counts": counts}

    def reject_raw(self, ident: str) -> tuple[str, list[tuple[str, str]], bytes]:
        raw = self.res.store().reject_raw(int(ident)) if ident.isdigit() and len(ident) < 19 else None
        if raw is None:
            raise Answer("404 Not Found", "There is no such rejected record, or nothing of it was kept.")
        return "200 OK", [("Content-Type", "application/marc"),
                          ("Content-Disposition", f'attachment; filename="reject-{ident}.mrc"')], raw

    def review(self, req: Request) -> dict[str, Any]:
        return {"pairs": review.queue(self.res.store(), self.cfg, limit=25), "done": req.arg("done")[:500]}

    def log(self, req: Request) -> dict[str, Any]:
        return {"entries": review.log_entries(self.res.store(), limit=500)}

    def accounts(self, req: Request) -> dict[str, Any]:
        return {"accounts": accounts.accounts(self.res.store())}

    def report(self, req: Request, name: str) -> tuple[str, list[tuple[str, str]], bytes]:
        try:
            minimum = int(req.arg("min") or 5)
        except ValueError:
            raise Answer("400 Bad Request", "min must be a whole number.") from None
        if not 0 <= minimum <= 1_000_000:
            raise Answer("400 Bad Request", "min must be between 0 and 1,000,000.")
        rows = report(self.res.store(), name, list(self.names), minimum)[name]
        if req.arg("csv"):
            return "200 OK", [("Content-Type", "text/csv; charset=utf-8"),
                              ("Content-Disposition", f'attachment; filename="{name}.csv"')], \
                report_csv(rows).encode("utf-8")
        return "200 OK", [], self.page(req, "report.html", name=name, rows=rows[:2000], more=max(0, len(rows) - 2000),
                                       minimum=minimum, chart=Markup(chart(name, rows, list(self.names))),
                                       csv=f"?{urlencode({'csv': 1, 'min': minimum})}")

    # actions ---------------------------------------------------------------------------
    def act(self, req: Request) -> tuple[str, list[tuple[str, str]], bytes]:
        assert req.session is not None
        self._check_csrf(req, req.session.csrf)
        action, a, b = req.form.get("action", ""), req.form.get("a", ""), req.form.get("b", "")
        if action not in ("merge", "apart") or not a or not b or a == b:
            raise Answer("400 Bad Request", "Choose merge or keep apart for two records.")
        with self._writer() as store:
            try:
                done = review.decide(store, self.cfg, req.session.name, action, a, b)
            except UnioncatError as exc:
                raise Answer("409 Conflict", str(exc)) from None
        log.info("staff %s: %s %s %s (%s)", req.session.name, action, a, b, done)
        self._reindex_soon()
        return "303 See Other", [("Location", f"{self.base}/review?{urlencode({'done': done})}")], b""


    def _reindex_soon(self) -> None:
        """Bring the search index in step with a decision, in the background, under the nightly
        run's lock; if a run holds it, that run's index stage does it."""
        def work() -> None:
            try:
                with open_store(self.cfg.store) as store, store.run_lock():
                    index_update(store, self.cfg, None)
            except UnioncatError as exc:
                log.info("the index waits for the nightly run to show a review decision: %s", exc)
            except Exception:  # noqa: BLE001 -- a background thread: logged, the decision itself is kept
                log.exception("bringing the index up to date after a review decision failed")

        with self._reindex_lock:
            if self.reindexing is None or not self.reindexing.is_alive():
                self.reindexing = threading.Thread(target=work, name="unioncat-staff-reindex", daemon=True)
                self.reindexing.start()


def _when(stamp: str | None, missing: str = "—") -> str:
    """Show a stored UTC time to the minute: 2026-11-30 02:48 UTC."""
    return f"{stamp[:10]} {stamp[11:16]} UTC" if stamp and len(stamp) >= 16 else missing


def _days(stamp: str, now: datetime) -> float:
    when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return (now - when).total_seconds() / 86400

