"""Backups and restores: one snapshot that finishes whatever is written meanwhile, nothing
left behind by a failure, files only their owner can read, and a restore that signs everyone
out, keeps revoked tokens revoked and loses no write that waited for it."""

from __future__ import annotations

import fcntl
import os
import signal
import sqlite3
import stat
import threading

import pytest

from dashboard import cli as cli_module
from store import Store
from store import backup as backup_module
from tests.test_cli_commands import cli


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".partial" in p.name or ".restore-" in p.name)


@pytest.fixture
def filled(tmp_path, monkeypatch):
    """A database of some hundred pages, copied a few pages per step."""
    monkeypatch.setattr(backup_module, "PAGES_PER_STEP", 16)
    with Store(tmp_path / "live.db") as store:
        conversation = store.ingest.start_conversation()
        for n in range(400):
            iid = store.ingest.add_question(conversation, f"question {n} " + "words " * 40)
            store.ingest.record_answer(iid, answer=f"answer {n}")
        yield store


def test_a_backup_finishes_with_one_snapshot_while_writes_land_between_every_step(filled, tmp_path):
    with Store(filled.path) as writer:
        conversation = writer.ingest.start_conversation()
        steps = []

        def write_meanwhile(done, total):
            steps.append(done)
            writer.ingest.add_question(conversation, "written during the backup")  # commits at once

        info = filled.backup(tmp_path / "copy.db", progress=write_meanwhile)
    assert len(steps) > 5  # the copy took several steps, with a commit between each
    assert info["interactions"] == 400
    copy = sqlite3.connect(tmp_path / "copy.db")
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert copy.execute("SELECT COUNT(*) FROM interactions").fetchone()[0] == 400
    assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one standalone file
    copy.close()
    assert filled.summary()["interactions"] == 400 + len(steps)
    assert leftovers(tmp_path) == []


def test_a_backup_finishes_while_another_connection_writes_without_pause(tmp_path):
    store = Store(tmp_path / "big.db")  # some 12,000 pages, copied in several steps
    store.ingest.insert_interactions_bulk([
        {"id": n, "turn": 1, "question": f"question {n} " + "padding " * 400,
         "created_at": "2026-01-01T00:00:00.000Z"} for n in range(1, 12001)])
    done = threading.Event()

    def keep_writing():
        with Store(store.path) as writer:
            conversation = writer.ingest.start_conversation()
            while not done.is_set():
                writer.ingest.add_question(conversation, "busy")

    thread = threading.Thread(target=keep_writing)
    thread.start()
    try:
        result = []
        backup = threading.Thread(target=lambda: result.append(store.backup(tmp_path / "b.db")))
        backup.start()
        backup.join(timeout=60)  # a guard only: it takes about a second
        assert not backup.is_alive(), "the backup never finished under writes"
    finally:
        done.set()
        thread.join()
        backup.join()
        store.close()
    assert result[0]["interactions"] >= 12000


@pytest.mark.parametrize("stop", [KeyboardInterrupt, RuntimeError, SystemExit])
def test_an_interrupted_backup_leaves_nothing_behind(filled, tmp_path, stop):
    def interrupt(done, total):
        if done > 32:
            raise stop()

    with pytest.raises(stop):
        filled.backup(tmp_path / "cut.db", progress=interrupt)
    assert not (tmp_path / "cut.db").exists()
    assert leftovers(tmp_path) == []


def test_sigterm_during_a_cli_backup_removes_the_partial_file(filled, tmp_path):
    out = tmp_path / "term.db"

    def terminate(done, total):
        if done > 32:
            os.kill(os.getpid(), signal.SIGTERM)

    with cli_module._terminate_as_interrupt(), pytest.raises(KeyboardInterrupt):
        filled.backup(out, progress=terminate)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    assert not out.exists() and leftovers(tmp_path) == []


def test_a_partial_file_left_by_a_killed_run_is_taken_over(filled, tmp_path):
    out = tmp_path / "next.db"
    (tmp_path / "next.db.partial").write_bytes(b"half a database" * 1000)
    (tmp_path / "next.db.partial-journal").write_bytes(b"stale")
    info = filled.backup(out)
    assert info["interactions"] == 400 and Store(out).summary()["interactions"] == 400
    assert leftovers(tmp_path) == []


