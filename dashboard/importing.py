"""Import feedback files through one pipeline: every format, the same checks and the same rules.

A file's container (JSON lines, a JSON array, CSV with a header, Parquet) is read from its
content; its format (dashboard.formats.registry: Loupe interactions, pairwise votes, Hugging
Face / TRL datasets, OpenAI preference data, Open WebUI's feedback export, OpenTelemetry spans)
is recognised from its first record or forced by name. Every record is checked, then the file
lands whole or not at all (``skip_invalid`` lands the valid records and keeps the refused ones).
Refusals name the line: physical lines counted from 1 (a CSV's header is line 1); in a JSON
array the line where the item starts; in Parquet the row number.
"""

from __future__ import annotations

import base64
import csv
import io
import itertools
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

from dashboard.formats import checks
from dashboard.formats.checks import (  # noqa: F401  (the names importers of this module use)
    DEFAULT_REVIEWER,
    FIELD_LIMIT,
    Bad,
    content_hash,
)
from dashboard.formats.loupe import QUESTION_NAMES
from dashboard.formats.loupe import interaction as _interaction
from dashboard.formats.registry import (
    CONTAINER_NAMES,
    CSV,
    JSON_ARRAY,
    JSONL,
    NAMES,
    PARQUET,
    Format,
    recognise,
)
from dashboard.formats.registry import (
    FORMATS as REGISTRY,
)
from store.ingest import ImportRow, ImportTotals, ImportVote

if TYPE_CHECKING:
    from store import Store

LINE_LIMIT = 16 * FIELD_LIMIT  # bytes in one physical line; longer lines are refused unread
ARRAY_LIMIT = 1024 * 1024 * 1024  # bytes of a file holding one JSON array (read whole)
BATCH = 5_000
KEEP_REFUSALS = 1_000  # refusals kept in the report; every one still reaches on_refused
RAW_KEEP = 10_000  # characters of a too-long line kept in the refusal
PARQUET_BATCH = 2_000  # rows read from a Parquet file at a time
FORMATS = NAMES

Progress = Callable[[int, int, int], None]  # (records read, bytes read, bytes in the file)
_Bad = Bad


def normalize_time(value: Any) -> str | None:
    """ISO 8601 text as stored UTC text (see dashboard.formats.checks.normalize_time)."""
    return checks.normalize_time(value)


def check_record(obj: Any) -> ImportRow:
    """One Loupe interaction record as a checked ImportRow; raise ValueError with the reason."""
    try:
        return _interaction(obj)
    except Bad as bad:
        raise ValueError(str(bad)) from None


class ImportProblem(ValueError):
    """A problem with the request or the whole file, told in one sentence.

    ``usage`` is True when the request itself is wrong (unknown or unsupported format, no such
    file), False when the file's content is.
    """

    def __init__(self, message: str, *, usage: bool = True) -> None:
        super().__init__(message)
        self.usage = usage


@dataclass(frozen=True)
class Refusal:
    """A refused line: its 1-based physical line number (0: the whole file) and why."""

    line: int
    reason: str
    raw: str = ""
    raw_bytes: bytes | None = None  # the original bytes when they are not valid UTF-8
    truncated: bool = False

    def as_record(self) -> dict[str, Any]:
        """The line of the rejected-lines JSONL file that keeps this refusal and its text."""
        record: dict[str, Any] = {"line": self.line, "reason": self.reason, "raw": self.raw}
        if self.raw_bytes is not None:
            record["raw_base64"] = base64.b64encode(self.raw_bytes).decode("ascii")
        if self.truncated:
            record["truncated"] = True
        return record

    def where(self, name: str) -> str:
        """``FILE:LINE: reason`` (``FILE: reason`` for the whole file)."""
        return f"{name}:{self.line}: {self.reason}" if self.line else f"{name}: {self.reason}"


