"""`python -m dashboard ...`: a thin shell over the library."""

from __future__ import annotations

import argparse
import json
import sys
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code."""
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
