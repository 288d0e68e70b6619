"""Kill an import with SIGKILL at a random moment, again and again; check nothing is half there.

    python -m bench.crash [RUNS] [LINES]

Each run starts a child process importing a big file into a database that already holds data,
kills it with SIGKILL after a random delay, then checks `PRAGMA integrity_check` and that the
import is either wholly absent or wholly present.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.concurrency import write_import_file
from store import Store

ROOT = Path(__file__).resolve().parent.parent

CHILD = (
    "from dashboard.importing import import_file; from store import Store;"
    "import_file(Store({db!r}), {src!r})"
)


def one_run(folder: Path, source: Path, lines: int, delay: float) -> dict:
    """Import in a child, kill it after ``delay`` seconds, and inspect the database."""
    db = folder / f"crash-{time.monotonic_ns()}.db"
    store = Store(db)
    conversation = store.ingest.start_conversation()
    for n in range(100):
        store.ingest.add_question(conversation, f"already here {n}")
    store.close()
    child = subprocess.Popen([sys.executable, "-c", CHILD.format(db=str(db), src=str(source))], cwd=ROOT)
    time.sleep(delay)
    killed = child.poll() is None
    if killed:
        os.kill(child.pid, signal.SIGKILL)
    child.wait()
    store = Store(db)
    integrity = store.pragma("integrity_check")
    imported = store.db.execute("SELECT COUNT(*) FROM interactions WHERE source = 'import'").fetchone()[0]
    before = store.db.execute("SELECT COUNT(*) FROM interactions WHERE source = 'chat'").fetchone()[0]
    store.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    return {"killed": killed, "integrity": integrity, "imported": imported, "kept": before,
            "whole": imported in (0, lines) and before == 100}


def main(runs: int = 20, lines: int = 50_000) -> list[dict]:
    """Repeat the crash and print one line per run and a verdict."""
    rng = random.Random(1)
    results = []
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "big.jsonl"
        write_import_file(source, lines)
        for run in range(runs):
            result = one_run(Path(folder), source, lines, rng.uniform(0.3, 4.0))
            results.append(result)
            print(f"run {run + 1:2}: {'killed' if result['killed'] else 'finished'}, integrity "
                  f"{result['integrity']}, {result['imported']:,} of {lines:,} imported lines present, "
                  f"{'whole' if result['whole'] else 'PARTIAL'}")
    bad = [r for r in results if not r["whole"] or r["integrity"] != "ok"]
    print(f"{len(results)} runs, {sum(r['killed'] for r in results)} killed mid-import, "
          f"{len(bad)} left a partial import or a damaged file")
    return results


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20, int(sys.argv[2]) if len(sys.argv) > 2 else 50_000)
