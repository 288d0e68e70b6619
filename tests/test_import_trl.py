"""Hugging Face / TRL datasets in: each layout of TRL's dataset formats guide, written by the
`datasets` library itself (`Dataset.to_json` and `Dataset.to_parquet`), so the files are shaped
exactly as a trainer's data is."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard.importing import import_file

datasets = pytest.importorskip("datasets")

SKY = "What color is the sky?"
MESSAGES = [
    {"messages": [{"role": "system", "content": "You are terse."},
                  {"role": "user", "content": SKY},
                  {"role": "assistant", "content": "It is blue."},
                  {"role": "user", "content": "And at night?"},
                  {"role": "assistant", "content": "Black."}]},
    {"messages": [{"role": "user", "content": "Where is my parcel?"},
                  {"role": "assistant", "content": "It ships today."}]},
]
PREFERENCE = [{"prompt": "The sky is", "chosen": " blue.", "rejected": " green."}]
PREFERENCE_CHAT = [{"prompt": [{"role": "user", "content": SKY}],
                    "chosen": [{"role": "assistant", "content": "It is blue."}],
                    "rejected": [{"role": "assistant", "content": "It is green."}]}]
IMPLICIT = [{"chosen": "The sky is blue.", "rejected": "The sky is green."}]
IMPLICIT_CHAT = [{"chosen": [{"role": "user", "content": SKY},
                             {"role": "assistant", "content": "It is blue."}],
                  "rejected": [{"role": "user", "content": SKY},
                               {"role": "assistant", "content": "It is green."}]}]
UNPAIRED = [{"prompt": "The sky is", "completion": " blue.", "label": True},
            {"prompt": "The sky is", "completion": " green.", "label": False}]
UNPAIRED_CHAT = [{"prompt": [{"role": "user", "content": SKY}],
                  "completion": [{"role": "assistant", "content": "It is blue."}], "label": True}]


def dataset_file(tmp_path: Path, rows: list[dict], kind: str) -> Path:
    data = datasets.Dataset.from_list(rows)
    path = tmp_path / f"train.{kind}"
    if kind == "parquet":
        data.to_parquet(str(path))
    else:
        data.to_json(str(path))  # JSON lines, as the datasets library writes them
    return path


def landed(store, path: Path, **options):
    report = import_file(store, path, **options)
    assert report.committed, [(r.line, r.reason) for r in report.refusals]
    return report


@pytest.mark.parametrize("kind", ["jsonl", "parquet"])
def test_conversational_messages_become_a_conversation_per_row(store, tmp_path, kind):
    report = landed(store, dataset_file(tmp_path, MESSAGES, kind))
    assert report.format == "trl"
    rows = store.rows("SELECT conversation_id, turn, question, answer, system_prompt"
                       " FROM interactions ORDER BY id")
    assert [(r["turn"], r["question"], r["answer"], r["system_prompt"]) for r in rows] == [
        (1, SKY, "It is blue.", "You are terse."),
        (2, "And at night?", "Black.", "You are terse."),
        (1, "Where is my parcel?", "It ships today.", None),
    ]
    assert rows[0]["conversation_id"] == rows[1]["conversation_id"] is not None
    assert rows[2]["conversation_id"] is None
    again = import_file(store, dataset_file(tmp_path, MESSAGES, kind))
    assert again.summary() == "0 imported, 2 already present"


@pytest.mark.parametrize("kind", ["jsonl", "parquet"])
@pytest.mark.parametrize(("rows", "question", "chosen", "rejected"), [
    (PREFERENCE, "The sky is", " blue.", " green."),
    (PREFERENCE_CHAT, SKY, "It is blue.", "It is green."),
    (IMPLICIT, "The sky is ", "blue.", "green."),
    (IMPLICIT_CHAT, SKY, "It is blue.", "It is green."),
], ids=["standard", "conversational", "implicit", "implicit-conversational"])
def test_preference_pairs_become_votes_for_the_chosen_answer(store, tmp_path, kind, rows,
                                                             question, chosen, rejected):
    report = landed(store, dataset_file(tmp_path, rows, kind))
    assert report.summary() == "1 votes imported, 0 already present"
    [vote] = store.experiments.votes()
    answers = {r["id"]: r["answer"] for r in store.rows("SELECT id, answer FROM interactions")}
    assert (vote["question"], answers[vote["interaction_a"]], answers[vote["interaction_b"]],
            vote["winner"]) == (question, chosen, rejected, "a")
    assert (vote["variant_a"], vote["variant_b"]) == ("chosen", "rejected")
    assert import_file(store, dataset_file(tmp_path, rows, kind)).summary() == (
        "0 votes imported, 1 already present")


@pytest.mark.parametrize("kind", ["jsonl", "parquet"])
def test_unpaired_preference_labels_become_thumbs(store, tmp_path, kind):
    landed(store, dataset_file(tmp_path, UNPAIRED + [
        {"prompt": r["prompt"][0]["content"], "completion": r["completion"][0]["content"],
         "label": r["label"]} for r in UNPAIRED_CHAT], kind))
    rows = store.rows("SELECT i.question, i.answer, r.thumbs, r.reviewer FROM interactions i"
                       " JOIN ratings r ON r.interaction_id = i.id ORDER BY i.id")
    assert [(r["question"], r["answer"], r["thumbs"]) for r in rows] == [
        ("The sky is", " blue.", 1), ("The sky is", " green.", -1), (SKY, "It is blue.", 1)]
    assert {r["reviewer"] for r in rows} == {"imported"}


def test_conversational_unpaired_preference(store, tmp_path):
    landed(store, dataset_file(tmp_path, UNPAIRED_CHAT, "jsonl"))
    [row] = store.rows("SELECT i.question, i.answer, r.thumbs FROM interactions i"
                        " JOIN ratings r ON r.interaction_id = i.id")
    assert row == {"question": SKY, "answer": "It is blue.", "thumbs": 1}


def test_a_bad_dataset_row_is_refused_with_its_line_and_nothing_lands(store, tmp_path):
    path = dataset_file(tmp_path, [
        {"messages": [{"role": "user", "content": SKY}, {"role": "assistant", "content": "Blue."}]},
        {"messages": [{"role": "assistant", "content": "Hello."}]},
    ], "jsonl")
    report = import_file(store, path)
    assert not report.committed
    assert [r.where(path.name) for r in report.refusals] == [
        "train.jsonl:2: an assistant message comes before any user message"]
    assert store.summary()["interactions"] == 0


def test_a_bad_parquet_row_is_named_by_its_row_number(store, tmp_path):
    path = dataset_file(tmp_path, [
        {"prompt": "The sky is", "completion": " blue.", "label": True},
        {"prompt": "", "completion": " green.", "label": False},
    ], "parquet")
    report = import_file(store, path)
    assert not report.committed
    assert [(r.line, r.reason) for r in report.refusals] == [
        (2, "no prompt (prompt and completion are required)")]
    assert store.summary()["interactions"] == 0
