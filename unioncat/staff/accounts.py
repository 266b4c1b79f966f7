"""Staff accounts, sessions and failed logins, kept in the store.

Passwords are hashed with Argon2id (argon2-cffi's RFC 9106 low-memory profile: 64 MiB, 3
passes), and a hash made with weaker parameters is replaced at the next login.  A session is a
random token in a cookie; the store keeps only its SHA-256, so a copy of the store opens no
session.  A session ends after ``staff.session_minutes`` without a request, or
``staff.session_hours`` after login, or when its account is removed or its password changed.

Failed logins are counted per account and per address over 15 minutes: past
``staff.max_failures`` each further try must wait, twice as long each time, up to 15 minutes
(answered at once with the time to wait; no server thread sleeps).
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from unioncat.config.model import StaffConfig
from unioncat.errors import UnioncatError
from unioncat.store import Store

ROLES = ("viewer", "cataloguer", "admin")  # each may do what the ones before it may
MIN_PASSWORD = 10
WINDOW = 15 * 60  # seconds over which failed logins are counted
NAME = r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}"
_HASHER = PasswordHasher()  # RFC 9106 low-memory profile


@cache
def _dummy() -> str:
    """A hash verified when the account does not exist: a wrong name costs what a wrong password costs."""
    return _HASHER.hash(secrets.token_urlsafe(16))


class StaffError(UnioncatError):
    """A staff account cannot be made or changed as asked."""


@dataclass(frozen=True)
class Session:
    """A signed-in member of staff."""

    name: str
    role: str
    csrf: str

    def may(self, role: str) -> bool:
        """Whether this session's role includes ``role``."""
        return ROLES.index(self.role) >= ROLES.index(role)


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise StaffError(f"a password needs at least {MIN_PASSWORD} characters")


def add(store: Store, name: str, password: str, role: str) -> None:
    """Create an account; raise StaffError if it exists or the name, role or password will not do."""
    if not re.fullmatch(NAME, name):
        raise StaffError(f"{name!r} is not an account name: letters, digits and . _ @ -, at most 64")
    if role not in ROLES:
        raise StaffError(f"no role {role!r}: one of {', '.join(ROLES)}")
    check_password(password)
    if not store.staff_add(name, _HASHER.hash(password), role):
        raise StaffError(f"there is already an account {name!r} (`unioncat staff passwd {name}` changes its password)")


def remove(store: Store, name: str) -> None:
    """Remove an account and end its sessions."""
    if not store.staff_remove(name):
        raise StaffError(f"no account {name!r}")


def passwd(store: Store, name: str, password: str, role: str | None = None) -> None:
    """Set an account's password (and role, if given); its sessions end."""
    check_password(password)
    if role is not None and role not in ROLES:
        raise StaffError(f"no role {role!r}: one of {', '.join(ROLES)}")
    if not store.staff_set_password(name, _HASHER.hash(password), role):
        raise StaffError(f"no account {name!r}")


def accounts(store: Store) -> list[dict[str, str | None]]:
    """Return every account: name, role, created, password changed, last login."""
    return store.staff_accounts()


def wait_before_login(store: Store, cfg: StaffConfig, name: str, address: str, at: float | None = None) -> int:
    """Return the seconds an account or address must still wait before its next try (0: none)."""
    at = time.time() if at is None else at
    longest = 0.0
    for who in (f"user:{name}", f"addr:{address}"):
        rows = store.staff_failures(who, at - WINDOW)
        over = len(rows) - cfg.max_failures
        if over >= 0:
            longest = max(longest, rows[-1] + min(2.0 ** over * 15, WINDOW) - at)
    return max(0, int(longest + 0.999))


def login(store: Store, cfg: StaffConfig, name: str, password: str, address: str) -> str | None:
    """Check a name and password; return a new session's token, or None (the failure counted).
    The caller checks :func:`wait_before_login` first."""
    found = store.staff_account(name)
    try:
        _HASHER.verify(found[0] if found else _dummy(), password)
        ok = found is not None
    except (VerificationError, InvalidHashError):
        ok = False
    at = time.time()
    if not ok or found is None:
        store.staff_failed([f"user:{name}", f"addr:{address}"], at, at - WINDOW)
        return None
    token = secrets.token_urlsafe(32)
    store.staff_logged_in(name, _HASHER.hash(password) if _HASHER.check_needs_rehash(found[0]) else None,
                          _digest(token), secrets.token_urlsafe(32), at,
                          at - cfg.session_minutes * 60, at - cfg.session_hours * 3600)
    return token


def session(store: Store, cfg: StaffConfig, token: str, at: float | None = None) -> tuple[Session | None, bool]:
    """Return the live session of a cookie's token (or None), and whether its last request was
    long enough ago (a minute) that the caller should mark it seen (:func:`touch`)."""
    if not token or len(token) > 100:
        return None, False
    at = time.time() if at is None else at
    row = store.staff_session(_digest(token))
    if row is None or at - row[4] > cfg.session_minutes * 60 or at - row[3] > cfg.session_hours * 3600:
        return None, False
    return Session(row[0], row[1], row[2]), at - row[4] > 60


def touch(store: Store, token: str) -> None:
    store.staff_touch(_digest(token), time.time())


def logout(store: Store, token: str) -> None:
    store.staff_logout(_digest(token))


def same(a: str, b: str) -> bool:
    """Compare two secrets in constant time."""
    return bool(a) and hmac.compare_digest(a.encode(), b.encode())


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
