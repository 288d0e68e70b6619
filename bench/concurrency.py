"""20 threads each write 200 ratings through the store while a 100,000-line import runs.

    python -m bench.concurrency [LINES] [THREADS] [RATINGS]

Prints every rating present or not, how many 'database is locked' errors surfaced (target 0),
and the p50/p99/max latency of a rating write.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

from dashboard.importing import import_file
from store import Store

ROOT = Path(__file__).resolve().parent.parent


def write_import_file(path: Path, lines: int) -> None:
    """A JSONL file of rated interactions, as a production export would look."""
    with open(path, "w", encoding="utf-8") as out:
        for n in range(lines):
            out.write(json.dumps({"question": f"Question {n} about invoices and refunds?",
                                  "response": f"Answer {n}.", "rating": 1 + n % 5,
                                  "reviewer": "bulk", "external_id": f"bulk-{n}"}) + "\n")


def run(db: Path, lines: int = 100_000, threads: int = 20, ratings: int = 200) -> dict:
    """Run the contest and return its figures."""
    source = db.with_suffix(".jsonl")
    write_import_file(source, lines)
    setup = Store(db)
    conversation = setup.ingest.start_conversation()
    targets = [setup.ingest.add_question(conversation, f"rated while importing {n}") for n in range(ratings)]
    setup.close()

    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(threads + 2)  # raters, the importer and this thread

    def rater(k: int) -> None:
        store = Store(db)  # its own connection, as another Streamlit process would have
        start.wait()
        for n, iid in enumerate(targets):
            began = time.perf_counter()
            try:
                store.review.save_rating(iid, f"reviewer-{k}", stars=1 + (n + k) % 5)
            except sqlite3.OperationalError as exc:
                with lock:
                    errors.append(str(exc))
                continue
            with lock:
                latencies.append((time.perf_counter() - began) * 1000)
        store.close()

    importer_report: dict = {}

    def importer() -> None:
        store = Store(db)
        start.wait()
        began = time.perf_counter()
        report = import_file(store, source)
        importer_report.update(imported=report.imported, seconds=time.perf_counter() - began)
        store.close()

    workers = [threading.Thread(target=rater, args=(k,)) for k in range(threads)]
    workers.append(threading.Thread(target=importer))
    for worker in workers:
        worker.start()
    start.wait()
    for worker in workers:
        worker.join()

    check = Store(db)
    stored = check.db.execute("SELECT COUNT(*) FROM ratings WHERE reviewer LIKE 'reviewer-%'").fetchone()[0]
    integrity = check.pragma("integrity_check")
    check.close()
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else None  # noqa: E731
    return {"expected": threads * ratings, "stored": stored, "locked_errors": len(errors),
            "p50_ms": pick(0.5), "p99_ms": pick(0.99), "max_ms": latencies[-1] if latencies else None,
            "import": importer_report, "integrity": integrity}


if __name__ == "__main__":
    lines = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    ratings = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    with tempfile.TemporaryDirectory() as folder:
        figures = run(Path(folder) / "contest.db", lines, threads, ratings)
    print(f"ratings stored: {figures['stored']:,} of {figures['expected']:,}; "
          f"'database is locked' errors: {figures['locked_errors']}; integrity: {figures['integrity']}")
    print(f"rating write latency: p50 {figures['p50_ms']:.1f} ms, p99 {figures['p99_ms']:.1f} ms, "
          f"max {figures['max_ms']:.1f} ms")
    print(f"import meanwhile: {figures['import'].get('imported', 0):,} lines in "
          f"{figures['import'].get('seconds', 0):.1f} s")
