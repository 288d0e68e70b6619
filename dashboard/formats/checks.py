"""Checks shared by every import format: one home for limits, text, numbers, times and hashes.

Each check returns the clean value or raises ``Bad`` with the sentence that ends up after
``FILE:LINE:`` in a refusal.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from store.dates import EARLIEST, kind_of, latest, utc_moment, utc_text

FIELD_LIMIT = 1024 * 1024  # bytes of UTF-8 text in one field (1 MB)
DEFAULT_REVIEWER = "imported"
MAX_TURN = 1_000_000  # turns in one conversation
MAX_TOKENS = 1_000_000_000  # tokens of one prompt or answer
WINNERS = ("a", "b", "tie", "both_bad")
THUMBS = {
    "up": 1, "down": -1, "1": 1, "-1": -1, "+1": 1, "true": 1, "false": -1,
    "yes": 1, "no": -1, "👍": 1, "👎": -1,
}


class Bad(Exception):
    """One refused record (the reason is the message)."""


def shown(value: Any) -> str:
    """A value quoted briefly for a refusal sentence."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return repr(text[:40] + "…" if len(text) > 40 else text) if isinstance(value, str) else text[:40]


def size_check(text: str, name: str) -> str:
    """``text`` when it fits in one field (1 MB of UTF-8)."""
    # A character takes at most 4 bytes: only long text needs encoding to be measured.
    if len(text) * 4 > FIELD_LIMIT:
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > FIELD_LIMIT:
            raise Bad(f"{name} is {size / 1_048_576:.1f} MB; a field may hold at most 1 MB")
    return text


def text(value: Any, name: str) -> str | None:
    """Optional text (empty text counts as absent)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise Bad(f"{name} must be text, not {kind_of(value)}")
    return size_check(value, name) if value else None


def required_text(value: Any, name: str, hint: str = "") -> str:
    """Text that must be there and not blank."""
    if value is None:
        raise Bad(f"no {name}{hint}")
    if not isinstance(value, str):
        raise Bad(f"{name} must be text, not {kind_of(value)}")
    if not value.strip():
        raise Bad(f"{name} is empty")
    return size_check(value, name)


def key(value: Any, name: str) -> str | None:
    """An identifier: text or a whole number, at most 1,000 characters."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise Bad(f"{name} must be text or a whole number, not {kind_of(value)}")
    result = str(value).strip()
    if len(result) > 1000:
        raise Bad(f"{name} is longer than 1,000 characters")
    return result or None


def number(value: Any, name: str) -> float | None:
    """A number of 0 or more (text holding one is read)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise Bad(f"{name} must be a number, not {kind_of(value)}")
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            result = float(value)
        except ValueError:
            raise Bad(f"{name} must be a number, not {shown(value)}") from None
    else:
        result = float(value)
    if not math.isfinite(result) or result < 0:
        raise Bad(f"{name} must be a number of 0 or more, not {shown(value)}")
    return result


def whole(value: Any, name: str, low: int, high: int | None = None) -> int | None:
    """A whole number from ``low`` to ``high`` (text holding one is read)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise Bad(f"{name} must be a whole number, not {kind_of(value)}")
    result: float | int
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            result = float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:
            result = math.nan
    else:
        result = value
    span = f"from {low} to {high}" if high is not None else f"of {low} or more"
    if isinstance(result, float):
        if not result.is_integer():
            raise Bad(f"{name} must be a whole number {span}, not {shown(value)}")
        result = int(result)
    if result < low or (high is not None and result > high):
        raise Bad(f"{name} must be a whole number {span}, not {shown(value)}")
    return int(result)