@dataclass
class ImportReport:
    """What an import did, in numbers a person can read."""

    name: str
    format: str = "jsonl"
    skip_invalid: bool = False
    records: int = 0  # non-blank lines (CSV: rows)
    imported: int = 0  # records that added an interaction or a rating
    already_present: int = 0
    refused: int = 0
    refusals: list[Refusal] = field(default_factory=list)  # the first KEEP_REFUSALS
    fatal: Refusal | None = None  # a problem with the whole file: nothing lands
    committed: bool = False
    rejected_path: str | None = None
    totals: ImportTotals = field(default_factory=ImportTotals)
    votes_imported: int = 0
    votes_present: int = 0
    rows_seen: int = 0  # interaction records read (votes aside)
    empty: int = 0  # records holding nothing to import (spans that are not model calls)

    @property
    def valid(self) -> int:
        """Records that passed every check."""
        return self.records - self.refused

    def summary(self) -> str:
        """``1,234 imported, 12 already present`` (what landed; votes are counted as votes)."""
        if not self.rows_seen and (self.votes_imported or self.votes_present):
            return f"{self.votes_imported:,} votes imported, {self.votes_present:,} already present"
        text = f"{self.imported:,} imported, {self.already_present:,} already present"
        if self.empty:
            text += f"; {_count(self.empty, 'line')} without a model call passed over"
        return text

    def details(self) -> str:
        """The rows created, by table."""
        t = self.totals
        parts = [
            _count(t.interactions, "interaction"),
            _count(t.ratings, "rating"),
            _count(t.conversations, "conversation"),
        ]
        if t.votes:
            parts.append(_count(t.votes, "vote"))
        if t.variants:
            parts.append(_count(t.variants, "new variant"))
        return "New rows: " + ", ".join(parts) + "."

    def closing(self, skip_hint: str | None = None) -> str:
        """The last sentence: what happened and, when nothing landed, how to proceed.

        ``skip_hint`` says how to land the valid lines alone (default: the CLI option).
        """
        if self.fatal is not None:
            return "Nothing was imported."
        if not self.committed:
            lines = "line" if self.valid == 1 else "lines"
            if not self.valid:
                return (
                    f"Nothing was imported: {'the' if self.records == 1 else 'all'}"
                    f" {_count(self.records, 'line')} {'was' if self.records == 1 else 'were'}"
                    " refused. Fix them and import again."
                )
            if skip_hint is None:
                skip_hint = (
                    f"import with --skip-invalid to land the {self.valid:,} valid {lines} and"
                    f" keep the refused ones in {Path(self.name).name}.rejected.jsonl"
                )
            return (
                f"Nothing was imported: {self.refused:,} of {_count(self.records, 'line')}"
                f" {'was' if self.refused == 1 else 'were'} refused. Fix"
                f" {'it' if self.refused == 1 else 'them'} and import again, or {skip_hint}."
            )
        text = self.summary()
        if self.refused:
            text += f"; {_count(self.refused, 'refused line')}"
            if self.rejected_path:
                text += f" written to {self.rejected_path}"
        return text + "."


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


# -- reading files -----------------------------------------------------------------------------


class _Counter:
    """Bytes read so far (shared with the progress callback)."""

    def __init__(self) -> None:
        self.bytes = 0


# One item per record: (line, raw text, parsed object or None, refusal reason or None, raw bytes
# when not valid UTF-8, truncated).
_Item = tuple[int, str, Any, "str | None", "bytes | None", bool]


def _physical_lines(stream: IO[bytes], counter: _Counter) -> Iterator[tuple[int, bytes, bool]]:
    """(line number, bytes, too long) for each physical line; too-long lines are cut."""
    readline = stream.readline
    for number in itertools.count(1):
        raw = readline(LINE_LIMIT + 1)
        if not raw:
            return
        counter.bytes += len(raw)
        too_long = len(raw) > LINE_LIMIT and not raw.endswith(b"\n")
        if too_long:
            while not raw.endswith(b"\n"):  # skip the rest of the line, bounded memory
                rest = readline(LINE_LIMIT)
                if not rest:
                    break
                counter.bytes += len(rest)
                raw = raw[:RAW_KEEP] + rest[-1:]
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        yield number, raw, too_long


