"""Read pairwise votes collected elsewhere: JSONL of question/answer_a/answer_b/winner rows, or
preference pairs {"prompt", "chosen", "rejected"} (the chosen answer is the winner)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from dashboard.dates import utc_moment, utc_text

WINNERS = ("a", "b", "tie", "both_bad")
MAX_FIELD = 1_000_000  # characters


@dataclass
class ParsedPairs:
    """Valid pairwise records and refused lines as 'FILE:LINE: reason'."""

    records: list[dict[str, Any]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    refused_raw: list[tuple[int, str, str]] = field(default_factory=list)


def _text(record: dict[str, Any], *names: str) -> str | None:
    for name in names:
        if name in record and record[name] is not None:
            value = record[name]
            if not isinstance(value, str):
                raise ValueError(f'"{name}" must be text, not {type(value).__name__}')
            if len(value) > MAX_FIELD:
                raise ValueError(f'"{name}" is longer than {MAX_FIELD:,} characters')
            return value
    return None


def parse_pairwise_record(record: Any) -> dict[str, Any]:
    """One pairwise vote from a JSON object, or ValueError saying what is wrong."""
    if not isinstance(record, dict):
        raise ValueError("each line must be a JSON object")
    if "chosen" in record or "rejected" in record:
        question = _text(record, "prompt", "question")
        chosen, rejected = _text(record, "chosen"), _text(record, "rejected")
        if not question:
            raise ValueError('missing "prompt"')
        if chosen is None or rejected is None:
            raise ValueError('a preference pair needs both "chosen" and "rejected"')
        parsed = {"question": question, "answer_a": chosen, "answer_b": rejected,
                  "variant_a": _text(record, "variant_a") or "chosen",
                  "variant_b": _text(record, "variant_b") or "rejected", "winner": "a"}
    else:
        question = _text(record, "question", "prompt")
        if not question:
            raise ValueError('missing "question"')
        answer_a, answer_b = _text(record, "answer_a"), _text(record, "answer_b")
        if answer_a is None or answer_b is None:
            raise ValueError('missing "answer_a" or "answer_b"')
        winner = record.get("winner")
        if winner not in WINNERS:
            raise ValueError(f'"winner" must be one of a, b, tie, both_bad, not {winner!r}')
        parsed = {"question": question, "answer_a": answer_a, "answer_b": answer_b,
                  "variant_a": _text(record, "variant_a") or "a",
                  "variant_b": _text(record, "variant_b") or "b", "winner": winner}
    parsed["reviewer"] = _text(record, "reviewer")
    parsed["reason"] = _text(record, "reason")
    created = _text(record, "created_at")
    parsed["created_at"] = _iso(created) if created else None
    external = record.get("external_id")
    parsed["external_id"] = str(external) if external is not None else _content_key(parsed)
    return parsed


def parse_pairwise_lines(lines: Iterable[bytes], name: str) -> ParsedPairs:
    """Parse JSONL bytes line by line; every refused line says where and why."""
    parsed = ParsedPairs()
    empty = True
    for number, raw in enumerate(lines, 1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            reason = f"not UTF-8 text (byte {exc.start + 1})"
            parsed.refused.append(f"{name}:{number}: {reason}")
            parsed.refused_raw.append((number, reason, raw.decode("utf-8", "replace")))
            empty = False
            continue
        if not text.strip():
            continue
        empty = False
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            reason = f"not valid JSON ({exc.msg} at column {exc.colno})"
        else:
            try:
                parsed.records.append(parse_pairwise_record(record) | {"line": number})
                continue
            except ValueError as exc:
                reason = str(exc)
        parsed.refused.append(f"{name}:{number}: {reason}")
        parsed.refused_raw.append((number, reason, text.rstrip("\n")))
    if empty:
        parsed.refused.append(f"{name}: the file is empty")
    return parsed


def _iso(value: str) -> str | None:
    moment = utc_moment(value, '"created_at"')
    return utc_text(moment) if moment is not None else None


def _content_key(record: dict[str, Any]) -> str:
    parts = [record[k] or "" for k in ("question", "answer_a", "answer_b", "variant_a",
                                       "variant_b", "winner", "reviewer")]
    return "sha256:" + hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
