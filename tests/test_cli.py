"""The command line: `python -m dashboard summary`."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from store import Store
from tests.paths import ROOT


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "dashboard", *args],
        cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=60,
    )


def _fill(path) -> None:
    with Store(path) as store:
        conversation = store.ingest.start_conversation()
        for n in range(3):
            iid = store.ingest.add_question(conversation, f"q{n}")
            store.ingest.record_answer(iid, answer=f"a{n}")
        store.review.save_rating(1, "ana", stars=5)
        store.experiments.add_variant("baseline")


def test_summary_json_counts_each_table(tmp_path):
    db = tmp_path / "x.db"
    _fill(db)
    done = _run("summary", "--json", "--db", str(db))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "interactions": 3, "ratings": 1, "comparisons": 0, "variants": 1, "users": 0,
    }


def test_summary_reads_loupe_db_when_no_flag(tmp_path):
    db = tmp_path / "env.db"
    _fill(db)
    done = _run("summary", "--json", env={"LOUPE_DB": str(db)})
    assert json.loads(done.stdout)["interactions"] == 3


def test_summary_of_a_new_database_is_all_zero(tmp_path):
    done = _run("summary", "--json", "--db", str(tmp_path / "new" / "fresh.db"))
    assert done.returncode == 0, done.stderr
    assert set(json.loads(done.stdout).values()) == {0}
