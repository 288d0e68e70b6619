"""The command line beyond import: pairwise votes and their statistics, export, cluster, users,
tokens, backup and restore."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from store import Store
from tests.paths import ROOT

DATA = ROOT / "tests" / "data"


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dashboard", *args], cwd=ROOT, input=stdin,
                          capture_output=True, text=True, timeout=300, env={**os.environ})


def test_pairwise_import_and_stats_json_contract(tmp_path):
    db = str(tmp_path / "l.db")
    source = DATA / "hh_rlhf_pairwise_200.jsonl"
    done = cli("import", str(source), "--db", db)  # recognised as pairwise votes
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("200 votes imported, 0 already present.")
    again = cli("import", str(source), "--format", "pairwise", "--db", db)
    assert again.stdout.startswith("0 votes imported, 200 already present.")

    stats = cli("stats", "pairwise", "--json", "--db", db)
    assert stats.returncode == 0, stats.stderr
    report = json.loads(stats.stdout)
    [pair] = report["pairs"]
    assert set(pair) >= {"variant_a", "variant_b", "n", "a_wins", "b_wins", "ties", "both_bad",
                         "a_win_rate", "b_win_rate", "ci_low", "ci_high", "p_value"}
    assert pair["n"] == 200 and pair["a_wins"] + pair["b_wins"] + pair["ties"] + pair["both_bad"] == 200
    assert 0 <= pair["ci_low"] <= pair["b_win_rate"] <= pair["ci_high"] <= 1
    assert abs(pair["a_win_rate"] + pair["b_win_rate"] - 1) < 1e-9
    assert {row["variant"] for row in report["leaderboard"]} == {pair["variant_a"], pair["variant_b"]}
    assert all({"variant", "score", "ci_low", "ci_high"} <= set(row) for row in report["leaderboard"])


def test_pairwise_file_with_bad_lines_is_all_or_nothing(tmp_path):
    db = str(tmp_path / "l.db")
    src = tmp_path / "votes.jsonl"
    src.write_text('{"prompt": "p", "chosen": "c", "rejected": "r"}\n{"prompt": "p2", "chosen": 3,'
                   ' "rejected": "r"}\n', encoding="utf-8")
    done = cli("import", str(src), "--format", "pairwise", "--db", db)
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == (
        f"{src}:2: chosen must be text or a list of messages, not a number")
    assert Store(db).summary()["comparisons"] == 0
    skipped = cli("import", str(src), "--format", "pairwise", "--skip-invalid", "--db", db)
    assert skipped.returncode == 0 and skipped.stdout.startswith("1 votes imported")
    assert json.loads(Path(f"{src}.rejected.jsonl").read_text())["line"] == 2


def test_export_command_writes_file_and_manifest(tmp_path):
    db = str(tmp_path / "l.db")
    assert cli("demo", "--db", db).returncode == 0
    out = tmp_path / "train.jsonl"
    done = cli("export", "--format", "sft", "--out", str(out), "--db", db, "--validation", "0.2",
               "--dedupe", "--scrub-pii", "--who", "ana")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows and all(r["messages"][-1]["role"] == "assistant" for r in rows)
    manifest = json.loads(Path(f"{out}.manifest.json").read_text())
    assert manifest["counts"]["train"] == len(rows) and manifest["who"] == "ana"
    assert Path(str(out).replace(".jsonl", ".validation.jsonl")).exists()
    bad = cli("export", "--format", "sft", "--validation", "1.5", "--db", db)
    assert bad.returncode == 2 and "validation share" in bad.stderr


def test_cluster_json_contract(tmp_path):
    db = str(tmp_path / "l.db")
    assert cli("demo", "--db", db).returncode == 0
    done = cli("cluster", "--json", "--k", "3", "--seed", "1", "--db", db)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["n_items"] > 0
    members = [m for c in report["clusters"] for m in c["members"]]
    assert len(members) == len(set(members)) == report["n_items"]
    for cluster in report["clusters"]:
        assert {"id", "label", "size", "mean_stars", "top_terms", "examples", "members"} <= set(cluster)
        assert cluster["size"] == len(cluster["members"])
        assert set(cluster["examples"]) <= set(cluster["members"])


def test_users_tokens_backup_and_restore(tmp_path):
    db = str(tmp_path / "l.db")
    added = cli("users", "add", "ana", "--role", "admin", "--password-stdin", "--db", db,
                stdin="long enough pw\n")
    assert added.returncode == 0 and "everyone signs in" in added.stdout
    assert cli("users", "add", "ana", "--role", "viewer", "--password-stdin",
               "--db", db, stdin="long enough pw\n").returncode == 1
    assert cli("users", "add", "bo", "--role", "viewer", "--password-stdin", "--db", db,
               stdin="short\n").returncode == 2
    token = cli("tokens", "add", "widget", "--rate", "5/minute", "--db", db)
    assert token.stdout.strip().startswith("loupe_") and "never shown again" in token.stderr
    with Store(db) as store:
        assert store.users.user_count() == 1 and store.users.list_tokens()[0]["rate"] == "5/minute"
        store.ingest.add_question(store.ingest.start_conversation(), "kept")
    backup = tmp_path / "b.db"
    done = cli("backup", str(backup), "--db", db)
    assert done.returncode == 0 and "1 interactions" in done.stdout
    with Store(db) as store:
        store.ingest.add_question(store.ingest.start_conversation(), "after the backup")
    restored = cli("restore", str(backup), "--yes", "--db", db)
    assert restored.returncode == 0, restored.stderr
    assert Store(db).summary()["interactions"] == 1
    assert cli("restore", str(tmp_path / "missing.db"), "--yes", "--db", db).returncode == 1


def test_stats_pairwise_says_three_unanimous_votes_rank_nothing(tmp_path):
    db = str(tmp_path / "l.db")
    votes = tmp_path / "three.jsonl"
    votes.write_text("".join(
        json.dumps({"question": f"Question {n}?", "answer_a": f"Short {n}.",
                    "answer_b": f"A friendly answer {n}.", "variant_a": "concise",
                    "variant_b": "friendly", "winner": "a"}) + "\n" for n in range(3)),
        encoding="utf-8")
    assert cli("import", str(votes), "--format", "pairwise", "--db", db).returncode == 0
    text = cli("stats", "pairwise", "--db", db)
    assert text.returncode == 0, text.stderr
    assert "rank 1-2. concise" in text.stdout and "rank 1-2. friendly" in text.stdout
    assert "Not enough votes to rank" in text.stdout
    report = json.loads(cli("stats", "pairwise", "--json", "--db", db).stdout)
    assert report["ranking"]["enough"] is False
    [low, high] = sorted(report["leaderboard"], key=lambda row: row["score"])
    assert low["ci_high"] > high["ci_low"]  # the intervals overlap