def _decode(raw: bytes) -> tuple[str, str | None]:
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        column = len(raw[: exc.start].decode("utf-8", "replace")) + 1
        reason = f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column {column})"
        return raw.decode("utf-8", "replace"), reason


def _too_long_reason() -> str:
    limit = LINE_LIMIT
    size = f"{limit // 1_048_576} MB" if limit % 1_048_576 == 0 else f"{limit:,} bytes"
    return f"the line is longer than {size}"


def _jsonl_items(stream: IO[bytes], counter: _Counter) -> Iterator[_Item]:
    loads = json.loads
    for number, raw, too_long in _physical_lines(stream, counter):
        if too_long:
            text = raw[:RAW_KEEP].decode("utf-8", "replace")
            yield number, text, None, _too_long_reason(), None, True
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text, reason = _decode(raw)
            yield number, text.rstrip("\r\n"), None, reason, raw.rstrip(b"\r\n"), False
            continue
        if not text.strip():
            continue
        try:
            obj = loads(text)
        except ValueError:
            text = text.rstrip("\r\n")
            yield number, text, None, _json_problem(text), None, False
            continue
        except RecursionError:
            yield number, text.rstrip("\r\n"), None, "not valid JSON (nested too deeply)", None, False
            continue
        if "\\ud" in text or "\\uD" in text:  # an escaped surrogate: is it paired?
            try:
                json.dumps(obj, ensure_ascii=False).encode("utf-8")
            except UnicodeEncodeError:
                reason = "holds an unpaired surrogate escape (\\ud800-\\udfff), which is not text"
                yield number, text.rstrip("\r\n"), None, reason, None, False
                continue
        yield number, text, obj, None, None, False


def _json_problem(text: str) -> str:
    """Why a line is not JSON, with the column."""
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        message = exc.msg[:-3] if exc.msg.endswith(" at") else exc.msg
        return f"not valid JSON ({message} at column {exc.colno})"
    except ValueError as exc:
        return f"not valid JSON ({exc})"
    return "not valid JSON"


def _sniff_delimiter(header: str) -> str:
    if "," in header:
        return ","
    for candidate in (";", "\t"):
        if candidate in header:
            return candidate
    return ","


def _csv_items(stream: IO[bytes], counter: _Counter, header_out: list[str]) -> Iterator[_Item]:
    pending: list[tuple[int, str, bytes, str | None]] = []  # physical lines of the current row

    def texts() -> Iterator[str]:
        for number, raw, too_long in _physical_lines(stream, counter):
            text, reason = _decode(raw)
            if too_long:
                text, reason = text[:RAW_KEEP], _too_long_reason()
            pending.append((number, text, raw, reason))
            yield text

    def take() -> tuple[int, str, bytes | None, str | None, bool]:
        lines = pending[:]
        pending.clear()
        if not lines:
            return 0, "", None, None, False
        raw_text = "".join(t for _, t, _, _ in lines).rstrip("\r\n")
        problems = [(n, r) for n, _, _, r in lines if r is not None]
        reason = None
        raw_bytes = None
        if problems:
            n, r = problems[0]
            reason = r if n == lines[0][0] else f"line {n}: {r}"
            if "UTF-8" in r:
                raw_bytes = b"".join(b for _, _, b, _ in lines).rstrip(b"\r\n")
        truncated = any(r is not None and "longer than" in r for _, _, _, r in lines)
        return lines[0][0], raw_text, raw_bytes, reason, truncated

    source = texts()
    first = next(source, None)
    if first is None:
        return
    reader = csv.reader(itertools.chain([first], source), delimiter=_sniff_delimiter(first))
    try:
        header = next(reader)
    except csv.Error as exc:
        raise _FileRefused(1, f"the header is not valid CSV ({exc})") from None
    _, _, _, reason, _ = take()
    if reason is not None:
        raise _FileRefused(1, reason)
    columns = [name.strip().lower() for name in header]
    seen: set[str] = set()
    for name in columns:
        if name in seen and name:
            raise _FileRefused(1, f"the header names the column {name!r} twice")
        seen.add(name)
    header_out.extend(columns)
    width = len(columns)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            line, raw_text, raw_bytes, reason, truncated = take()
            yield line, raw_text, None, reason or f"not valid CSV ({exc})", raw_bytes, truncated
            continue
        line, raw_text, raw_bytes, reason, truncated = take()
        blank = not row or (len(row) == 1 and not row[0].strip() and "\n" not in row[0])
        if blank and reason is None:
            continue  # a blank line
        if reason is None and len(row) != width:
            reason = f"has {_count(len(row), 'cell')} but the header has {width}"
            if "\n" in raw_text and len(row) < width:
                reason += " (a quote may be left open)"
        if reason is not None:
            yield line, raw_text, None, reason, raw_bytes, truncated
            continue
        yield line, raw_text, {k: v for k, v in zip(columns, row) if v != "" and k}, None, None, False


