"""Export 1,000,000 interactions to sft JSONL: time and peak memory.

    python -m bench.export [DB] [N]

Builds (or reuses) a synthetic database with N interactions and ratings, then runs the export
in a child process so its peak memory (ru_maxrss) is its own. Prints rows/s and the targets.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TARGET_SECONDS = 20
TARGET_MB = 300


def _child(db: str, out: str, fmt: str) -> None:
    from dashboard.exporting import ExportOptions, run_export
    from store import Store

    store = Store(db)
    began = time.perf_counter()
    result = run_export(store, ExportOptions(format=fmt, min_stars=None), out, record=False)
    seconds = time.perf_counter() - began
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": result.counts.written, "seconds": seconds, "peak_mb": peak_mb,
                      "bytes": os.path.getsize(out)}))


def main() -> None:
    db = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "bench" / "out" / "synthetic.db")
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    if not Path(db).exists():
        from bench.synthetic import build

        Path(db).parent.mkdir(parents=True, exist_ok=True)
        print(f"building {n:,} interactions in {db} …", file=sys.stderr)
        build(db, n).close()
    out = str(Path(db).with_name("export-bench.jsonl"))
    for fmt in ("sft",):
        done = subprocess.run(
            [sys.executable, "-c", f"from bench.export import _child; _child({db!r}, {out!r}, {fmt!r})"],
            cwd=ROOT, capture_output=True, text=True, check=True,
        )
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        rate = figures["rows"] / figures["seconds"]
        print(f"{fmt}: {figures['rows']:,} rows in {figures['seconds']:.1f} s ({rate:,.0f} rows/s), "
              f"{figures['bytes'] / 1e6:,.0f} MB file, peak memory {figures['peak_mb']:.0f} MB")
        print(f"  time: {figures['seconds'] / TARGET_SECONDS:.2f} of the {TARGET_SECONDS} s target; "
              f"memory: {figures['peak_mb'] / TARGET_MB:.2f} of the {TARGET_MB} MB target")
    Path(out).unlink(missing_ok=True)
    Path(out + ".manifest.json").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
