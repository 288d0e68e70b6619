"""The Store: one SQLite connection, its lock and transactions, and the areas that query it.

Every SQL statement of Loupe lives in ``store/``: each area (``store.review``,
``store.insights``...) is a small class that takes the Store and owns its own queries.
"""

from __future__ import annotations

import contextlib
import math
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Self

from sqlite_utils import Database

from store.api import Api
from store.backup import Backup, Progress, create_private, tighten
from store.clusters import Themes
from store.experiments import Experiments
from store.export import Exports
from store.ingest import Ingest
from store.insights import Insights
from store.migrations import migrations
from store.review import Review
from store.store_text import now_iso
from store.users import Users

__all__ = ["Store", "default_db_path", "now_iso"]

BUSY_TIMEOUT_MS = 10_000
BEGIN_ATTEMPT_MS = 500  # one attempt to take the write lock before letting other threads in
WRITE_WAIT_SECONDS = 300  # how long a write waits for another writer before giving up
DEFAULT_DB = "data/loupe.db"

def default_db_path() -> str:
    """The database path from LOUPE_DB, else data/loupe.db."""
    return os.environ.get("LOUPE_DB") or DEFAULT_DB


class Store:
    """One SQLite file holding variants, conversations, interactions and ratings.

    A Store is safe to share between threads: it owns one connection opened with
    ``check_same_thread=False`` and serializes every use of it behind a lock.
    Several Stores (or processes) on the same file coordinate through WAL mode,
    ``busy_timeout`` and ``BEGIN IMMEDIATE`` write transactions.

    Other users of the machine cannot read the file: a new database is created with mode 0600
    (SQLite gives its WAL and shared-memory files the mode of the database), and opening an
    existing one takes away the access it gave to all users (its group's access is kept).

    The queries live in areas reached as attributes: ``store.ingest``, ``store.review``,
    ``store.insights``, ``store.experiments``, ``store.exports``, ``store.themes``,
    ``store.users`` and ``store.api``.
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
        _prepare_connection(conn)
        self.lock = threading.RLock()
        self.db = Database(conn)
        self.ingest = Ingest(self)
        self.review = Review(self)
        self.insights = Insights(self)
        self.experiments = Experiments(self)
        self.exports = Exports(self)
        self.themes = Themes(self)
        self.users = Users(self)
        self.api = Api(self)
        with self.lock:
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
        self.lock.acquire()
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
            self.lock.release()

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
                    self.lock.release()
                    try:
                        time.sleep(0.02)
                    finally:
                        self.lock.acquire()
        finally:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

    def rows(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        """Every row of a query, as dicts."""
        with self.lock:
            return [dict(row) for row in self.db.conn.execute(sql, params).fetchall()]

    def one(self, sql: str, params: Any = ()) -> dict[str, Any] | None:
        """The first row of a query as a dict, or None."""
        with self.lock:
            row = self.db.conn.execute(sql, params).fetchone()
        return dict(row) if row is not None else None

    def scalar(self, sql: str, params: Any = ()) -> Any:
        """The first column of the first row of a query, or None."""
        with self.lock:
            row = self.db.conn.execute(sql, params).fetchone()
        return row[0] if row is not None else None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection."""
        with self.lock:
            self.db.close()

    def applied_migrations(self) -> list[str]:
        """Names of the migrations applied to this database, oldest first."""
        return [m.name for m in migrations.applied(self.db)]

    def data_stamp(self) -> tuple[int, int]:
        """Changes whenever any connection commits a change: a cache key for reads."""
        with self.lock:
            version = self.db.conn.execute("PRAGMA data_version").fetchone()[0]
            return (version, self.db.conn.total_changes)

    def pragma(self, name: str) -> Any:
        """The value of one PRAGMA (journal_mode, foreign_keys, busy_timeout...)."""
        if not name.replace("_", "").isalpha():
            raise ValueError(f"not a pragma name: {name!r}")
        return self.scalar(f"PRAGMA {name}")

    # -- the whole file -------------------------------------------------------

    def backup(self, out: str | Path, *, progress: Progress | None = None) -> dict[str, Any]:
        """Copy the live database to ``out`` as one consistent snapshot and check the copy."""
        return Backup(self).backup(out, progress=progress)

    def restore_from(self, source: str | Path) -> dict[str, Any]:
        """Replace this database's content with a checked backup file, atomically."""
        return Backup(self).restore_from(source)

    # -- summary --------------------------------------------------------------

    def summary(self) -> dict[str, int]:
        """Row counts of the main tables."""
        return {
            "interactions": self.scalar("SELECT COUNT(*) FROM interactions"),
            "ratings": self.scalar("SELECT COUNT(*) FROM ratings"),
            "comparisons": self.scalar("SELECT COUNT(*) FROM comparisons"),
            "variants": self.scalar("SELECT COUNT(*) FROM variants"),
            "users": self.scalar("SELECT COUNT(*) FROM users"),
        }


def _prepare_connection(conn: sqlite3.Connection) -> None:
    """Give a new connection the SQL functions Loupe's queries use (log10, floor and ceil
    when this SQLite was built without its math functions)."""
    try:
        conn.execute("SELECT floor(log10(10.0)) + ceil(0.5)").fetchone()
    except sqlite3.OperationalError:
        conn.create_function("log10", 1, math.log10, deterministic=True)
        conn.create_function("floor", 1, math.floor, deterministic=True)
        conn.create_function("ceil", 1, math.ceil, deterministic=True)
