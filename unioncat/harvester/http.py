"""HTTP for harvesters: one GET with retries, backoff and Retry-After.

Retried: 503 and 429 (waiting as long as ``Retry-After`` says, in seconds or as an
HTTP date, capped), other 5xx and every network failure requests reports (refused,
reset, timed out, a body cut short; capped exponential backoff).  Anything else that is not 200 is a :class:`TransportError`
at once.  Every retry is counted, so the harvest summary can report it.
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Callable, TypeVar

import requests

from unioncat import __version__
from unioncat.config.model import SourceConfig
from unioncat.errors import TransportError
from unioncat.harvester.base import NetworkHarvester

T = TypeVar("T")

USER_AGENT = f"unioncat/{__version__} (union-catalogue harvester)"


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a failing server."""

    tries: int = 5  # attempts in all, the first included
    wait: float = 2.0  # first backoff in seconds; doubles each retry
    max_wait: float = 120.0  # cap on any single wait, Retry-After included
    timeout: float = 60.0  # connect and read timeout per request


@dataclass
class HttpClient:
    """A requests session that retries as the policy says."""

    policy: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], None] = time.sleep
    retries: int = 0
    session: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        self.session.headers["User-Agent"] = USER_AGENT

    def get(self, url: str, params: dict[str, str] | list[tuple[str, str]]) -> bytes:
        """Return the body of a 200 response, retrying what is worth retrying."""
        last = ""
        for attempt in range(1, self.policy.tries + 1):
            wait = min(self.policy.wait * 2 ** (attempt - 1), self.policy.max_wait)
            try:
                resp = self.session.get(url, params=params, timeout=self.policy.timeout)
            except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                    requests.exceptions.InvalidSchema) as exc:
                raise TransportError(url, f"{type(exc).__name__}: {exc}") from None
            except requests.RequestException as exc:
                # Connection refused or reset, timeouts, and a body cut short
                # (ChunkedEncodingError, ContentDecodingError): all worth another try.
                last = f"{type(exc).__name__}: {exc}"
            else:
                if resp.status_code == 200:
                    return resp.content
                last = f"HTTP {resp.status_code} {resp.reason or ''}".strip()
                if resp.status_code in (429, 503):
                    wait = retry_after(resp.headers.get("Retry-After"), wait, self.policy.max_wait)
                elif resp.status_code < 500:
                    raise TransportError(url, last)
            if attempt == self.policy.tries:
                break
            self.retries += 1
            self.sleep(wait)
        raise TransportError(url, f"{last} (gave up after {self.policy.tries} tries)")

    def close(self) -> None:
        """Close the session's connections."""
        self.session.close()


def retry_after(value: str | None, default: float, cap: float) -> float:
    """Return the wait a Retry-After header asks for (delta-seconds or HTTP-date)."""
    if not value:
        return default
    value = value.strip()
    if value.isdigit():
        return min(float(value), cap)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return min(max((when - datetime.now(timezone.utc)).total_seconds(), 0.0), cap)


class HttpHarvester(NetworkHarvester):
    """A network harvester that talks HTTP through one retrying client."""

    def __init__(self, source: SourceConfig, checkpoint: dict[str, Any] | None,
                 client: HttpClient | None) -> None:
        super().__init__(source, checkpoint)
        self.url = source.url or ""
        self.client = client or HttpClient(RetryPolicy(tries=source.tries, wait=source.wait,
                                                       timeout=source.timeout))

    @property
    def retries(self) -> int:
        """Return how many requests were repeated after failures."""
        return self.client.retries

    def close(self) -> None:
        """Release the HTTP connections."""
        self.client.close()


def fetch_ahead(fetch: Callable[..., T], *args: Any) -> Future[T]:
    """Run ``fetch(*args)`` in a thread of its own and return its future: the next page of a
    harvest, fetched while this page's records are stored.  The thread is a daemon, so
    Ctrl-C ends the process at once instead of waiting for a hanging member's answer (a
    ThreadPoolExecutor's worker is joined at exit: 60 s and more with a slow server)."""
    future: Future[T] = Future()

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(fetch(*args))
        except BaseException as exc:  # noqa: B036 -- handed to whoever waits on the page
            future.set_exception(exc)

    threading.Thread(target=run, name="unioncat-fetch-ahead", daemon=True).start()
    return future
