"""One import pipeline: every format goes through the same registry, refusals, rejected-lines
file, limits, time rules and de-duplication, from the command line and from Python alike."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dashboard.formats.registry import FORMATS
from dashboard.importing import FIELD_LIMIT, import_file, rejected_path_for
from store import Store
from tests.paths import ROOT


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dashboard", *args], check=False, cwd=ROOT,
                          capture_output=True,
                          text=True, timeout=300, env={**os.environ})


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


PAIRWISE_CSV = (
    "question,answer_a,answer_b,variant_a,variant_b,winner,reviewer\n"
    "Where is my parcel?,It ships today.,No idea.,kind,terse,a,ana\n"
    '"Refund, please?","Yes, within 30 days.",No.,kind,terse,b,ben\n'
)


def test_a_pairwise_csv_lands_as_votes_from_the_command_line(tmp_path):
    db = tmp_path / "l.db"
    src = write(tmp_path / "votes.csv", PAIRWISE_CSV)
    done = cli("import", str(src), "--db", str(db))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("2 votes imported, 0 already present.")
    forced = cli("import", str(src), "--format", "pairwise", "--db", str(db))
    assert forced.returncode == 0, forced.stderr
    assert forced.stdout.startswith("0 votes imported, 2 already present.")
    with Store(db) as store:
        votes = store.experiments.votes()
    assert [(v["question"], v["winner"], v["reviewer"]) for v in votes] == [
        ("Where is my parcel?", "a", "ana"), ("Refund, please?", "b", "ben")]


def test_a_bad_pairwise_csv_row_is_refused_with_file_and_line_and_nothing_lands(tmp_path):
    db = tmp_path / "l.db"
    src = write(tmp_path / "votes.csv", PAIRWISE_CSV + "Third?,x,y,kind,terse,maybe,cy\n")
    done = cli("import", str(src), "--db", str(db))
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == (
        f"{src}:4: winner must be one of a, b, tie, both_bad, not 'maybe'")
    assert "Nothing was imported" in done.stderr
    assert Store(db).summary()["comparisons"] == 0
    skipped = cli("import", str(src), "--skip-invalid", "--db", str(db))
    assert skipped.returncode == 0, skipped.stderr
    kept = [json.loads(line) for line in rejected_path_for(src).read_text().splitlines()]
    assert kept == [{"line": 4, "reason": "winner must be one of a, b, tie, both_bad, not 'maybe'",
                     "raw": "Third?,x,y,kind,terse,maybe,cy"}]
    assert Store(db).summary()["comparisons"] == 2


def test_votes_obey_the_same_field_limit_as_interactions(store, tmp_path):
    big = "x" * (FIELD_LIMIT + 1)
    src = write(tmp_path / "v.jsonl", json.dumps(
        {"question": "q", "answer_a": big, "answer_b": "b", "winner": "a"}) + "\n")
    refused = []
    report = import_file(store, src, on_refused=refused.append)
    assert not report.committed
    assert [(r.line, r.reason) for r in refused] == [
        (1, "answer_a is 1.0 MB; a field may hold at most 1 MB")]


def test_vote_times_are_normalised_like_interaction_times(store, tmp_path):
    src = write(tmp_path / "v.jsonl", json.dumps(
        {"question": "q", "answer_a": "a", "answer_b": "b", "winner": "tie",
         "created_at": "2026-01-31T13:00:00+01:00"}) + "\n")
    assert import_file(store, src).committed
    assert store.experiments.votes()[0]["created_at"] == "2026-01-31T12:00:00.000Z"


def test_an_unknown_format_names_the_ones_there_are(tmp_path):
    done = cli("import", str(write(tmp_path / "f.jsonl", "{}\n")), "--format", "xml",
               "--db", str(tmp_path / "l.db"))
    assert done.returncode == 2
    assert "invalid choice: 'xml'" in done.stderr


def test_a_format_forced_on_a_container_it_is_never_written_in_is_one_sentence(store, tmp_path):
    from dashboard.importing import ImportProblem

    with pytest.raises(ImportProblem) as problem:
        import_file(store, write(tmp_path / "v.csv", PAIRWISE_CSV), fmt="otlp")
    assert str(problem.value) == (
        "v.csv is CSV, but OpenTelemetry GenAI spans (OTLP JSON) is written as JSON lines: check"
        " the file, or leave --format out to detect it.")


def test_every_registered_format_is_offered_by_the_command_line():
    from dashboard.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(["import", "f", "--format", "openwebui"])
    assert args.format == "openwebui"
    for name in FORMATS:
        assert parser.parse_args(["import", "f", "--format", name]).format == name
