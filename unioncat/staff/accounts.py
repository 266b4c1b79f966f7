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
from unioncat.models import now
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
    with store.db:
        if store.db.execute("SELECT 1 FROM staff_users WHERE name=?", (name,)).fetchone():
            raise StaffError(f"there is already an account {name!r} (`unioncat staff passwd {name}` changes its password)")
        stamp = now()
        store.db.execute("INSERT INTO staff_users(name, hash, role, created, changed) VALUES (?,?,?,?,?)",
                         (name, _HASHER.hash(password), role, stamp, stamp))


def remove(store: Store, name: str) -> None:
    """Remove an account and end its sessions."""
    with store.db:
        if not store.db.execute("DELETE FROM staff_users WHERE name=?", (name,)).rowcount:
            raise StaffError(f"no account {name!r}")
        store.db.execute("DELETE FROM staff_sessions WHERE name=?", (name,))


def passwd(store: Store, name: str, password: str, role: str | None = None) -> None:
    """Set an account's password (and role, if given); its sessions end."""
    check_password(password)
    if role is not None and role not in ROLES:
        raise StaffError(f"no role {role!r}: one of {', '.join(ROLES)}")
    with store.db:
        found = store.db.execute("SELECT role FROM staff_users WHERE name=?", (name,)).fetchone()
        if found is None:
            raise StaffError(f"no account {name!r}")
        store.db.execute("UPDATE staff_users SET hash=?, role=?, changed=? WHERE name=?",
                         (_HASHER.hash(password), role or found[0], now(), name))
        store.db.execute("DELETE FROM staff_sessions WHERE name=?", (name,))


def accounts(store: Store) -> list[dict[str, str | None]]:
    """Return every account: name, role, created, password changed, last login."""
    return [{"name": r[0], "role": r[1], "created": r[2], "changed": r[3], "last_login": r[4]}
            for r in store.db.execute("SELECT name, role, created, changed, last_login FROM staff_users ORDER BY name")]


def wait_before_login(store: Store, cfg: StaffConfig, name: str, address: str, at: float | None = None) -> int:
    """Return the seconds an account or address must still wait before its next try (0: none)."""
    at = time.time() if at is None else at
    longest = 0.0
    for who in (f"user:{name}", f"addr:{address}"):
        rows = [r[0] for r in store.db.execute("SELECT at FROM staff_failures WHERE who=? AND at > ? ORDER BY at",
                                               (who, at - WINDOW))]
        over = len(rows) - cfg.max_failures
        if over >= 0:
            longest = max(longest, rows[-1] + min(2.0 ** over * 15, WINDOW) - at)
    return max(0, int(longest + 0.999))


def login(store: Store, cfg: StaffConfig, name: str, password: str, address: str) -> str | None:
    """Check a name and password; return a new session's token, or None (the failure counted).
    The caller checks :func:`wait_before_login` first."""
    found = store.db.execute("SELECT hash FROM staff_users WHERE name=?", (name,)).fetchone()
    try:
        _HASHER.verify(found[0] if found else _dummy(), password)
        ok = found is not None
    except (VerificationError, InvalidHashError):
        ok = False
    at = time.time()
    with store.db:
        if not ok:
            store.db.executemany("INSERT INTO staff_failures(who, at) VALUES (?,?)",
                                 [(f"user:{name}", at), (f"addr:{address}", at)])
            store.db.execute("DELETE FROM staff_failures WHERE at < ?", (at - WINDOW,))
            return None
        if _HASHER.check_needs_rehash(found[0]):
            store.db.execute("UPDATE staff_users SET hash=? WHERE name=?", (_HASHER.hash(password), name))
        store.db.execute("DELETE FROM staff_failures WHERE who=?", (f"user:{name}",))
        store.db.execute("UPDATE staff_users SET last_login=? WHERE name=?", (now(), name))
        token = secrets.token_urlsafe(32)
        store.db.execute("INSERT INTO staff_sessions(id, name, csrf, created, seen) VALUES (?,?,?,?,?)",
                         (_digest(token), name, secrets.token_urlsafe(32), at, at))
        store.db.execute("DELETE FROM staff_sessions WHERE seen < ? OR created < ?",
                         (at - cfg.session_minutes * 60, at - cfg.session_hours * 3600))
    return token


def session(store: Store, cfg: StaffConfig, token: str, at: float | None = None) -> tuple[Session | None, bool]:
    """Return the live session of a cookie's token (or None), and whether its last request was
    long enough ago (a minute) that the caller should mark it seen (:func:`touch`)."""
    if not token or len(token) > 100:
        return None, False
    at = time.time() if at is None else at
    row = store.db.execute("SELECT s.name, u.role, s.csrf, s.created, s.seen FROM staff_sessions s"
                           " JOIN staff_users u ON u.name = s.name WHERE s.id=?", (_digest(token),)).fetchone()
    if row is None or at - row[4] > cfg.session_minutes * 60 or at - row[3] > cfg.session_hours * 3600:
        return None, False
    return Session(row[0], row[1], row[2]), at - row[4] > 60


def touch(store: Store, token: str) -> None:
    with store.db:
        store.db.execute("UPDATE staff_sessions SET seen=? WHERE id=?", (time.time(), _digest(token)))


def logout(store: Store, token: str) -> None:
    with store.db:
        store.db.execute("DELETE FROM staff_sessions WHERE id=?", (_digest(token),))


def same(a: str, b: str) -> bool:
    """Compare two secrets in constant time."""
    return bool(a) and hmac.compare_digest(a.encode(), b.encode())


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
