"""`python -m dashboard ...`: a thin shell over the library."""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from collections.abc import Sequence

from store import Store, default_db_path


def _db_parent() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--db",
        default=None,
        help="SQLite file (default: $LOUPE_DB, else data/loupe.db)",
    )
    return parent


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = argparse.ArgumentParser(
        prog="python -m dashboard", description="Loupe: review human feedback on your LLM."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    summary = commands.add_parser(
        "summary", parents=[_db_parent()], help="count what the database holds"
    )
    summary.add_argument("--json", action="store_true", help="print JSON")
    summary.set_defaults(func=cmd_summary)

    importer = commands.add_parser(
        "import",
        parents=[_db_parent()],
        help="import interactions and ratings from a JSONL or CSV file",
        description="Import interactions (and their ratings) from a JSONL or CSV file. The file"
        " lands whole or not at all; refused lines are listed as FILE:LINE: reason.",
    )
    importer.add_argument("file", metavar="FILE", help="a .jsonl or .csv file")
    importer.add_argument(
        "--format",
        default="auto",
        choices=["auto", "jsonl", "csv", "pairwise"],
        help="file format (default: from the file name, then its first bytes)",
    )
    importer.add_argument(
        "--skip-invalid",
        action="store_true",
        help="import the valid lines and write the refused ones to FILE.rejected.jsonl",
    )
    importer.set_defaults(func=cmd_import)

    demo = commands.add_parser(
        "demo",
        parents=[_db_parent()],
        help="fill the database with a labelled demo data set (source = demo)",
    )
    demo.add_argument("--seed", type=int, default=7, help="random seed (default: 7)")
    demo.add_argument(
        "--replace", action="store_true", help="remove the demo rows already there and reload them"
    )
    demo.set_defaults(func=cmd_demo)
    return parser


def open_store(args: argparse.Namespace) -> Store:
    """The store named by --db, else by LOUPE_DB, else data/loupe.db."""
    return Store(args.db or default_db_path())


def cmd_summary(args: argparse.Namespace) -> int:
    """Print the row counts of the main tables."""
    store = open_store(args)
    try:
        counts = store.summary()
    finally:
        store.close()
    if args.json:
        print(json.dumps(counts))
    else:
        width = max(len(k) for k in counts)
        for key, value in counts.items():
            print(f"{key:<{width}}  {value:>10,}")
    return 0


class ProgressBar:
    """A one-line progress bar on stderr, drawn only on a terminal and for big files."""

    MIN_BYTES = 2_000_000

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.shown = False
        self._last = 0.0

    def __call__(self, records: int, done: int, total: int) -> None:
        """Redraw with this many records read and bytes done out of total."""
        if total < self.MIN_BYTES or not self.stream.isatty():
            return
        now = time.monotonic()
        if now - self._last < 0.2 and done < total:
            return
        self._last = now
        share = min(1.0, done / total) if total else 1.0
        filled = int(share * 30)
        self.stream.write(
            f"\rImporting [{'#' * filled}{'.' * (30 - filled)}] {share:4.0%}  {records:,} lines"
        )
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        """Wipe the bar so the next line starts clean."""
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.shown = False


def cmd_import(args: argparse.Namespace) -> int:
    """Import a JSONL or CSV file; 0 when it landed, 1 when lines were refused, 2 on misuse."""
    from dashboard.importing import ImportProblem, import_file

    bar = ProgressBar()

    def refused(refusal) -> None:
        bar.clear()
        print(refusal.where(args.file), file=sys.stderr)

    try:
        store = open_store(args)
    except sqlite3.Error as exc:
        print(f"Cannot open the database {args.db or default_db_path()}: {exc}.", file=sys.stderr)
        return 1
    try:
        report = import_file(
            store, args.file, fmt=args.format, skip_invalid=args.skip_invalid,
            progress=bar, on_refused=refused,
        )
    except ImportProblem as problem:
        bar.clear()
        print(problem, file=sys.stderr)
        return 2 if problem.usage else 1
    except OSError as exc:
        bar.clear()
        print(f"Cannot read {args.file}: {exc.strerror or exc}.", file=sys.stderr)
        return 2
    except sqlite3.OperationalError as exc:
        bar.clear()
        print(f"Nothing was imported: the database refused the write ({exc}).", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        bar.clear()
        print("Import interrupted: nothing was imported.", file=sys.stderr)
        return 130
    finally:
        store.close()
    bar.clear()
    if not report.committed:
        print(report.closing(), file=sys.stderr)
        return 1
    print(report.closing())
    print(report.details())
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Load the demo data set unless it is there already (or --replace)."""
    from dashboard.demo import load_demo

    store = open_store(args)
    try:
        result = load_demo(store, seed=args.seed, replace=args.replace)
    finally:
        store.close()
    if result.skipped:
        print(
            f"The demo data is already loaded ({result.existing:,} interactions with source"
            " 'demo'): nothing was added. Run with --replace to remove them and load it again."
        )
        return 0
    for line in result.lines():
        print(line)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code."""
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
