"""Open WebUI's feedback export in: tests/data/openwebui_feedback_export.json is shaped as the
Evaluations > Feedbacks export writes it (`JSON.stringify` of the list the export route returns,
newest first, one line): a two-turn chat rated on its second answer (thumbs up, 8/10), a chat
rated thumbs down, and an arena rating with the sibling answer in the snapshot."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from dashboard.importing import import_file
from store import Store
from tests.paths import ROOT

EXPORT = ROOT / "tests" / "data" / "openwebui_feedback_export.json"
ANA = "3f2e1d0c-b9a8-4776-9665-544332211000"
BEN = "4e3d2c1b-a098-4887-b776-655443322110"


def test_the_export_lands_as_conversations_ratings_and_an_arena_vote(store):
    report = import_file(store, EXPORT)
    assert report.committed, [r.reason for r in report.refusals]
    assert report.format == "openwebui"
    rows = store.rows(
        "SELECT i.question, i.answer, i.model, i.turn, i.created_at, c.external_id AS chat,"
        " r.reviewer, r.stars, r.thumbs, r.comment, r.tags FROM interactions i"
        " LEFT JOIN conversations c ON c.id = i.conversation_id"
        " LEFT JOIN ratings r ON r.interaction_id = i.id"
        " WHERE i.id NOT IN (SELECT interaction_a FROM comparisons"
        " UNION SELECT interaction_b FROM comparisons) ORDER BY i.created_at")
    assert rows == [
        {"question": "Where is my parcel?", "answer": "Your parcel left the warehouse this morning.",
         "model": "llama3.2:3b", "turn": 1, "created_at": "2025-01-15T10:00:03.000Z",
         "chat": "openwebui:9e8d7c6b-5a49-4837-a261-f0e1d2c3b4a5", "reviewer": None,
         "stars": None, "thumbs": None, "comment": None, "tags": None},
        {"question": "When will it arrive?",
         "answer": "Tomorrow before noon, according to the tracking page.",
         "model": "llama3.2:3b", "turn": 2, "created_at": "2025-01-15T10:01:04.000Z",
         "chat": "openwebui:9e8d7c6b-5a49-4837-a261-f0e1d2c3b4a5", "reviewer": ANA,
         "stars": 4, "thumbs": 1, "comment": "Clear and correct.",
         "tags": json.dumps(["Accurate information", "shipping"])},
        {"question": "Can I pay by bank transfer?", "answer": "We accept many payment methods.",
         "model": "qwen2.5:7b", "turn": 1, "created_at": "2025-01-16T10:00:04.000Z",
         "chat": "openwebui:8d7c6b5a-4938-4726-b150-e9d8c7b6a594", "reviewer": BEN,
         "stars": None, "thumbs": -1, "comment": "It ignored the question.",
         "tags": json.dumps(["Don't like the style"])},
    ]
    [vote] = store.experiments.votes()
    answers = {r["id"]: r["answer"] for r in store.rows("SELECT id, answer FROM interactions")}
    assert (vote["question"], vote["variant_a"], vote["variant_b"], vote["winner"],
            vote["reviewer"], vote["reason"]) == (
        "How do I reset my password?", "llama3.2:3b", "qwen2.5:7b", "a", ANA, "Short and right.")
    assert answers[vote["interaction_a"]] == "Open Settings > Account > Reset password."
    assert answers[vote["interaction_b"]].startswith("Passwords are important")


def test_importing_the_export_again_adds_nothing(store):
    import_file(store, EXPORT)
    before = store.summary()
    again = import_file(store, EXPORT)
    assert again.committed and again.imported == 0 and again.already_present == 3
    assert store.summary() == before


def test_a_feedback_whose_snapshot_lacks_the_rated_message_is_refused_by_line_and_item(tmp_path):
    feedbacks = json.loads(EXPORT.read_text())
    feedbacks[1]["meta"]["message_id"] = "gone"
    path = tmp_path / "feedback-history-export-1737108200000.json"
    path.write_text(json.dumps(feedbacks, separators=(",", ":")), encoding="utf-8")
    db = tmp_path / "l.db"
    done = subprocess.run([sys.executable, "-m", "dashboard", "import", str(path), "--db", str(db)], check=False,
                          cwd=ROOT, capture_output=True, text=True, timeout=120, env={**os.environ})
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == (
        f"{path}:1: item 2: the snapshot does not hold the rated message 'gone'")
    assert Store(db).summary()["interactions"] == 0


def test_pretty_printed_exports_name_the_line_each_feedback_starts_on(store, tmp_path):
    feedbacks = json.loads(EXPORT.read_text())
    feedbacks[2]["data"]["details"] = {"rating": 11}
    path = tmp_path / "pretty.json"
    path.write_text(json.dumps(feedbacks, indent=1), encoding="utf-8")
    report = import_file(store, path)
    lines = path.read_text().splitlines()
    starts = [n for n, line in enumerate(lines, 1) if line == " {"]  # where each item begins
    assert len(starts) == 3
    assert [(r.line, r.reason) for r in report.refusals] == [
        (starts[2], "item 3: details.rating must be a whole number from 1 to 10, not 11")]
    assert store.summary()["interactions"] == 0
