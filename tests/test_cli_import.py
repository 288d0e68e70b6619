"""`python -m dashboard import` and `demo`: exit codes, stdout and the FILE:LINE lines on stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from store import Store
from tests.paths import ROOT


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dashboard", *args],
        cwd=ROOT, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=120,
    )


def write_lines(path: Path, lines: list) -> Path:
    path.write_text(
        "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines), encoding="utf-8"
    )
    return path


def interactions(db: Path) -> int:
    with Store(db) as store:
        return store.summary()["interactions"]


GOOD = [
    {"question": "Where is my parcel?", "response": "It ships today.", "rating": 4},
    {"question": "How do I cancel?", "response": "Account > Billing.", "rating": 2, "comment": "short"},
    {"question": "Do you ship to Canada?", "response": "Yes."},
]


def test_import_prints_what_landed(tmp_path):
    src = write_lines(tmp_path / "feedback.jsonl", GOOD)
    db = tmp_path / "l.db"
    done = cli("import", str(src), "--db", str(db))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "3 imported, 0 already present.",
        "New rows: 3 interactions, 2 ratings, 0 conversations.",
    ]
    assert done.stderr == ""
    again = cli("import", str(src), "--db", str(db))
    assert again.returncode == 0
    assert again.stdout.splitlines()[0] == "0 imported, 3 already present."
    assert interactions(db) == 3


def test_refused_lines_go_to_stderr_and_nothing_lands(tmp_path):
    src = write_lines(tmp_path / "bad.jsonl", [
        GOOD[0], '{"question": "q", "rating": 6}', "", "{not json", GOOD[1], '{"question": 7}'])
    db = tmp_path / "l.db"
    done = cli("import", str(src), "--db", str(db))
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        f"{src}:2: rating must be a whole number from 1 to 5, not 6",
        f"{src}:4: not valid JSON (Expecting property name enclosed in double quotes at column 2)",
        f"{src}:6: question must be text, not a number",
        "Nothing was imported: 3 of 5 lines were refused. Fix them and import again, or import"
        " with --skip-invalid to land the 2 valid lines and keep the refused ones in"
        " bad.jsonl.rejected.jsonl.",
    ]
    assert interactions(db) == 0
    assert not (tmp_path / "bad.jsonl.rejected.jsonl").exists()


def test_skip_invalid_lands_the_rest_and_says_where_the_refused_lines_are(tmp_path):
    src = write_lines(tmp_path / "bad.jsonl", [GOOD[0], '{"question": "q", "thumbs": "sideways"}', GOOD[2]])
    db = tmp_path / "l.db"
    done = cli("import", str(src), "--skip-invalid", "--db", str(db))
    assert done.returncode == 0, done.stderr
    rejected = tmp_path / "bad.jsonl.rejected.jsonl"
    assert done.stderr.splitlines() == [
        f"{src}:2: thumbs must be up or down (or 1/-1, true/false), not 'sideways'"]
    assert done.stdout.splitlines()[0] == (
        f"2 imported, 0 already present; 1 refused line written to {rejected}.")
    assert json.loads(rejected.read_text()) == {
        "line": 2, "reason": "thumbs must be up or down (or 1/-1, true/false), not 'sideways'",
        "raw": '{"question": "q", "thumbs": "sideways"}'}
    assert interactions(db) == 2


def test_csv_import_with_a_wrong_row(tmp_path):
    src = tmp_path / "f.csv"
    src.write_text("question,answer,rating\nq1,a1,5\nq2,a2\nq3,a3,1\n", encoding="utf-8")
    done = cli("import", str(src), "--db", str(tmp_path / "l.db"))
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == f"{src}:3: has 2 cells but the header has 3"


def test_invalid_utf8_line_is_named(tmp_path):
    src = tmp_path / "latin1.jsonl"
    src.write_bytes(b'{"question": "a"}\n{"question": "b"}\n{"question": "\xe9t\xe9"}\n')
    done = cli("import", str(src), "--db", str(tmp_path / "l.db"))
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == f"{src}:3: not valid UTF-8 (byte 0xe9 at column 15)"


def test_empty_file(tmp_path):
    src = tmp_path / "empty.jsonl"
    src.write_bytes(b"")
    done = cli("import", str(src), "--db", str(tmp_path / "l.db"))
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"{src}: the file is empty: there is nothing to import", "Nothing was imported."]


def test_interactions_read_as_pairwise_are_refused_line_by_line(tmp_path):
    src = write_lines(tmp_path / "p.jsonl", GOOD)
    done = cli("import", str(src), "--format", "pairwise", "--db", str(tmp_path / "l.db"))
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == (
        f"{src}:1: no answer_a or answer_b (a vote needs question, answer_a, answer_b and winner)")
    assert "Nothing was imported" in done.stderr


def test_usage_errors_exit_2(tmp_path):
    missing = cli("import", str(tmp_path / "nope.jsonl"), "--db", str(tmp_path / "l.db"))
    assert missing.returncode == 2
    assert missing.stderr.strip() == f"No such file: {tmp_path / 'nope.jsonl'}."
    assert cli("import").returncode == 2
    assert cli("import", "x.jsonl", "--format", "xml").returncode == 2


def test_import_uses_loupe_db_when_no_flag(tmp_path):
    src = write_lines(tmp_path / "f.jsonl", GOOD[:1])
    db = tmp_path / "env.db"
    done = cli("import", str(src), env={"LOUPE_DB": str(db)})
    assert done.returncode == 0, done.stderr
    assert interactions(db) == 1


def test_summary_still_works_after_an_import(tmp_path):
    db = tmp_path / "l.db"
    cli("import", str(write_lines(tmp_path / "f.jsonl", GOOD)), "--db", str(db))
    done = cli("summary", "--json", "--db", str(db))
    assert json.loads(done.stdout) == {
        "interactions": 3, "ratings": 2, "comparisons": 0, "variants": 0, "users": 0}


def test_demo_command_loads_once_and_replaces_on_request(tmp_path):
    db = tmp_path / "demo.db"
    first = cli("demo", "--db", str(db))
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("Loaded the demo data set (source = demo): ")
    count = interactions(db)
    assert count > 1000
    second = cli("demo", "--db", str(db))
    assert second.returncode == 0
    assert second.stdout.startswith(f"The demo data is already loaded ({count:,} interactions")
    assert "--replace" in second.stdout
    assert interactions(db) == count
    third = cli("demo", "--replace", "--db", str(db))
    assert third.returncode == 0
    assert third.stdout.splitlines()[0] == f"Removed the previous demo data ({count:,} interactions)."
    assert interactions(db) == count


def test_one_external_id_with_two_questions_exits_1_naming_the_line(tmp_path):
    path = write_lines(tmp_path / "ids.jsonl", [
        {"question": "How do I cancel?", "response": "Account > Billing.", "external_id": "7"},
        {"question": "Do you ship to Canada?", "response": "Yes.", "external_id": 7, "rating": 1},
    ])
    db = tmp_path / "l.db"
    done = cli("import", str(path), "--db", str(db))
    assert done.returncode == 1
    assert (f"{path}:2: external_id '7' is already used on line 1 of this import for a different"
            " question") in done.stderr
    assert interactions(db) == 0


def test_one_vote_id_for_two_different_votes_is_refused(tmp_path):
    vote = {"question": "q", "answer_a": "a", "answer_b": "b", "winner": "a", "external_id": "v1"}
    db = tmp_path / "l.db"
    first = write_lines(tmp_path / "v1.jsonl", [vote, vote | {"external_id": "v2"}])
    assert cli("import", str(first), "--db", str(db)).returncode == 0
    same_file = write_lines(tmp_path / "v2.jsonl", [vote | {"external_id": "v3"},
                                                    vote | {"external_id": "v3", "winner": "b"}])
    done = cli("import", str(same_file), "--db", str(db))
    assert done.returncode == 1
    assert (f"{same_file}:2: external_id 'v3' is already used on line 1 for a different vote"
            in done.stderr)
    stored = write_lines(tmp_path / "v3.jsonl", [vote, vote | {"external_id": "v2", "winner": "b"}])
    done = cli("import", str(stored), "--db", str(db))
    assert done.returncode == 1
    assert f"{stored}:2: external_id 'v2' is already used by a different stored vote" in done.stderr
    skipped = cli("import", str(stored), "--skip-invalid", "--db", str(db))
    assert skipped.returncode == 0 and "0 votes imported, 1 already present" in skipped.stdout
    with Store(db) as store:
        assert [r["winner"] for r in store.rows("SELECT winner FROM comparisons ORDER BY id")] == ["a", "a"]
