"""`python -m dashboard ...`: a thin shell over the library."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sqlite3
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from dashboard.auth import ROLES
from dashboard.exporting import FORMATS
from dashboard.formats.registry import FORMATS as IMPORT_REGISTRY
from dashboard.formats.registry import NAMES as IMPORT_FORMATS
from dashboard.scopes import DEFAULT as DEFAULT_SCOPES
from dashboard.scopes import SCOPES
from store import Store, default_db_path


class CliError(Exception):
    """A command that cannot go on: ``main()`` prints the sentence on stderr and exits with
    ``code`` (1: it failed, 2: it was called wrongly, 130: it was interrupted)."""

    def __init__(self, sentence: str, code: int = 1) -> None:
        super().__init__(sentence)
        self.sentence = sentence
        self.code = code


def as_sentence(exc: Exception) -> str:
    """An exception's text as a sentence: first letter capitalized, one final full stop."""
    text = str(exc).rstrip(".")
    return f"{text[:1].upper()}{text[1:]}."


def refusal(exc: Exception) -> str:
    """A refused value's text as the CLI has always printed it: ``str.capitalize()`` and a full
    stop."""
    return f"{str(exc).capitalize()}."


# -- commands and their arguments ----------------------------------------------------------

Argument = tuple[tuple[str, ...], dict[str, Any]]


def arg(*names: str, **options: Any) -> Argument:
    """One argument of a command, as given to ``add_argument``."""
    return names, options


@dataclass(frozen=True)
class Command:
    """A command: its words (``users add``), what runs it, its arguments and parser options."""

    words: tuple[str, ...]
    run: Callable[[argparse.Namespace], int]
    arguments: tuple[Argument, ...]
    filters: bool
    options: dict[str, Any]


# The groups of commands: word -> (help, metavar, dest)
GROUPS = {
    "stats": ("statistics of votes", "KIND", "kind"),
    "users": ("accounts (once one exists, sign-in is required)", "ACTION", "action"),
    "tokens": ("API tokens for the feedback service", "ACTION", "action"),
}
COMMANDS: list[Command] = []


