"""Numbered, append-only migrations. Never edit one that has shipped: add the next."""

from __future__ import annotations

from collections.abc import Callable

from sqlite_utils import Database, Migrations

from store.migration_sql import run_script
from store.migrations_clusters import m007_clusters
from store.migrations_experiments import m005_experiments
from store.migrations_export import m006_export
from store.migrations_ingest import m002_ingest
from store.migrations_insights import m004_insights
from store.migrations_judge import m013_judge_replies
from store.migrations_review import m003_review
from store.migrations_review_mean import m010_review_stars_mean
from store.migrations_saved_themes import m016_saved_themes
from store.migrations_sessions import m009_sessions
from store.migrations_sign_in import m012_sign_in_attempts
from store.migrations_token_scopes import m011_token_scopes
from store.migrations_usage import m015_usage_prices
from store.migrations_users import m008_users


def m001_initial(db: Database) -> None:
    run_script(
        db,
        """
        CREATE TABLE variants (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            version INTEGER NOT NULL DEFAULT 1,
            model TEXT,
            system_prompt TEXT,
            template TEXT NOT NULL DEFAULT '{question}',
            params TEXT NOT NULL DEFAULT '{}',
            archived INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            UNIQUE (name, version)
        );

        CREATE TABLE conversations (
            id INTEGER PRIMARY KEY,
            title TEXT,
            reviewer TEXT,
            source TEXT NOT NULL DEFAULT 'chat',
            external_id TEXT,
            created_at TEXT NOT NULL
        );

        CREATE TABLE interactions (
            id INTEGER PRIMARY KEY,
            conversation_id INTEGER REFERENCES conversations(id),
            turn INTEGER NOT NULL DEFAULT 1,
            question TEXT NOT NULL,
            answer TEXT,
            system_prompt TEXT,
            model TEXT,
            backend TEXT,
            variant_id INTEGER REFERENCES variants(id),
            params TEXT,
            latency_ms REAL,
            ttft_ms REAL,
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            error TEXT,
            source TEXT NOT NULL DEFAULT 'chat',
            external_id TEXT,
            content_hash TEXT,
            meta TEXT,
            created_at TEXT NOT NULL
        );
        CREATE INDEX idx_interactions_created ON interactions(created_at);
        CREATE INDEX idx_interactions_conversation ON interactions(conversation_id, turn);
        CREATE INDEX idx_interactions_model ON interactions(model, created_at);
        CREATE INDEX idx_interactions_variant ON interactions(variant_id, created_at);
        CREATE INDEX idx_interactions_source ON interactions(source, created_at);
        CREATE INDEX idx_interactions_external ON interactions(external_id)
            WHERE external_id IS NOT NULL;
        CREATE INDEX idx_interactions_hash ON interactions(content_hash)
            WHERE content_hash IS NOT NULL;

        CREATE TABLE ratings (
            id INTEGER PRIMARY KEY,
            interaction_id INTEGER NOT NULL REFERENCES interactions(id),
            reviewer TEXT NOT NULL,
            stars INTEGER CHECK (stars BETWEEN 1 AND 5),
            thumbs INTEGER CHECK (thumbs IN (-1, 1)),
            comment TEXT,
            tags TEXT NOT NULL DEFAULT '[]',
            ideal_answer TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            UNIQUE (interaction_id, reviewer)
        );
        CREATE INDEX idx_ratings_reviewer ON ratings(reviewer);
        CREATE INDEX idx_ratings_stars ON ratings(stars);

        CREATE TABLE rating_tags (
            rating_id INTEGER NOT NULL REFERENCES ratings(id) ON DELETE CASCADE,
            interaction_id INTEGER NOT NULL REFERENCES interactions(id),
            tag TEXT NOT NULL,
            PRIMARY KEY (rating_id, tag)
        );
        CREATE INDEX idx_rating_tags_tag ON rating_tags(tag, interaction_id);

        CREATE TABLE comparisons (
            id INTEGER PRIMARY KEY,
            question TEXT NOT NULL,
            interaction_a INTEGER REFERENCES interactions(id),
            interaction_b INTEGER REFERENCES interactions(id),
            variant_a TEXT,
            variant_b TEXT,
            left_side TEXT CHECK (left_side IN ('a', 'b')),
            winner TEXT NOT NULL CHECK (winner IN ('a', 'b', 'tie', 'both_bad')),
            reason TEXT,
            reviewer TEXT,
            source TEXT NOT NULL DEFAULT 'vote',
            created_at TEXT NOT NULL
        );

        CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            role TEXT NOT NULL CHECK (role IN ('viewer', 'annotator', 'admin')),
            password_hash TEXT,
            created_at TEXT NOT NULL
        );

        CREATE VIRTUAL TABLE interactions_fts USING fts5(
            question, answer, content='interactions', content_rowid='id',
            tokenize='unicode61 remove_diacritics 2'
        );
        CREATE TRIGGER interactions_fts_ai AFTER INSERT ON interactions BEGIN
            INSERT INTO interactions_fts(rowid, question, answer)
            VALUES (new.id, new.question, new.answer);
        END;
        CREATE TRIGGER interactions_fts_ad AFTER DELETE ON interactions BEGIN
            INSERT INTO interactions_fts(interactions_fts, rowid, question, answer)
            VALUES ('delete', old.id, old.question, old.answer);
        END;
        CREATE TRIGGER interactions_fts_au AFTER UPDATE OF question, answer ON interactions BEGIN
            INSERT INTO interactions_fts(interactions_fts, rowid, question, answer)
            VALUES ('delete', old.id, old.question, old.answer);
            INSERT INTO interactions_fts(rowid, question, answer)
            VALUES (new.id, new.question, new.answer);
        END;
        """
    )


# Every migration, in the order it is applied. Append only: never edit, reorder or remove one that
# has shipped (a database records the names it has applied and runs the rest in this order).
ORDER: tuple[Callable[[Database], None], ...] = (
    m001_initial,
    m002_ingest,
    m003_review,
    m004_insights,
    m005_experiments,
    m006_export,
    m007_clusters,
    m008_users,
    m009_sessions,
    m010_review_stars_mean,
    m011_token_scopes,
    m012_sign_in_attempts,
    m013_judge_replies,
    m015_usage_prices,
    m016_saved_themes,
)

migrations = Migrations("loupe")
for _step in ORDER:
    migrations()(_step)
