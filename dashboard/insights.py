"""The numbers behind the Insights page: refresh of the rollups, re-asks, and every aggregate.

Every aggregate reads the rollup tables kept by store/insights.py, so its cost depends on the
number of (day, model, variant, source) groups, not on the number of interactions. Only the
date range, models, variants and sources of a Filters apply here; the other fields are ignored.

Definitions (shown on the page too):
- an interaction is one question and its answer; it belongs to the UTC day it was asked, and
  its ratings are counted on that day too, whenever they were given;
- rated share: interactions with at least one rating, out of all interactions;
- mean stars: over every rating that gives stars (two reviewers count twice);
- thumbs-up share: thumbs up out of ratings that give a thumb;
- failure rate: interactions whose model call failed (``error`` set), out of all interactions;
- re-ask: a question whose text, normalised (lower case, punctuation and extra spaces removed),
  has a Levenshtein normalised similarity of at least ``REASK_THRESHOLD`` with the previous
  question of the same conversation; re-ask rate is re-asks out of all interactions;
- latency and time to first token are those of answered calls, and their percentiles come from
  log-spaced histogram buckets: within ``PERCENTILE_ERROR`` of the exact value;
- calls are interactions (answered or failed); token sums are over the calls that carry both
  counts (input and output), and the others are reported as such, never as zero tokens;
- estimated cost: each (day, model)'s tokens times that model's price on that day (the newest
  price whose day is not after it), per million tokens; models without a price are named and
  left out; cost per rated answer and per thumbs-up divide the period's estimated cost by its
  interactions with at least one rating, and by its thumbs up.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pandas as pd
import textdistance

from dashboard.chat import backend_label
from dashboard.filters import Filters
from store import Store
from store.dates import EARLIEST, latest
from store.insights import BUCKETS_PER_DECADE, DAILY_SUMS, USAGE_SUMS

REASK_THRESHOLD = 0.8
DEFAULT_DAYS = 30
WEEKLY_AFTER_DAYS = 92  # longer ranges are shown per week
PERCENTILE_ERROR = 10 ** (1 / (2 * BUCKETS_PER_DECADE)) - 1  # 5.9%: half a bucket, relative
REFRESH_BATCH = 50_000
NO_NAME = {"model": "(no model)", "variant": "(no variant)", "source": "(no source)",
           "backend": "(no backend)"}
EMPTY_HINT = (
    "There is nothing to show yet. Chat with a model on the Chat page, import a feedback file "
    "with `python -m dashboard import FILE`, or load demo data with `python -m dashboard demo`."
)

# -- re-asks -------------------------------------------------------------------

_NON_WORD = re.compile(r"[\W_]+")


def normalize_question(text: str | None) -> str:
    """Lower case, punctuation and runs of spaces removed: how two questions are compared."""
    return " ".join(_NON_WORD.sub(" ", (text or "").casefold()).split())


def question_similarity(first: str | None, second: str | None) -> float:
    """Levenshtein normalised similarity (0..1) of two normalised questions."""
    a, b = normalize_question(first), normalize_question(second)
    if not a or not b:
        return 0.0
    return float(textdistance.levenshtein.normalized_similarity(a, b))


def is_reask(previous: str | None, question: str | None) -> bool:
    """True when `question` asks `previous` again (similarity at least REASK_THRESHOLD)."""
    return question_similarity(previous, question) >= REASK_THRESHOLD


# -- refresh -------------------------------------------------------------------


@dataclass
class RefreshReport:
    """What one refresh of the rollups did."""

    turns: int = 0
    reasks: int = 0
    interactions: int = 0
    ratings: int = 0
    recounts: int = 0  # (day, model) pairs recounted because counted rows changed
    seconds: float = 0.0

    @property
    def did_work(self) -> bool:
        """True when anything was processed."""
        return bool(self.turns or self.interactions or self.ratings or self.recounts)


Progress = Callable[[float, str], object]  # what it returns is ignored


def needs_refresh(store: Store) -> bool:
    """True when rows were added or changed since the rollups were last brought up to date."""
    s = store.insights.state()
    return (
        s["turns_done"] < s["max_interaction"]
        or s["interactions_done"] < s["turns_done"]
        or s["ratings_done"] < s["max_rating"]
        or s["dirty"] > 0
    )


def refresh_insights(
    store: Store, progress: Progress | None = None, *, batch: int = REFRESH_BATCH
) -> RefreshReport:
    """Bring the rollups up to date, in committed batches (an interrupted refresh resumes)."""
    report = RefreshReport()
    if not needs_refresh(store):
        return report
    began = time.perf_counter()
    backlog = store.insights.backlog()
    total = max(1, backlog["turns"] + backlog["interactions"] + backlog["ratings"]
                + backlog["recounts"] * 1000)

    def tell(text: str) -> None:
        if progress is not None:
            done = report.turns + report.interactions + report.ratings + report.recounts * 1000
            progress(min(1.0, done / total), text)

    while True:
        batch_info = store.insights.next_turns(batch)
        if not batch_info["scanned"]:
            break
        turns = [
            (t["id"], t["previous_id"], s, s >= REASK_THRESHOLD)
            for t in batch_info["turns"]
            for s in [question_similarity(t["previous_question"], t["question"])]
        ]
        if store.insights.save_turns(batch_info["after"], batch_info["upto"], turns):
            report.turns += batch_info["scanned"]
            report.reasks += sum(1 for t in turns if t[3])
        tell(f"Looking for re-asked questions: {report.turns:,} of {backlog['turns']:,}")
    while (count := store.insights.recount(limit=5)) > 0:
        report.recounts += count
        tell(f"Recounting days whose answers or ratings changed: {report.recounts:,} of "
             f"{backlog['recounts']:,} (day, model) pairs")
    while (count := store.insights.roll_up_interactions(batch)) > 0:
        report.interactions += count
        tell(f"Counting interactions: {report.interactions:,} of {backlog['interactions']:,}")
    while (count := store.insights.roll_up_ratings(batch)) > 0:
        report.ratings += count
        tell(f"Counting ratings: {report.ratings:,} of {backlog['ratings']:,}")
    report.seconds = time.perf_counter() - began
    return report


# -- the view's filters ----------------------------------------------------------


def data_span(store: Store) -> tuple[date, date] | None:
    """First and last UTC day with interactions, or None for an empty database (days no import
    would accept, such as 9999-12-31 stored before dates were checked, are left out)."""
    span = store.insights.day_span((EARLIEST.date().isoformat(), latest().date().isoformat()))
    if span is None:
        return None
    try:
        return date.fromisoformat(span[0]), date.fromisoformat(span[1])
    except ValueError:
        return None


def default_range(last_day: date | None) -> tuple[date, date]:
    """The last DEFAULT_DAYS days of data (ending on the last day that has any)."""
    end = last_day or date.today()
    return end - timedelta(days=DEFAULT_DAYS - 1), end


def view_filters(filters: Filters, last_day: date | None) -> Filters:
    """Only the fields Insights honours, with the default date range filled in."""
    default_to = default_range(last_day)[1]
    date_to = filters.date_to or (
        max(default_to, filters.date_from) if filters.date_from else default_to
    )
    date_from = filters.date_from or date_to - timedelta(days=DEFAULT_DAYS - 1)
    if date_from > date_to:
        date_from, date_to = date_to, date_from
    return Filters(
        date_from=date_from,
        date_to=date_to,
        models=filters.models,
        variants=filters.variants,
        sources=filters.sources,
    )


def previous_period(filters: Filters) -> Filters:
    """The same filters over the period of the same length just before."""
    length = period_days(filters)
    assert filters.date_from is not None, "a period has a first day"
    return filters.with_(
        date_from=filters.date_from - timedelta(days=length),
        date_to=filters.date_from - timedelta(days=1),
    )


def period_days(filters: Filters) -> int:
    """Number of days the filters' date range covers."""
    assert filters.date_from is not None and filters.date_to is not None, "a period has two ends"
    return (filters.date_to - filters.date_from).days + 1