def command(
    *words: str, arguments: Sequence[Argument] = (), filters: bool = False, **options: Any
) -> Callable[[Callable[[argparse.Namespace], int]], Callable[[argparse.Namespace], int]]:
    """Register the decorated function as the command ``words`` (in the order of the help)."""
    def register(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        COMMANDS.append(Command(words, run, tuple(arguments), filters, options))
        return run
    return register


def _db_parent() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--db",
        default=None,
        help="SQLite file (default: $LOUPE_DB, else data/loupe.db)",
    )
    return parent


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every registered command."""
    parser = argparse.ArgumentParser(
        prog="python -m dashboard", description="Loupe: review human feedback on your LLM."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    groups: dict[str, Any] = {}
    for cmd in COMMANDS:
        where = commands
        if len(cmd.words) > 1:
            group = cmd.words[0]
            if group not in groups:
                help_text, metavar, dest = GROUPS[group]
                groups[group] = commands.add_parser(group, help=help_text).add_subparsers(
                    dest=dest, required=True, metavar=metavar)
            where = groups[group]
        parents = [_db_parent()] + ([_filter_parent()] if cmd.filters else [])
        sub = where.add_parser(cmd.words[-1], parents=parents, **cmd.options)
        for names, options in cmd.arguments:
            sub.add_argument(*names, **options)
        sub.set_defaults(func=cmd.run)
    return parser


def _filter_parent() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("filters")
    group.add_argument("--stars-min", type=int, choices=range(1, 6), metavar="N")
    group.add_argument("--stars-max", type=int, choices=range(1, 6), metavar="N")
    group.add_argument("--thumbs", choices=["up", "down"])
    group.add_argument("--model", action="append", default=[])
    group.add_argument("--variant", action="append", default=[])
    group.add_argument("--reviewer", action="append", default=[])
    group.add_argument("--tag", action="append", default=[])
    group.add_argument("--source", action="append", default=[])
    group.add_argument("--since", type=_day, metavar="YYYY-MM-DD")
    group.add_argument("--until", type=_day, metavar="YYYY-MM-DD")
    group.add_argument("--search", default="")
    return parent


def _day(text: str):
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def filters_from(args: argparse.Namespace):
    """The Filters the filter options describe."""
    from dashboard.filters import Filters

    return Filters(
        stars_min=args.stars_min, stars_max=args.stars_max, thumbs=args.thumbs,
        models=tuple(args.model), variants=tuple(args.variant), reviewers=tuple(args.reviewer),
        tags=tuple(args.tag), sources=tuple(args.source), date_from=args.since,
        date_to=args.until, search=args.search,
    )


def open_store(args: argparse.Namespace) -> Store:
    """The store named by --db, else by LOUPE_DB, else data/loupe.db."""
    return Store(args.db or default_db_path())


@command("summary", help="count what the database holds",
         arguments=[arg("--json", action="store_true", help="print JSON")])
def cmd_summary(args: argparse.Namespace) -> int:
    """Print the row counts of the main tables."""
    with open_store(args) as store:
        counts = store.summary()
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

    def __call__(self, records: int, done: int, total: int, *, label: str = "Importing",
                 unit: str = "lines") -> None:
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
            f"\r{label} [{'#' * filled}{'.' * (30 - filled)}] {share:4.0%}  {records:,} {unit}"
        )
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        """Wipe the bar so the next line starts clean."""
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.shown = False


@command(
    "import",
    help="import feedback: Loupe JSONL/CSV, pairwise votes, Hugging Face / TRL datasets,"
    " Open WebUI's feedback export, OpenTelemetry spans (JSONL, CSV or Parquet)",
    description="Import interactions, ratings and votes from a file in any format Loupe"
    " reads (detected from its content). The file lands whole or not at all; refused lines"
    " are listed as FILE:LINE: reason.",
    arguments=[
        arg("file", metavar="FILE", help="a .jsonl, .json, .csv or .parquet file"),
        arg("--format", default="auto", choices=list(IMPORT_FORMATS),
            help="file format (default: detected from the content; "
            + "; ".join(f"{f.name}: {f.title}" for f in IMPORT_REGISTRY.values()) + ")"),
        arg("--skip-invalid", action="store_true",
            help="import the valid lines and write the refused ones to FILE.rejected.jsonl"),
    ],
)
def cmd_import(args: argparse.Namespace) -> int:
    """Import a file in any format; 0 when it landed, 1 when lines were refused, 2 on misuse."""
    from dashboard.importing import ImportProblem, import_file

    bar = ProgressBar()

    def refused(refusal) -> None:
        bar.clear()
        print(refusal.where(args.file), file=sys.stderr)

    try:
        store = open_store(args)
    except sqlite3.Error as exc:
        raise CliError(f"Cannot open the database {args.db or default_db_path()}: {exc}.") from None
    try:
        report = import_file(
            store, args.file, fmt=args.format, skip_invalid=args.skip_invalid,
            progress=bar, on_refused=refused,
        )
    except ImportProblem as problem:
        bar.clear()
        raise CliError(str(problem), 2 if problem.usage else 1) from None
    except OSError as exc:
        bar.clear()
        raise CliError(f"Cannot read {args.file}: {exc.strerror or exc}.", 2) from None
    except sqlite3.OperationalError as exc:
        bar.clear()
        raise CliError(f"Nothing was imported: the database refused the write ({exc}).") from None
    except KeyboardInterrupt:
        bar.clear()
        raise CliError("Import interrupted: nothing was imported.", 130) from None
    finally:
        store.close()
    bar.clear()
    if not report.committed:
        raise CliError(report.closing())
    print(report.closing())
    print(report.details())
    return 0


@command(
    "demo", help="fill the database with a labelled demo data set (source = demo)",
    arguments=[
        arg("--seed", type=int, default=7, help="random seed (default: 7)"),
        arg("--replace", action="store_true",
            help="remove the demo rows already there and reload them"),
    ],
)
def cmd_demo(args: argparse.Namespace) -> int:
    """Load the demo data set unless it is there already (or --replace)."""
    from dashboard.demo import load_demo

    with open_store(args) as store:
        result = load_demo(store, seed=args.seed, replace=args.replace)
    if result.skipped:
        print(
            f"The demo data is already loaded ({result.existing:,} interactions with source"
            " 'demo'): nothing was added. Run with --replace to remove them and load it again."
        )
        return 0
    for line in result.lines():
        print(line)
    return 0


@command(
    "export", filters=True,
    help=f"write curated fine-tuning data ({', '.join(FORMATS)}) as JSONL or Parquet",
    description="Write a fine-tuning file and its manifest (FILE.manifest.json).",
    arguments=[
        arg("--format", required=True, choices=FORMATS),
        arg("--out", help="output file (default: exports/loupe-FORMAT.jsonl); a .parquet"
                          " path writes Parquet"),
        arg("--min-stars", type=float, default=None,
            help="approve answers whose mean stars reach this (default: 4 for sft,"
                 " alpaca and input-output; none for kto, whose labels come from"
                 " the ratings; dpo pairs do not use it)"),
        arg("--any-rating", action="store_true", help="no star threshold"),
        arg("--only-ideal", action="store_true", help="only items with an ideal answer"),
        arg("--only-agree", action="store_true", help="leave out items where reviewers disagree"),
        arg("--exclude", type=int, action="append", default=[], metavar="ID",
            help="leave out an interaction (repeatable)"),
        arg("--dedupe", type=float, nargs="?", const=0.9, default=None,
            metavar="THRESHOLD", help="drop near-duplicate questions (default 0.9)"),
        arg("--scrub-pii", action="store_true",
            help="replace emails, phone and card numbers, IP addresses"),
        arg("--validation", type=float, default=0.0, metavar="SHARE",
            help="share of questions for a validation file, e.g. 0.1"),
        arg("--seed", type=int, default=0),
        arg("--eval-set", type=int, metavar="SET_ID",
            help="refuse when exported questions are in this question set"),
        arg("--warn-leakage", action="store_true", help="only warn about questions of --eval-set"),
        arg("--dpo-sources", default="votes,ideal,ratings",
            help="comma-separated: votes, ideal, ratings"),
        arg("--dpo-layout", default="standard", choices=["standard", "conversational"]),
        arg("--dpo-min-gap", type=float, default=1.0),
        arg("--who", help="who made the export (kept in the manifest)"),
        arg("--write-anyway", action="store_true",
            help="write the file even when it holds no rows, only one kto label or"
                 " no dpo pair (otherwise refused with the reason)"),
    ],
)
def cmd_export(args: argparse.Namespace) -> int:
    """Write a fine-tuning file and its manifest."""
    from pathlib import Path

    from dashboard.exporting import (
        BY_FORMAT,
        PAIR_FORMATS,
        ExportOptions,
        ExportRefused,
        OneSidedExport,
        one_sided_warning,
        run_export,
    )

    if args.format in PAIR_FORMATS and args.min_stars is not None:
        raise CliError(f"--min-stars does not apply to {args.format}: pairs come from blind votes,"
                       " ideal answers and rating gaps (see --dpo-sources and --dpo-min-gap).", 2)
    min_stars: float | str | None = None if args.any_rating else args.min_stars
    if min_stars is None and not args.any_rating:
        min_stars = BY_FORMAT
    try:
        options = ExportOptions(
            format=args.format, filters=filters_from(args), min_stars=min_stars,
            only_ideal=args.only_ideal, only_agree=args.only_agree, exclude_ids=tuple(args.exclude),
            dedupe=args.dedupe is not None, dedupe_threshold=args.dedupe or 0.9,
            scrub_pii=args.scrub_pii, validation_fraction=args.validation, seed=args.seed,
            leakage_set_id=args.eval_set, leakage_action="warn" if args.warn_leakage else "refuse",
            dpo_sources=tuple(s.strip() for s in args.dpo_sources.split(",") if s.strip()),
            dpo_layout=args.dpo_layout, dpo_min_gap=args.dpo_min_gap,
        )
    except ValueError as exc:
        raise CliError(refusal(exc), 2) from None
    out = Path(args.out or f"exports/loupe-{args.format}.jsonl")
    store = open_store(args)
    try:
        result = run_export(store, options, out, who=args.who, refuse_one_sided=not args.write_anyway,
                            on_progress=lambda n: print(f"\r{n:,} rows", end="", file=sys.stderr))
    except OneSidedExport as exc:
        raise CliError(f"\rNothing written to {out}. {one_sided_warning(options, exc.counts, cli=True)}"
                       " (--write-anyway writes it all the same.)") from None
    except ExportRefused as exc:
        raise CliError(f"\r{exc}") from None
    finally:
        store.close()
    counts = result.counts
    print(f"\r{counts.written:,} rows written to {result.path}"
          + (f" ({counts.train:,} train, {counts.validation:,} validation)" if args.validation else ""))
    if options.dedupe:
        print(f"{counts.duplicates_dropped:,} near-duplicate questions dropped")
    if options.scrub_pii:
        print(f"{counts.pii_replacements:,} PII replacements in {counts.rows_with_pii:,} rows")
    if options.format == "kto":
        print(f"{counts.kto_true:,} labelled true, {counts.kto_false:,} labelled false")
    if counts.by_source:
        print("pairs from " + ", ".join(f"{source}: {n:,}" for source, n in counts.by_source.items()))
    if counts.dpo_identical:
        print(f"{counts.dpo_identical:,} pairs left out: the same text on both sides")
    if counts.kto_undecided:
        print(f"{counts.kto_undecided:,} items left out of KTO: their ratings say neither good nor bad"
              " (3 stars alone, reviewers cancelling out, or unrated)")
    for warning in result.warnings:
        print(f"Warning: {warning}", file=sys.stderr)
    print(f"sha256 {result.sha256}; manifest {result.path}.manifest.json")
    return 0


@command(
    "stats", "pairwise", help="win rates with intervals and a leaderboard",
    arguments=[
        arg("--json", action="store_true", help="print JSON"),
        arg("--experiment", type=int, help="only the votes of this experiment"),
        arg("--source", action="append", default=[],
            help="only votes from this source (vote, import); repeatable"),
    ],
)
def cmd_stats_pairwise(args: argparse.Namespace) -> int:
    """Print pair statistics and the Bradley-Terry leaderboard."""
    from dashboard.experiments import pairwise_report

    with open_store(args) as store:
        report = pairwise_report(store, experiment_id=args.experiment, sources=tuple(args.source))
    if args.json:
        print(json.dumps({"pairs": report["pairs"], "leaderboard": report["leaderboard"],
                          "ranking": report["ranking"],
                          "position_bias": report["position_bias"],
                          "length_bias": report["length_bias"]}))
        return 0
    if not report["pairs"]:
        print("No votes yet.")
        return 0
    for pair in report["pairs"]:
        print(f"{pair['variant_b']} vs {pair['variant_a']}: win rate {pair['b_win_rate']:.1%} "
              f"(95% {pair['ci_low']:.1%}-{pair['ci_high']:.1%}), {pair['n']} votes, "
              f"sign test p = {pair['p_value']:.3f}")
    for row in report["leaderboard"]:
        best, worst = row["rank_best"], row["rank_worst"]
        rank = f"{best}" if best == worst else f"{best}-{worst}"
        print(f"rank {rank}. {row['variant']}: {row['score']:.0f} "
              f"(95% {row['ci_low']:.0f}-{row['ci_high']:.0f})")
    print(report["ranking"]["sentence"])
    print(report["ranking"]["method"])
    return 0


@command(
    "cluster", filters=True, help="themes of low-rated questions",
    arguments=[
        arg("--json", action="store_true", help="print JSON"),
        arg("--k", type=int, help="number of themes (default: chosen automatically)"),
        arg("--seed", type=int, default=0),
        arg("--with-answers", action="store_true", help="cluster question + answer"),
        arg("--all", action="store_true", help="every matching item, not only the low-rated ones"),
        arg("--max-items", type=int, default=200_000),
        arg("--vectorizer", default="wordllama", metavar="NAME",
            help="wordllama (the embedded model, default), wordllama+tfidf, tfidf, "
                 "ollama:MODEL (an Ollama embedding model such as bge-m3), or "
                 "openai:ENDPOINT:MODEL (an embedding model on a configured "
                 "OpenAI-compatible endpoint, e.g. openai:default:bge-m3)"),
        arg("--name-with", metavar="MODEL",
            help="names written by a chat model: auto, embedded or ollama:MODEL "
                 "(replies that do not read as names keep the phrase names)"),
        arg("--save", metavar="NAME", help="save the themes as a run to follow week by week"),
    ],
)
def cmd_cluster(args: argparse.Namespace) -> int:
    """Print the themes of (low-rated) questions, and the latest saved run week by week."""
    import os

    from dashboard.embedding import EmbeddingUnavailable
    from dashboard.llm import BackendError
    from dashboard.theme_runs import cluster_command

    store = open_store(args)
    try:
        report = cluster_command(
            store, filters_from(args), k=args.k, seed=args.seed, with_answers=args.with_answers,
            vectorizer=args.vectorizer, low_rated=not args.all, max_items=args.max_items,
            name_with=args.name_with, save_as=" ".join((args.save or "").split()) or None,
            created_by=os.environ.get("USER"),
        )
    except (ValueError, BackendError, EmbeddingUnavailable) as exc:
        raise CliError(as_sentence(exc)) from None
    finally:
        store.close()
    if args.json:
        print(json.dumps(report, default=str))
        return 0
    print(f"{report['n_items']:,} items in {len(report['clusters'])} themes")
    for cluster in report["clusters"]:
        stars = "" if cluster["mean_stars"] is None else f", mean {cluster['mean_stars']:.1f} stars"
        saved = f" (continues “{cluster['saved_theme']['name']}”)" if cluster.get("saved_theme") else ""
        print(f"- {cluster['name']}: {cluster['size']:,} items{stars}{saved}")
    if report.get("saved_run"):
        print(f"Saved as run #{report['saved_run']['id']} “{report['saved_run']['name']}”.")
    return 0


class PasswordError(CliError):
    """A password that cannot be read or used (a misuse: exit code 2)."""

    def __init__(self, sentence: str) -> None:
        super().__init__(sentence, 2)


def _read_password(args: argparse.Namespace, name: str) -> str:
    """The new password: one line of stdin with --password-stdin, else typed twice on the
    terminal without echo. A password given on the command line is refused: other users see
    it in the process list and it stays in the shell's history."""
    import getpass

    if args.password is not None:
        raise PasswordError("A password on the command line is visible to other users and kept "
                            "in your shell history: leave --password out to type it at a prompt,"
                            " or pipe it in with --password-stdin.")
    if args.password_stdin:
        line = sys.stdin.readline() if sys.stdin else ""
        return line.removesuffix("\n").removesuffix("\r")
    if sys.stdin is None or not sys.stdin.isatty():
        raise PasswordError("No terminal to type the password at: pipe it in with "
                            "--password-stdin.")
    password = getpass.getpass(f"Password for {name}: ")
    if getpass.getpass("The same password again: ") != password:
        raise PasswordError("The two passwords differ: run the command again.")
    return password


