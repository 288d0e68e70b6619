"""The SQLite store: migrations, round trips, search and concurrent writes."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from store import Store
from store.migrations import migrations

TABLES = {"variants", "conversations", "interactions", "ratings", "rating_tags",
          "comparisons", "users", "interactions_fts"}


def test_migrations_create_every_table_from_empty(store):
    assert set(store.db.table_names()) >= TABLES
    applied = store.applied_migrations()
    assert applied[0] == "m001_initial" and applied == sorted(applied)
    assert migrations.pending(store.db) == []
    assert store.pragma("journal_mode") == "wal"
    assert store.pragma("foreign_keys") == 1
    assert store.pragma("busy_timeout") >= 5000


def test_reopening_applies_nothing_twice_and_keeps_data(db_path):
    with Store(db_path) as first:
        conversation = first.ingest.start_conversation(reviewer="ana")
        first.ingest.add_question(conversation, "kept?")
        applied = first.applied_migrations()
    with Store(db_path) as second:
        assert second.applied_migrations() == applied
        assert second.summary()["interactions"] == 1


def test_round_trip_of_variant_conversation_interaction_and_rating(store):
    variant = store.experiments.add_variant("concise", model="m1", system_prompt="Be brief.",
                                params={"temperature": 0.2, "seed": 7})
    assert store.experiments.add_variant("concise") != variant
    v = store.experiments.get_variant(variant)
    assert (v["name"], v["version"], v["system_prompt"]) == ("concise", 1, "Be brief.")
    assert v["params"] == {"temperature": 0.2, "seed": 7}

    conversation = store.ingest.start_conversation(reviewer="ana")
    first = store.ingest.add_question(conversation, "What is WAL?", model="m1", backend="ollama",
                               variant_id=variant, params={"temperature": 0.2})
    store.ingest.record_answer(first, answer="Write-ahead logging.", latency_ms=120.5, ttft_ms=30.0,
                        prompt_tokens=12, completion_tokens=4)
    second = store.ingest.add_question(conversation, "And FTS5?", model="m1", backend="ollama")
    store.ingest.record_answer(second, error="Cannot reach the server.")

    turns = store.ingest.conversation_turns(conversation)
    assert [t["turn"] for t in turns] == [1, 2]
    assert turns[0]["answer"] == "Write-ahead logging."
    assert turns[0]["variant_id"] == variant
    assert (turns[0]["latency_ms"], turns[0]["ttft_ms"]) == (120.5, 30.0)
    assert (turns[0]["prompt_tokens"], turns[0]["completion_tokens"]) == (12, 4)
    assert turns[1]["answer"] is None and turns[1]["error"] == "Cannot reach the server."

    store.review.save_rating(first, "ana", stars=4, thumbs=1, comment="good", tags=["formatting", "x"],
                      ideal_answer="Write-ahead logging (WAL).")
    rating = store.review.get_rating(first, "ana")
    assert (rating["stars"], rating["thumbs"], rating["comment"]) == (4, 1, "good")
    assert rating["tags"] == ["formatting", "x"]
    assert rating["ideal_answer"] == "Write-ahead logging (WAL)."


def test_rerating_updates_instead_of_duplicating(store):
    conversation = store.ingest.start_conversation()
    iid = store.ingest.add_question(conversation, "q")
    store.review.save_rating(iid, "ana", stars=2, tags=["wrong"])
    store.review.save_rating(iid, "ana", stars=5, thumbs=1, tags=["formatting"])
    store.review.save_rating(iid, "ben", thumbs=-1)
    ratings = store.review.ratings_for(iid)
    assert len(ratings) == 2
    ana = store.review.get_rating(iid, "ana")
    assert (ana["stars"], ana["tags"]) == (5, ["formatting"])
    tags = store.db.execute("SELECT tag FROM rating_tags WHERE interaction_id = ?", [iid]).fetchall()
    assert [t[0] for t in tags] == ["formatting"]


@pytest.mark.parametrize("bad", [{"stars": 0}, {"stars": 6}, {"thumbs": 2}])
def test_out_of_range_ratings_are_refused(store, bad):
    iid = store.ingest.add_question(store.ingest.start_conversation(), "q")
    with pytest.raises(ValueError):
        store.review.save_rating(iid, "ana", **bad)
    assert store.review.ratings_for(iid) == []


def test_rating_needs_a_reviewer(store):
    iid = store.ingest.add_question(store.ingest.start_conversation(), "q")
    with pytest.raises(ValueError, match="reviewer"):
        store.review.save_rating(iid, "  ", stars=3)


def test_rating_an_unknown_interaction_is_refused(store):
    with pytest.raises(sqlite3.IntegrityError):
        store.review.save_rating(999, "ana", stars=3)


def test_full_text_search_over_question_and_answer(store):
    conversation = store.ingest.start_conversation()
    a = store.ingest.add_question(conversation, "How do I reset my password?")
    store.ingest.record_answer(a, answer="Open settings, then security.")
    b = store.ingest.add_question(conversation, "Where is my parcel?")
    store.ingest.record_answer(b, answer="It ships tomorrow.")
    assert [r["id"] for r in store.review.search("password")] == [a]
    assert [r["id"] for r in store.review.search("security")] == [a]
    assert [r["id"] for r in store.review.search("tomorrow parcel")] == [b]
    # user text is quoted, never read as FTS syntax
    for hostile in ['"', "AND OR NOT", "parcel*", "(", "question:parcel", "NEAR(a b)"]:
        store.review.search(hostile)


def test_two_threads_write_ratings_at_once_without_locking_errors(db_path):
    with Store(db_path) as setup:
        conversation = setup.ingest.start_conversation()
        ids = [setup.ingest.add_question(conversation, f"question {i}") for i in range(150)]
        errors: list[BaseException] = []
        barrier = threading.Barrier(3)

        def rate(store: Store, reviewer: str) -> None:
            barrier.wait()
            try:
                for n, iid in enumerate(ids):
                    store.review.save_rating(iid, reviewer, stars=1 + n % 5, thumbs=1 if n % 2 else -1)
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        # a second connection, as a second process would have
        with Store(db_path) as own_connection:
            threads = [
                threading.Thread(target=rate, args=(setup, "shared-1")),
                threading.Thread(target=rate, args=(setup, "shared-2")),
                threading.Thread(target=rate, args=(own_connection, "other")),
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        assert errors == []
        assert setup.summary()["ratings"] == 3 * len(ids)


def test_online_backup_while_writing_and_restore(db_path, tmp_path):
    with Store(db_path) as store:
        conversation = store.ingest.start_conversation()
        for n in range(50):
            store.ingest.add_question(conversation, f"q{n}")
        stop = threading.Event()

        def keep_writing():
            with Store(db_path) as writer:
                while not stop.is_set():
                    writer.ingest.add_question(conversation, "during backup")

        thread = threading.Thread(target=keep_writing)
        thread.start()
        info = store.backup(tmp_path / "backup.db")
        stop.set()
        thread.join()
        assert info["interactions"] >= 50
        with Store(tmp_path / "backup.db") as copy:
            assert copy.pragma("integrity_check") == "ok"
        with pytest.raises(ValueError, match="already exists"):
            store.backup(tmp_path / "backup.db")

        store.ingest.add_question(conversation, "after the backup")
        restored = store.restore_from(tmp_path / "backup.db")
        assert restored["interactions"] == info["interactions"]
        assert not store.review.search("after")
        (tmp_path / "junk.db").write_bytes(b"not a database at all" * 100)
        with pytest.raises(ValueError, match="not a Loupe database"):
            store.restore_from(tmp_path / "junk.db")


def test_users_and_tokens(store):
    store.users.add_user("ana", "admin", "hash")
    with pytest.raises(ValueError, match="already exists"):
        store.users.add_user("ana", "viewer", "hash")
    assert [u["name"] for u in store.users.list_users()] == ["ana"]
    assert "password_hash" not in store.users.list_users()[0]
    token = store.users.add_token("prod app", "digest", "5/minute", "ana")
    assert store.users.token_by_digest("digest")["id"] == token
    assert store.users.revoke_token(token)
    assert store.users.token_by_digest("digest") is None
