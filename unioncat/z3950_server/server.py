"""The Z39.50 target's network side: one thread per connection, BER in and out.

A connection is closed (with a Close PDU saying why, where the line still works)
when it sends something that is not BER, a PDU larger than the negotiated message
size, a PDU we cannot decode, a PDU before Init, or nothing for
``[server] z3950_idle_timeout`` seconds.  That connection only: the server and every
other association go on.

    server = Z3950Server(config, "127.0.0.1", 2100); server.serve_forever()
"""
from __future__ import annotations

import logging
import socket
import socketserver
import threading
import time
from typing import Any

from unioncat.config.model import Config
from unioncat.errors import Z3950Error
from unioncat.serving.resources import Resources
from unioncat.z3950.codec import decode, encode, read_pdu
from unioncat.z3950_server.session import Session

log = logging.getLogger("unioncat.z3950")


class _Handler(socketserver.BaseRequestHandler):
    server: Z3950Server

    def handle(self) -> None:
        sock: socket.socket = self.request
        cfg = self.server.cfg
        peer = f"{self.client_address[0]}:{self.client_address[1]}"
        session = Session(self.server.res, cfg, peer, message_size=cfg.server.z3950_message_size)
        sock.settimeout(cfg.server.z3950_idle_timeout)
        buffer = bytearray()
        while True:
            try:
                pdu = read_pdu(sock, buffer, limit=session.message_size + 65536)
            except socket.timeout:
                _send_close(sock, 7, "no request within the idle timeout")
                return
            except OSError:
                return
            except Z3950Error as exc:
                if "closed by the target" not in str(exc) or buffer:
                    log.info("%s: %s", peer, exc)
                    _send_close(sock, 6, str(exc))
                return
            try:
                kind, value = decode(pdu)
            except Z3950Error as exc:
                log.info("%s: %s", peer, exc)
                _send_close(sock, 6, "undecodable PDU")
                return
            try:
                answer_kind, answer = session.handle(kind, value)
                data = encode(answer_kind, answer)
            except Exception:  # a bug of ours ends this association, not the server
                log.exception("%s: %s failed", peer, kind)
                _send_close(sock, 2, "system problem at the target")
                return
            try:
                sock.sendall(data)
            except OSError:
                return
            if answer_kind == "close":
                return


def _send_close(sock: socket.socket, reason: int, why: str) -> None:
    try:
        sock.sendall(encode("close", {"closeReason": reason, "diagnosticInformation": why[:200]}))
    except (OSError, Z3950Error):
        pass


class Z3950Server(socketserver.ThreadingTCPServer):
    """A threaded Z39.50 target over the union index."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, cfg: Config, host: str, port: int, res: Resources | None = None) -> None:
        self.cfg = cfg
        self.res = res or Resources(cfg)
        self.load: Any = None  # shared per-process association counts, when several processes accept
        self.slot = 0
        self.open = 0  # associations this process serves now (one thread each)
        self._count = threading.Lock()
        super().__init__((host, port), _Handler)

    def balance(self, load: Any, slot: int) -> None:
        """Share the accepting with sibling processes: ``load`` is a shared array of each
        process's open associations; this process accepts only while it has no more than
        the least loaded one (else the first idle process would take every connection)."""
        self.load, self.slot = load, slot

    def get_request(self) -> tuple[socket.socket, Any]:
        if self.load is not None and self.load[self.slot] > min(self.load[:]):
            time.sleep(0.002)  # leave this connection to a less busy process
            raise BlockingIOError("another process should accept")
        return super().get_request()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._count:
            full = self.open >= self.cfg.server.z3950_max_connections
            if not full:
                self.open += 1
        if full:
            # No thread for it: 500 idle sockets used to hold 500 threads.
            log.warning("%s:%s refused: %d associations open ([server] z3950_max_connections)",
                        client_address[0], client_address[1], self.open)
            _send_close(request, 4, "too many associations open at the target; try again later")
            super().shutdown_request(request)
            return
        if self.load is not None:
            with self.load.get_lock():
                self.load[self.slot] += 1
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        super().shutdown_request(request)
        with self._count:
            self.open -= 1
        if self.load is not None:
            with self.load.get_lock():
                self.load[self.slot] -= 1

    def start(self) -> threading.Thread:
        """Serve in a background thread; return it."""
        thread = threading.Thread(target=self.serve_forever, name="z3950", daemon=True)
        thread.start()
        return thread


def serve_z3950(cfg: Config, host: str, port: int, **kwargs: Any) -> Z3950Server:
    """Return a started Z39.50 server."""
    server = Z3950Server(cfg, host, port, **kwargs)
    server.start()
    log.info("Z39.50 target on %s:%d, database %s", host, port, cfg.server.z3950_database)
    return server
