"""What the Review and Annotate pages show, as plain data: the shared view in the URL,
the table's columns, the CSV of a page, and short descriptions of ratings."""

from __future__ import annotations

import csv
import io
import math
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from dashboard.chat import backend_label
from dashboard.filters import Filters, mean_tenths
from dashboard.ratings import stars_text, thumbs_text

PAGE_PARAM = "page"
ITEM_PARAM = "item"
PAGE_SIZE = 50
TEXT_PREVIEW = 140  # characters of question and answer shown in the table

TABLE_COLUMNS = {
    "created_at": "Time",
    "question": "Question",
    "answer": "Answer",
    "stars_mean": "Stars",
    "thumbs_up": "Up",
    "thumbs_down": "Down",
    "rating_count": "Ratings",
    "tags": "Tags",
    "model": "Model",
    "variant": "Variant",
    "error": "Error",
}
CSV_COLUMNS = (
    "id", "created_at", "question", "answer", "model", "backend", "variant", "variant_version",
    "source", "stars_mean", "stars_min", "stars_max", "thumbs_up", "thumbs_down", "rating_count",
    "tags", "error",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# What a spreadsheet may read as the start of a formula once it has skipped leading blanks and
# invisible characters (fullwidth forms included: some spreadsheets fold them).
_FORMULA_CHARS = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")


@dataclass(frozen=True)
class ReviewView:
    """Everything a shared Review link restores: the filters, the page number, the open item."""

    filters: Filters = field(default_factory=Filters)
    page: int = 1
    item: int | None = None

    def to_query_params(self) -> dict[str, str | list[str]]:
        """Query-string parameters for this view."""
        params = self.filters.to_query_params()
        if self.page > 1:
            params[PAGE_PARAM] = str(self.page)
        if self.item is not None:
            params[ITEM_PARAM] = str(self.item)
        return params

    @classmethod
    def from_query_params(cls, params: Any) -> ReviewView:
        """The view read back from st.query_params (or a dict); bad values are ignored."""
        return cls(
            Filters.from_query_params(params),
            page=_positive_int(params, PAGE_PARAM) or 1,
            item=_positive_int(params, ITEM_PARAM),
        )


def _positive_int(params: Any, name: str) -> int | None:
    if name not in params:
        return None
    value = params[name]
    if isinstance(value, (list, tuple)):
        value = value[-1] if value else ""
    try:
        number = int(str(value))
    except ValueError:
        return None
    return number if number > 0 else None


def page_count(matches: int, page_size: int = PAGE_SIZE) -> int:
    """How many pages ``matches`` rows fill (at least one)."""
    return max(1, math.ceil(matches / page_size))


def count_label(count: int, exact: bool) -> str:
    """'1 match', '1,234 matches' or 'More than 100,000 matches'."""
    if not exact:
        return f"More than {count:,} matches"
    return f"{count:,} match" + ("" if count == 1 else "es")


def preview(text: str | None, limit: int = TEXT_PREVIEW) -> str:
    """Text on one line, cut at ``limit`` characters with an ellipsis."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def variant_label(name: str | None, version: int | None) -> str:
    """'concise v2', or '' when there is no variant."""
    if not name:
        return ""
    return f"{name} v{version}" if version is not None else name


def table_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The Review table: one row per interaction, columns a reviewer reads, indexed by id."""
    frame = pd.DataFrame(
        [
            {
                "created_at": (row["created_at"] or "")[:16].replace("T", " "),
                "question": preview(row["question"]),
                "answer": preview(row["answer"]),
                "model": row.get("model") or "",
                "variant": variant_label(row.get("variant"), row.get("variant_version")),
                "stars_mean": stars_cell(row.get("stars_mean"), row.get("stars_min"),
                                         row.get("stars_max")),
                "thumbs_up": row.get("thumbs_up") or 0,
                "thumbs_down": row.get("thumbs_down") or 0,
                "rating_count": row.get("rating_count") or 0,
                "tags": row.get("tags") or "",
                "error": bool(row.get("error")),
            }
            for row in rows
        ],
        columns=list(TABLE_COLUMNS),
        index=pd.Index([row["id"] for row in rows], name="id"),
    )
    return frame.rename(columns=TABLE_COLUMNS)


def stars_mean_text(mean: float | None) -> str:
    """'4.5 ★' for a mean of stars (rounded half up, as the mean stars filter reads it), ''
    when nobody gave stars."""
    if mean is None or mean != mean:
        return ""
    return f"{mean_tenths(mean) / 10:.1f} ★"


def stars_cell(mean: float | None, low: int | None, high: int | None) -> str:
    """The Stars column: the mean, then the lowest and highest stars when they differ
    ('3.7 ★ (1–5)'), so that every stars filter mode can be checked against it."""
    text = stars_mean_text(mean)
    if text and low is not None and high is not None and low != high:
        text += f" ({int(low)}–{int(high)})"
    return text


def csv_cell(value: Any) -> str:
    """A cell a spreadsheet will not run: text starting with = + - @ tab or CR, also after
    leading whitespace or control characters, gets a quote."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    for char in text:
        if char in _FORMULA_CHARS:
            return "'" + text
        if not (char.isspace() or unicodedata.category(char) in ("Cc", "Cf")):
            break
    return text


def rows_csv(rows: list[dict[str, Any]], columns: tuple[str, ...] = CSV_COLUMNS) -> bytes:
    """CSV (UTF-8) of review rows with every cell made safe for spreadsheets."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        cells = dict(row)
        if cells.get("stars_mean") is not None:  # as the table shows it and the filter reads it
            cells["stars_mean"] = f"{mean_tenths(cells['stars_mean']) / 10:.1f}"
        writer.writerow([csv_cell(cells.get(column)) for column in columns])
    return out.getvalue().encode("utf-8")


def ratings_frame(ratings: list[dict[str, Any]]) -> pd.DataFrame:
    """Every reviewer's rating of one interaction as a table."""
    return pd.DataFrame(
        [
            {
                "Reviewer": r["reviewer"],
                "Stars": stars_text(r.get("stars")),
                "Thumbs": thumbs_text(r.get("thumbs")),
                "Tags": ", ".join(r.get("tags") or []),
                "Comment": r.get("comment") or "",
                "Ideal answer": r.get("ideal_answer") or "",
                "Rated at": (r.get("updated_at") or "")[:16].replace("T", " "),
            }
            for r in ratings
        ],
        columns=["Reviewer", "Stars", "Thumbs", "Tags", "Comment", "Ideal answer", "Rated at"],
    )


def call_facts(interaction: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) pairs describing how an answer was produced."""
    backend = interaction.get("backend")
    variant = variant_label(interaction.get("variant"), interaction.get("variant_version"))
    facts = [
        ("Model", interaction.get("model") or "unknown"),
        ("Backend", backend_label(backend) if backend else "—"),
        ("Variant", variant or "—"),
        ("Latency", f"{interaction['latency_ms'] / 1000:.2f} s"
         if interaction.get("latency_ms") is not None else "—"),
    ]
    prompt, completion = interaction.get("prompt_tokens"), interaction.get("completion_tokens")
    tokens = "—"
    if prompt is not None or completion is not None:
        tokens = f"{_or_unknown(prompt)} in · {_or_unknown(completion)} out"
    facts.append(("Tokens", tokens))
    facts.append(("Source", interaction.get("source") or "—"))
    return facts


def _or_unknown(value: Any) -> str:
    return "?" if value is None else str(value)


DEMO_COMMAND = "python -m dashboard demo"


def empty_review_text(*, can_import: bool, can_chat: bool) -> str:
    """What the Review page says when there is no answer yet: what this user can do here."""
    steps = []
    if can_import:
        steps.append("import a feedback file (Loupe JSONL or CSV, an Open WebUI export, OpenTelemetry spans or a Hugging Face dataset) with **Import feedback** above")
    if can_chat:
        steps.append("ask a model on the **Chat** page and rate its answers")
    if not steps:
        steps.append("answers appear here once annotators chat and rate, or an admin imports "
                     "feedback")
        first = "No answers yet: " + steps[0] + "."
    else:
        first = "No answers yet. To add some, " + " or ".join(steps) + "."
    return (f"{first} To look around first, whoever runs Loupe can load the demo data with "
            f"`{DEMO_COMMAND}`.")


def queue_caption(done: int, remaining: int) -> str:
    """'12 done · 30 left' for the progress line of the queue."""
    return f"{done:,} done · {remaining:,} left"


def next_in_queue(
    store: Any, reviewer: str, filters: Filters, *, from_id: int = 0, skipped: Iterable[int] = ()
) -> tuple[dict[str, Any] | None, bool]:
    """The next item for ``reviewer``: the lowest unrated id from ``from_id`` on, then from the
    start, leaving out ``skipped``; when only skipped items are left they come back.

    Returns (item or None, whether the skipped items came back).
    """
    skipped = set(skipped)
    item = store.review.next_unrated(reviewer, filters, after_id=max(0, from_id - 1), exclude=skipped)
    if item is None and from_id > 1:
        item = store.review.next_unrated(reviewer, filters, exclude=skipped)
    if item is None and skipped:
        return store.review.next_unrated(reviewer, filters), True
    return item, False
