"""Nothing lost under load or crashes: concurrent rating writers during a large import, and an
import killed with SIGKILL that leaves the file intact and the import wholly absent or present."""

from __future__ import annotations

import random

from bench.concurrency import run as contest
from bench.concurrency import write_import_file
from bench.crash import one_run


def test_twenty_writers_lose_nothing_while_an_import_runs(tmp_path):
    figures = contest(tmp_path / "contest.db", lines=100_000, threads=20, ratings=200)
    assert figures["locked_errors"] == 0
    assert figures["stored"] == figures["expected"] == 4000
    assert figures["import"]["imported"] == 100_000
    assert figures["integrity"] == "ok"


def test_an_import_killed_mid_way_is_wholly_absent_or_present(tmp_path):
    source = tmp_path / "big.jsonl"
    write_import_file(source, 30_000)
    rng = random.Random(7)
    results = [one_run(tmp_path, source, 30_000, rng.uniform(0.5, 2.5)) for _ in range(3)]
    assert all(r["integrity"] == "ok" for r in results)
    assert all(r["whole"] for r in results), results
    assert any(r["killed"] for r in results)