def period_for(filters: Filters) -> str:
    """'day', or 'week' when the range is longer than WEEKLY_AFTER_DAYS."""
    if filters.date_from is None or filters.date_to is None:
        return "day"
    return "week" if period_days(filters) > WEEKLY_AFTER_DAYS else "day"


# -- headline numbers --------------------------------------------------------------


@dataclass(frozen=True)
class Headline:
    """One headline number, for the period and the period before it."""

    key: str
    label: str
    value: float | None
    previous: float | None
    kind: str  # "count", "share", "stars" or "ms"
    help: str
    lower_is_better: bool = False

    def value_text(self) -> str:
        """The value as shown ('—' when there is nothing to measure)."""
        return _format(self.value, self.kind)

    def delta_text(self) -> str | None:
        """The change versus the previous period, or None when it means nothing."""
        if self.value is None or self.previous is None:
            return None
        change = self.value - self.previous
        if self.kind == "count":
            if self.previous == 0:
                return None
            text = f"{change / self.previous:+.1%}"
        elif self.kind == "share":
            text = f"{change * 100:+.1f} pp"
        elif self.kind == "stars":
            text = f"{change:+.2f}"
        else:
            text = f"{change:+,.0f} ms"
        return text.lstrip("+-") if self._flat(text) else text

    @staticmethod
    def _flat(text: str) -> bool:
        return not any(ch in "123456789" for ch in text)

    @property
    def delta_color(self) -> str:
        """'normal' (up is good), 'inverse' (up is bad) or 'off' (no change)."""
        delta = self.delta_text()
        if delta is None or self._flat(delta):
            return "off"
        return "inverse" if self.lower_is_better else "normal"

    @property
    def delta_arrow(self) -> str:
        """'off' when the change rounds to nothing, else 'auto'."""
        delta = self.delta_text()
        return "off" if delta is not None and self._flat(delta) else "auto"


