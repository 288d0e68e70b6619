"""The filters every list, queue, chart and export shares, and their round trip through the URL."""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields, replace
from datetime import date
from typing import Any

THUMBS_VALUES = ("up", "down")


@dataclass(frozen=True)
class Filters:
    """Which interactions a view covers. Empty fields filter nothing.

    Rating filters (stars, thumbs, reviewers, tags, has_ideal) match an interaction when at
    least one of its ratings matches; ``unrated`` keeps only interactions nobody rated
    (or, with ``unrated_by``, that this reviewer has not rated).
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

    # -- URL round trip ---------------------------------------------------------

    def to_query_params(self) -> dict[str, str | list[str]]:
        """Query-string parameters for this view (only the fields that filter something)."""
        params: dict[str, str | list[str]] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            default = f.default_factory() if f.default is MISSING else f.default
            if value == default:
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
