"""``unioncat serve``: every face in one process, over one serving layer: the web catalogue and
SRU (at ``server.base_path``) as one WSGI site under waitress, and the Z39.50 target beside it
(``--z3950-port``).  It sits above the faces, which never import each other.  For gunicorn:

    gunicorn -k gthread -w 2 --threads 4 --reuse-port -b 127.0.0.1:8765 'unioncat.serve:wsgi_app()'
"""
from __future__ import annotations

import errno
import logging
import multiprocessing
import os
import socket
import sys
import threading
import time

from typing import Any, Callable, Iterable

from unioncat.config import Config, load_config
from unioncat.errors import UnioncatError
from unioncat.oai_server.app import OAIApp
from unioncat.serving import Resources
from unioncat.sru_server.app import SRUApp
from unioncat.staff.app import StaffApp
from unioncat.web.app import WebApp
from unioncat.z3950_server.server import Z3950Server


class Site:
    """The HTTP faces as one WSGI application: SRU at its base path, OAI-PMH at its own, the
    staff console under its own, the web catalogue at every other path; one serving layer
    (``res``) under all four."""

    def __init__(self, cfg: Config) -> None:
        self.res = Resources(cfg)
        self.sru = SRUApp(cfg, self.res)
        self.web = WebApp(cfg, self.res)
        self.oai = OAIApp(cfg, self.res)
        self.staff = StaffApp(cfg, self.res)
        self.staff_base = cfg.staff.base_path.rstrip("/")
        self.faces: dict[str, Callable[..., Iterable[bytes]]] = {
            cfg.server.base_path.rstrip("/") or "/": self.sru, cfg.oai.base_path.rstrip("/") or "/": self.oai}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        raw = environ.get("PATH_INFO", "") or "/"
        if raw == self.staff_base or raw.startswith(self.staff_base + "/"):
            return self.staff(environ, start_response)
        path = raw.rstrip("/") or "/"
        return self.faces.get(path, self.web)(environ, start_response)


def settle() -> None:
    """Load what every server loads sooner or later (pinyin and OpenCC dictionaries, the
    pinyin syllables), then move everything alive to the garbage collector's permanent
    generation: a full collection no longer walks 250,000 objects that never die (61 ms of
    each full collection, measured on the 200,000-record bench site)."""
    import gc

    from unioncat.index.analyzers import pinyin_tokens, query_pinyin

    pinyin_tokens("連城訣")
    query_pinyin("lianchengjue")
    gc.collect()
    gc.freeze()


def create_app(cfg: Config) -> Site:
    """Return the WSGI site (web catalogue and SRU) of a configuration."""
    return Site(cfg)


def wsgi_app(config_file: str | None = None) -> Site:
    """Return the site for a WSGI server (config from the argument or $UNIONCAT_CONFIG)."""
    site = create_app(load_config(config_file))
    settle()
    return site


def run(cfg: Config, host: str, port: int, threads: int, z3950_port: int = 0, sru: bool = True,
        announce: Callable[[], object] = lambda: None) -> None:
    """Serve the web catalogue and SRU with waitress (and Z39.50 on ``z3950_port``) until interrupted."""
    from waitress import serve as waitress_serve  # type: ignore[import-untyped]

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    app = create_app(cfg)
    settle()
    if sru:
        _check_free(host, port)  # before Z39.50 worker processes are forked
    z3950 = None
    if z3950_port:
        # Z39.50 worker processes share one listening socket, forked before any thread or
        # index handle exists: whichever process is idle accepts the next connection.
        try:
            z3950 = Z3950Server(cfg, host, z3950_port, res=app.res)
        except OSError as exc:
            raise UnioncatError(f"cannot serve Z39.50 on {host}:{z3950_port}: {_why(exc)}") from None
        z3950.socket.setblocking(False)  # a process that loses the race to accept() goes back to waiting
        if cfg.server.z3950_workers > 1:
            load = multiprocessing.Array("i", cfg.server.z3950_workers)
            z3950.balance(load, 0)
            for slot in range(1, cfg.server.z3950_workers):
                if os.fork() == 0:
                    z3950.balance(load, slot)
                    _z3950_worker(z3950)
        z3950.start()
    announce()  # where it serves: said once every port is known to be ours
    try:
        if sru:
            waitress_serve(app, host=host, port=port, threads=threads, ident="unioncat",
                           max_request_body_size=1 << 20, channel_timeout=60, connection_limit=200,
                           clear_untrusted_proxy_headers=True)
        elif z3950 is not None:
            threading.Event().wait()
    except OSError as exc:
        raise UnioncatError(f"cannot serve SRU on {host}:{port}: {_why(exc)}") from None
    except KeyboardInterrupt:
        pass
    finally:
        if z3950 is not None:
            z3950.shutdown()


def _check_free(host: str, port: int) -> None:
    """Raise a one-line UnioncatError if host:port cannot be listened on."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        raise UnioncatError(f"cannot serve SRU on {host}:{port}: {_why(exc)}") from None


def _why(exc: OSError) -> str:
    if isinstance(exc, socket.gaierror):
        return f"no such address ({exc.strerror})"
    if exc.errno == errno.EADDRINUSE:
        return "the port is in use (another unioncat serve, or another server)"
    if exc.errno == errno.EADDRNOTAVAIL:
        return "this machine has no such address"
    if exc.errno == errno.EACCES:
        return "permission denied (ports below 1024 need root)"
    return exc.strerror or str(exc)


def _z3950_worker(server: Z3950Server) -> None:
    parent = os.getppid()
    server.start()
    try:
        while os.getppid() == parent:
            time.sleep(1)
    finally:
        os._exit(0)
