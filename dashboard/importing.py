"""Import feedback files (JSONL or CSV): check every line, then land the file whole or not at all.

One record per line (JSONL) or per row (CSV, same column names):

- ``question`` (or ``input``, ``prompt``) is required; ``answer`` (or ``response``, ``output``).
- A rating: ``rating`` (1-5, or ``stars``), ``thumbs`` (up/down, 1/-1, true/false), ``comment``,
  ``tags`` (a list or comma-separated text), ``ideal_answer``, by ``reviewer`` (default
  "imported").
- ``model``, ``variant`` (a variant name), ``created_at`` (ISO 8601, stored in UTC),
  ``latency_ms``, ``ttft_ms``, ``prompt_tokens``, ``completion_tokens``, ``system_prompt``,
  ``backend``, ``error``, ``conversation_id`` and ``turn``, ``external_id``, ``meta`` (an object).
- Any other field is kept inside ``meta``.

Line numbers are physical lines of the file, counted from 1 (for CSV the header is line 1).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import itertools
import json
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from dashboard.dates import kind_of, utc_moment, utc_text
from store.ingest import ImportRating, ImportRow, ImportTotals

if TYPE_CHECKING:
    from store import Store

FIELD_LIMIT = 1024 * 1024  # bytes of UTF-8 text in one field (1 MB)
LINE_LIMIT = 16 * FIELD_LIMIT  # bytes in one physical line; longer lines are refused unread
DEFAULT_REVIEWER = "imported"
MAX_TURN = 1_000_000  # turns in one conversation
MAX_TOKENS = 1_000_000_000  # tokens of one prompt or answer
BATCH = 5_000
KEEP_REFUSALS = 1_000  # refusals kept in the report; every one still reaches on_refused
RAW_KEEP = 10_000  # characters of a too-long line kept in the refusal
FORMATS = ("auto", "jsonl", "csv", "pairwise")

Progress = Callable[[int, int, int], None]  # (records read, bytes read, bytes in the file)

KNOWN_FIELDS = frozenset({
    "question", "answer", "rating", "thumbs", "comment", "tags", "ideal_answer", "reviewer",
    "model", "variant", "created_at", "latency_ms", "ttft_ms", "prompt_tokens",
    "completion_tokens", "system_prompt", "backend", "error", "conversation_id", "turn",
    "external_id", "meta",
})
ALIASES = {
    "input": "question", "prompt": "question",
    "response": "answer", "output": "answer",
    "stars": "rating",
}
QUESTION_NAMES = ("question", "input", "prompt")
PAIRWISE_FIELDS = ({"answer_a", "answer_b"}, {"chosen", "rejected"})
THUMBS = {
    "up": 1, "down": -1, "1": 1, "-1": -1, "+1": 1, "true": 1, "false": -1,
    "yes": 1, "no": -1, "👍": 1, "👎": -1,
}


class ImportProblem(ValueError):
    """A problem with the request or the whole file, told in one sentence.

    ``usage`` is True when the request itself is wrong (unknown or unsupported format, no such
    file), False when the file's content is.
    """

    def __init__(self, message: str, *, usage: bool = True) -> None:
        super().__init__(message)
        self.usage = usage


class _Bad(Exception):
    """One refused record (the reason is the message)."""


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

    @property
    def valid(self) -> int:
        """Records that passed every check."""
        return self.records - self.refused

    def summary(self) -> str:
        """``1,234 imported, 12 already present`` (what landed)."""
        return f"{self.imported:,} imported, {self.already_present:,} already present"

    def details(self) -> str:
        """The rows created, by table."""
        t = self.totals
        parts = [
            _count(t.interactions, "interaction"),
            _count(t.ratings, "rating"),
            _count(t.conversations, "conversation"),
        ]
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


# -- checking one record -----------------------------------------------------------------------


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return repr(text[:40] + "…" if len(text) > 40 else text) if isinstance(value, str) else text[:40]


def _size_check(text: str, name: str) -> str:
    # A character takes at most 4 bytes: only long text needs encoding to be measured.
    if len(text) * 4 > FIELD_LIMIT:
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > FIELD_LIMIT:
            raise _Bad(f"{name} is {size / 1_048_576:.1f} MB; a field may hold at most 1 MB")
    return text


def _text(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Bad(f"{name} must be text, not {kind_of(value)}")
    return _size_check(value, name) if value else None


def _key(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _Bad(f"{name} must be text or a whole number, not {kind_of(value)}")
    text = str(value).strip()
    if len(text) > 1000:
        raise _Bad(f"{name} is longer than 1,000 characters")
    return text or None


def _number(value: Any, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _Bad(f"{name} must be a number, not {kind_of(value)}")
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            number = float(value)
        except ValueError:
            raise _Bad(f"{name} must be a number, not {_shown(value)}") from None
    else:
        number = float(value)
    if not math.isfinite(number) or number < 0:
        raise _Bad(f"{name} must be a number of 0 or more, not {_shown(value)}")
    return number


def _whole(value: Any, name: str, low: int, high: int | None = None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _Bad(f"{name} must be a whole number, not {kind_of(value)}")
    number: float | int = value
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            number = float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:
            number = math.nan
    if isinstance(number, float):
        if not number.is_integer():
            span = f"from {low} to {high}" if high is not None else f"of {low} or more"
            raise _Bad(f"{name} must be a whole number {span}, not {_shown(value)}")
        number = int(number)
    if number < low or (high is not None and number > high):
        span = f"from {low} to {high}" if high is not None else f"of {low} or more"
        raise _Bad(f"{name} must be a whole number {span}, not {_shown(value)}")
    return int(number)


def _thumbs(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return 1 if value else -1
    if isinstance(value, (int, float)) and value in (1, -1):
        return int(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if not text:
            return None
        if text in THUMBS:
            return THUMBS[text]
    raise _Bad(f"thumbs must be up or down (or 1/-1, true/false), not {_shown(value)}")


def _tags(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                raise _Bad("tags look like a JSON list but are not valid JSON") from None
        else:
            value = text.split(",")
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise _Bad("tags must be a list of text or comma-separated text")
    _size_check(",".join(value), "tags")
    return tuple(sorted({t.strip() for t in value if t.strip()}))


def _meta(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, str):
        if not value.strip():
            return {}
        try:
            value = json.loads(value)
        except ValueError:
            raise _Bad("meta must be a JSON object, and this text is not valid JSON") from None
    if not isinstance(value, dict):
        raise _Bad(f"meta must be an object, not {kind_of(value)}")
    return value


def normalize_time(value: Any) -> str | None:
    """ISO 8601 text as UTC text like 2026-01-31T12:00:00.000Z (no zone means UTC); only times
    from 1970-01-01 to one day after now are accepted (see dashboard.dates)."""
    try:
        moment = utc_moment(value, "created_at")
    except ValueError as exc:
        raise _Bad(str(exc)) from None
    return None if moment is None else utc_text(moment)


def content_hash(*parts: str | int | None) -> str:
    """A short stable hash of the parts that make two interaction records the same."""
    text = "\x1f".join(["\x00" if p is None else str(p) for p in parts])
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def check_record(obj: Any) -> ImportRow:
    """One parsed JSON object or CSV row as a checked ImportRow; raise ValueError with the reason."""
    try:
        return _record(obj)
    except _Bad as bad:
        raise ValueError(str(bad)) from None


def _record(obj: Any) -> ImportRow:
    if not isinstance(obj, dict):
        raise _Bad(f"each line must be a JSON object, not {kind_of(obj)}")
    extras: dict[str, Any] = {}
    if KNOWN_FIELDS.issuperset(obj):
        fields = obj  # the usual case: every field known (a null value counts as absent)
    else:
        fields = {k: v for k, v in obj.items() if k in KNOWN_FIELDS and v is not None}
        for key, value in obj.items():
            if key in KNOWN_FIELDS:
                continue
            canonical = ALIASES.get(key)
            if canonical is not None and canonical not in fields and value is not None:
                fields[canonical] = value
            else:
                extras[key] = value

    question = fields.get("question")
    if question is None:
        raise _Bad("no question (a question, input or prompt field is required)")
    if not isinstance(question, str):
        raise _Bad(f"question must be text, not {kind_of(question)}")
    if not question.strip():
        raise _Bad("question is empty")
    _size_check(question, "question")
    get = fields.get
    answer = _text(get("answer"), "answer")
    model = _text(get("model"), "model")
    variant = _text(get("variant"), "variant")
    error = _text(get("error"), "error")
    created_at = normalize_time(get("created_at"))
    conversation = _key(get("conversation_id"), "conversation_id")
    turn = _whole(get("turn"), "turn", 0, MAX_TURN)

    stars = _whole(get("rating"), "rating", 1, 5)
    thumbs = _thumbs(get("thumbs"))
    comment = _text(get("comment"), "comment")
    tags = _tags(get("tags"))
    ideal = _text(get("ideal_answer"), "ideal_answer")
    reviewer = (_text(get("reviewer"), "reviewer") or "").strip() or DEFAULT_REVIEWER
    rating = None
    if stars is not None or thumbs is not None or comment or tags or ideal:
        rating = ImportRating(reviewer, stars, thumbs, comment, tags, ideal)

    meta = _meta(get("meta"))
    if extras:
        meta = dict(meta)
        for key, value in extras.items():
            meta[f"{key} (field)" if key in meta else key] = value
    meta_text = None
    if meta:
        try:
            meta_text = json.dumps(meta, ensure_ascii=False, allow_nan=False)
        except ValueError:
            raise _Bad(
                "meta or an extra field holds NaN or Infinity, which JSON does not allow"
            ) from None
        _size_check(meta_text, "meta (with the extra fields)")

    return ImportRow(
        question=question,
        content_hash=content_hash(question, answer, error, model, variant, created_at,
                                  conversation, turn),
        answer=answer,
        model=model,
        variant=variant,
        created_at=created_at,
        latency_ms=_number(get("latency_ms"), "latency_ms"),
        ttft_ms=_number(get("ttft_ms"), "ttft_ms"),
        prompt_tokens=_whole(get("prompt_tokens"), "prompt_tokens", 0, MAX_TOKENS),
        completion_tokens=_whole(get("completion_tokens"), "completion_tokens", 0, MAX_TOKENS),
        system_prompt=_text(get("system_prompt"), "system_prompt"),
        backend=_text(get("backend"), "backend"),
        error=error,
        conversation_key=conversation,
        turn=turn,
        external_id=_key(get("external_id"), "external_id"),
        meta=meta_text,
        rating=rating,
    )


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


def _csv_items(stream: IO[bytes], counter: _Counter) -> Iterator[_Item]:
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
    if not any(name in QUESTION_NAMES for name in columns):
        raise _FileRefused(
            1, "the header has no question column (question, input or prompt is required)"
        )
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
        if not row or (len(row) == 1 and not row[0].strip() and "\n" not in row[0]):
            if reason is None:
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


# -- format --------------------------------------------------------------------------------------


def _peek(stream: IO[bytes], size: int = 65_536) -> bytes:
    position = stream.tell()
    head = stream.read(size)
    stream.seek(position)
    return head


def detect_format(name: str, fmt: str, head: bytes) -> str:
    """``jsonl`` or ``csv`` for a file, from --format, its name, then its first bytes."""
    fmt = (fmt or "auto").lower()
    if fmt == "pairwise":
        raise ImportProblem(
            "Pairwise votes have their own importer: run `python -m dashboard import FILE"
            " --format pairwise`."
        )
    if fmt not in FORMATS:
        raise ImportProblem(f"Unknown format {fmt!r}: choose auto, jsonl or csv.")
    if fmt == "auto":
        suffix = Path(name).suffix.lower()
        start = head.lstrip(b"\xef\xbb\xbf \t\r\n")
        if suffix in (".jsonl", ".ndjson", ".json") or start.startswith((b"{", b"[")) or not start:
            fmt = "jsonl"
        elif suffix in (".csv", ".tsv") or _csv_header(start):
            fmt = "csv"
        else:
            raise ImportProblem(
                f"Cannot tell whether {Path(name).name} is JSONL or CSV: name it .jsonl or .csv,"
                " or pass --format jsonl or --format csv."
            )
    _refuse_pairwise(name, fmt, head)
    return fmt


def _csv_header(start: bytes) -> bool:
    line = start.split(b"\n", 1)[0].decode("utf-8", "replace").lower()
    cells = {c.strip().strip('"') for c in line.replace(";", ",").replace("\t", ",").split(",")}
    return bool(cells & set(QUESTION_NAMES))


def _refuse_pairwise(name: str, fmt: str, head: bytes) -> None:
    first = head.lstrip(b"\xef\xbb\xbf \t\r\n").split(b"\n", 1)[0]
    keys: set[str] = set()
    if fmt == "jsonl":
        try:
            obj = json.loads(first)
        except ValueError:
            return
        keys = set(obj) if isinstance(obj, dict) else set()
    else:
        line = first.decode("utf-8", "replace").lower()
        keys = {c.strip().strip('"') for c in line.replace(";", ",").split(",")}
    if any(pair <= keys for pair in PAIRWISE_FIELDS):
        raise ImportProblem(
            f"{Path(name).name} holds pairwise votes (two answers per line): import it with"
            f" `python -m dashboard import {Path(name).name} --format pairwise`."
        )


# -- the import ----------------------------------------------------------------------------------


class _Rollback(Exception):
    """Leave the import transaction without committing."""


@dataclass
class _Batch:
    rows: list[ImportRow] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    raws: list[str] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    records: int = 0
    bytes_read: int = 0
    fatal: Refusal | None = None


def _batches(items: Iterator[_Item], counter: _Counter) -> Iterator[_Batch]:
    batch = _Batch()
    positions: dict[str, int] = {}
    record = _record
    try:
        for line, raw, obj, reason, raw_bytes, truncated in items:
            batch.records += 1
            if reason is None:
                try:
                    row = record(obj)
                except _Bad as bad:
                    reason = str(bad)
                except RecursionError:
                    reason = "nested too deeply"
            if reason is not None:
                batch.refusals.append(Refusal(line, reason, raw.rstrip("\r\n"), raw_bytes, truncated))
            else:
                key = row.conversation_key
                if key is not None:
                    positions[key] = position = positions.get(key, 0) + 1
                    row = row._replace(position=position)
                batch.rows.append(row)
                batch.lines.append(line)
                batch.raws.append(raw)
            if batch.records >= BATCH:
                batch.bytes_read = counter.bytes
                yield batch
                batch = _Batch()
    except _FileRefused as refused:
        batch.fatal = refused.refusal
    batch.bytes_read = counter.bytes
    yield batch


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
    """Import a binary stream of JSONL or CSV records named ``name``; return the report.

    All or nothing unless ``skip_invalid``: one refused line and nothing lands. Every refusal
    reaches ``on_refused`` in line order; ``progress`` hears (records, bytes read, bytes total)
    after each batch. Raises ImportProblem when the request itself cannot be served.
    """
    head = _peek(stream)
    fmt = detect_format(name, fmt, head)
    if total_bytes is None:
        position = stream.tell()
        total_bytes = stream.seek(0, 2) - position
        stream.seek(position)
    report = ImportReport(name=name, format=fmt, skip_invalid=skip_invalid)
    counter = _Counter()
    items = _jsonl_items(stream, counter) if fmt == "jsonl" else _csv_items(stream, counter)

    def refuse(refusal: Refusal) -> None:
        report.refused += 1
        if len(report.refusals) < KEEP_REFUSALS:
            report.refusals.append(refusal)
        if on_refused is not None:
            on_refused(refusal)

    try:
        with store.import_session(source, _estimate_records(head, total_bytes)) as session:
            for batch in _batches(items, counter):
                report.records += batch.records
                refusals = batch.refusals
                if batch.rows:
                    outcome = session.add(batch.rows, batch.lines)
                    report.imported += outcome.added
                    report.already_present += outcome.present
                    for index, reason in outcome.conflicts:
                        raw = batch.raws[index].rstrip("\r\n")
                        refusals.append(Refusal(batch.lines[index], reason, raw))
                    if outcome.conflicts:
                        refusals.sort(key=lambda r: r.line)
                for refusal in refusals:
                    refuse(refusal)
                if progress is not None:
                    progress(report.records, batch.bytes_read, total_bytes)
                if batch.fatal is not None:
                    report.fatal = batch.fatal
            if report.fatal is None and report.records == 0:
                report.fatal = Refusal(0, _empty_reason(fmt, head))
            if report.fatal is not None and on_refused is not None:
                on_refused(report.fatal)
            if report.fatal is not None or (report.refused and not skip_invalid):
                raise _Rollback
            report.totals = session.totals
    except _Rollback:
        report.imported = report.already_present = 0
    else:
        report.committed = True
    return report


def _estimate_records(head: bytes, total_bytes: int) -> int:
    """About how many lines a file of ``total_bytes`` holds, from its first bytes."""
    lines = head.count(b"\n")
    if not lines:
        return 1 if total_bytes else 0
    return int(total_bytes / (len(head[: head.rfind(b"\n") + 1]) / lines))


def _empty_reason(fmt: str, head: bytes) -> str:
    if not head:
        return "the file is empty: there is nothing to import"
    if fmt == "csv" and head.strip():
        return "the file has a header but no rows: there is nothing to import"
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
    """Import one JSONL or CSV file; with ``skip_invalid`` refused lines go to FILE.rejected.jsonl."""
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
