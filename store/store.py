"""The Store: every SQL statement of Loupe lives behind this class."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from store.api import ApiMixin
from store.backup import BackupMixin, create_private, tighten
from store.clusters import ClustersMixin
from store.experiments import ExperimentsMixin
from store.export import ExportMixin
from store.ingest import IngestMixin
from store.insights import InsightsMixin
from store.migrations import migrations
from store.review import ReviewMixin
from store.users import UsersMixin
from store.store_text import fts_query, now_iso

BUSY_TIMEOUT_MS = 10_000
BEGIN_ATTEMPT_MS = 500  # one attempt to take the write lock before letting other threads in
WRITE_WAIT_SECONDS = 300  # how long a write waits for another writer before giving up
DEFAULT_DB = "data/loupe.db"

# Columns a caller may set when it records an answer.
INTERACTION_RESULT_FIELDS = (
    "answer",
    "model",
    "backend",
    "latency_ms",
    "ttft_ms",
    "prompt_tokens",
    "completion_tokens",
    "error",
)


INTERACTION_COLUMNS = (
    "id", "conversation_id", "turn", "question", "answer", "system_prompt", "model", "backend",
    "variant_id", "params", "latency_ms", "ttft_ms", "prompt_tokens", "completion_tokens", "error",
    "source", "external_id", "content_hash", "meta", "created_at",
)


def default_db_path() -> str:
    """The database path from LOUPE_DB, else data/loupe.db."""
    return os.environ.get("LOUPE_DB") or DEFAULT_DB


class Store(
    BackupMixin, IngestMixin, ReviewMixin, InsightsMixin, ExperimentsMixin, ExportMixin,
    ClustersMixin, UsersMixin, ApiMixin,
):
    """One SQLite file holding variants, conversations, interactions and ratings.

    A Store is safe to share between threads: it owns one connection opened with
    ``check_same_thread=False`` and serializes every use of it behind a lock.
    Several Stores (or processes) on the same file coordinate through WAL mode,
    ``busy_timeout`` and ``BEGIN IMMEDIATE`` write transactions.

    Other users of the machine cannot read the file: a new database is created with mode 0600
    (SQLite gives its WAL and shared-memory files the mode of the database), and opening an
    existing one takes away the access it gave to all users (its group's access is kept).
    """

    def __init__(self, path: str | os.PathLike[str] = ":memory:") -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            create_private(self.path)
            for suffix in ("-wal", "-shm"):
                tighten(self.path + suffix)
        conn = sqlite3.connect(
            self.path,
            check_same_thread=False,
            isolation_level=None,
            timeout=BUSY_TIMEOUT_MS / 1000,
        )
        conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self.db = Database(conn)
        with self._lock:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if self.path != ":memory:":
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._migrate()

    # -- plumbing -------------------------------------------------------------

    def _migrate(self) -> None:
        # Another process may be migrating the same file: hold the write lock.
        with self.write():
            migrations.apply(self.db)

    @contextlib.contextmanager
    def write(self) -> Iterator[Database]:
        """A write transaction (BEGIN IMMEDIATE); nested calls become savepoints.

        When another connection holds the write lock (a large import, say), this waits for it
        for up to WRITE_WAIT_SECONDS, letting this process's other threads read meanwhile.
        """
        self._lock.acquire()
        try:
            conn = self.db.conn
            if conn.in_transaction:
                with self.db.atomic():
                    yield self.db
                return
            self._begin_immediate()
            try:
                yield self.db
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            self._lock.release()

    def _begin_immediate(self) -> None:
        """BEGIN IMMEDIATE, retried until WRITE_WAIT_SECONDS; the caller holds the thread lock,
        which is let go between attempts."""
        conn = self.db.conn
        deadline = time.monotonic() + WRITE_WAIT_SECONDS
        conn.execute(f"PRAGMA busy_timeout = {BEGIN_ATTEMPT_MS}")
        try:
            while True:
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) and "busy" not in str(exc):
                        raise
                    if time.monotonic() > deadline:
                        raise sqlite3.OperationalError(
                            f"database is locked: another writer held it for over "
                            f"{WRITE_WAIT_SECONDS} s"
                        ) from exc
                    # let this process's other threads read (or write) between attempts
                    self._lock.release()
                    try:
                        time.sleep(0.02)
                    finally:
                        self._lock.acquire()
        finally:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

    def _rows(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(row) for row in self.db.conn.execute(sql, params).fetchall()]

    def _one(self, sql: str, params: Any = ()) -> dict[str, Any] | None:
        with self._lock:
            row = self.db.conn.execute(sql, params).fetchone()
        return dict(row) if row is not None else None

    def _scalar(self, sql: str, params: Any = ()) -> Any:
        with self._lock:
            row = self.db.conn.execute(sql, params).fetchone()
        return row[0] if row is not None else None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self.db.close()

    def applied_migrations(self) -> list[str]:
        """Names of the migrations applied to this database, oldest first."""
        return [m.name for m in migrations.applied(self.db)]

    def data_stamp(self) -> tuple[int, int]:
        """Changes whenever any connection commits a change: a cache key for reads."""
        with self._lock:
            version = self.db.conn.execute("PRAGMA data_version").fetchone()[0]
            return (version, self.db.conn.total_changes)

    def pragma(self, name: str) -> Any:
        """The value of one PRAGMA (journal_mode, foreign_keys, busy_timeout...)."""
        if not name.replace("_", "").isalpha():
            raise ValueError(f"not a pragma name: {name!r}")
        return self._scalar(f"PRAGMA {name}")

    # -- variants -------------------------------------------------------------

    def add_variant(
        self,
        name: str,
        *,
        model: str | None = None,
        system_prompt: str | None = None,
        template: str | None = "{question}",
        params: dict[str, Any] | None = None,
        description: str | None = None,
        parent_id: int | None = None,
    ) -> int:
        """Create the next version of a prompt variant and return its id."""
        name = (name or "").strip()
        if not name:
            raise ValueError("a variant needs a name")
        template = template or "{question}"
        if "{question}" not in template:
            raise ValueError("the template must contain {question} where the question goes")
        with self.write() as db:
            version = db.execute(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM variants WHERE name = ?", [name]
            ).fetchone()[0]
            cursor = db.execute(
                "INSERT INTO variants (name, version, model, system_prompt, template, params,"
                " description, parent_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [name, version, model, system_prompt or None, template, json.dumps(params or {}),
                 description or None, parent_id, now_iso()],
            )
            return int(cursor.lastrowid)

    def get_variant(self, variant_id: int) -> dict[str, Any] | None:
        """One variant version, with its params decoded."""
        row = self._one("SELECT * FROM variants WHERE id = ?", [variant_id])
        if row is not None:
            row["params"] = json.loads(row["params"] or "{}")
        return row

    # -- conversations and interactions ---------------------------------------

    def start_conversation(
        self, *, reviewer: str | None = None, title: str | None = None, source: str = "chat"
    ) -> int:
        """Create an empty conversation and return its id."""
        with self.write() as db:
            cursor = db.execute(
                "INSERT INTO conversations (title, reviewer, source, created_at) VALUES (?, ?, ?, ?)",
                [title, reviewer, source, now_iso()],
            )
            return int(cursor.lastrowid)

    def add_question(
        self,
        conversation_id: int,
        question: str,
        *,
        model: str | None = None,
        backend: str | None = None,
        system_prompt: str | None = None,
        params: dict[str, Any] | None = None,
        variant_id: int | None = None,
        source: str = "chat",
    ) -> int:
        """Store a question before it is answered, so it is never lost; return the interaction id."""
        with self.write() as db:
            turn = db.execute(
                "SELECT COALESCE(MAX(turn), 0) + 1 FROM interactions WHERE conversation_id = ?",
                [conversation_id],
            ).fetchone()[0]
            cursor = db.execute(
                "INSERT INTO interactions (conversation_id, turn, question, system_prompt, model,"
                " backend, variant_id, params, source, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    conversation_id,
                    turn,
                    question,
                    system_prompt,
                    model,
                    backend,
                    variant_id,
                    json.dumps(params) if params is not None else None,
                    source,
                    now_iso(),
                ],
            )
            return int(cursor.lastrowid)

    def record_answer(self, interaction_id: int, **result: Any) -> None:
        """Record the outcome of a model call (answer or error, and its measurements)."""
        unknown = set(result) - set(INTERACTION_RESULT_FIELDS)
        if unknown:
            raise ValueError(f"unknown interaction fields: {sorted(unknown)}")
        if not result:
            return
        assignments = ", ".join(f"{column} = ?" for column in result)
        with self.write() as db:
            db.execute(
                f"UPDATE interactions SET {assignments} WHERE id = ?",
                [*result.values(), interaction_id],
            )

    def get_interaction(self, interaction_id: int) -> dict[str, Any] | None:
        """One interaction as a dict."""
        return self._one("SELECT * FROM interactions WHERE id = ?", [interaction_id])

    def conversation_turns(self, conversation_id: int) -> list[dict[str, Any]]:
        """Every interaction of a conversation, in turn order."""
        return self._rows(
            "SELECT * FROM interactions WHERE conversation_id = ? ORDER BY turn, id",
            [conversation_id],
        )

    def search(self, text: str, limit: int = 50) -> list[dict[str, Any]]:
        """Interactions whose question or answer contains every word of ``text`` (FTS5)."""
        query = fts_query(text)
        if not query:
            return []
        return self._rows(
            "SELECT interactions.* FROM interactions_fts"
            " JOIN interactions ON interactions.id = interactions_fts.rowid"
            " WHERE interactions_fts MATCH ? ORDER BY rank LIMIT ?",
            [query, limit],
        )

    def insert_interactions_bulk(self, rows: list[dict[str, Any]]) -> int:
        """Insert many interactions in one transaction (columns as in the table); return the count."""
        if not rows:
            return 0
        columns = list(rows[0])
        unknown = set(columns) - set(INTERACTION_COLUMNS)
        if unknown:
            raise ValueError(f"unknown interaction columns: {sorted(unknown)}")
        sql = (
            f"INSERT INTO interactions ({', '.join(columns)})"
            f" VALUES ({', '.join('?' for _ in columns)})"
        )
        with self.write() as db:
            db.conn.executemany(sql, [[row.get(c) for c in columns] for row in rows])
        return len(rows)

    def insert_ratings_bulk(self, rows: list[dict[str, Any]]) -> int:
        """Insert many ratings (with their tags) in one transaction; return the count."""
        if not rows:
            return 0
        with self.write() as db:
            for row in rows:
                tags = sorted(set(row.get("tags") or []))
                cursor = db.conn.execute(
                    "INSERT INTO ratings (interaction_id, reviewer, stars, thumbs, comment, tags,"
                    " ideal_answer, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        row["interaction_id"],
                        row["reviewer"],
                        row.get("stars"),
                        row.get("thumbs"),
                        row.get("comment"),
                        json.dumps(tags, ensure_ascii=False),
                        row.get("ideal_answer"),
                        row["created_at"],
                        row.get("updated_at") or row["created_at"],
                    ],
                )
                if tags:
                    db.conn.executemany(
                        "INSERT INTO rating_tags (rating_id, interaction_id, tag) VALUES (?, ?, ?)",
                        [(cursor.lastrowid, row["interaction_id"], tag) for tag in tags],
                    )
        return len(rows)

    def max_interaction_id(self) -> int:
        """The highest interaction id (0 when empty)."""
        return int(self._scalar("SELECT COALESCE(MAX(id), 0) FROM interactions"))

    # -- ratings --------------------------------------------------------------

    def save_rating(
        self,
        interaction_id: int,
        reviewer: str,
        *,
        stars: int | None = None,
        thumbs: int | None = None,
        comment: str | None = None,
        tags: list[str] | None = None,
        ideal_answer: str | None = None,
    ) -> int:
        """Create or replace this reviewer's rating of an interaction (as written on the
        dashboard); return the rating id."""
        reviewer = (reviewer or "").strip()
        if not reviewer:
            raise ValueError("a rating needs the reviewer's name")
        if stars is not None and not 1 <= int(stars) <= 5:
            raise ValueError(f"stars must be 1 to 5, not {stars}")
        if thumbs is not None and thumbs not in (-1, 1):
            raise ValueError(f"thumbs must be 1 (up) or -1 (down), not {thumbs}")
        clean_tags = sorted({t.strip() for t in tags or [] if t and t.strip()})
        stamp = now_iso()
        with self.write() as db:
            db.execute(
                "INSERT INTO ratings (interaction_id, reviewer, stars, thumbs, comment, tags,"
                " ideal_answer, source, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, 'dashboard', ?, ?)"
                " ON CONFLICT (interaction_id, reviewer) DO UPDATE SET stars = excluded.stars,"
                " thumbs = excluded.thumbs, comment = excluded.comment, tags = excluded.tags,"
                " ideal_answer = excluded.ideal_answer, source = excluded.source,"
                " updated_at = excluded.updated_at",
                [
                    interaction_id,
                    reviewer,
                    stars,
                    thumbs,
                    comment or None,
                    json.dumps(clean_tags, ensure_ascii=False),
                    ideal_answer or None,
                    stamp,
                    stamp,
                ],
            )
            rating_id = db.execute(
                "SELECT id FROM ratings WHERE interaction_id = ? AND reviewer = ?",
                [interaction_id, reviewer],
            ).fetchone()[0]
            db.execute("DELETE FROM rating_tags WHERE rating_id = ?", [rating_id])
            db.conn.executemany(
                "INSERT INTO rating_tags (rating_id, interaction_id, tag) VALUES (?, ?, ?)",
                [(rating_id, interaction_id, tag) for tag in clean_tags],
            )
            return int(rating_id)

    def get_rating(self, interaction_id: int, reviewer: str) -> dict[str, Any] | None:
        """This reviewer's rating of an interaction, with tags as a list, or None."""
        row = self._one(
            "SELECT * FROM ratings WHERE interaction_id = ? AND reviewer = ?",
            [interaction_id, reviewer],
        )
        return _decode_rating(row) if row else None

    def ratings_for(self, interaction_id: int) -> list[dict[str, Any]]:
        """Every reviewer's rating of an interaction."""
        rows = self._rows(
            "SELECT * FROM ratings WHERE interaction_id = ? ORDER BY updated_at", [interaction_id]
        )
        return [_decode_rating(row) for row in rows]

    # -- summary --------------------------------------------------------------

    def summary(self) -> dict[str, int]:
        """Row counts of the main tables."""
        return {
            "interactions": self._scalar("SELECT COUNT(*) FROM interactions"),
            "ratings": self._scalar("SELECT COUNT(*) FROM ratings"),
            "comparisons": self._scalar("SELECT COUNT(*) FROM comparisons"),
            "variants": self._scalar("SELECT COUNT(*) FROM variants"),
            "users": self._scalar("SELECT COUNT(*) FROM users"),
        }


def _decode_rating(row: dict[str, Any]) -> dict[str, Any]:
    row["tags"] = json.loads(row.get("tags") or "[]")
    return row