class _FileRefused(Exception):
    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.refusal = Refusal(line, reason)




def _array_items(stream: IO[bytes], counter: _Counter) -> Iterator[_Item]:
    """Items of a file holding one JSON array (Open WebUI's export), each with its line."""
    data = stream.read(ARRAY_LIMIT + 1)
    counter.bytes += len(data)
    if len(data) > ARRAY_LIMIT:
        raise _FileRefused(0, f"the JSON array is larger than {ARRAY_LIMIT // 1_048_576:,} MB;"
                              " split it into smaller files")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _FileRefused(0, _decode(data)[1] or "not valid UTF-8") from None
    decoder = json.JSONDecoder()
    position = len(text) - len(text.lstrip())
    if not text[position:].startswith("["):
        raise _FileRefused(1, "not a JSON array")
    position += 1
    line = 1 + text.count("\n", 0, position)
    counted = position
    index = 0
    while True:
        while position < len(text) and text[position] in " \t\r\n":
            position += 1
        if position >= len(text):
            raise _FileRefused(line, "the JSON array is not closed (the file may be cut short)")
        if text[position] == "]":
            return
        if index:
            if text[position] != ",":
                raise _FileRefused(1 + text.count("\n", 0, position),
                                   f"not valid JSON (a comma is missing after item {index})")
            position += 1
            while position < len(text) and text[position] in " \t\r\n":
                position += 1
        line += text.count("\n", counted, position)
        counted = position
        index += 1
        try:
            obj, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            raise _FileRefused(exc.lineno, f"not valid JSON ({exc.msg} at column {exc.colno})") from None
        except RecursionError:
            raise _FileRefused(line, "not valid JSON (nested too deeply)") from None
        yield line, text[position:end], _Numbered(index, obj), None, None, False
        position = end


@dataclass
class _Numbered:
    """An item of a JSON array with its place (refusals say 'item N')."""

    index: int
    obj: Any


def _plain(value: Any) -> Any:
    """A value read from Parquet as JSON-ready Python (times as ISO text)."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _parquet_items(stream: IO[bytes], counter: _Counter, total: int) -> Iterator[_Item]:
    """One item per row of a Parquet file (the row number stands for the line)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(stream)
    except (pa.ArrowException, OSError) as exc:
        raise _FileRefused(0, f"not a readable Parquet file ({exc})") from None
    rows = parquet.metadata.num_rows or 1
    number = 0
    try:
        for batch in parquet.iter_batches(batch_size=PARQUET_BATCH):
            for row in batch.to_pylist():
                number += 1
                obj = {k: _plain(v) for k, v in row.items() if v is not None}
                raw = json.dumps(obj, ensure_ascii=False, default=str)
                counter.bytes = int(total * number / rows)
                yield number, raw, obj, None, None, False
    except (pa.ArrowException, OSError) as exc:
        raise _FileRefused(number + 1, f"the Parquet file cannot be read here ({exc})") from None


# -- container and format ------------------------------------------------------------------------


def _peek(stream: IO[bytes], size: int = 65_536) -> bytes:
    position = stream.tell()
    head = stream.read(size)
    stream.seek(position)
    return head


