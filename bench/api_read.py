"""Reading feedback through the API when rows are large.

    python -m bench.api_read [--rows N] [--row-mb MB] [--limit L]

Fills a new database with N interactions whose answers are MB megabytes each (UTF-8, one
rating each), starts `python -m dashboard api` on loopback, and reads everything a client can
reach with `GET /feedback/?limit=L`, following `next_after`. Prints, per answer and in total,
the bytes received and the time taken, and the API process's resident memory before the reads
and at its peak (VmRSS and VmHWM from /proc). Prints figures only: nothing here fails.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dashboard.auth import new_token, token_digest
from dashboard.scopes import READ
from store import Store
from tests.paths import free_port

ROOT = Path(__file__).resolve().parent.parent


def memory_mb(pid: int) -> dict[str, float]:
    """VmRSS (now) and VmHWM (peak) of a process, in MB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key = line.split(":")[0]
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(line.split()[1]) / 1024
    return values


def fill(path: Path, rows: int, row_mb: float) -> None:
    """Interactions with answers of ``row_mb`` MB (two bytes a character), each rated once."""
    chars = int(row_mb * 1_000_000) // 2
    with Store(path) as store, store.write() as db:
        for n in range(rows):
            iid = db.execute(
                "INSERT INTO interactions (question, answer, source, created_at)"
                " VALUES (?, ?, 'bench', '2026-01-01T00:00:00.000Z')",
                [f"question {n}", f"{n:06d}" + "é" * chars]).lastrowid
            db.execute(
                "INSERT INTO ratings (interaction_id, reviewer, stars, comment, tags,"
                " created_at, updated_at) VALUES (?, 'ana', 2, 'slow', '[]',"
                " '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')", [iid])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=300)
    parser.add_argument("--row-mb", type=float, default=1.0)
    parser.add_argument("--limit", type=int, default=300)
    args = parser.parse_args(argv)

    folder = Path(tempfile.mkdtemp(prefix="loupe-api-read-"))
    db = folder / "loupe.db"
    started = time.perf_counter()
    fill(db, args.rows, args.row_mb)
    token = new_token()
    with Store(db) as store:
        store.users.add_token("bench", token_digest(token), "100000/minute", None, [READ])
    print(f"{args.rows} rows of {args.row_mb:g} MB written in {time.perf_counter() - started:.1f} s"
          f" ({db.stat().st_size / 1e6:,.0f} MB file)")

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "dashboard", "api", "--db", str(db), "--port", str(port)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ})
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request("GET", "/health")
                connection.getresponse().read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        idle = memory_mb(server.pid)
        print(f"API process before reading: {idle['VmRSS']:.0f} MB resident")
        after, answers, total, rows = 0, 0, 0, 0
        started = time.perf_counter()
        while after is not None:
            begun = time.perf_counter()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
            connection.request("GET", f"/feedback/?after={after}&limit={args.limit}",
                               headers={"Authorization": f"Bearer {token}"})
            response = connection.getresponse()
            body = response.read()
            assert response.status == 200, body[:200]
            page = json.loads(body)
            answers += 1
            total += len(body)
            rows += len(page["items"])
            after = page["next_after"]
            print(f"  answer {answers}: {len(body) / 1e6:6.2f} MB, {len(page['items'])} rows,"
                  f" {time.perf_counter() - begun:.2f} s")
        elapsed = time.perf_counter() - started
        peak = memory_mb(server.pid)
        print(f"read {rows} rows in {answers} answers: {total / 1e6:,.1f} MB in {elapsed:.1f} s"
              f" ({total / 1e6 / elapsed:,.0f} MB/s); largest answer bound 8 MB")
        print(f"API process: peak {peak['VmHWM']:.0f} MB resident (VmHWM), now"
              f" {peak['VmRSS']:.0f} MB; {peak['VmHWM'] - idle['VmRSS']:.0f} MB above idle")
    finally:
        server.terminate()
        server.wait(timeout=30)
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