@command(
    "users", "add", help="create an account",
    arguments=[
        arg("name"),
        arg("--role", required=True, choices=ROLES),
        arg("--password-stdin", action="store_true",
            help="read the password from the first line of standard input "
                 "(default: asked twice on the terminal, not shown)"),
        arg("--password", help=argparse.SUPPRESS),  # refused: see _read_password
        arg("--email", help="to sign in with the identity provider ([auth] in "
                            ".streamlit/secrets.toml); then no password is asked"),
    ],
)
def cmd_users_add(args: argparse.Namespace) -> int:
    """Create an account (the first one turns sign-in on)."""
    from dashboard.auth import hash_password

    hashed = None
    if args.password is not None or args.password_stdin or not args.email:
        try:
            hashed = hash_password(_read_password(args, args.name))
        except ValueError as exc:
            raise CliError(refusal(exc), 2) from None
    with open_store(args) as store:
        first = store.users.user_count() == 0
        if first and args.role != "admin":
            raise CliError("The first account must be an admin, so that someone can manage the"
                           " others.")
        try:
            store.users.add_user(args.name, args.role, hashed, email=args.email)
        except ValueError as exc:
            raise CliError(refusal(exc)) from None
    print(f"Added {args.name} ({args.role})."
          + (" From now on everyone signs in to the dashboard." if first else ""))
    return 0