def container_of(name: str, head: bytes, forced: str = "auto") -> str:
    """How the file is written: jsonl, json (one array), csv or parquet; from its content."""
    if head.startswith(b"PAR1"):
        return PARQUET
    if forced == "csv":
        return CSV
    if forced == "jsonl":
        return JSONL
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if start.startswith(b"["):
        return JSON_ARRAY
    suffix = Path(name).suffix.lower()
    if start.startswith(b"{") or not start:
        return JSONL
    if suffix in (".csv", ".tsv") or _csv_header(start):
        return CSV
    if suffix in (".jsonl", ".ndjson", ".json"):
        return JSONL
    if forced not in ("auto", None):
        return CSV if CSV in REGISTRY[forced].containers else JSONL
    raise ImportProblem(
        f"Cannot tell whether {Path(name).name} is JSONL or CSV: name it .jsonl or .csv,"
        " or pass --format jsonl or --format csv."
    )


def detect_format(name: str, fmt: str, head: bytes) -> str:
    """The container of a file (jsonl, json, csv or parquet); raise ImportProblem when the
    requested format is unknown or cannot be written that way."""
    fmt = (fmt or "auto").lower()
    if fmt not in NAMES:
        raise ImportProblem(f"Unknown format {fmt!r}: choose one of {', '.join(NAMES)}.")
    container = container_of(name, head, fmt)
    if fmt != "auto" and container not in REGISTRY[fmt].containers:
        written = " or ".join(CONTAINER_NAMES[c] for c in REGISTRY[fmt].containers)
        raise ImportProblem(
            f"{Path(name).name} is {CONTAINER_NAMES[container]}, but {REGISTRY[fmt].title} is"
            f" written as {written}: check the file, or leave --format out to detect it."
        )
    return container


def _csv_header(start: bytes) -> bool:
    line = start.split(b"\n", 1)[0].decode("utf-8", "replace").lower()
    cells = {c.strip().strip('"') for c in line.replace(";", ",").replace("\t", ",").split(",")}
    return bool(cells & {*QUESTION_NAMES, "answer_a", "chosen", "completion"})


# -- the import ----------------------------------------------------------------------------------


class _Rollback(Exception):
    """Leave the import transaction without committing."""


@dataclass
class _Batch:
    rows: list[ImportRow] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    raws: list[str] = field(default_factory=list)
    items: list[int] = field(default_factory=list)  # which record of the file each row is from
    votes: list[ImportVote] = field(default_factory=list)
    vote_lines: list[int] = field(default_factory=list)
    vote_raws: list[str] = field(default_factory=list)
    vote_items: list[int] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    records: int = 0
    added_lines: dict[int, int] = field(default_factory=dict)  # line -> records it holds
    empty: int = 0  # records that hold nothing to import (spans that are not model calls)
    bytes_read: int = 0
    fatal: Refusal | None = None


def _batches(items: Iterator[_Item], counter: _Counter, parse: Callable[[Any], list[Any]]) -> Iterator[_Batch]:
    batch = _Batch()
    positions: dict[str, int] = {}
    sequence = 0
    try:
        for line, raw, obj, reason, raw_bytes, truncated in items:
            batch.records += 1
            sequence += 1
            records: list[Any] = []
            if reason is None:
                numbered = isinstance(obj, _Numbered)
                try:
                    records = parse(obj.obj if numbered else obj)
                except Bad as bad:
                    reason = f"item {obj.index}: {bad}" if numbered else str(bad)
                except RecursionError:
                    reason = "nested too deeply"
            if reason is not None:
                batch.refusals.append(Refusal(line, reason, raw.rstrip("\r\n"), raw_bytes, truncated))
            elif not records:
                batch.empty += 1
            for record in records:
                if isinstance(record, ImportVote):
                    batch.votes.append(record)
                    batch.vote_lines.append(line)
                    batch.vote_raws.append(raw)
                    batch.vote_items.append(sequence)
                    continue
                key = record.conversation_key
                if key is not None:
                    positions[key] = position = positions.get(key, 0) + 1
                    record = record._replace(position=position)
                batch.rows.append(record)
                batch.lines.append(line)
                batch.raws.append(raw)
                batch.items.append(sequence)
            if batch.records >= BATCH:
                batch.bytes_read = counter.bytes
                yield batch
                batch = _Batch()
    except _FileRefused as refused:
        batch.fatal = refused.refusal
    batch.bytes_read = counter.bytes
    yield batch


