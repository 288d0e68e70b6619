"""The filters every list, queue, chart and export shares, and their round trip through the URL.

store/filtering.py turns them into SQL; ``describe`` says what they keep in words.
"""

from __future__ import annotations

import math
from dataclasses import MISSING, dataclass, field, fields, replace
from datetime import date
from typing import Any

THUMBS_VALUES = ("up", "down")
# How the stars range judges an item with several ratings (see Filters).
STARS_MODES = ("any", "every", "mean")
STARS_MODE_LABELS = {"any": "any rating", "every": "every rating", "mean": "the mean"}


@dataclass(frozen=True)
class Filters:
    """Which interactions a view covers. Empty fields filter nothing.

    The stars range reads the ratings that have stars, as ``stars_mode`` says:

    - ``any`` (the default): at least one rating is in the range;
    - ``every``: every rating is in the range;
    - ``mean``: their mean, rounded to one decimal as the Review table shows it, is in
      the range (``mean_tenths``).

    The other rating filters (thumbs, tags, has_ideal) match an interaction when at least
    one of its ratings matches each of them. When ``reviewers`` are named, only their
    ratings count: the stars range reads their ratings, and the other rating filters must
    hold on one rating by one of them together ("ana gave it 1-2 stars and a thumbs
    down"). ``unrated`` keeps only interactions nobody rated (or, with ``unrated_by``,
    that this reviewer has not rated).
    """

    stars_min: int | None = None
    stars_max: int | None = None
    stars_mode: str = "any"  # one of STARS_MODES
    thumbs: str | None = None  # "up" or "down"
    models: tuple[str, ...] = ()
    variants: tuple[str, ...] = ()  # variant names (any version)
    reviewers: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    date_from: date | None = None  # inclusive, UTC day
    date_to: date | None = None  # inclusive, UTC day
    has_ideal: bool | None = None
    unrated: bool = False
    unrated_by: str | None = None
    errors: bool | None = None  # True: failed calls only; False: answered only
    search: str = ""
    ids: tuple[int, ...] = field(default=())  # explicit interaction ids (e.g. a theme's items)

    def __post_init__(self) -> None:
        if self.stars_mode not in STARS_MODES:
            raise ValueError(f"stars_mode must be one of {', '.join(STARS_MODES)}")

    def has_stars_range(self) -> bool:
        """True when the stars range filters something."""
        return self.stars_min is not None or self.stars_max is not None

    def is_empty(self) -> bool:
        """True when no field filters anything (a stars mode without a range filters nothing)."""
        return self.with_(stars_mode="any") == Filters()

    def with_(self, **changes: Any) -> Filters:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def active_fields(self) -> list[str]:
        """Names of the fields that filter something."""
        active = [f.name for f in fields(self) if getattr(self, f.name) != _default(f)]
        if not self.has_stars_range() and "stars_mode" in active:
            active.remove("stars_mode")
        return active

    def describe(self) -> str:
        """A short description for people, e.g. 'stars 1-2 · thumbs down · model qwen2.5:7b'."""
        parts: list[str] = []
        if self.has_stars_range():
            span = f"{self.stars_min or 1}-{self.stars_max or 5}"
            parts.append(f"mean stars {span}" if self.stars_mode == "mean"
                         else f"{self.stars_mode} rating {span} stars")
        if self.thumbs:
            parts.append(f"thumbs {self.thumbs}")
        for label, values in (
            ("model", self.models), ("variant", self.variants), ("reviewer", self.reviewers),
            ("tag", self.tags), ("source", self.sources),
        ):
            if values:
                parts.append(f"{label} {', '.join(values)}")
        if self.date_from or self.date_to:
            parts.append(f"from {self.date_from or '…'} to {self.date_to or '…'}")
        if self.has_ideal is not None:
            parts.append("with an ideal answer" if self.has_ideal else "without an ideal answer")
        if self.unrated_by:
            parts.append(f"not rated by {self.unrated_by}")
        elif self.unrated:
            parts.append("unrated")
        if self.errors is not None:
            parts.append("failed calls" if self.errors else "answered calls")
        if self.search:
            parts.append(f"containing “{self.search}”")
        if self.ids:
            parts.append(f"{len(self.ids)} chosen item{'s' if len(self.ids) != 1 else ''}")
        return " · ".join(parts) or "everything"

    # -- URL round trip ---------------------------------------------------------

    def to_query_params(self) -> dict[str, str | list[str]]:
        """Query-string parameters for this view (only the fields that filter something)."""
        params: dict[str, str | list[str]] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value == _default(f):
                continue
            if isinstance(value, tuple):
                params[f.name] = [str(v) for v in value]
            elif isinstance(value, bool):
                params[f.name] = "1" if value else "0"
            elif isinstance(value, date):
                params[f.name] = value.isoformat()
            else:
                params[f.name] = str(value)
        return params

    @classmethod
    def from_query_params(cls, params: Any) -> Filters:
        """Filters read back from st.query_params (or a dict); bad values are ignored."""
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in params:
                continue
            raw = _get_all(params, f.name)
            try:
                kwargs[f.name] = _parse(f.name, raw)
            except (TypeError, ValueError):
                continue
        return cls(**kwargs)


_INT = {"stars_min", "stars_max"}
_BOOL = {"has_ideal", "unrated", "errors"}
_DATE = {"date_from", "date_to"}
_TUPLE_STR = {"models", "variants", "reviewers", "tags", "sources"}


def _default(f: Any) -> Any:
    return f.default_factory() if f.default is MISSING else f.default


def _get_all(params: Any, name: str) -> list[str]:
    if hasattr(params, "get_all"):
        return list(params.get_all(name))
    value = params[name]
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _parse(name: str, raw: list[str]) -> Any:
    if name in _TUPLE_STR:
        return tuple(v for v in raw if v)
    if name == "ids":
        return tuple(int(v) for v in raw)
    value = raw[-1] if raw else ""
    if name in _INT:
        number = int(value)
        if not 1 <= number <= 5:
            raise ValueError(name)
        return number
    if name in _BOOL:
        return value in ("1", "true", "True", "yes")
    if name in _DATE:
        return date.fromisoformat(value)
    if name == "thumbs":
        if value not in THUMBS_VALUES:
            raise ValueError(name)
        return value
    if name == "stars_mode":
        if value not in STARS_MODES:
            raise ValueError(name)
        return value
    return value


def mean_tenths(mean: float) -> int:
    """A mean of stars in tenths, rounded half up: 37 for 3.65. The Review table shows this
    value and the ``mean`` stars filter tests it (store/filtering.py computes the same
    expression in SQL, with the same floating-point operations)."""
    return math.floor(mean * 10 + 0.5)
