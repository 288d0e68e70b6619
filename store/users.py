"""Users and API tokens (``store.users``)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from store.area import Area, inserted_id
from store.dates import epoch_text, read_utc_text, utc_text
from store.store_text import now_iso

# What a token may do when nothing else is said (also the default of tokens made before scopes).
WRITE_ONLY = ("feedback:write",)

# Ended sessions are kept this long (for the record), then purged when a new one starts.
_KEEP_ENDED_DAYS = 30


def _iso_after(seconds: float, now: str | None = None) -> str:
    """ISO 8601 UTC text (now_iso's format) ``seconds`` after ``now`` (default: now)."""
    start = read_utc_text(now) if now else datetime.now(UTC)
    return utc_text(start + timedelta(seconds=seconds))


def _iso_at(epoch: float) -> str:
    """ISO 8601 UTC text (now_iso's format) of a Unix time."""
    return epoch_text(epoch)


def _epoch(iso: str) -> float:
    """The Unix time of ISO 8601 UTC text in now_iso's format."""
    return read_utc_text(iso).timestamp()


def _with_scopes(token: dict[str, Any]) -> dict[str, Any]:
    """A token row with its space-separated scopes as a list."""
    token["scopes"] = (token.get("scopes") or "").split()
    return token


class Users(Area):
    """User and token methods of the Store."""

    def add_user(self, name: str, role: str, password_hash: str | None, *,
                 email: str | None = None, oidc_subject: str | None = None) -> int:
        """Create an account; ValueError if the name (or email) is taken.

        An account without a password hash signs in only through the identity provider.
        """
        name = name.strip()
        email = (email or "").strip().lower() or None
        if not name:
            raise ValueError("a user needs a name")
        if password_hash is None and email is None and oidc_subject is None:
            raise ValueError("a user needs a password (or an email to sign in with the identity "
                             "provider)")
        with self.store.write() as db:
            if db.execute("SELECT 1 FROM users WHERE name = ?", [name]).fetchone():
                raise ValueError(f"a user named '{name}' already exists")
            if email and db.execute("SELECT 1 FROM users WHERE lower(email) = ?",
                                    [email]).fetchone():
                raise ValueError(f"a user with the email '{email}' already exists")
            return inserted_id(db.execute(
                "INSERT INTO users (name, role, password_hash, email, oidc_subject, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [name, role, password_hash, email, oidc_subject, now_iso()],
            ))

    def get_user(self, name: str) -> dict[str, Any] | None:
        """One account by name (with its password hash)."""
        return self.store.one("SELECT * FROM users WHERE name = ?", [name.strip()])

    def list_users(self) -> list[dict[str, Any]]:
        """Accounts without their password hashes: how each signs in, and live sessions."""
        return self.store.rows(
            "SELECT u.id, u.name, u.role, u.email, u.password_hash IS NOT NULL AS has_password,"
            " u.oidc_subject IS NOT NULL AS linked, u.created_at,"
            " (SELECT COUNT(*) FROM sessions s WHERE s.user_id = u.id AND s.revoked_at IS NULL"
            "  AND s.expires_at > ?) AS sessions"
            " FROM users u ORDER BY u.name",
            [now_iso()],
        )

    def identity_accounts(self) -> list[dict[str, Any]]:
        """Every account's name, role, email and linked identity (for identity sign-in)."""
        return self.store.rows("SELECT name, role, email, oidc_subject FROM users ORDER BY id")

    def link_identity(self, name: str, oidc_subject: str) -> None:
        """Remember which identity-provider subject signs in as this account."""
        with self.store.write() as db:
            db.execute("UPDATE users SET oidc_subject = ? WHERE name = ?", [oidc_subject, name])

    def user_count(self) -> int:
        """How many accounts exist (0 means local single-user mode)."""
        return int(self.store.scalar("SELECT COUNT(*) FROM users"))

    def set_user(self, name: str, *, role: str | None = None, password_hash: str | None = None,
                 keep_session: int | None = None) -> None:
        """Change a user's role (applies at once) or password (ends every session of that user
        but ``keep_session``); ValueError when it would leave the team without an admin."""
        with self.store.write() as db:
            user = db.execute("SELECT id, role FROM users WHERE name = ?", [name]).fetchone()
            if user is None:
                raise ValueError(f"there is no user named '{name}'")
            if role is not None and role != "admin" and user["role"] == "admin" \
                    and self._admins(db) == 1:
                raise ValueError("keep at least one admin: give another user the admin role first")
            if role is not None:
                db.execute("UPDATE users SET role = ? WHERE id = ?", [role, user["id"]])
            if password_hash is not None:
                db.execute("UPDATE users SET password_hash = ? WHERE id = ?",
                           [password_hash, user["id"]])
                self._end_sessions(db, user["id"], keep=keep_session)

    def remove_user(self, name: str) -> bool:
        """Delete an account and end its sessions (their ratings stay, under their name);
        whether it existed. ValueError when it is the last admin and other accounts remain."""
        with self.store.write() as db:
            user = db.execute("SELECT id, role FROM users WHERE name = ?", [name]).fetchone()
            if user is None:
                return False
            others = db.execute("SELECT COUNT(*) FROM users WHERE id != ?", [user["id"]]).fetchone()[0]
            if user["role"] == "admin" and self._admins(db) == 1 and others:
                raise ValueError("keep at least one admin: give another user the admin role first")
            self._end_sessions(db, user["id"])
            return db.execute("DELETE FROM users WHERE id = ?", [user["id"]]).rowcount > 0

    @staticmethod
    def _admins(db: Any) -> int:
        return int(db.execute("SELECT COUNT(*) FROM users WHERE role = 'admin'").fetchone()[0])

    # -- sign-in sessions ---------------------------------------------------------

    def start_session(self, name: str, code_digest: str, *, seconds: float, code_seconds: float,
                      method: str = "password", now: str | None = None) -> dict[str, Any]:
        """Open a session for a user, waiting for its one-time sign-in code to be swapped
        for a cookie. Returns the session (id, name, role, created_at, expires_at)."""
        now = now or now_iso()
        with self.store.write() as db:
            user = db.execute("SELECT id FROM users WHERE name = ?", [name]).fetchone()
            if user is None:
                raise ValueError(f"there is no user named '{name}'")
            db.execute("DELETE FROM sessions WHERE expires_at < ? OR revoked_at < ?",
                       [_iso_after(-_KEEP_ENDED_DAYS * 86400, now)] * 2)
            session_id = inserted_id(db.execute(
                "INSERT INTO sessions (user_id, code_digest, code_expires_at, method, created_at,"
                " expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                [user["id"], code_digest, _iso_after(code_seconds, now), method, now,
                 _iso_after(seconds, now)],
            ))
        session = self.live_session(session_id, now=now)
        assert session is not None
        return session

    def redeem_sign_in_code(self, code_digest: str, token_digest: str,
                            now: str | None = None) -> dict[str, Any] | None:
        """Swap a one-time sign-in code for the session's cookie token (stored as its digest).

        The code works once and only before it expires; returns the live session, else None.
        """
        now = now or now_iso()
        with self.store.write() as db:
            row = db.execute(
                "SELECT id FROM sessions WHERE code_digest = ? AND code_expires_at > ?"
                " AND revoked_at IS NULL AND expires_at > ?", [code_digest, now, now]).fetchone()
            # used or not: a code is spent by its first use
            db.execute("UPDATE sessions SET code_digest = NULL, code_expires_at = NULL"
                       " WHERE code_digest = ?", [code_digest])
            if row is None:
                return None
            db.execute("UPDATE sessions SET token_digest = ? WHERE id = ?", [token_digest, row["id"]])
        return self.live_session(row["id"], now=now)

    _SESSION = ("SELECT s.id, u.name, u.role, s.method, s.created_at, s.expires_at"
                " FROM sessions s JOIN users u ON u.id = s.user_id")

    def live_session(self, session_id: int, now: str | None = None) -> dict[str, Any] | None:
        """A session that is neither signed out nor expired, with its user's current role."""
        now = now or now_iso()
        return self.store.one(self._SESSION + " WHERE s.id = ? AND s.revoked_at IS NULL"
                         " AND s.expires_at > ?", [session_id, now])

    def session_by_token(self, token_digest: str, now: str | None = None) -> dict[str, Any] | None:
        """The live session whose cookie token has this digest."""
        now = now or now_iso()
        return self.store.one(self._SESSION + " WHERE s.token_digest = ? AND s.revoked_at IS NULL"
                         " AND s.expires_at > ?", [token_digest, now])

    def session_end_reason(self, session_id: int, now: str | None = None) -> str | None:
        """Why a session is over: 'expired', 'signed out' or 'removed' (None while it is live)."""
        now = now or now_iso()
        row = self.store.one("SELECT revoked_at, expires_at FROM sessions WHERE id = ?", [session_id])
        if row is None:
            return "removed"
        if row["revoked_at"] is not None:
            return "signed out"
        return "expired" if row["expires_at"] <= now else None

    def end_session(self, session_id: int) -> bool:
        """Sign a session out (every tab of that browser); whether it was live."""
        with self.store.write() as db:
            return db.execute("UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                              [now_iso(), session_id]).rowcount > 0

    def end_session_by_token(self, token_digest: str) -> bool:
        """Sign out the session whose cookie token has this digest."""
        with self.store.write() as db:
            return db.execute(
                "UPDATE sessions SET revoked_at = ? WHERE token_digest = ? AND revoked_at IS NULL",
                [now_iso(), token_digest]).rowcount > 0

    def end_user_sessions(self, name: str, keep: int | None = None) -> int:
        """Sign a user out everywhere (but ``keep``); how many sessions ended."""
        with self.store.write() as db:
            user = db.execute("SELECT id FROM users WHERE name = ?", [name]).fetchone()
            return 0 if user is None else self._end_sessions(db, user["id"], keep=keep)

    @staticmethod
    def _end_sessions(db: Any, user_id: int, keep: int | None = None) -> int:
        return db.execute(
            "UPDATE sessions SET revoked_at = ?, code_digest = NULL"
            " WHERE user_id = ? AND revoked_at IS NULL AND id IS NOT ?",
            [now_iso(), user_id, keep]).rowcount

    # -- failed sign-ins, per typed name and client --------------------------------

    def claim_sign_in(self, name: str, client: str, *, delay: Callable[[int], float],
                      forget: float, now: float | None = None) -> float:
        """Take a sign-in try for this name from this client: 0.0 when it may go ahead, else
        the seconds it must still wait.

        A try that goes ahead counts as failed until ``sign_in_succeeded`` clears the count,
        so tries made in parallel cannot all slip past the delay; the next try must then wait
        ``delay(failures in a row)`` seconds. Counts older than ``forget`` seconds are dropped.
        """
        now = time.time() if now is None else now
        with self.store.write() as db:
            db.execute("DELETE FROM sign_in_attempts WHERE last_at < ?", [_iso_at(now - forget)])
            row = db.execute("SELECT failures, next_at FROM sign_in_attempts"
                             " WHERE name = ? AND client = ?", [name, client]).fetchone()
            if row is not None and _epoch(row["next_at"]) > now:
                return _epoch(row["next_at"]) - now
            failures = (row["failures"] if row is not None else 0) + 1
            db.execute(
                "INSERT INTO sign_in_attempts (name, client, failures, last_at, next_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (name, client) DO UPDATE SET"
                " failures = excluded.failures, last_at = excluded.last_at,"
                " next_at = excluded.next_at",
                [name, client, failures, _iso_at(now), _iso_at(now + delay(failures))])
            return 0.0

    def sign_in_wait(self, name: str, client: str, now: float | None = None) -> float:
        """Seconds the next sign-in try for this name from this client must wait (0.0: none)."""
        now = time.time() if now is None else now
        next_at = self.store.scalar("SELECT next_at FROM sign_in_attempts WHERE name = ? AND client = ?",
                               [name, client])
        return max(0.0, _epoch(next_at) - now) if next_at else 0.0

    def sign_in_succeeded(self, name: str, client: str) -> None:
        """Forget the failed sign-ins of this name from this client."""
        with self.store.write() as db:
            db.execute("DELETE FROM sign_in_attempts WHERE name = ? AND client = ?", [name, client])

    def app_secret(self, name: str) -> str:
        """A server-side secret (such as the cookie-signing key), made on first use."""
        value = self.store.scalar("SELECT value FROM app_secrets WHERE name = ?", [name])
        if value is not None:
            return str(value)
        with self.store.write() as db:
            row = db.execute("SELECT value FROM app_secrets WHERE name = ?", [name]).fetchone()
            if row is not None:  # made meanwhile by another process
                return str(row["value"])
            value = secrets.token_urlsafe(48)
            db.execute("INSERT INTO app_secrets (name, value, created_at) VALUES (?, ?, ?)",
                       [name, value, now_iso()])
            return value

    # -- API tokens ---------------------------------------------------------------

    def add_token(self, name: str, digest: str, rate: str | None, created_by: str | None,
                  scopes: Iterable[str] = WRITE_ONLY) -> int:
        """Remember an API token by its digest, with what it may do (``scopes``)."""
        scope_text = " ".join(dict.fromkeys(s.strip() for s in scopes if s.strip()))
        if not scope_text:
            raise ValueError("a token needs at least one scope")
        with self.store.write() as db:
            return inserted_id(db.execute(
                "INSERT INTO api_tokens (name, digest, rate, scopes, created_by, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [name, digest, rate, scope_text, created_by, now_iso()],
            ))

    def token_by_digest(self, digest: str) -> dict[str, Any] | None:
        """A live (not revoked) token by digest."""
        token = self.store.one(
            "SELECT * FROM api_tokens WHERE digest = ? AND revoked_at IS NULL", [digest]
        )
        return None if token is None else _with_scopes(token)

    def touch_token(self, token_id: int, *, every: float = 60.0) -> None:
        """Note when a token was last used (to within ``every`` seconds, so that busy clients
        do not write on every request)."""
        now = now_iso()
        with self.store.write() as db:
            db.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?"
                       " AND (last_used_at IS NULL OR last_used_at < ?)",
                       [now, token_id, _iso_after(-every, now)])

    def list_tokens(self) -> list[dict[str, Any]]:
        """Tokens without their digests; ``scopes`` as a list."""
        return [_with_scopes(row) for row in self.store.rows(
            "SELECT id, name, scopes, rate, created_by, created_at, last_used_at, revoked_at"
            " FROM api_tokens ORDER BY id"
        )]

    def revoke_token(self, token_id: int) -> bool:
        """Revoke a token; whether it was live."""
        with self.store.write() as db:
            return db.execute(
                "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                [now_iso(), token_id],
            ).rowcount > 0
