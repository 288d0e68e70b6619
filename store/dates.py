"""The dates Loupe accepts, and reading stored dates without trusting them.

A time given to Loupe (an import's or the API's ``created_at``) must lie between 1970-01-01
00:00 UTC and one day after now: feedback comes from the past, and a day of slack absorbs clocks
and time zones that are off. Rows stored before this rule may hold anything; pages read their
dates through ``stored_day``, which ignores what no accepted time could be.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)


def latest(now: datetime | None = None) -> datetime:
    """The latest time accepted: one day after ``now`` (default: the current time)."""
    return (now or datetime.now(UTC)) + FUTURE_SLACK


def utc_moment(value: Any, name: str = "created_at", *, now: datetime | None = None) -> datetime | None:
    """ISO 8601 text as an aware UTC datetime in the accepted range (no zone means UTC).

    None or blank text gives None; anything else that is not an accepted time raises
    ValueError with a sentence naming ``name``.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name} must be an ISO 8601 date as text, not {kind_of(value)}")
    text = value.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{name} is not an ISO 8601 date: {_shown(text)} (write e.g. 2026-01-31T12:00:00Z)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    last = latest(now)
    # Compared before converting: 9999-12-31T23:59:59-14:00 is in the year 10000 in UTC, and
    # 0001-01-01T00:00:00+14:00 in the year 0, which a datetime cannot hold.
    if moment > last:
        raise ValueError(
            f"{name} {_shown(text)} is in the future: a date may be at most one day after now"
            f" (until {last:%Y-%m-%d %H:%M} UTC)"
        )
    if moment < EARLIEST:
        raise ValueError(f"{name} {_shown(text)} is before 1970-01-01, the earliest date accepted")
    return moment.astimezone(UTC)


def utc_text(moment: datetime) -> str:
    """An aware datetime as stored: UTC text like 2026-01-31T12:00:00.000Z."""
    moment = moment.astimezone(UTC)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (
        moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second,
        moment.microsecond // 1000,
    )


def now_text() -> str:
    """The current time as stored: UTC text like 2026-01-31T12:00:00.000Z."""
    return utc_text(datetime.now(UTC))


def epoch_text(epoch: float) -> str:
    """A Unix time as stored: UTC text like 2026-01-31T12:00:00.000Z."""
    return utc_text(datetime.fromtimestamp(epoch, UTC))


def read_utc_text(text: str) -> datetime:
    """Stored UTC text (``utc_text``'s format) as an aware datetime; ValueError when it is not."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def stored_day(text: Any, *, now: datetime | None = None) -> date | None:
    """The UTC day of a stored ``created_at``, or None when it is not a date Loupe would accept
    (unreadable, before 1970, or later than tomorrow)."""
    if not isinstance(text, str) or len(text) < 10:
        return None
    try:
        day = date.fromisoformat(text[:10])
    except ValueError:
        return None
    if day < EARLIEST.date() or day > latest(now).date():
        return None
    return day


def kind_of(value: Any) -> str:
    """What a JSON value is, in words ('a number', 'a list'...), for refusal sentences."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _shown(text: str) -> str:
    return repr(text[:40] + "…" if len(text) > 40 else text)
