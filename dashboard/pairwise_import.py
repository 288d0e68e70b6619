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
    if external is not None and (isinstance(external, bool) or not isinstance(external, (str, int))):
        raise ValueError('"external_id" must be text or a whole number')
    parsed["external_id"] = str(external) if external is not None else _content_key(parsed)
    return parsed


def vote_key(vote: dict[str, Any]) -> tuple:
    """What makes two votes the same vote (their external id aside)."""
    return tuple(vote.get(k) or None for k in VOTE_PARTS)


VOTE_PARTS = ("question", "answer_a", "answer_b", "variant_a", "variant_b", "winner", "reviewer")


def parse_pairwise_lines(lines: Iterable[bytes], name: str) -> ParsedPairs:
    """Parse JSONL bytes line by line; every refused line says where and why."""
    parsed = ParsedPairs()
    empty = True
    first_line: dict[str, tuple[int, tuple]] = {}  # external id -> (line, vote_key)
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
                vote = parse_pairwise_record(record)
            except ValueError as exc:
                reason = str(exc)
            else:
                line, key = first_line.setdefault(vote["external_id"], (number, vote_key(vote)))
                if key == vote_key(vote):
                    parsed.records.append(vote | {"line": number, "raw": text.rstrip("\r\n")})
                    continue
                reason = (f'external_id {vote["external_id"]!r} is already used on line {line} for'
                          " a different vote; give each vote its own external_id")
        parsed.refused.append(f"{name}:{number}: {reason}")
        parsed.refused_raw.append((number, reason, text.rstrip("\n")))
    if empty:
        parsed.refused.append(f"{name}: the file is empty")
    return parsed


def refuse_stored_clashes(parsed: ParsedPairs, name: str, stored: dict[str, dict[str, Any]]) -> None:
    """Move to the refused lines the votes whose external id names a different stored vote.

    ``stored``: the stored votes by external id (``Store.votes_by_external_id``).
    """
    kept = []
    for vote in parsed.records:
        known = stored.get(vote["external_id"])
        if known is None or vote_key(known) == vote_key(vote):
            kept.append(vote)
            continue
        reason = (f'external_id {vote["external_id"]!r} is already used by a different stored vote;'
                  " give each vote its own external_id")
        parsed.refused.append(f"{name}:{vote['line']}: {reason}")
        parsed.refused_raw.append((vote["line"], reason, vote.get("raw", "")))
    if len(kept) < len(parsed.records):  # refusals in line order again
        pairs = sorted(zip(parsed.refused_raw, parsed.refused), key=lambda pair: pair[0][0])
        parsed.refused_raw = [raw for raw, _ in pairs]
        parsed.refused = [text for _, text in pairs]
    parsed.records = kept


def _iso(value: str) -> str | None:
    moment = utc_moment(value, '"created_at"')
    return utc_text(moment) if moment is not None else None


def _content_key(record: dict[str, Any]) -> str:
    parts = [record[k] or "" for k in ("question", "answer_a", "answer_b", "variant_a",
                                       "variant_b", "winner", "reviewer")]
    return "sha256:" + hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
