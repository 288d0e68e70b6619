"""Backups and restores of the live database (``Store.backup``, ``Store.restore_from``).

A backup is one consistent snapshot: a read transaction is held on its own connection while
SQLite's backup API copies every page, so writers go on (WAL) and never make the copy start
over; its time depends on the size of the database, not on the write load. The copy is made
in ``OUT.partial`` (mode 0600), checked (``integrity_check`` and the row count of every table
against the snapshot), flushed to disk and only then given its name; on any failure,
interruption included, the partial file is removed. A ``.partial`` left by a killed run is
taken over by the next one; two backups to the same file at once are refused.

A restore takes the write lock before anything else and holds it until the backup's content
has replaced the database's, in one transaction: writes sent meanwhile wait for it (up to the
store's write wait, 300 s, after which they fail with an error, never silently) and land on
the restored content; readers see the old content or the new, never a mix. What it does with
access:

- every sign-in session ends (the ``sessions`` table is emptied): everyone signs in again;
- API tokens are the backup's tokens plus those created since; a token revoked now (or in the
  backup) stays revoked, so a restore never revives a revoked token;
- server secrets (``app_secrets``) stay as they are now;
- accounts, roles and passwords are the backup's.

Everything else is the backup's: whatever was written after the backup was taken is gone.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from store.area import Area
from store.migrations import migrations

PAGES_PER_STEP = 4096  # pages copied between two looks at the clock and at signals
FILE_MODE = 0o600
ENDED = ("sessions",)  # tables emptied by a restore
KEPT = ("app_secrets",)  # tables a restore leaves as they are now
TOKENS = "api_tokens"

Progress = Callable[[int, int], None]  # (pages copied, pages in all)


class BackupBusy(ValueError):
    """Another backup to the same file is running."""


def create_private(path: str | os.PathLike[str]) -> None:
    """Make sure ``path`` exists and only its owner can read it: a new file is created with
    mode 0600; an existing one loses any access for other users (its group's is kept)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
        return
    except FileExistsError:
        tighten(path)
    except OSError:
        pass  # e.g. a folder we may not write in: SQLite says why when it opens the file


def tighten(path: str | os.PathLike[str]) -> None:
    """Take away any access other users have to an existing file (a no-op when it has none)."""
    try:
        mode = os.stat(path).st_mode & 0o777
        if mode & 0o007:
            os.chmod(path, mode & ~0o007)
    except OSError:
        pass  # missing, or not ours: SQLite will say so if it matters


def _remove(path: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{path}{suffix}")


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def _claimed(partial: Path) -> Iterator[int]:
    """An empty ``partial`` file (0600) held under an exclusive lock for one backup; removed on
    the way out unless it was renamed. A stale one from a killed run is taken over."""
    fd = os.open(partial, os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupBusy(f"another backup is writing {partial} right now") from None
        os.fchmod(fd, FILE_MODE)
        os.ftruncate(fd, 0)  # what a killed run left is of no use
        for suffix in ("-journal", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{partial}{suffix}")
        try:
            yield fd
        except BaseException:
            _remove(partial)
            raise
    finally:
        os.close(fd)  # after SQLite has closed its own handles on the file


def _tables(conn: sqlite3.Connection, schema: str = "main") -> list[str]:
    """Ordinary tables (FTS5's shadow tables included, virtual tables not), by name."""
    return [name for (name,) in conn.execute(
        f"SELECT name FROM {schema}.sqlite_master WHERE type = 'table'"
        " AND name NOT LIKE 'sqlite_%' AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name"
    )]


def _counts(conn: sqlite3.Connection) -> dict[str, int]:
    return {t: conn.execute(f"SELECT COUNT(*) FROM [{t}]").fetchone()[0] for t in _tables(conn)}


class Backup(Area):
    """Backup and restore methods of the Store."""

    def backup(self, out: str | Path, *, progress: Progress | None = None) -> dict[str, Any]:
        """Copy the live database to ``out`` as one consistent snapshot; check the copy.

        Raises ValueError when ``out`` exists or another backup is writing it, RuntimeError when
        the copy fails its checks; ``out`` then does not exist and no partial file is left.
        """
        out = Path(out)
        if out.exists():
            raise ValueError(f"{out} already exists: choose a new file name")
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(out.name + ".partial")
        began = time.monotonic()
        with _claimed(partial) as fd:
            counts = self._copy_snapshot(partial, progress)
            copied = time.monotonic()
            self._check_copy(partial, counts)
            os.fsync(fd)
            try:
                os.link(partial, out)  # never replaces a file that appeared meanwhile
            except FileExistsError:
                raise ValueError(f"{out} already exists: choose a new file name") from None
            os.unlink(partial)
            _fsync_dir(out.parent)
        return {"path": str(out), "bytes": out.stat().st_size, "interactions": counts["interactions"],
                "tables": counts, "seconds": time.monotonic() - began,
                "copy_seconds": copied - began}

    def _copy_snapshot(self, partial: Path, progress: Progress | None) -> dict[str, int]:
        """Copy one snapshot of the database into ``partial``; return its row counts."""
        target = sqlite3.connect(partial, isolation_level=None)
        try:
            target.execute("PRAGMA journal_mode = OFF")  # a half-written copy is thrown away anyway
            target.execute("PRAGMA synchronous = OFF")  # flushed once, at the end
            if self.store.path == ":memory:":
                with self.store.lock:
                    counts = _counts(self.store.db.conn)
                    self.store.db.conn.backup(target)
                return counts
            source = sqlite3.connect(self.store.path, isolation_level=None, timeout=10)
            try:
                # The read transaction starts at the first read and holds that snapshot until
                # COMMIT: every step of the copy reads the same pages, whatever is written.
                source.execute("BEGIN")
                counts = _counts(source)

                def step(status: int, remaining: int, total: int) -> None:
                    if progress is not None:
                        progress(total - remaining, total)

                source.backup(target, pages=PAGES_PER_STEP, progress=step, sleep=0)
                source.execute("COMMIT")
            finally:
                source.close()
            return counts
        finally:
            target.close()

    def _check_copy(self, partial: Path, expected: dict[str, int]) -> None:
        """A standalone file (no WAL) that passes integrity_check and holds the snapshot's rows."""
        copy = sqlite3.connect(partial, isolation_level=None)
        try:
            copy.execute("PRAGMA journal_mode = DELETE")
            verdict = copy.execute("PRAGMA integrity_check").fetchone()[0]
            if verdict != "ok":
                raise RuntimeError(f"the backup failed its integrity check: {verdict}")
            found = _counts(copy)
        finally:
            copy.close()
        if found != expected:
            wrong = sorted(t for t in expected.keys() | found.keys() if expected.get(t) != found.get(t))
            raise RuntimeError(f"the backup's row counts differ from the database's in {', '.join(wrong)}")

    # -- restore --------------------------------------------------------------------

    def restore_from(self, source: str | Path) -> dict[str, Any]:
        """Replace this database's content with a backup file (checked first), atomically.

        The write lock is taken first and held to the end: writes sent meanwhile wait and land
        after the restore. See the module's docstring for sessions, tokens and secrets.
        """
        source = Path(source)
        if self.store.path == ":memory:":
            raise ValueError("only a database file can be restored into")
        if not source.is_file():
            raise ValueError(f"{source} does not exist")
        if source.resolve() == Path(self.store.path).resolve():
            raise ValueError(f"{source} is this database itself")
        work = Path(f"{self.store.path}.restore-{os.getpid()}.tmp")
        _remove(work)
        # A connection of its own: this one then sees the new content as any other writer's.
        swap = type(self.store)(self.store.path)
        conn = swap.db.conn
        try:
            conn.execute("PRAGMA foreign_keys = OFF")  # the rows go in whole; checked below
            try:
                with swap.write():
                    _check_backup(source)
                    self._prepare(source, work)
                    conn.execute("ATTACH DATABASE ? AS restored", [str(work)])
                    result = _swap_in(conn)
            finally:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("DETACH DATABASE restored")
                conn.execute("PRAGMA foreign_keys = ON")
        finally:
            swap.close()
            _remove(work)
        return result

    def _prepare(self, source: Path, work: Path) -> None:
        """A copy of the backup at ``work`` (0600), brought up to this version's tables."""
        create_private(work)
        reader = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        target = sqlite3.connect(work)
        try:
            reader.backup(target)
        finally:
            target.close()
            reader.close()
        type(self.store)(work).close()  # applies the migrations an older backup lacks


def _swap_in(conn: sqlite3.Connection) -> dict[str, Any]:
    """Inside the open write transaction: replace every table's rows with those of the attached
    ``restored`` database; end sessions, keep secrets and revocations."""
    _same_tables(conn)
    tokens = _rows(conn, f"SELECT * FROM main.[{TOKENS}]")
    triggers = [sql for (sql,) in conn.execute(
        "SELECT sql FROM main.sqlite_master WHERE type = 'trigger' ORDER BY name")]
    for (name,) in conn.execute(
            "SELECT name FROM main.sqlite_master WHERE type = 'trigger'").fetchall():
        conn.execute(f"DROP TRIGGER main.[{name}]")
    tables = [t for t in _tables(conn) if t not in KEPT]
    for table in tables:
        conn.execute(f"DELETE FROM main.[{table}]")
    for table in tables:
        if table not in ENDED:
            conn.execute(f"INSERT INTO main.[{table}] SELECT * FROM restored.[{table}]")
    _copy_sequences(conn)
    for sql in triggers:
        conn.execute(sql)
    kept_revoked = _keep_revocations(conn, tokens)
    broken = conn.execute("PRAGMA main.foreign_key_check").fetchall()
    if broken:
        raise ValueError(f"the backup's rows break {len(broken):,} references"
                         f" (first in table {broken[0][0]})")
    interactions = conn.execute("SELECT COUNT(*) FROM main.interactions").fetchone()[0]
    return {"interactions": int(interactions), "tokens_kept_revoked": kept_revoked}


def _rows(conn: sqlite3.Connection, sql: str) -> list[dict[str, Any]]:
    cursor = conn.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _check_backup(source: Path) -> None:
    """A readable, undamaged Loupe database made by this version of Loupe or an older one."""
    backup = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        try:
            verdict = backup.execute("PRAGMA integrity_check").fetchone()[0]
            backup.execute("SELECT COUNT(*) FROM interactions").fetchone()
            applied = {name for (name,) in backup.execute(
                "SELECT name FROM _sqlite_migrations WHERE migration_set = ?", [migrations.name])}
        except sqlite3.DatabaseError as exc:
            raise ValueError(f"{source} is not a Loupe database ({exc})") from exc
    finally:
        backup.close()
    if verdict != "ok":
        raise ValueError(f"{source} is damaged: {verdict}")
    unknown = applied - {m.name for m in migrations._migrations}
    if unknown:
        raise ValueError(f"{source} was made by a newer version of Loupe (it has the tables of"
                         f" {', '.join(sorted(unknown))}): restore it with that version")


def _same_tables(conn: sqlite3.Connection) -> None:
    """Both databases have the same tables, indexes and triggers, down to their SQL."""
    query = ("SELECT type, name, sql FROM {}.sqlite_master WHERE name NOT LIKE 'sqlite_%'"
             " ORDER BY type, name")
    here = conn.execute(query.format("main")).fetchall()
    there = conn.execute(query.format("restored")).fetchall()
    if here != there:
        names = sorted({r[1] for r in set(here) ^ set(there)})
        raise ValueError(f"the backup's tables differ from this database's ({', '.join(names[:5])})")


def _copy_sequences(conn: sqlite3.Connection) -> None:
    has = conn.execute(
        "SELECT COUNT(*) FROM restored.sqlite_master WHERE name = 'sqlite_sequence'").fetchone()[0]
    if has and conn.execute(
            "SELECT COUNT(*) FROM main.sqlite_master WHERE name = 'sqlite_sequence'").fetchone()[0]:
        conn.execute("DELETE FROM main.sqlite_sequence")
        conn.execute("INSERT INTO main.sqlite_sequence SELECT * FROM restored.sqlite_sequence")


def _keep_revocations(conn: sqlite3.Connection, tokens: list[dict[str, Any]]) -> int:
    """Put back the tokens of before the restore: revoked ones stay revoked, newer ones stay.

    Returns how many tokens the backup held as live that are revoked now.
    """
    kept_revoked = 0
    for token in tokens:
        row = conn.execute(
            f"SELECT id, revoked_at FROM main.[{TOKENS}] WHERE digest = ?", [token["digest"]]
        ).fetchone()
        if row is None:  # created after the backup was taken
            taken = conn.execute(f"SELECT 1 FROM main.[{TOKENS}] WHERE id = ?", [token["id"]]).fetchone()
            values = dict(token, id=None) if taken else token
            columns = ", ".join(f"[{c}]" for c in values)
            conn.execute(f"INSERT INTO main.[{TOKENS}] ({columns}) VALUES"
                         f" ({', '.join('?' for _ in values)})", list(values.values()))
        elif token["revoked_at"] is not None and row[1] is None:
            conn.execute(f"UPDATE main.[{TOKENS}] SET revoked_at = ? WHERE id = ?",
                         [token["revoked_at"], row[0]])
            kept_revoked += 1
    return kept_revoked
