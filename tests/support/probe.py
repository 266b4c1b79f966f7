"""Ask a running `unioncat serve` over SRU and Z39.50 and check every answer.

Used by the serve-during-the-nightly-run test and by bench/serve_during_run.py: a
bounded stream of requests (one client thread each for SRU and Z39.50), each answer
checked against the hit count the same query had while the server was idle, with
no diagnostic anywhere (response, record or surrogate) and the records asked for.
"""
from __future__ import annotations

import re
import statistics
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Callable

from unioncat.errors import UnioncatError
from unioncat.z3950.client import Z3950Client
from unioncat.z3950.pqf import parse_pqf

# (CQL for SRU, PQF for Z39.50): the same query both ways.
QUERIES = [("dc.title=lian", '@attr 1=4 lian'),
           ("dc.subject=history", "@attr 1=21 history"),
           ("dc.creator=john", "@attr 1=1003 john"),
           ("dc.title=china", "@attr 1=4 china"),
           ("dc.date>=2000", "@attr 2=4 @attr 1=31 2000"),
           ("cql.anywhere=library", "@attr 1=1016 library")]
_COUNT = re.compile(rb"<(?:\w+:)?numberOfRecords>(\d+)<")
_DIAGNOSTIC = re.compile(rb"<(?:\w+:)?diagnostic[ >]")
_RECORD = re.compile(rb"<(?:\w+:)?recordData>")


@dataclass
class Sample:
    """One request: which face, which query, when it started, how long it took, what failed."""

    face: str
    query: str
    started: float
    seconds: float
    error: str = ""


@dataclass
class Probe:
    """A bounded request stream against one server."""

    sru_url: str
    z_target: tuple[str, int] | None
    database: str = "Default"
    queries: list[tuple[str, str]] = field(default_factory=lambda: list(QUERIES))
    expected: dict[tuple[str, str], int] = field(default_factory=dict)
    samples: list[Sample] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def sru(self, cql: str) -> int:
        """One searchRetrieve of 3 MARCXML records; return the hit count, raise on any fault."""
        query = urllib.parse.urlencode({"version": "1.2", "operation": "searchRetrieve", "query": cql,
                                        "maximumRecords": "3", "recordSchema": "marcxml"})
        with urllib.request.urlopen(f"{self.sru_url}?{query}", timeout=60) as resp:
            body = resp.read()
            if resp.status != 200:
                raise AssertionError(f"HTTP {resp.status}")
        if _DIAGNOSTIC.search(body):
            raise AssertionError(f"diagnostic: {body[:600]!r}")
        found = _COUNT.search(body)
        if not found:
            raise AssertionError(f"no numberOfRecords: {body[:300]!r}")
        total = int(found.group(1))
        if len(_RECORD.findall(body)) != min(total, 3):
            raise AssertionError(f"{len(_RECORD.findall(body))} records for {total} hits")
        return total

    def z3950(self, pqf: str) -> int:
        """One Init, Search, Present of 3 MARCXML records, Close; return the hit count."""
        assert self.z_target is not None
        with Z3950Client(*self.z_target, timeout=60) as client:
            total = client.search(self.database, parse_pqf(pqf))
            records = client.present(1, min(total, 3), "xml") if total else []
        bad = [r.diagnostic for r in records if r.diagnostic or not r.octets]
        if bad or len(records) != min(total, 3):
            raise AssertionError(f"{len(records)} records for {total} hits; {bad}")
        return total

    def learn(self) -> None:
        """Record every query's hit count on both faces while the server is idle."""
        for cql, pqf in self.queries:
            self.expected["sru", cql] = self.sru(cql)
            if self.z_target:
                self.expected["z3950", pqf] = self.z3950(pqf)

    def learn_when_up(self, tries: int = 100) -> None:
        """``learn`` once the server answers (it may still be starting); fail the test if it never does."""
        import pytest

        for _ in range(tries):
            try:
                self.learn()
                return
            except (OSError, AssertionError):
                time.sleep(0.1)
        pytest.fail("unioncat serve did not answer")

    def _one(self, face: str, query: str) -> None:
        started = time.monotonic()
        error = ""
        try:
            total = self.sru(query) if face == "sru" else self.z3950(query)
            if total != self.expected[face, query]:
                error = f"{total} hits, {self.expected[face, query]} when idle"
        except (OSError, AssertionError, UnioncatError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        with self._lock:
            self.samples.append(Sample(face, query, started, time.monotonic() - started, error))

    def stream(self, face: str, until: Callable[[], bool], limit: int) -> None:
        """Send requests one after another until ``until()`` says stop or ``limit`` are sent."""
        queries = [q[0] if face == "sru" else q[1] for q in self.queries]
        if face == "z3950":  # from the other end: the two streams never ask the same query at once
            queries.reverse()
        for n in range(limit):
            if until():
                return
            self._one(face, queries[n % len(queries)])

    def run_beside(self, done: Callable[[], bool], limit: int = 20000) -> None:
        """Stream over SRU and Z39.50 in two threads until ``done()``."""
        faces = ["sru"] + (["z3950"] if self.z_target else [])
        threads = [threading.Thread(target=self.stream, args=(face, done, limit)) for face in faces]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


def summary(samples: list[Sample]) -> dict[str, float]:
    """Return count, errors, median and p99 milliseconds of some samples."""
    times = sorted(s.seconds * 1000 for s in samples)
    if not times:
        return {"requests": 0, "errors": 0, "median_ms": 0.0, "p99_ms": 0.0}
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    return {"requests": len(times), "errors": sum(1 for s in samples if s.error),
            "median_ms": round(statistics.median(times), 2), "p99_ms": round(p99, 2)}
