"""Formats out: OpenAI's preference layout and Parquet for every format; a round trip (export,
import the file into an empty database, export again) gives the same file, byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dashboard.exporting import FORMATS, ExportOptions, run_export
from dashboard.importing import import_file
from store import Store
from tests.factories import add_conversation, add_interaction

datasets = pytest.importorskip("datasets")


@pytest.fixture
def filled(store):
    """Rated answers (stars, thumbs, an ideal answer), a two-turn chat, and blind votes."""
    good = add_interaction(store, "Where is my parcel?", "It ships today.")
    store.review.save_rating(good, "ana", stars=5, thumbs=1)
    bad = add_interaction(store, "Where is my parcel?", "No idea.")
    store.review.save_rating(bad, "ben", stars=1, thumbs=-1)
    fixed = add_interaction(store, "Can I pay by bank transfer?", "Maybe.")
    store.review.save_rating(fixed, "ana", stars=2, ideal_answer="Yes: use the IBAN on your invoice.")
    first, second = add_conversation(store, [("How do I reset my password?", "Open Settings."),
                                             ("And then?", "Choose Reset password.")])
    store.review.save_rating(first, "ana", thumbs=1)
    store.review.save_rating(second, "ana", stars=4)
    votes = Path(store.path).with_name("votes.jsonl")
    votes.write_text(json.dumps({"question": "Refund?", "answer_a": "Yes, within 30 days.",
                                 "answer_b": "No.", "winner": "a"}) + "\n"
                     + json.dumps({"question": "Shipping cost?", "answer_a": "Free.",
                                   "answer_b": "Free over 50 euros.", "winner": "b"}) + "\n")
    assert import_file(store, votes).committed
    return store


def export(store: Store, fmt: str, path: Path) -> Path:
    # Any rating: an imported file carries the rows it holds, not the threshold that chose them.
    options = ExportOptions(format=fmt, min_stars=None,
                            file_type="parquet" if path.suffix == ".parquet" else "jsonl")
    result = run_export(store, options, path)
    assert result.counts.written > 0, result.warnings
    return Path(result.path)


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_export_import_export_gives_the_same_file(filled, tmp_path, fmt, suffix):
    first = export(filled, fmt, tmp_path / f"first{suffix}")
    with Store(tmp_path / "fresh.db") as fresh:
        report = import_file(fresh, first)
        assert report.committed, [(r.line, r.reason) for r in report.refusals]
        second = export(fresh, fmt, tmp_path / f"second{suffix}")
    assert second.read_bytes() == first.read_bytes()


def test_openai_preference_rows_have_the_layout_hosted_fine_tuning_reads(filled, tmp_path):
    path = export(filled, "openai-preference", tmp_path / "pref.jsonl")
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert rows[0] == {
        "input": {"messages": [{"role": "user", "content": "Refund?"}]},
        "preferred_output": [{"role": "assistant", "content": "Yes, within 30 days."}],
        "non_preferred_output": [{"role": "assistant", "content": "No."}],
    }
    assert rows[1]["preferred_output"][0]["content"] == "Free over 50 euros."
    assert all(set(r) == {"input", "preferred_output", "non_preferred_output"} for r in rows)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_as_parquet_loads_with_datasets(filled, tmp_path, fmt):
    jsonl = export(filled, fmt, tmp_path / "rows.jsonl")
    parquet = export(filled, fmt, tmp_path / "rows.parquet")
    loaded = datasets.load_dataset("parquet", data_files=str(parquet), split="train",
                                   cache_dir=str(tmp_path / "cache"))
    assert loaded.to_list() == [json.loads(line) for line in jsonl.read_text().splitlines()]
