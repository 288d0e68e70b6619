"""Migration m011_token_scopes: what each API token may do, and which ratings the API wrote.

`api_tokens.scopes` holds a token's scopes, separated by spaces (`feedback:write`,
`feedback:read`, `feedback:write-as`). Tokens made before scopes existed keep the one thing
every production client does, sending feedback: `feedback:write`; reading feedback and writing
under other reviewers' names need a new token.

`ratings.source` says who last wrote a rating: `api` for the feedback API, `dashboard` for a
reviewer on a page, NULL for imports, the demo and every rating made before this migration.
The API replaces only ratings whose source is `api`.
"""

from __future__ import annotations

from sqlite_utils import Database

from store.migration_sql import run_script


def m011_token_scopes(db: Database) -> None:
    run_script(
        db,
        """
        ALTER TABLE api_tokens ADD COLUMN scopes TEXT NOT NULL DEFAULT 'feedback:write';
        ALTER TABLE ratings ADD COLUMN source TEXT;
        """,
    )
