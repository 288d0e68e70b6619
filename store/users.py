"""Users, API tokens and backups (a Store mixin)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from store.store_text import now_iso


class UsersMixin:
    """User and token methods of the Store."""

    def add_user(self, name: str, role: str, password_hash: str) -> int:
        """Create an account; ValueError if the name is taken."""
        name = name.strip()
        if not name:
            raise ValueError("a user needs a name")
        with self.write() as db:
            if db.execute("SELECT 1 FROM users WHERE name = ?", [name]).fetchone():
                raise ValueError(f"a user named '{name}' already exists")
            return int(db.execute(
                "INSERT INTO users (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)",
                [name, role, password_hash, now_iso()],
            ).lastrowid)

    def get_user(self, name: str) -> dict[str, Any] | None:
        """One account by name (with its password hash)."""
        return self._one("SELECT * FROM users WHERE name = ?", [name.strip()])

    def list_users(self) -> list[dict[str, Any]]:
        """Accounts without their password hashes."""
        return self._rows("SELECT id, name, role, created_at FROM users ORDER BY name")

    def user_count(self) -> int:
        """How many accounts exist (0 means local single-user mode)."""
        return int(self._scalar("SELECT COUNT(*) FROM users"))

    def set_user(self, name: str, *, role: str | None = None, password_hash: str | None = None) -> None:
        """Change a user's role or password."""
        with self.write() as db:
            if role is not None:
                db.execute("UPDATE users SET role = ? WHERE name = ?", [role, name])
            if password_hash is not None:
                db.execute("UPDATE users SET password_hash = ? WHERE name = ?", [password_hash, name])

    def remove_user(self, name: str) -> bool:
        """Delete an account (their ratings stay, under their name); whether it existed."""
        with self.write() as db:
            return db.execute("DELETE FROM users WHERE name = ?", [name]).rowcount > 0

    # -- API tokens ---------------------------------------------------------------

    def add_token(self, name: str, digest: str, rate: str | None, created_by: str | None) -> int:
        """Remember an API token by its digest."""
        with self.write() as db:
            return int(db.execute(
                "INSERT INTO api_tokens (name, digest, rate, created_by, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                [name, digest, rate, created_by, now_iso()],
            ).lastrowid)

    def token_by_digest(self, digest: str) -> dict[str, Any] | None:
        """A live (not revoked) token by digest."""
        return self._one(
            "SELECT * FROM api_tokens WHERE digest = ? AND revoked_at IS NULL", [digest]
        )

    def touch_token(self, token_id: int) -> None:
        """Note when a token was last used."""
        with self.write() as db:
            db.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", [now_iso(), token_id])

    def list_tokens(self) -> list[dict[str, Any]]:
        """Tokens without their digests."""
        return self._rows(
            "SELECT id, name, rate, created_by, created_at, last_used_at, revoked_at"
            " FROM api_tokens ORDER BY id"
        )

    def revoke_token(self, token_id: int) -> bool:
        """Revoke a token; whether it was live."""
        with self.write() as db:
            return db.execute(
                "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                [now_iso(), token_id],
            ).rowcount > 0

    # -- backups ------------------------------------------------------------------

    def backup(self, out: str | Path) -> dict[str, Any]:
        """Copy the live database to ``out`` with SQLite's online backup API; check the copy."""
        out = Path(out)
        if out.exists():
            raise ValueError(f"{out} already exists: choose a new file name")
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(out.name + ".partial")
        target = sqlite3.connect(partial)
        try:
            with self._lock:
                self.db.conn.backup(target, pages=1024)
            verdict = target.execute("PRAGMA integrity_check").fetchone()[0]
            interactions = target.execute("SELECT COUNT(*) FROM interactions").fetchone()[0]
        finally:
            target.close()
        if verdict != "ok":
            partial.unlink(missing_ok=True)
            raise RuntimeError(f"the backup failed its integrity check: {verdict}")
        partial.rename(out)
        return {"path": str(out), "bytes": out.stat().st_size, "interactions": interactions}

    def restore_from(self, source: str | Path) -> dict[str, Any]:
        """Replace this database's content with a backup file (checked first), atomically."""
        source = Path(source)
        if not source.exists():
            raise ValueError(f"{source} does not exist")
        backup = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            try:
                verdict = backup.execute("PRAGMA integrity_check").fetchone()[0]
                backup.execute("SELECT COUNT(*) FROM interactions").fetchone()
            except sqlite3.DatabaseError as exc:
                raise ValueError(f"{source} is not a Loupe database ({exc})") from exc
            if verdict != "ok":
                raise ValueError(f"{source} is damaged: {verdict}")
            with self._lock:
                backup.backup(self.db.conn)
        finally:
            backup.close()
        return {"interactions": int(self._scalar("SELECT COUNT(*) FROM interactions"))}