@command("users", "list", help="list accounts")
def cmd_users_list(args: argparse.Namespace) -> int:
    """List accounts: name, role, email, how many sessions are signed in, created."""
    with open_store(args) as store:
        users = store.users.list_users()
    if not users:
        print("No accounts: Loupe runs in local single-user mode.")
    for user in users:
        print(f"{user['name']}\t{user['role']}\t{user['email'] or '-'}\t"
              f"{user['sessions']} signed in\t{user['created_at']}")
    return 0


@command("users", "remove", help="delete an account", arguments=[arg("name")])
def cmd_users_remove(args: argparse.Namespace) -> int:
    """Delete an account and end its sessions (its ratings stay)."""
    with open_store(args) as store:
        try:
            removed = store.users.remove_user(args.name)
        except ValueError as exc:
            raise CliError(refusal(exc)) from None
        left = store.users.user_count()
    if not removed:
        print(f"No account named {args.name}.")
        return 1
    print(f"Removed {args.name}; signed out everywhere."
          + ("" if left else " No account is left: Loupe is back in local single-user mode."))
    return 0


@command(
    "tokens", "add", help="create a token",
    arguments=[
        arg("name"),
        arg("--rate", default="60/minute", help="e.g. 5/minute (default 60/minute)"),
        arg("--scope", action="append", metavar="SCOPE",
            help="what the token may do, repeat or separate by commas: "
                 + "; ".join(f"{name}: {allows}" for name, allows in SCOPES.items())
                 + f"; default {', '.join(DEFAULT_SCOPES)}"),
    ],
)
def cmd_tokens_add(args: argparse.Namespace) -> int:
    """Create an API token and print it once."""
    from dashboard.auth import new_token, token_digest
    from dashboard.ratelimit import parse_rate
    from dashboard.scopes import DEFAULT, parse_scopes

    try:
        parse_rate(args.rate)
        scopes = parse_scopes(args.scope or DEFAULT)
    except ValueError as exc:
        raise CliError(refusal(exc), 2) from None
    token = new_token()
    with open_store(args) as store:
        store.users.add_token(args.name, token_digest(token), args.rate, None, scopes)
    print(token)
    print(f"Keep this token for '{args.name}' ({' '.join(scopes)}) now: it is stored only as a"
          " digest and never shown again.", file=sys.stderr)
    return 0


