"""Big imports defer the text index, the rating summaries and the per-row triggers to the end of
their transaction: what they leave behind is what a row-by-row import leaves, and the triggers
are back afterwards."""

from __future__ import annotations

import json

import pytest

from dashboard import importing
from dashboard.importing import import_file
from store import Store, ingest
from tests.factories import add_interaction

LINES = [
    {"question": "Where is my parcel?", "answer": "Today.", "reviewer": "ana", "rating": 5,
     "created_at": "2026-01-02T10:00:00Z", "model": "m1"},
    {"question": "Where is my parcel?", "answer": "Today.", "reviewer": "ben", "rating": 2,
     "thumbs": "down", "tags": ["wrong"], "created_at": "2026-01-02T10:00:00Z", "model": "m1"},
    {"question": "Refund?", "answer": "No.", "ideal_answer": "Yes, within 30 days.",
     "reviewer": "ana", "created_at": "2026-01-03T09:00:00Z", "model": "m2"},
    {"question": "Unrated zebra question", "answer": "Stripes.", "conversation_id": "c1"},
    {"question": "Follow-up", "answer": "More stripes.", "conversation_id": "c1", "thumbs": "up"},
    {"question": "stored before", "answer": "old", "external_id": "old-1", "reviewer": "cy",
     "rating": 4},
]


def load(tmp_path, name: str, bulk: bool, monkeypatch) -> Store:
    store = Store(tmp_path / f"{name}.db")
    add_interaction(store, "stored before", "old", external_id="old-1", source="import")
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in LINES), encoding="utf-8")
    with monkeypatch.context() as patch:
        if bulk:
            patch.setattr(ingest, "FTS_BATCH_MIN_ROWS", 1)
            patch.setattr(ingest, "BULK_MIN_ROWS", 1)
            patch.setattr(importing, "BATCH", 2)
        report = import_file(store, path)
    assert report.committed
    return store


def snapshot(store: Store) -> dict:
    store.insights.roll_up_interactions(1000)
    store.insights.roll_up_ratings(1000)
    return {
        "summaries": store.rows(
            "SELECT question, rating_count, stars_count, stars_mean, stars_min, stars_max,"
            " thumbs_up, thumbs_down, ideal_count FROM interactions ORDER BY id"),
        "search": [r["question"] for r in store.review.search("zebra")] + [
            r["question"] for r in store.review.search("parcel")],
        "daily": store.rows("SELECT * FROM insight_daily ORDER BY day, model, source"),
        "tags": store.rows("SELECT * FROM insight_tags ORDER BY day, model, tag"),
        "schema": store.rows("SELECT type, name, sql FROM sqlite_master"
                              " WHERE type IN ('trigger', 'index') ORDER BY name"),
    }


def test_a_deferred_big_import_leaves_what_a_row_by_row_import_leaves(tmp_path, monkeypatch):
    with load(tmp_path, "bulk", True, monkeypatch) as bulk, \
            load(tmp_path, "rows", False, monkeypatch) as rows:
        assert bulk.scalar("SELECT COUNT(*) FROM interactions") == 5
        assert snapshot(bulk) == snapshot(rows)
        summary = bulk.rows("SELECT rating_count, stars_mean, thumbs_down FROM interactions"
                             " WHERE question = 'Where is my parcel?'")
        assert summary == [{"rating_count": 2, "stars_mean": 3.5, "thumbs_down": 1}]


@pytest.mark.parametrize("trigger", ingest.DEFERRED_TRIGGERS + (ingest.FTS_INSERT_TRIGGER,))
def test_the_deferred_triggers_are_back_after_a_refused_big_import(tmp_path, monkeypatch, trigger):
    with Store(tmp_path / "l.db") as store:
        path = tmp_path / "bad.jsonl"
        path.write_text("".join(json.dumps(line) + "\n" for line in LINES) + "{\n", encoding="utf-8")
        monkeypatch.setattr(ingest, "FTS_BATCH_MIN_ROWS", 1)
        monkeypatch.setattr(ingest, "BULK_MIN_ROWS", 1)
        monkeypatch.setattr(importing, "BATCH", 2)
        assert not import_file(store, path).committed
        assert store.scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = ?", [trigger]) == 1
        assert store.scalar("SELECT COUNT(*) FROM interactions") == 0