def _open_items(
    container: str, stream: IO[bytes], counter: _Counter, total: int, header: list[str]
) -> Iterator[_Item]:
    if container == CSV:
        return _csv_items(stream, counter, header)
    if container == JSON_ARRAY:
        return _array_items(stream, counter)
    if container == PARQUET:
        return _parquet_items(stream, counter, total)
    return _jsonl_items(stream, counter)


def _choose(
    container: str, fmt: str, items: Iterator[_Item], header: list[str]
) -> tuple[Format, Iterator[_Item]]:
    """The format (forced, or recognised from the first record) and the items, unread."""
    peeked: list[_Item] = []
    fatal: _FileRefused | None = None
    first: Any = None
    try:
        for item in items:
            peeked.append(item)
            if item[2] is not None:
                first = item[2].obj if isinstance(item[2], _Numbered) else item[2]
                break
            if len(peeked) >= 100:
                break
    except _FileRefused as refused:
        fatal = refused
    chosen = REGISTRY[fmt] if fmt != "auto" else recognise(container, first)
    if container == CSV and chosen.name == "csv" and header and fatal is None and not any(
        name in QUESTION_NAMES for name in header
    ):
        fatal = _FileRefused(
            1, "the header has no question column (question, input or prompt is required)"
        )

    def chained() -> Iterator[_Item]:
        yield from peeked
        if fatal is not None:
            raise fatal
        yield from items

    return chosen, chained()


def import_stream(
    store: Store,
    stream: IO[bytes],
    name: str,
    *,
    fmt: str = "auto",
    skip_invalid: bool = False,
    progress: Progress | None = None,
    on_refused: Callable[[Refusal], None] | None = None,
    total_bytes: int | None = None,
    source: str = "import",
) -> ImportReport:
    """Import a binary stream named ``name`` in any registered format; return the report.

    All or nothing unless ``skip_invalid``: one refused line and nothing lands. Every refusal
    reaches ``on_refused`` in line order; ``progress`` hears (records, bytes read, bytes total)
    after each batch. Raises ImportProblem when the request itself cannot be served.
    """
    head = _peek(stream)
    container = detect_format(name, fmt, head)
    if total_bytes is None:
        position = stream.tell()
        total_bytes = stream.seek(0, 2) - position
        stream.seek(position)
    counter = _Counter()
    header: list[str] = []
    chosen, items = _choose(
        container, (fmt or "auto").lower(),
        _open_items(container, stream, counter, total_bytes, header), header,
    )
    report = ImportReport(name=name, format=chosen.name, skip_invalid=skip_invalid)

    def refuse(refusal: Refusal) -> None:
        report.refused += 1
        if len(report.refusals) < KEEP_REFUSALS:
            report.refusals.append(refusal)
        if on_refused is not None:
            on_refused(refusal)

    try:
        with store.ingest.import_session(source, _estimate_records(head, total_bytes)) as session:
            for batch in _batches(items, counter, chosen.parse):
                report.records += batch.records
                report.empty += batch.empty
                refusals = batch.refusals
                added: dict[int, bool] = {}  # record of the file -> whether it added something
                refused_items: set[int] = set()
                for kind, records, lines, raws, numbers in (
                    ("rows", batch.rows, batch.lines, batch.raws, batch.items),
                    ("votes", batch.votes, batch.vote_lines, batch.vote_raws, batch.vote_items),
                ):
                    if not records:
                        continue
                    outcome = (session.add(cast(list[ImportRow], records), lines) if kind == "rows"
                               else session.add_votes(cast(list[ImportVote], records), lines))
                    for index, reason in outcome.conflicts:
                        if numbers[index] not in refused_items:
                            refused_items.add(numbers[index])
                            refusals.append(Refusal(lines[index], reason, raws[index].rstrip("\r\n")))
                    conflicted = {i for i, _ in outcome.conflicts}
                    for index, number in enumerate(numbers):
                        if index not in conflicted:
                            added[number] = added.get(number, False) or index in outcome.added_at
                    if kind == "votes":
                        report.votes_imported += outcome.added
                        report.votes_present += outcome.present
                    else:
                        report.rows_seen += len(records)
                for number, did in added.items():
                    if number in refused_items:
                        continue
                    if did:
                        report.imported += 1
                    else:
                        report.already_present += 1
                if refused_items:
                    refusals.sort(key=lambda r: r.line)
                for refusal in refusals:
                    refuse(refusal)
                if progress is not None:
                    progress(report.records, batch.bytes_read, total_bytes)
                if batch.fatal is not None:
                    report.fatal = batch.fatal
            if report.fatal is None and report.records == 0:
                report.fatal = Refusal(0, _empty_reason(container, head))
            if report.fatal is not None and on_refused is not None:
                on_refused(report.fatal)
            if report.fatal is not None or (report.refused and not skip_invalid):
                raise _Rollback
            report.totals = session.totals
    except _Rollback:
        report.imported = report.already_present = 0
        report.votes_imported = report.votes_present = 0
    else:
        report.committed = True
    return report