@command("tokens", "list", help="list tokens (never the tokens themselves)")
def cmd_tokens_list(args: argparse.Namespace) -> int:
    """List API tokens: id, name, rate, created by, created, last used, revoked, scopes."""
    with open_store(args) as store:
        tokens = store.users.list_tokens()
    if not tokens:
        print("No API token yet: create one with `python -m dashboard tokens add NAME`.")
    for token in tokens:
        print("\t".join([str(token[k] or "-") for k in (
            "id", "name", "rate", "created_by", "created_at", "last_used_at", "revoked_at")]
            + [",".join(token["scopes"])]))
    return 0


@command("tokens", "revoke", help="revoke a token", arguments=[arg("id", type=int)])
def cmd_tokens_revoke(args: argparse.Namespace) -> int:
    """Revoke an API token."""
    with open_store(args) as store:
        revoked = store.users.revoke_token(args.id)
    print(f"Revoked token {args.id}." if revoked else f"No live token with id {args.id}.")
    return 0 if revoked else 1


@command(
    "api", help="serve the feedback collection API (FastAPI)",
    arguments=[
        arg("--host", default="127.0.0.1"),
        arg("--port", type=int, default=8000),
        arg("--max-body", type=int, default=1_000_000, help="bytes (default 1,000,000)"),
    ],
)
def cmd_api(args: argparse.Namespace) -> int:
    """Serve the feedback collection API with uvicorn."""
    import uvicorn

    from dashboard.api import create_app

    store = open_store(args)
    if not store.users.list_tokens():
        print("No API token yet: create one with `python -m dashboard tokens add NAME`.",
              file=sys.stderr)
    uvicorn.run(create_app(store, max_body=args.max_body), host=args.host, port=args.port)
    return 0


