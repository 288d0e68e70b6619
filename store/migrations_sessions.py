"""Migration m009_sessions: sign-in sessions that outlive a reload, and identities from an
identity provider (OpenID Connect) linked to accounts."""

from __future__ import annotations

from sqlite_utils import Database

from store.migration_sql import run_script


def m009_sessions(db: Database) -> None:
    run_script(
        db,
        """
        ALTER TABLE users ADD COLUMN email TEXT;
        ALTER TABLE users ADD COLUMN oidc_subject TEXT;
        CREATE UNIQUE INDEX idx_users_oidc_subject ON users(oidc_subject)
            WHERE oidc_subject IS NOT NULL;
        CREATE INDEX idx_users_email ON users(lower(email)) WHERE email IS NOT NULL;

        -- One row per signed-in browser. The browser holds a random token in a signed,
        -- HttpOnly cookie; only its digest is stored. A session starts with a one-time
        -- sign-in code (digest, short-lived) that the browser swaps for that cookie.
        CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            token_digest TEXT UNIQUE,
            code_digest TEXT UNIQUE,
            code_expires_at TEXT,
            method TEXT NOT NULL DEFAULT 'password',
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            revoked_at TEXT
        );
        CREATE INDEX idx_sessions_user ON sessions(user_id);

        -- Server-side secrets such as the key that signs session cookies.
        CREATE TABLE app_secrets (
            name TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        """,
    )