def test_two_backups_to_one_file_at_once_are_refused(filled, tmp_path):
    partial = tmp_path / "one.db.partial"
    fd = os.open(partial, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as a running backup holds it
    try:
        with pytest.raises(ValueError, match="another backup is writing"):
            filled.backup(tmp_path / "one.db")
        assert partial.exists()  # the running backup's file is not touched
    finally:
        os.close(fd)
    assert not (tmp_path / "one.db").exists()


def test_a_copy_that_fails_its_check_is_not_kept(filled, tmp_path, monkeypatch):
    real = backup_module._counts
    calls = []

    def counts(conn):
        calls.append(1)
        found = real(conn)
        return found if len(calls) == 1 else dict(found, interactions=found["interactions"] - 1)

    monkeypatch.setattr(backup_module, "_counts", counts)
    with pytest.raises(RuntimeError, match=r"row counts differ .* interactions"):
        filled.backup(tmp_path / "bad.db")
    assert not (tmp_path / "bad.db").exists() and leftovers(tmp_path) == []


def test_the_database_its_wal_and_backups_are_private(tmp_path):
    old = os.umask(0o022)
    try:
        with Store(tmp_path / "new.db") as store:
            store.ingest.add_question(store.ingest.start_conversation(), "q")
            for name in ("new.db", "new.db-wal", "new.db-shm"):
                assert mode(tmp_path / name) == 0o600, name
            store.backup(tmp_path / "copy.db")
            assert mode(tmp_path / "copy.db") == 0o600
        shared = tmp_path / "shared.db"
        sqlite3.connect(shared).close()
        os.chmod(shared, 0o664)  # made by something else, readable by everyone
        Store(shared).close()
        assert mode(shared) == 0o660  # all-users access taken away, the group's kept
    finally:
        os.umask(old)


# -- restore ---------------------------------------------------------------------------------------


def _sessions(store: Store) -> int:
    return store.scalar("SELECT COUNT(*) FROM sessions")


def _sign_in(store: Store, name: str) -> None:
    """One sign-in session row for ``name`` (whatever columns the sessions table has)."""
    if store.users.get_user(name) is None:
        store.users.add_user(name, "annotator", "hash")
    user_id = store.users.get_user(name)["id"]
    with store.write() as db:
        db.execute("CREATE TABLE IF NOT EXISTS sessions"
                   " (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, created_at TEXT NOT NULL)")
        needed = [row[1] for row in db.execute("PRAGMA table_info(sessions)").fetchall()
                  if row[3] and row[4] is None and not row[5]]  # NOT NULL, no default, not the key
        number = db.execute("SELECT COUNT(*) + 1 FROM sessions").fetchone()[0]
        values = [user_id if column == "user_id" else f"{column}-{name}-{number}" for column in needed]
        db.execute(f"INSERT INTO sessions ({', '.join(needed)}) VALUES"
                   f" ({', '.join('?' for _ in needed)})", values)


@pytest.fixture
def with_access(tmp_path):
    """A database with a sessions table, two tokens and a backup of it."""
    with Store(tmp_path / "live.db") as store:
        _sign_in(store, "ana")
        _sign_in(store, "ben")
        conversation = store.ingest.start_conversation()
        store.ingest.add_question(conversation, "kept in the backup")
        store.users.add_token("app", "digest-app", None, "ana")
        store.users.add_token("old", "digest-old", None, "ana")
        store.users.revoke_token(store.users.token_by_digest("digest-old")["id"])
        store.backup(tmp_path / "backup.db")
        yield store, conversation


def test_a_restore_signs_everyone_out_and_never_revives_a_revoked_token(with_access, tmp_path):
    store, conversation = with_access
    store.ingest.add_question(conversation, "written after the backup")
    store.users.revoke_token(store.users.token_by_digest("digest-app")["id"])  # leaked: revoked after
    store.users.add_token("new", "digest-new", "5/minute", "ana")
    _sign_in(store, "chen")
    info = store.restore_from(tmp_path / "backup.db")
    assert info == {"interactions": 1, "tokens_kept_revoked": 1}
    assert [r["question"] for r in store.review.search("backup")] == ["kept in the backup"]
    assert store.review.search("after") == []
    assert _sessions(store) == 0
    assert store.users.token_by_digest("digest-app") is None  # revoked now: stays revoked
    assert store.users.token_by_digest("digest-old") is None  # revoked in the backup too
    assert store.users.token_by_digest("digest-new")["rate"] == "5/minute"  # created since: kept
    assert store.pragma("integrity_check") == "ok" and store.pragma("foreign_keys") == 1
    assert leftovers(tmp_path) == []


def test_a_write_waiting_during_a_restore_lands_after_it(with_access, tmp_path, monkeypatch):
    store, conversation = with_access
    written = []
    real = backup_module._check_backup

    def meanwhile(source):
        # the restore has begun (it is checking the backup): another writer has to wait
        def write():
            with Store(store.path) as other:
                written.append(other.ingest.add_question(conversation, "sent during the restore"))

        thread = threading.Thread(target=write)
        thread.start()
        thread.join(timeout=0.5)
        assert thread.is_alive()  # waiting for the restore, not failing
        meanwhile.thread = thread
        return real(source)

    monkeypatch.setattr(backup_module, "_check_backup", meanwhile)
    store.restore_from(tmp_path / "backup.db")
    meanwhile.thread.join(timeout=60)
    assert written and store.ingest.get_interaction(written[0])["question"] == "sent during the restore"
    assert store.summary()["interactions"] == 2


def test_a_backup_from_a_newer_version_is_refused(with_access, tmp_path):
    store, _ = with_access
    newer = sqlite3.connect(tmp_path / "backup.db")
    newer.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at)"
                  " VALUES ('loupe', 'm999_future', '2030-01-01')")
    newer.commit()
    newer.close()
    with pytest.raises(ValueError, match="newer version of Loupe"):
        store.restore_from(tmp_path / "backup.db")
    assert _sessions(store) == 2


def test_cli_restore_says_what_is_lost_and_needs_yes(with_access, tmp_path):
    store, conversation = with_access
    store.ingest.add_question(conversation, "written after the backup")
    asked = cli("restore", str(tmp_path / "backup.db"), "--db", store.path)
    assert asked.returncode == 2
    assert "written after that backup was taken is gone" in asked.stderr
    assert "--yes" in asked.stderr and "Everyone is signed out" in asked.stderr
    assert store.summary()["interactions"] == 2 and _sessions(store) == 2
    done = cli("restore", str(tmp_path / "backup.db"), "--yes", "--db", store.path)
    assert done.returncode == 0, done.stderr
    assert "Everyone is signed out" in done.stdout
    assert store.summary()["interactions"] == 1 and _sessions(store) == 0


def test_cli_backup_refuses_an_existing_file_and_keeps_it(with_access, tmp_path):
    store, _ = with_access
    taken = tmp_path / "backup.db"
    before = taken.read_bytes()
    done = cli("backup", str(taken), "--db", store.path)
    assert done.returncode == 1 and "already exists" in done.stderr
    assert taken.read_bytes() == before