def _format(value: float | None, kind: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if kind == "count":
        return f"{value:,.0f}"
    if kind == "share":
        return f"{value:.1%}"
    if kind == "stars":
        return f"{value:.2f} / 5"
    return f"{value:,.0f} ms"


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def _totals(store: Store, filters: Filters) -> dict[str, Any]:
    [row] = store.insights.sums(filters)
    sums = {k: (row[k] or 0) for k in DAILY_SUMS}
    timing = {r["metric"]: r for r in store.insights.percentiles(filters, {"p95": 0.95})}
    p95_bucket = timing.get("latency", {}).get("p95")
    return {
        "interactions": sums["interactions"] or None,
        "ratings": sums["ratings"] if sums["interactions"] else None,
        "rated_share": _ratio(sums["rated"], sums["interactions"]),
        "mean_stars": _ratio(sums["stars_sum"], sums["starred"]),
        "thumbs_up_share": _ratio(sums["thumbs_up"], sums["thumbs_up"] + sums["thumbs_down"]),
        "failure_rate": _ratio(sums["failures"], sums["interactions"]),
        "reask_rate": _ratio(sums["reasks"], sums["interactions"]),
        "p95_latency": bucket_value(p95_bucket) if p95_bucket is not None else None,
    }


HEADLINES = (
    ("interactions", "Interactions", "count", False,
     "Questions asked in the period (answered or failed)."),
    ("ratings", "Ratings", "count", False,
     "Ratings given to the period's interactions (each reviewer's rating counts)."),
    ("rated_share", "Rated", "share", False,
     "Share of interactions with at least one rating."),
    ("mean_stars", "Mean stars", "stars", False,
     "Mean of every star rating (1 to 5) given to the period's interactions."),
    ("thumbs_up_share", "Thumbs up", "share", False,
     "Thumbs up out of all thumbs given (up or down)."),
    ("failure_rate", "Failure rate", "share", True,
     "Share of interactions whose model call failed (an error was recorded)."),
    ("reask_rate", "Re-ask rate", "share", True,
     "Share of questions that repeat the previous question of the same conversation "
     f"(text similarity at least {REASK_THRESHOLD:.0%})."),
    ("p95_latency", "p95 latency", "ms", True,
     "95th percentile of the time to a full answer, answered calls only; read from log-spaced "
     f"histogram buckets, so within ±{PERCENTILE_ERROR:.0%} of the exact value."),
)


def headline(store: Store, filters: Filters) -> list[Headline]:
    """The headline numbers for the period, each with its value for the previous period."""
    current = _totals(store, filters)
    before = _totals(store, previous_period(filters)) if filters.date_from else {}
    had_data = bool(before.get("interactions"))
    return [
        Headline(key, label, current[key], before.get(key) if had_data else None, kind, text,
                 lower)
        for key, label, kind, lower, text in HEADLINES
    ]


# -- histogram percentiles --------------------------------------------------------


def bucket_bounds(bucket: int) -> tuple[float, float]:
    """The [low, high) milliseconds a timing bucket holds."""
    return 10 ** (bucket / BUCKETS_PER_DECADE), 10 ** ((bucket + 1) / BUCKETS_PER_DECADE)


def bucket_value(bucket: int | float) -> float:
    """The value reported for a bucket: its geometric middle."""
    return 10 ** ((bucket + 0.5) / BUCKETS_PER_DECADE)


def histogram_percentile(buckets: Any, counts: Any, q: float) -> float | None:
    """Nearest-rank percentile `q` (0..1) of a bucketed histogram, or None when empty."""
    pairs = sorted(zip((int(b) for b in buckets), (int(c) for c in counts)))
    total = sum(c for _, c in pairs)
    if total == 0:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for bucket, count in pairs:
        seen += count
        if seen >= rank:
            return bucket_value(bucket)
    return bucket_value(pairs[-1][0])


# -- aggregates behind the charts ------------------------------------------------------


def _named(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    for column in columns:
        if column in frame:
            frame[column] = frame[column].replace("", NO_NAME[column]).fillna(NO_NAME[column])
    return frame


def _series(store: Store, filters: Filters, by: list[str]) -> pd.DataFrame:
    rows = store.insights.sums(filters, period=period_for(filters), by=by)
    frame = pd.DataFrame(rows, columns=["period", *by, *DAILY_SUMS])
    frame["period"] = pd.to_datetime(frame["period"])
    return _named(frame, *by)


def ratings_over_time(store: Store, filters: Filters, by: str = "model") -> pd.DataFrame:
    """Per period and model (or variant): ratings, mean stars and thumbs-up share."""
    frame = _series(store, filters, [by])
    frame = frame[frame["ratings"] > 0].rename(columns={by: "group"})
    frame = frame.groupby(["period", "group"], as_index=False)[list(DAILY_SUMS)].sum()
    frame["thumbs"] = frame["thumbs_up"] + frame["thumbs_down"]
    frame["mean_stars"] = frame["stars_sum"] / frame["starred"].where(frame["starred"] > 0)
    frame["thumbs_up_share"] = frame["thumbs_up"] / frame["thumbs"].where(frame["thumbs"] > 0)
    return frame[["period", "group", "ratings", "starred", "mean_stars", "thumbs",
                  "thumbs_up_share"]].reset_index(drop=True)


def star_distribution(store: Store, filters: Filters, by_model: bool = True) -> pd.DataFrame:
    """How many ratings gave 1 to 5 stars, per model (or overall), with each one's share."""
    by = ["model"] if by_model else []
    rows = store.insights.sums(filters, by=by)
    frame = _named(pd.DataFrame(rows, columns=[*by, *DAILY_SUMS]), *by)
    frame["group"] = frame["model"] if by_model else "All models"
    long = frame.melt(id_vars=["group"], value_vars=[f"stars_{n}" for n in range(1, 6)],
                      var_name="stars", value_name="count")
    long["stars"] = long["stars"].str[-1].astype(int)
    long["count"] = long["count"].fillna(0).astype(int)
    totals = long.groupby("group")["count"].transform("sum")
    long = long[totals > 0].copy()
    long["share"] = long["count"] / totals[totals > 0]
    return long.sort_values(["group", "stars"]).reset_index(drop=True)


def timing_percentiles(store: Store, filters: Filters) -> pd.DataFrame:
    """Per period, model and metric ('latency', 'ttft'): answered calls, p50 and p95 in ms."""
    rows = store.insights.percentiles(
        filters, {"p50": 0.5, "p95": 0.95}, period=period_for(filters), by=["model"]
    )
    frame = _named(pd.DataFrame(rows, columns=["period", "model", "metric", "calls", "p50", "p95"]),
                   "model")
    frame["period"] = pd.to_datetime(frame["period"])
    for name in ("p50", "p95"):
        frame[f"{name}_ms"] = frame.pop(name).map(bucket_value)
    return frame


def _rate(store: Store, filters: Filters, numerator: str) -> pd.DataFrame:
    frame = _series(store, filters, ["model"])
    frame = frame.groupby(["period", "model"], as_index=False)[["interactions", numerator]].sum()
    frame = frame[frame["interactions"] > 0].reset_index(drop=True)
    frame["rate"] = frame[numerator] / frame["interactions"]
    return frame


def failure_rate(store: Store, filters: Filters) -> pd.DataFrame:
    """Per period and model: interactions, failures and the failure rate."""
    return _rate(store, filters, "failures")


def reask_rate(store: Store, filters: Filters) -> pd.DataFrame:
    """Per period and model: interactions, re-asks and the re-ask rate."""
    return _rate(store, filters, "reasks")


def volume(store: Store, filters: Filters, stack: str = "source") -> pd.DataFrame:
    """Per period and source (or model): interactions and ratings."""
    frame = _series(store, filters, [stack]).rename(columns={stack: "group"})
    frame = frame.groupby(["period", "group"], as_index=False)[["interactions", "ratings"]].sum()
    return frame[(frame["interactions"] > 0) | (frame["ratings"] > 0)].reset_index(drop=True)


def top_tags(
    store: Store, filters: Filters, by_model: bool = False, limit: int = 10
) -> pd.DataFrame:
    """The most used tags: items carrying each, and their share of rated items."""
    by = ["model"] if by_model else []
    tags = _named(pd.DataFrame(store.insights.tags(filters, by=by), columns=[*by, "tag", "items"]),
                  *by)
    if tags.empty:
        return pd.DataFrame(columns=["tag", "group", "items", "share"])
    rated = _named(pd.DataFrame(store.insights.sums(filters, by=by), columns=[*by, *DAILY_SUMS]),
                   *by)
    if by_model:
        tags["group"] = tags["model"]
        rated["group"] = rated["model"]
    else:
        tags["group"] = rated["group"] = "All models"
    rated_per_group = rated.groupby("group")["rated"].sum()
    top = tags.groupby("tag")["items"].sum().sort_values(ascending=False, kind="stable")
    keep = list(top.index[:limit])
    tags = tags[tags["tag"].isin(keep)].copy()
    tags["share"] = tags["items"] / tags["group"].map(rated_per_group).where(lambda r: r > 0)
    tags["order"] = tags["tag"].map({t: n for n, t in enumerate(keep)})
    tags = tags.sort_values(["order", "group"]).reset_index(drop=True)
    return tags[["tag", "group", "items", "share"]]


# -- usage and cost -----------------------------------------------------------------------

USAGE_BY = ("model", "variant", "backend")


def format_cost(value: float | None) -> str:
    """An estimated cost in dollars ('—' when nothing could be priced)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"${value:,.4f}" if abs(value) < 1 else f"${value:,.2f}"


@dataclass(frozen=True)
class UsageSummary:
    """Calls, tokens and estimated cost of a period, with what they could not count."""

    calls: int
    counted: int  # calls carrying both token counts
    prompt_tokens: int
    completion_tokens: int
    priced: int  # counted calls whose model has a price on their day
    cost: float | None
    rated: int
    thumbs_up: int
    unpriced_models: tuple[str, ...]

    @property
    def uncounted(self) -> int:
        """Calls without token counts (failed calls and backends that report none)."""
        return self.calls - self.counted

    @property
    def cost_per_rated(self) -> float | None:
        """Estimated cost divided by the interactions that got at least one rating."""
        return self.cost / self.rated if self.cost is not None and self.rated else None

    @property
    def cost_per_thumbs_up(self) -> float | None:
        """Estimated cost divided by the thumbs up given."""
        return self.cost / self.thumbs_up if self.cost is not None and self.thumbs_up else None

    def tokens_text(self, which: str) -> str:
        """Input or output token total, '—' when no call carries counts (never a made-up 0)."""
        return f"{getattr(self, which):,}" if self.counted else "—"

    def gaps(self) -> list[str]:
        """Sentences saying what the totals leave out ([] when nothing is missing)."""
        notes = []
        if self.uncounted:
            notes.append(f"{self.uncounted:,} of {self.calls:,} answers carry no token counts "
                         "(failed calls, or a backend or import that reported none): they are "
                         "left out of the token totals and the cost, not counted as zero.")
        if self.unpriced_models:
            names = ", ".join(self.unpriced_models)
            notes.append(f"No price is set for {names} on some of these days: those tokens are "
                         "not in the estimated cost. An admin can add a price below.")
        return notes


def usage_summary(store: Store, filters: Filters) -> UsageSummary:
    """Totals of usage and estimated cost for the filters, with the ratings they bought."""
    [row] = store.insights.usage(filters)
    [ratings] = store.insights.sums(filters)
    return UsageSummary(
        calls=int(row["calls"] or 0),
        counted=int(row["counted"] or 0),
        prompt_tokens=int(row["prompt_tokens"] or 0),
        completion_tokens=int(row["completion_tokens"] or 0),
        priced=int(row["priced"] or 0),
        cost=row["cost"],
        rated=int(ratings["rated"] or 0),
        thumbs_up=int(ratings["thumbs_up"] or 0),
        unpriced_models=tuple(store.insights.unpriced_models(filters)),
    )


def _usage_frame(rows: list[dict[str, Any]], columns: list[str], by: str) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=[*columns, by, *USAGE_SUMS, "priced", "cost"])
    frame = _named(frame, by)
    if by == "backend":
        frame[by] = frame[by].map(lambda b: b if b == NO_NAME["backend"] else backend_label(b))
    return frame.rename(columns={by: "group"})


def usage_over_time(store: Store, filters: Filters, by: str = "model") -> pd.DataFrame:
    """Per period and model (variant, backend): calls, counted calls, tokens, estimated cost."""
    if by not in USAGE_BY:
        raise ValueError(f"usage is grouped by one of {USAGE_BY}, not {by!r}")
    rows = store.insights.usage(filters, period=period_for(filters), by=[by])
    frame = _usage_frame(rows, ["period"], by)
    frame["period"] = pd.to_datetime(frame["period"])
    # min_count: a group with no priced row keeps no cost (NaN), rather than $0
    return frame.groupby(["period", "group"], as_index=False)[
        [*USAGE_SUMS, "priced", "cost"]].sum(min_count=1)


def usage_breakdown(store: Store, filters: Filters, by: str = "model") -> pd.DataFrame:
    """One row per model (variant, backend) over the period: calls, calls without counts,
    tokens and estimated cost ('tokens' columns are None where no call carries counts)."""
    if by not in USAGE_BY:
        raise ValueError(f"usage is grouped by one of {USAGE_BY}, not {by!r}")
    frame = _usage_frame(store.insights.usage(filters, by=[by]), [], by)
    frame = frame.groupby("group", as_index=False)[[*USAGE_SUMS, "priced", "cost"]].sum(
        min_count=1)
    frame["uncounted"] = frame["calls"] - frame["counted"]
    for column in ("prompt_tokens", "completion_tokens"):
        frame[column] = frame[column].astype(object).where(frame["counted"] > 0, None)
    return frame[["group", "calls", "uncounted", "prompt_tokens", "completion_tokens",
                  "cost"]].reset_index(drop=True)


def filter_options(store: Store, filters: Filters | None = None) -> dict[str, list[str]]:
    """Models, variants and sources to choose from."""
    return store.insights.options()


INSIGHT_QUERIES: dict[str, Callable[[Store, Filters], Any]] = {
    "headline": headline,
    "ratings_over_time": ratings_over_time,
    "star_distribution": star_distribution,
    "timing_percentiles": timing_percentiles,
    "failure_rate": failure_rate,
    "reask_rate": reask_rate,
    "volume": volume,
    "top_tags": top_tags,
    "filter_options": filter_options,
    "usage_summary": usage_summary,
    "usage_over_time": usage_over_time,
    "usage_breakdown": usage_breakdown,
}
