"""The web catalogue for readers: server-rendered pages over the serving layer.

    /                     one search box
    /advanced             the advanced search form
    /search?q=...         results with facets, sort and paging (every filter is a URL parameter)
    /record/<master id>   the full description, where to borrow it, the MARC view, links over SRU
    /prefs?lang=&home=    remembers the interface language and the reader's home library
    /static/<file>        the stylesheet (the pages need no script)

Every page works without JavaScript, is rendered from Jinja2 templates with autoescaping, and
answers in the reader's language (:mod:`unioncat.web.i18n`).  A bad request gets an error page
in that language with HTTP 400/404/405, never a traceback; the Content-Security-Policy allows
nothing but this server's own files.
"""
from __future__ import annotations

import hashlib
import json
import logging
import mimetypes
from dataclasses import dataclass, field
from datetime import timedelta
from http.cookies import CookieError, SimpleCookie
from importlib import resources
from typing import Any, Callable, Iterable
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import jinja2
from babel.dates import format_timedelta
from babel.numbers import format_decimal, get_group_symbol

from unioncat.config.model import Config
from unioncat.errors import SRUDiagnostic, SearchIndexError, UnioncatError
from unioncat.serving import Resources
from unioncat.serving.suggest import alternatives
from unioncat.text import has_cjk, shown, strip_isbd
from unioncat.web import form, i18n
from unioncat.web.form import BadSearch, Search
from unioncat.web.i18n import N_

log = logging.getLogger("unioncat.web")
StartResponse = Callable[..., Any]
FACETS = ("library", "format", "language", "year", "subject")
FACET_PARAM = {v: k for k, v in form.FACET_OF.items()}
FACET_SHOWN = 8
MAX_URL = 4096
COOKIE_AGE = 365 * 24 * 3600
STALE_AFTER = 24 * 3600  # availability older than this is marked as possibly out of date
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = [("Content-Security-Policy", CSP), ("X-Content-Type-Options", "nosniff"),
                    ("Referrer-Policy", "same-origin"), ("X-Frame-Options", "DENY")]
SCHEMA_ORG = {"book": "Book", "journal": "Periodical", "article": "ScholarlyArticle", "map": "Map",
              "score": "MusicComposition", "music recording": "MusicRecording", "video": "Movie",
              "audiobook": "Audiobook", "computer file": "SoftwareApplication", "picture": "VisualArtwork",
              "manuscript": "Manuscript"}


class HTTPError(Exception):
    """An error page: status line and a msgid saying why."""

    def __init__(self, status: str, message: str, **values: object) -> None:
        super().__init__(message)
        self.status, self.message, self.values = status, message, values


@dataclass
class Request:
    method: str
    path: str
    pairs: list[tuple[str, str]]
    cookies: dict[str, str]
    lang: str
    environ: dict[str, Any]
    set_cookies: list[str] = field(default_factory=list)

    def param(self, name: str) -> str:
        return next((v for k, v in self.pairs if k == name), "")


def _request(environ: dict[str, Any]) -> Request:
    query = environ.get("QUERY_STRING", "")
    if len(query) > MAX_URL:
        query = ""  # answered with 414 by the caller
    pairs = parse_qsl(query, keep_blank_values=True, max_num_fields=64) if query else []
    cookies: dict[str, str] = {}
    try:
        jar: SimpleCookie = SimpleCookie(environ.get("HTTP_COOKIE", "")[:4096])
        cookies = {k: m.value for k, m in jar.items()}
    except CookieError:
        pass
    lang = next((v for k, v in pairs if k == "lang" and v in i18n.LANGUAGES), "")
    set_cookies = [_cookie("lang", lang)] if lang else []
    if not lang:
        lang = cookies.get("lang", "") if cookies.get("lang", "") in i18n.LANGUAGES else \
            i18n.negotiate(environ.get("HTTP_ACCEPT_LANGUAGE", "")[:512])
    raw_path = environ.get("PATH_INFO", "") or "/"
    try:  # WSGI hands PATH_INFO over as latin-1 of the bytes sent
        path = raw_path.encode("latin-1").decode("utf-8")
    except UnicodeError:
        path = raw_path
    return Request(environ.get("REQUEST_METHOD", "GET").upper(), path, pairs, cookies, lang, environ,
                   set_cookies)


def _cookie(name: str, value: str) -> str:
    age = COOKIE_AGE if value else 0
    return f"{name}={value}; Path=/; Max-Age={age}; SameSite=Lax; HttpOnly"