@contextlib.contextmanager
def _terminate_as_interrupt():
    """SIGTERM (and SIGHUP) raise KeyboardInterrupt while the block runs, so it cleans up."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signals = [getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)]
    try:
        previous = {sig: signal.signal(sig, interrupt) for sig in signals}
    except ValueError:  # not the main thread: signals stay as they are
        previous = {}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@command("backup", help="copy the database while it is in use (one checked snapshot)",
         arguments=[arg("out", metavar="OUT")])
def cmd_backup(args: argparse.Namespace) -> int:
    """Copy one snapshot of the database, check it, and give it its name only then."""
    bar = ProgressBar()

    def progress(done: int, total: int) -> None:
        bar(done, done * 4096, total * 4096, label="Backing up", unit="pages")

    store = open_store(args)
    try:
        with _terminate_as_interrupt():
            info = store.backup(args.out, progress=progress)
    except (ValueError, RuntimeError) as exc:
        bar.clear()
        raise CliError(f"Nothing was written: {exc}.") from None
    except sqlite3.Error as exc:
        bar.clear()
        raise CliError(f"Nothing was written: the database could not be copied ({exc}).") from None
    except KeyboardInterrupt:
        bar.clear()
        raise CliError(f"Backup interrupted: nothing was written to {args.out}.", 130) from None
    finally:
        store.close()
    bar.clear()
    print(f"Backed up {info['interactions']:,} interactions to {info['path']} "
          f"({info['bytes'] / 1e6:,.1f} MB, integrity checked, {info['seconds']:.1f} s).")
    return 0


RESTORE_WARNING = (
    "Restoring replaces everything in {db} with the content of {backup}: whatever was written"
    " after that backup was taken is gone. Everyone is signed out; API tokens revoked since stay"
    " revoked and tokens created since stay valid; accounts and passwords are the backup's."
)


@command(
    "restore", help="replace the database with a backup (checked first)",
    description="Replace everything in the database with a backup. Writes made after the"
    " backup was taken are gone; everyone is signed out; revoked API tokens stay revoked.",
    arguments=[
        arg("source", metavar="BACKUP"),
        arg("--yes", action="store_true",
            help="go ahead without asking (required when not on a terminal)"),
    ],
)
def cmd_restore(args: argparse.Namespace) -> int:
    """Replace the database's content with a backup after checking it (asks first)."""
    target = args.db or default_db_path()
    warning = RESTORE_WARNING.format(db=target, backup=args.source)
    if not args.yes:
        if sys.stdin is None or not sys.stdin.isatty():
            raise CliError(f"{warning} Run again with --yes to go ahead. Nothing was changed.", 2)
        answer = input(f"{warning}\nReplace everything in {target}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("Nothing was changed.")
            return 1
    store = open_store(args)
    try:
        with _terminate_as_interrupt():
            info = store.restore_from(args.source)
    except ValueError as exc:
        raise CliError(f"Nothing was changed: {exc}.") from None
    except sqlite3.Error as exc:
        raise CliError(f"Nothing was changed: the database refused the restore ({exc}).") from None
    except KeyboardInterrupt:
        raise CliError("Restore interrupted: nothing was changed.", 130) from None
    finally:
        store.close()
    print(f"Restored {info['interactions']:,} interactions from {args.source} into {target}."
          " Everyone is signed out; whatever was written after the backup was taken is gone.")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CliError as exc:
        print(exc.sentence, file=sys.stderr)
        return exc.code


if __name__ == "__main__":
    sys.exit(main())
