"""Backup (and restore) time under write load, on a database of at least 500 MB.

    python -m bench.backup [DB] [--runs N] [--rates 0,10,50] [--old] [--restore]

Builds (or reuses) DB: the synthetic data set of bench.synthetic (200,000 interactions) with
a 1,600-character transcript in each interaction's meta, about 560 MB (built in two minutes or
so). For each write rate, a writer
in another process commits that many new interactions per second while `Store.backup` runs;
each backup must finish, and the target is a median under 3x the idle one. `--old` also times
the previous method (SQLite's online backup, 1,024 pages per step, which starts over whenever
another connection writes), stopped after 120 s. `--restore` times a restore at each rate and
says how long the writer's writes waited for it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from store import Store

ROOT = Path(__file__).resolve().parent.parent

MIN_BYTES = 500_000_000
TRANSCRIPT_BYTES = 800  # random bytes per interaction, written as 1,600 hex characters
OLD_CAP_SECONDS = 120
TARGET_RATIO = 3.0


def build(path: Path, n: int = 200_000) -> None:
    """The synthetic data set, each interaction carrying a transcript in its meta."""
    from bench.synthetic import build as synthetic

    synthetic(str(path), n).close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    conn.execute("UPDATE interactions SET meta = json_object('transcript',"
                 f" hex(randomblob({TRANSCRIPT_BYTES})))")
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


# -- the writer: another process committing at a steady rate -------------------------------------


def writer(db: str, rate: float) -> None:
    """Commit `rate` new interactions a second until SIGTERM, as the API stores one; print counts,
    waits and the external ids acknowledged as JSON."""
    from dashboard.importing import check_record

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    store = Store(db)
    token = f"{os.getpid()}-{time.time_ns()}"
    print("ready", flush=True)
    acknowledged: list[tuple[float, str]] = []
    waits: list[tuple[float, float]] = []  # (started, seconds)
    errors: dict[str, int] = {}
    began = time.monotonic()
    n = 0
    while not stop:
        due = began + n / rate
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(min(pause, 0.05))
            continue
        start = time.monotonic()
        try:
            key = f"bench-{token}-{n}"
            with store.ingest.import_session(source="api") as session:
                session.add([check_record({"question": f"written by the bench writer {n}",
                                           "answer": "ok", "external_id": key})])
            acknowledged.append((round(start, 4), key))
        except sqlite3.Error as exc:
            errors[str(exc)] = errors.get(str(exc), 0) + 1
        waits.append((start, time.monotonic() - start))
        n += 1
    store.close()
    print(json.dumps({"writes": len(waits), "errors": errors, "acknowledged": acknowledged,
                      "waits": [(round(s, 4), round(w, 4)) for s, w in waits]}), flush=True)


class Writer:
    """A writer process for the duration of a `with` block (none at rate 0)."""

    def __init__(self, db: Path, rate: float) -> None:
        self.db, self.rate = db, rate
        self.result: dict = {}
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Writer:
        if self.rate > 0:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bench.backup", "--writer", str(self.db), str(self.rate)],
                cwd=ROOT, stdout=subprocess.PIPE, text=True)
            assert self.process.stdout.readline().strip() == "ready"
            time.sleep(1.0)  # let it reach its pace
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            out, _ = self.process.communicate(timeout=120)
            self.result = json.loads(out.strip().splitlines()[-1])

    def kept_after(self, start: float) -> tuple[int, int]:
        """(acknowledged writes that started after ``start``, how many of them are stored)."""
        keys = [k for s, k in self.result.get("acknowledged", []) if s >= start]
        store = Store(self.db)
        try:
            found = sum(store.api.interaction_for_record(k, "") is not None for k in keys)
        finally:
            store.close()
        return len(keys), found

    def during(self, start: float, end: float) -> tuple[int, float]:
        """Writes that started between two monotonic times, and the longest wait among them.

        (Both processes read the same monotonic clock.)"""
        inside = [w for s, w in self.result.get("waits", []) if start <= s <= end]
        return len(inside), max(inside, default=0.0)


# -- what is timed -------------------------------------------------------------------------------


COPY_SHARE: list[float] = []  # copy time / whole backup time, per run


def new_backup(db: Path, out: Path) -> float:
    store = Store(db)
    try:
        began = time.perf_counter()
        info = store.backup(out)
        seconds = time.perf_counter() - began
        COPY_SHARE.append(info["copy_seconds"] / info["seconds"])
        return seconds
    finally:
        store.close()


def old_backup(db: Path, out: Path) -> float | None:
    """The previous method: online backup in steps of 1,024 pages; None when stopped at the cap."""
    source = sqlite3.connect(db)
    target = sqlite3.connect(out)
    began = time.perf_counter()

    def cap(status: int, remaining: int, total: int) -> None:
        if time.perf_counter() - began > OLD_CAP_SECONDS:
            raise TimeoutError

    try:
        source.backup(target, pages=1024, progress=cap)
        return time.perf_counter() - began
    except TimeoutError:
        return None
    finally:
        target.close()
        source.close()


def restore(db: Path, backup: Path) -> float:
    store = Store(db)
    try:
        began = time.perf_counter()
        store.restore_from(backup)
        return time.perf_counter() - began
    finally:
        store.close()


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal", ".partial"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.backup")
    parser.add_argument("db", nargs="?", default="bench/out/backup.db")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rates", default="0,10,50")
    parser.add_argument("--old", action="store_true", help="also time the previous method")
    parser.add_argument("--restore", action="store_true", help="also time restores")
    args = parser.parse_args(argv)
    db = Path(args.db)
    if not db.exists():
        db.parent.mkdir(parents=True, exist_ok=True)
        began = time.perf_counter()
        build(db)
        print(f"built {db} in {time.perf_counter() - began:.0f} s", file=sys.stderr)
    size = db.stat().st_size
    print(f"database: {db}, {size / 1e6:,.0f} MB")
    if size < MIN_BYTES:
        print(f"warning: under {MIN_BYTES / 1e6:.0f} MB")
    rates = [float(r) for r in args.rates.split(",")]
    folder = Path(tempfile.mkdtemp(prefix="loupe-backup-", dir=db.parent))
    out = folder / "copy.db"
    medians: dict[float, float] = {}
    for rate in rates:
        times, counts, longest = [], [], 0.0
        for _ in range(args.runs):
            _remove(out)
            with Writer(db, rate) as load:
                start = time.monotonic()
                seconds = new_backup(db, out)
                end = time.monotonic()
            n, wait = load.during(start, end)
            times.append(seconds)
            counts.append(n)
            longest = max(longest, wait)
            if load.result.get("errors"):
                print(f"  writer errors: {load.result['errors']}")
        medians[rate] = statistics.median(times)
        ratio = medians[rate] / medians[rates[0]] if rates[0] == 0 and medians.get(0.0) else 1.0
        print(f"backup at {rate:>4.0f} writes/s: " + ", ".join(f"{t:.1f} s" for t in times)
              + f"  (median {medians[rate]:.1f} s, {ratio:.2f}x idle; writes during each run:"
              f" {', '.join(map(str, counts))}; longest write {longest * 1000:.0f} ms)")
        if args.old:
            _remove(out)
            with Writer(db, rate):
                seconds = old_backup(db, out)
            shown = f"{seconds:.1f} s" if seconds is not None else f"not done after {OLD_CAP_SECONDS} s"
            print(f"  previous method (its copy alone) at {rate:>4.0f} writes/s: {shown}")
    if args.restore:
        _remove(out)
        new_backup(db, out)
        for rate in rates:
            with Writer(db, rate) as load:
                start = time.monotonic()
                seconds = restore(db, out)
                end = time.monotonic()
            n, wait = load.during(start, end)
            errors = load.result.get("errors") or {}
            later, kept = load.kept_after(start)
            print(f"restore at {rate:>4.0f} writes/s: {seconds:.1f} s; {n} writes started during it"
                  f" (longest wait {wait:.1f} s); {kept} of {later} writes acknowledged from its"
                  f" start on are stored; {sum(errors.values())} errors {errors or ''}")
    _remove(out)
    folder.rmdir()
    print(f"the copy itself is {statistics.median(COPY_SHARE):.0%} of a backup's time (median);"
          " the rest is integrity_check and row counts of the copy")
    idle = medians.get(0.0)
    if idle:
        worst = max(medians.values()) / idle
        verdict = "met" if worst < TARGET_RATIO else "NOT met"
        print(f"every backup finished; worst median {worst:.2f}x idle (target under"
              f" {TARGET_RATIO:.0f}x: {verdict})")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--writer":
        writer(sys.argv[2], float(sys.argv[3]))
    else:
        sys.exit(main())