class WebApp:
    """WSGI callable serving the reader's pages."""

    def __init__(self, cfg: Config, res: Resources) -> None:
        self.cfg = cfg
        self.res = res
        self.sources = {s.id: s for s in cfg.sources}
        self.static = _static_files()
        self.envs = {lang: self._environment(lang) for lang in i18n.LANGUAGES}

    def _environment(self, lang: str) -> jinja2.Environment:
        env = jinja2.Environment(loader=jinja2.PackageLoader("unioncat.web", "templates"),
                                 autoescape=True, extensions=["jinja2.ext.i18n"], auto_reload=False,
                                 trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
        env.install_gettext_translations(i18n.translations(lang), newstyle=True)  # type: ignore[attr-defined]
        loc = i18n.locale(lang)
        group = get_group_symbol(locale=loc)  # format_decimal costs 60 us a call; a page has 100 numbers
        env.filters["number"] = lambda n: f"{n:,}".replace(",", group) if isinstance(n, int) else \
            format_decimal(n, locale=loc)
        env.filters["age"] = lambda s: format_timedelta(timedelta(seconds=max(float(s), 1)), locale=loc)
        env.filters["language_name"] = lambda code: i18n.language_name(code, lang)
        env.globals["static"] = lambda name: f"/static/{name}?v={self.static[name][2][:10]}"
        return env

    # HTTP ------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        req = _request(environ)
        try:
            if len(environ.get("QUERY_STRING", "")) > MAX_URL or len(req.path) > 512:
                raise HTTPError("414 URI Too Long", N_("The address is too long."))
            if req.method not in ("GET", "HEAD"):
                raise HTTPError("405 Method Not Allowed", N_("This page can only be read."))
            status, headers, body = self.route(req)
        except HTTPError as exc:
            status, headers, body = exc.status, [], self.page(req, "error.html", status=exc.status,
                                                              message=exc.message, values=exc.values)
            if exc.status.startswith("405"):
                headers.append(("Allow", "GET, HEAD"))
        except SearchIndexError as exc:
            log.error("web request failed: %s", exc)
            status, headers, body = "503 Service Unavailable", [("Retry-After", "60")], self.page(
                req, "error.html", status="503", message=N_("The catalogue is not available just now. "
                                                    "Please try again in a minute."), values={})
        except (KeyboardInterrupt, SystemExit, GeneratorExit):
            raise
        except BaseException:  # noqa: B036 -- last line of defence: a page, never a traceback
            log.exception("web request failed: %s %s?%s", req.method, req.path,
                          environ.get("QUERY_STRING", "")[:500])
            status, headers, body = "500 Internal Server Error", [], self.page(
                req, "error.html", status="500", message=N_("Something went wrong on our side; "
                                                    "it has been logged. Please try again."), values={})
        headers = headers + [("Content-Length", str(len(body)))] + SECURITY_HEADERS
        if not any(k == "Content-Type" for k, _ in headers):
            headers.append(("Content-Type", "text/html; charset=utf-8"))
        if not any(k == "Cache-Control" for k, _ in headers):
            headers.append(("Cache-Control", "no-cache"))
        headers += [("Set-Cookie", c) for c in req.set_cookies]
        headers.append(("Vary", "Accept-Language, Cookie"))
        start_response(status, headers)
        return [b"" if req.method == "HEAD" else body]

    def route(self, req: Request) -> tuple[str, list[tuple[str, str]], bytes]:
        path = req.path
        if path == "/":
            return "200 OK", [], self.home(req)
        if path == "/search":
            return self.results(req)
        if path == "/advanced":
            return "200 OK", [], self.advanced(req)
        if path.startswith("/record/"):
            return "200 OK", [], self.record(req, path[len("/record/"):])
        if path == "/prefs":
            return self.prefs(req)
        if path.startswith("/static/"):
            return self.static_file(req, path[len("/static/"):])
        if path == "/robots.txt":
            return "200 OK", [("Content-Type", "text/plain; charset=utf-8")], b"User-agent: *\nAllow: /\n"
        raise HTTPError("404 Not Found", N_("There is no page at this address."))

    # pages -----------------------------------------------------------------------------
    def page(self, req: Request, template: str, **context: Any) -> bytes:
        env = self.envs[req.lang]
        context.setdefault("search", Search())
        others = [(k, v) for k, v in req.pairs if k != "lang"]
        switch = [(lang, i18n.NAMES[lang], f"{quote(req.path)}?{urlencode(others + [('lang', lang)])}")
                  for lang in i18n.LANGUAGES]
        html = env.get_template(template).render(
            lang=req.lang, languages=switch, site=self.cfg.server.title, path=req.path, **context)
        return html.encode("utf-8")

    def home(self, req: Request) -> bytes:
        return self.page(req, "home.html", search=Search(), total=self.total())

    def total(self) -> int:
        return self.res.search(form.Search().query(), limit=0).total

    def advanced(self, req: Request) -> bytes:
        everything = self.res.everything(("library", "language", "format"))
        return self.page(req, "advanced.html", search=Search(), libraries=self.library_options(),
                         language_codes=sorted(everything.get("language", {})),
                         formats=sorted(everything.get("format", {})))

    def library_options(self) -> list[tuple[str, str]]:
        return [(s.id, s.name or s.id) for s in self.cfg.sources]

    def results(self, req: Request) -> tuple[str, list[tuple[str, str]], bytes]:
        try:
            search = form.parse(req.pairs)
        except BadSearch as bad:
            return self.refused(req, Search(), bad.message, bad.values)
        if search.empty:
            return "200 OK", [], self.page(req, "home.html", search=search, total=self.total())
        try:
            found = self.res.search(search.query(), limit=form.PAGE_SIZE, offset=search.offset,
                                    facets=FACETS)
        except SRUDiagnostic as diag:
            return self.refused(req, search, _problem(diag), {"term": diag.details})
        hits = [self.hit(master, display, req.lang) for master, display in zip(found.ids, found.displays)]
        status = "200 OK"
        problem = ""
        if found.total and not hits:
            status, problem = "404 Not Found", N_("There is no page %(page)s of these results.")
        suggestions = self.suggestions(search) if not found.total else []
        live = self.live(search, list(zip(found.ids, found.displays)), hits)
        return status, [], self.page(
            req, "results.html", search=search, hits=hits, total=found.total, problem=problem,
            values={"page": search.page}, facets=self.facets(search, found.facets, req.lang),
            chosen=self.chosen(search, req.lang), pages=_pages(search, found.total), suggestions=suggestions,
            live=live, can_live=bool(self.res.live_targets()))

    def live(self, search: Search, found: list[tuple[str, dict[str, Any]]],
             hits: list[dict[str, Any]]) -> dict[str, Any] | None:
        """Ask the member libraries' own servers (``live=1``): each one's status, the hits of
        this page they also have (marked on the hits), and what they have that the union
        catalogue has not; None when not asked."""
        query = search.live_query() if search.live else None
        if query is None or not self.res.live_targets():
            return None
        merged = self.res.live(query, found)
        names = {a.target.id: a.target.name for a in merged["targets"]}
        by_master = {r["master"]: r for r in merged["records"] if r["master"]}
        for hit in hits:
            also = by_master.get(hit["id"], {}).get("sources", [])
            hit["live"] = [names[t] for t in also if t in names]
        return {"targets": [{"name": a.target.name, "status": a.status, "hits": a.hits} for a in merged["targets"]],
                "records": [{**r, "at": [names.get(t, t) for t in r["sources"]]}
                            for r in merged["records"] if r["master"] is None]}

    def refused(self, req: Request, search: Search, problem: str,
                values: dict[str, object]) -> tuple[str, list[tuple[str, str]], bytes]:
        """Return a results page that says why a search cannot be run (HTTP 400)."""
        return "400 Bad Request", [], self.page(
            req, "results.html", search=search, problem=problem, values=values, hits=[], total=0, facets=[],
            chosen=self.chosen(search, req.lang), pages=[], suggestions=[], live=None, can_live=False)

    def hit(self, master: str, display: dict[str, Any], lang: str) -> dict[str, Any]:
        title, romanised = shown(display.get("title_vernacular", ""), display.get("title", ""))
        author, author_romanised = shown(display.get("author_vernacular", ""), display.get("author", ""))
        on_shelf, holding = self.res.on_shelf(master, display)
        tag = i18n.language_tag(display.get("language", ""))
        return {"id": master, "lang": _script_tag(tag, title), "lang_romanised": _script_tag(tag, romanised), "url": f"/record/{quote(master)}", "title": title or master,
                "title_romanised": romanised, "author": author, "author_romanised": author_romanised,
                "year": display.get("year"), "format": display.get("format", ""),
                "on_shelf": on_shelf, "holding": holding, "live": []}

    def label(self, facet: str, value: str, lang: str) -> str:
        if facet == "library":
            source = next((s for s in self.cfg.sources if s.id.upper() == value.upper()), None)
            return source.name if source and source.name else value
        if facet == "language":
            return i18n.language_name(value, lang)
        if facet == "format":
            return str(i18n.translations(lang).gettext(value))  # the format words are msgids (formats.py)
        return value

    def facets(self, search: Search, found: dict[str, dict[str, int]], lang: str) -> list[dict[str, Any]]:
        out = []
        for name in FACETS:
            param = FACET_PARAM[name]
            chosen = {v for k, v in search.filters if k == param}
            values = [{"label": self.label(name, value, lang), "count": count,
                       "url": search.with_filter(param, value)}
                      for value, count in found.get(name, {}).items() if value not in chosen]
            if values:
                out.append({"name": name, "values": values[:FACET_SHOWN], "more": values[FACET_SHOWN:]})
        return out

    def chosen(self, search: Search, lang: str) -> list[dict[str, str]]:
        return [{"facet": form.FACET_OF[k], "label": self.label(form.FACET_OF[k], v, lang),
                 "url": search.without_filter(k, v)} for k, v in search.filters]

    def suggestions(self, search: Search) -> list[dict[str, Any]]:
        """Searches like this one that find something: without the filters, the query in the
        other script or in pinyin."""
        tries: list[tuple[str, Search]] = []
        if search.filters or search.available or search.year_from or search.year_to:
            tries.append(("without", Search(q=search.q, words=search.words, isbn=search.isbn)))
        for kind, text in alternatives(search.q):
            tries.append((kind, Search(q=text)))
        out = []
        for kind, other in tries:
            try:
                n = self.res.search(other.query(), limit=0).total
            except SRUDiagnostic:
                continue
            if n:
                out.append({"kind": kind, "text": other.q, "url": other.url(), "total": n})
        return out

    def record(self, req: Request, master: str) -> bytes:
        if not master or len(master) > 200 or "/" in master:
            raise HTTPError("404 Not Found", N_("There is no record %(id)s in the catalogue."), id=master[:200])
        display = self.res.lookup(master)
        if display is None:
            raise HTTPError("404 Not Found", N_("There is no record %(id)s in the catalogue."), id=master)
        parts, text = self.res.description(master, display)
        try:
            leader, fields = self.res.marc(master, display)
        except UnioncatError as exc:
            log.warning("record %s has no MARC view: %s", master, exc)
            leader, fields = "", ()
        holdings = self.res.live_holdings(display)
        home = req.cookies.get("home", "")
        home = home if home in self.sources else ""
        rota = self.res.rota(home, holdings) if home else []
        record = self.hit(master, display, req.lang)
        record.update(text=text, language=parts.language)
        link = self.permalink(req, master)
        sru = self.cfg.server.base_path
        query = urlencode({"version": "1.2", "operation": "searchRetrieve",
                           "query": f'rec.id="{master}"', "maximumRecords": "1"})
        formats = [(name, f"{sru}?{query}&recordSchema={name}") for name in ("marcxml", "mods", "dc")]
        return self.page(req, "record.html", record=record, holdings=_rows(holdings), members=holdings,
                         stale_after=STALE_AFTER, rota=rota, home=home, libraries=self.library_options(),
                         leader=leader, fields=[_marc_row(f) for f in fields], permalink=link, formats=formats,
                         jsonld=_jsonld(record, text, link), back=req.environ.get("HTTP_REFERER", ""))

    def permalink(self, req: Request, master: str) -> str:
        base = self.cfg.server.public_url
        if base:
            url = urlsplit(base)
            root = f"{url.scheme}://{url.netloc}"
        else:
            root = f"{req.environ.get('wsgi.url_scheme', 'http')}://" + \
                (req.environ.get("HTTP_HOST") or f"{self.cfg.server.host}:{self.cfg.server.port}")
        return f"{root}/record/{quote(master)}"

    def prefs(self, req: Request) -> tuple[str, list[tuple[str, str]], bytes]:
        if any(k == "home" for k, _ in req.pairs):
            home = req.param("home")
            if home and home not in self.sources:
                raise HTTPError("400 Bad Request", N_("There is no member library %(id)s."), id=home[:40])
            req.set_cookies.append(_cookie("home", home))
        back = req.param("back") or "/"
        if not back.startswith("/") or back.startswith("//") or "\\" in back or any(ord(c) < 32 for c in back):
            back = "/"  # only a page of this site: never a redirect elsewhere
        return "303 See Other", [("Location", back)], b""

    def static_file(self, req: Request, name: str) -> tuple[str, list[tuple[str, str]], bytes]:
        found = self.static.get(name)
        if found is None:
            raise HTTPError("404 Not Found", N_("There is no page at this address."))
        body, kind, etag = found
        headers = [("Content-Type", kind), ("ETag", f'"{etag}"'), ("Cache-Control", "public, max-age=86400")]
        if req.environ.get("HTTP_IF_NONE_MATCH", "") == f'"{etag}"':
            return "304 Not Modified", headers, b""
        return "200 OK", headers, body


def _static_files() -> dict[str, tuple[bytes, str, str]]:
    out = {}
    for entry in resources.files("unioncat.web").joinpath("static").iterdir():
        if entry.is_file():
            body = entry.read_bytes()
            kind = mimetypes.guess_type(entry.name)[0] or "application/octet-stream"
            if kind.startswith("text/") or kind == "application/javascript":
                kind += "; charset=utf-8"
            out[entry.name] = (body, kind, hashlib.sha256(body).hexdigest()[:16])
    return out


def _script_tag(tag: str, text: str) -> str:
    """Return the language tag of a title or name in a record of language ``tag``: Chinese,
    Japanese and Korean written in Latin letters are romanised ("zh-Latn")."""
    if tag in ("zh", "ja", "ko") and text and not has_cjk(text):
        return f"{tag}-Latn"
    return tag


def _problem(diag: SRUDiagnostic) -> str:
    """Return the reader's message (a msgid) for a diagnostic of the search."""
    if diag.number in (27, 13, 28):
        return N_("The search %(term)s has nothing that can be searched for: type whole words.")
    if diag.number in (35, 36):
        return N_("%(term)s is not a year.")
    return N_("This search cannot be run: %(term)s")


def _pages(search: Search, total: int) -> list[dict[str, Any]]:
    last = min((total + form.PAGE_SIZE - 1) // form.PAGE_SIZE, form.MAX_DEPTH // form.PAGE_SIZE)
    if last <= 1:
        return []
    shown_pages = sorted({1, last, *range(max(1, search.page - 2), min(last, search.page + 2) + 1)})
    out = []
    if search.page > 1:
        out.append({"kind": "previous", "url": search.url(page=search.page - 1)})
    previous = 0
    for n in shown_pages:
        if n - previous > 1:
            out.append({"kind": "gap"})
        out.append({"kind": "current" if n == search.page else "page", "number": n, "url": search.url(page=n)})
        previous = n
    if search.page < last:
        out.append({"kind": "next", "url": search.url(page=search.page + 1)})
    return out


def _rows(members: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return one table row per item: members with a copy on the shelf first, then the items
    on the shelf, then by due date (the order :func:`holdings_for` gives)."""
    rows = []
    for member in members:
        for item in member["items"]:
            rows.append({"member": member["name"] or member["member"],
                         "institution": member["institution"] if member["member"] != member["source"] else "",
                         "branch": item["branch"],
                         "location": item["location"], "call_number": item["call_number"],
                         "volume": item["volume"], "status": item["status"],
                         "due": (item["due_date"] or "")[:10] if item["status"] == "on_loan" else "",
                         "count": item["count"], "age": member["age_seconds"],
                         "live": item["status_from"] == "live", "unanswered": member.get("stale", False)})
    return rows


def _marc_row(f: Any) -> dict[str, Any]:
    tag, ind, value = f[0], f[1], f[2]
    if isinstance(value, str):
        return {"tag": tag, "ind": "", "subfields": [], "value": value}
    return {"tag": tag, "ind": (ind or "  ").replace(" ", "#"), "subfields": list(value), "value": ""}


def _jsonld(record: dict[str, Any], text: dict[str, list[str]], link: str) -> str:
    """Return the schema.org description of a record, safe inside a <script> data block."""
    data: dict[str, Any] = {"@context": "https://schema.org",
                            "@type": SCHEMA_ORG.get(record["format"], "CreativeWork"),
                            "@id": link, "url": link, "name": record["title"]}
    if record["title_romanised"]:
        data["alternateName"] = record["title_romanised"]
    authors = [strip_isbd(a) for a in text.get("author", [])][:10]
    if authors:
        data["author"] = [{"@type": "Person", "name": a} for a in authors]
    if record["year"]:
        data["datePublished"] = str(record["year"])
    if text.get("publisher"):
        data["publisher"] = {"@type": "Organization", "name": text["publisher"][0]}
    isbns = [v.split(" ")[0] for v in text.get("isbn", []) if v]
    if isbns and record["format"] == "book":
        data["isbn"] = isbns[0] if len(isbns) == 1 else isbns[:10]
    if text.get("issn"):
        data["issn"] = text["issn"][0]
    if record.get("language"):
        data["inLanguage"] = record["language"]
    if text.get("subject"):
        data["about"] = text["subject"][:20]
    return json.dumps(data, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e") \
        .replace("&", "\\u0026")


def create_app(cfg: Config, res: Resources | None = None) -> WebApp:
    """Return the web catalogue's WSGI application (sharing ``res`` with the other faces)."""
    return WebApp(cfg, res or Resources(cfg))
