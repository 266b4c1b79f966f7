"""Staff accounts, sessions and failed logins: the SQL of ``unioncat.staff.accounts``, for both
back ends (the password hashing and the rules stay there)."""
from __future__ import annotations

from typing import Any

from unioncat.models import now
from unioncat.store.base import StoreCore


class StaffStore(StoreCore):
    """Staff accounts and their sessions."""

    def staff_add(self, name: str, hashed: str, role: str) -> bool:
        """Create an account; False if one of that name exists."""
        stamp = now()
        with self.write():
            return bool(self.db.execute(
                "INSERT INTO staff_users(name, hash, role, created, changed) VALUES (?,?,?,?,?)"
                " ON CONFLICT (name) DO NOTHING", (name, hashed, role, stamp, stamp)).rowcount)

    def staff_remove(self, name: str) -> bool:
        """Remove an account and end its sessions; False if there is none."""
        with self.write():
            self.db.execute("DELETE FROM staff_sessions WHERE name=?", (name,))
            return bool(self.db.execute("DELETE FROM staff_users WHERE name=?", (name,)).rowcount)

    def staff_account(self, name: str) -> tuple[str, str] | None:
        """Return an account's (password hash, role), or None."""
        row = self.db.execute("SELECT hash, role FROM staff_users WHERE name=?", (name,)).fetchone()
        return None if row is None else (row[0], row[1])

    def staff_set_password(self, name: str, hashed: str, role: str | None) -> bool:
        """Set an account's password hash (and role, if given) and end its sessions; False if
        there is no such account."""
        with self.write():
            done = self.db.execute("UPDATE staff_users SET hash=?, role=coalesce(?, role), changed=? WHERE name=?",
                                   (hashed, role, now(), name)).rowcount
            self.db.execute("DELETE FROM staff_sessions WHERE name=?", (name,))
        return bool(done)

    def staff_accounts(self) -> list[dict[str, str | None]]:
        """Return every account: name, role, created, password changed, last login."""
        return [{"name": r[0], "role": r[1], "created": r[2], "changed": r[3], "last_login": r[4]}
                for r in self.db.execute("SELECT name, role, created, changed, last_login FROM staff_users"
                                         " ORDER BY name")]

    def staff_failures(self, who: str, since: float) -> list[float]:
        """Return the times of someone's failed logins since a time, oldest first."""
        return [float(r[0]) for r in self.db.execute("SELECT at FROM staff_failures WHERE who=? AND at > ?"
                                                     " ORDER BY at", (who, since))]

    def staff_failed(self, who: list[str], at: float, forget_before: float) -> None:
        """Count a failed login against each of ``who``; forget failures older than a time."""
        with self.write():
            self.db.executemany("INSERT INTO staff_failures(who, at) VALUES (?,?)", [(w, at) for w in who])
            self.db.execute("DELETE FROM staff_failures WHERE at < ?", (forget_before,))

    def staff_logged_in(self, name: str, rehashed: str | None, session_id: str, csrf: str, at: float,
                        idle_before: float, started_before: float) -> None:
        """Record a login: a new session (and a password hash with today's parameters, if given);
        the account's failures and every expired session are forgotten."""
        with self.write():
            if rehashed:
                self.db.execute("UPDATE staff_users SET hash=? WHERE name=?", (rehashed, name))
            self.db.execute("DELETE FROM staff_failures WHERE who=?", (f"user:{name}",))
            self.db.execute("UPDATE staff_users SET last_login=? WHERE name=?", (now(), name))
            self.db.execute("INSERT INTO staff_sessions(id, name, csrf, created, seen) VALUES (?,?,?,?,?)",
                            (session_id, name, csrf, at, at))
            self.db.execute("DELETE FROM staff_sessions WHERE seen < ? OR created < ?", (idle_before, started_before))

    def staff_session(self, session_id: str) -> tuple[Any, ...] | None:
        """Return a session's (name, role, CSRF token, created, last seen), or None."""
        row = self.db.execute("SELECT s.name, u.role, s.csrf, s.created, s.seen FROM staff_sessions s"
                              " JOIN staff_users u ON u.name = s.name WHERE s.id=?", (session_id,)).fetchone()
        return None if row is None else tuple(row)

    def staff_touch(self, session_id: str, at: float) -> None:
        with self.write():
            self.db.execute("UPDATE staff_sessions SET seen=? WHERE id=?", (at, session_id))

    def staff_logout(self, session_id: str) -> None:
        with self.write():
            self.db.execute("DELETE FROM staff_sessions WHERE id=?", (session_id,))