def thumbs(value: Any, name: str = "thumbs") -> int | None:
    """+1 or -1 from up/down, 1/-1, true/false and the like."""
    if value is None:
        return None
    if isinstance(value, bool):
        return 1 if value else -1
    if isinstance(value, (int, float)) and value in (1, -1):
        return int(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if not word:
            return None
        if word in THUMBS:
            return THUMBS[word]
    raise Bad(f"{name} must be up or down (or 1/-1, true/false), not {shown(value)}")


def tags(value: Any) -> tuple[str, ...]:
    """Sorted distinct tags from a list of text or comma-separated text."""
    if value is None:
        return ()
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith("["):
            try:
                value = json.loads(stripped)
            except ValueError:
                raise Bad("tags look like a JSON list but are not valid JSON") from None
        else:
            value = stripped.split(",")
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise Bad("tags must be a list of text or comma-separated text")
    size_check(",".join(value), "tags")
    return tuple(sorted({t.strip() for t in value if t.strip()}))


def meta_object(value: Any) -> dict[str, Any]:
    """An object, or JSON text of one."""
    if value is None:
        return {}
    if isinstance(value, str):
        if not value.strip():
            return {}
        try:
            value = json.loads(value)
        except ValueError:
            raise Bad("meta must be a JSON object, and this text is not valid JSON") from None
    if not isinstance(value, dict):
        raise Bad(f"meta must be an object, not {kind_of(value)}")
    return value


def meta_text(meta: dict[str, Any], name: str = "meta (with the extra fields)") -> str | None:
    """An object as the JSON text stored, within the field limit; None when empty."""
    if not meta:
        return None
    try:
        result = json.dumps(meta, ensure_ascii=False, allow_nan=False)
    except ValueError:
        raise Bad("meta or an extra field holds NaN or Infinity, which JSON does not allow") from None
    return size_check(result, name)


_EARLIEST_TEXT = utc_text(EARLIEST)[:19]
_latest_cache: list[Any] = [0.0, ""]  # (monotonic time it was computed, latest time as text)


def _latest_text() -> str:
    now = time.monotonic()
    if now - _latest_cache[0] > 60:
        _latest_cache[:] = [now, utc_text(latest() - timedelta(minutes=2))[:19]]
    return _latest_cache[1]


def _fast_time(value: str) -> str | None:
    """Stored text for a UTC time already written the way Loupe writes times, else None."""
    size = len(value)
    if not ((size == 20 and value[19] == "Z") or (size == 24 and value[19] == "." and value[23] == "Z")):
        return None
    if value[10] != "T" or not _EARLIEST_TEXT <= value[:19] <= _latest_text():
        return None
    try:
        datetime.fromisoformat(value[:19])  # a real date and time
    except ValueError:
        return None
    return value if size == 24 else value[:19] + ".000Z"


def normalize_time(value: Any, name: str = "created_at") -> str | None:
    """ISO 8601 text as UTC text like 2026-01-31T12:00:00.000Z (no zone means UTC); only times
    from 1970-01-01 to one day after now are accepted (see store.dates)."""
    if type(value) is str:
        fast = _fast_time(value)
        if fast is not None:
            return fast
    if isinstance(value, datetime):
        value = value.isoformat()
    try:
        moment = utc_moment(value, name)
    except ValueError as exc:
        raise Bad(str(exc)) from None
    return None if moment is None else utc_text(moment)


def epoch_time(value: Any, name: str, unit: float = 1.0) -> str | None:
    """A Unix time (``unit`` seconds per step: 1e-9 for nanoseconds; text holding a whole number
    is read) as stored UTC text, within the accepted range of store.dates."""
    if value is None or value == "" or value == 0 or value == "0":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise Bad(f"{name} must be a Unix time, not {kind_of(value)}")
    try:
        steps = int(value) if isinstance(value, str) else value
        seconds = steps * unit if unit != 1e-9 else steps / 1e9
        moment = datetime.fromtimestamp(seconds, UTC)
    except (ValueError, OverflowError, OSError):
        raise Bad(f"{name} is not a Unix time Loupe can read: {shown(value)}") from None
    return normalize_time(moment.isoformat(), name)


def content_hash(*parts: str | int | None) -> str:
    """A short stable hash of the parts that make two interaction records the same."""
    joined = "\x1f".join(["\x00" if p is None else str(p) for p in parts])
    return hashlib.blake2b(joined.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def vote_digest(*parts: str | None) -> str:
    """The external id of a vote that names none: a digest of what it says."""
    joined = "\x1f".join(p or "" for p in parts)
    return "sha256:" + hashlib.sha256(joined.encode("utf-8", "surrogatepass")).hexdigest()


def winner(value: Any) -> str:
    """a, b, tie or both_bad."""
    word = value.strip().lower() if isinstance(value, str) else value
    if word not in WINNERS:
        raise Bad(f"winner must be one of a, b, tie, both_bad, not {shown(value)}")
    return str(word)
