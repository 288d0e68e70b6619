"""Users and API tokens (a Store mixin)."""

from __future__ import annotations

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