def _estimate_records(head: bytes, total_bytes: int) -> int:
    """About how many lines a file of ``total_bytes`` holds, from its first bytes."""
    lines = head.count(b"\n")
    if not lines:
        return 1 if total_bytes else 0
    return int(total_bytes / (len(head[: head.rfind(b"\n") + 1]) / lines))


def _empty_reason(container: str, head: bytes) -> str:
    if not head:
        return "the file is empty: there is nothing to import"
    if container == CSV and head.strip():
        return "the file has a header but no rows: there is nothing to import"
    if container == JSON_ARRAY:
        return "the JSON array is empty: there is nothing to import"
    if container == PARQUET:
        return "the Parquet file has no rows: there is nothing to import"
    return "the file holds only blank lines: there is nothing to import"


def rejected_path_for(path: str | Path) -> Path:
    """Where --skip-invalid keeps the refused lines of ``path``: ``FILE.rejected.jsonl`` beside it."""
    path = Path(path)
    return path.with_name(path.name + ".rejected.jsonl")


def write_rejected(refusals: Iterable[Refusal], out: IO[bytes]) -> int:
    """Write refusals as JSONL (line, reason, raw text); return how many."""
    count = 0
    for refusal in refusals:
        out.write(json.dumps(refusal.as_record(), ensure_ascii=False).encode("utf-8") + b"\n")
        count += 1
    return count


def import_file(
    store: Store,
    path: str | Path,
    *,
    fmt: str = "auto",
    skip_invalid: bool = False,
    progress: Progress | None = None,
    on_refused: Callable[[Refusal], None] | None = None,
) -> ImportReport:
    """Import one file in any registered format; with ``skip_invalid`` refused lines go to
    FILE.rejected.jsonl."""
    path = Path(path)
    if not path.is_file():
        raise ImportProblem(f"No such file: {path}.")
    rejected_path = rejected_path_for(path)
    rejected: IO[bytes] | None = None

    def keep(refusal: Refusal) -> None:
        nonlocal rejected
        if skip_invalid and refusal.line:
            if rejected is None:
                rejected = rejected_path.open("wb")
            write_rejected([refusal], rejected)
        if on_refused is not None:
            on_refused(refusal)

    try:
        with path.open("rb") as stream:
            report = import_stream(
                store, stream, str(path), fmt=fmt, skip_invalid=skip_invalid,
                progress=progress, on_refused=keep,
            )
    finally:
        if rejected is not None:
            rejected.close()
    if rejected is not None and report.committed:
        report.rejected_path = str(rejected_path)
    elif rejected is not None:
        rejected_path.unlink(missing_ok=True)  # nothing landed: the refused lines are not apart
    return report


def import_bytes(store: Store, data: bytes, name: str, **options: Any) -> ImportReport:
    """Import an in-memory file (an upload, a request body)."""
    return import_stream(store, io.BytesIO(data), name, total_bytes=len(data), **options)
