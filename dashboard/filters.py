"""The filters every list, queue, chart and export shares, and their round trip through the URL."""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields, replace
from datetime import date
from typing import Any

THUMBS_VALUES = ("up", "down")


@dataclass(frozen=True)
class Filters:
    """Which interactions a view covers. Empty fields filter nothing.

    Rating filters (stars, thumbs, tags, has_ideal) match an interaction when at least one
    of its ratings matches each of them; when ``reviewers`` are named, they must all hold on
    one rating by one of those reviewers ("ana gave it 1-2 stars"). ``unrated`` keeps only
    interactions nobody rated (or, with ``unrated_by``, that this reviewer has not rated).
    """

    stars_min: int | None = None
    stars_max: int | None = None
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

    def is_empty(self) -> bool:
        """True when no field filters anything."""
        return self == Filters()

    def with_(self, **changes: Any) -> Filters:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def active_fields(self) -> list[str]:
        """Names of the fields that filter something."""
        return [f.name for f in fields(self) if getattr(self, f.name) != _default(f)]

    def describe(self) -> str:
        """A short description for people, e.g. 'stars 1-2 · thumbs down · model qwen2.5:7b'."""
        parts: list[str] = []
        if self.stars_min is not None or self.stars_max is not None:
            parts.append(f"stars {self.stars_min or 1}-{self.stars_max or 5}")
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
    return value
