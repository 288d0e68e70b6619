"""The filter bar: widgets for the shared Filters, seeded from the URL, reusable by any page."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, cast

import streamlit as st

from dashboard.filters import STARS_MODES, Filters
from store import Store

ALL_FIELDS = (
    "search", "stars", "thumbs", "models", "variants", "reviewers", "tags", "sources",
    "dates", "has_ideal", "unrated", "errors",
)
_FIRST_ROW = ("search", "stars", "stars_mode", "thumbs", "models")
_SELECTS = {  # field -> (label, Filters attribute, filter_options key)
    "models": ("Model", "models", "models"),
    "variants": ("Variant", "variants", "variants"),
    "reviewers": ("Reviewer", "reviewers", "reviewers"),
    "tags": ("Tag", "tags", "tags"),
    "sources": ("Source", "sources", "sources"),
}
_THUMBS = {"up": ":material/thumb_up: Up", "down": ":material/thumb_down: Down"}
# The type Streamlit gives format_func; the boxes pass dict.get, whose None for a value not
# offered Streamlit reads as no choice.
_Format = Callable[[Any], str]
_STARS_MODES = {"any": "Any rating", "every": "Every rating", "mean": "The mean"}
_STARS_MODE_HELP = (
    "How the stars range reads an answer several people rated. **Any rating**: someone's "
    "stars are in the range. **Every rating**: everyone's are. **The mean**: the mean shown in "
    "the Stars column is. When reviewers are chosen, only their ratings count."
)
_IDEAL = {"any": "Any", "yes": "With one", "no": "Without"}
_ERRORS = {"any": "Any", "failed": "Failed calls", "answered": "Answered"}
_EARLIEST = date(2000, 1, 1)


@st.cache_data(show_spinner=False, max_entries=8, ttl="1h")
def _options(_store: Store, path: str, stamp: Any) -> dict[str, list[str]]:
    return _store.review.filter_options()


def filter_options(store: Store) -> dict[str, list[str]]:
    """Distinct models, variants, reviewers, tags and sources, cached until the data changes."""
    return _options(store, store.path, store.data_stamp())


def _key(prefix: str, field: str) -> str:
    return f"{prefix}.filter.{field}"


def _widgets(fields: Sequence[str]) -> list[str]:
    """The widgets drawn for these fields: the stars range comes with its mode."""
    out: list[str] = []
    for field in fields:
        out.append(field)
        if field == "stars":
            out.append("stars_mode")
    return out


def _widget_values(filters: Filters) -> dict[str, Any]:
    """Widget values showing ``filters``."""
    dates: tuple[date, ...] = ()
    if filters.date_from or filters.date_to:
        dates = (filters.date_from or _EARLIEST, filters.date_to or date.today())
    return {
        "search": filters.search,
        "stars": (filters.stars_min or 1, filters.stars_max or 5),
        "stars_mode": filters.stars_mode,
        "thumbs": filters.thumbs,
        **{field: list(getattr(filters, attr)) for field, (_, attr, _) in _SELECTS.items()},
        "dates": dates,
        "has_ideal": {None: "any", True: "yes", False: "no"}[filters.has_ideal],
        "unrated": filters.unrated,
        "errors": {None: "any", True: "failed", False: "answered"}[filters.errors],
    }


def reset_filters(prefix: str, filters: Filters | None = None) -> None:
    """Set the filter bar with this prefix to ``filters`` (default: nothing filtered)."""
    for field, value in _widget_values(filters or Filters()).items():
        st.session_state[_key(prefix, field)] = value
    st.session_state[_key(prefix, "base")] = filters or Filters()


def filter_bar(
    store: Store,
    fields: Sequence[str] = ALL_FIELDS,
    *,
    key: str = "review",
    base: Filters | None = None,
) -> Filters:
    """Draw the filter widgets named in ``fields`` and return the Filters they describe.

    The widgets start from ``base`` (typically read from the URL) the first time they are
    drawn; fields not shown keep base's value (e.g. explicit ids from a link).
    """
    base = base or Filters()
    state = st.session_state
    widgets = _widgets(fields)
    if any(_key(key, f) not in state for f in widgets):
        seeded = _widget_values(base)
        for field in widgets:
            state.setdefault(_key(key, field), seeded[field])
        state[_key(key, "base")] = base
    base = state.get(_key(key, "base"), base)
    options = filter_options(store)

    first = [f for f in _FIRST_ROW if f in widgets]
    more = [f for f in widgets if f not in _FIRST_ROW]
    widths = {"search": 2.6, "stars": 2, "stars_mode": 1.6, "thumbs": 2.3, "models": 2}
    if first:
        columns = st.columns([widths[f] for f in first], vertical_alignment="bottom")
        for column, field in zip(columns, first):
            with column:
                _widget(field, key, options)
    if more:
        active = sum(1 for f in more if state[_key(key, f)] != _widget_values(Filters())[f])
        label = "More filters" + (f" ({active} on)" if active else "")
        with st.expander(label, icon=":material/filter_list:"):
            per_row = 4
            for start in range(0, len(more), per_row):
                row = more[start:start + per_row]
                for column, field in zip(st.columns(per_row, vertical_alignment="bottom"), row):
                    with column:
                        _widget(field, key, options)
    return _filters_from_state(key, fields, base)


def _widget(field: str, prefix: str, options: dict[str, list[str]]) -> None:
    key = _key(prefix, field)
    if field == "search":
        st.text_input(
            "Search", key=key, placeholder="Words in the question or answer",
            help="Finds interactions containing every word, in the question or the answer.",
        )
    elif field == "stars":
        st.slider("Stars", 1, 5, value=(1, 5), key=key,
                  help="Items whose stars are in this range, read as **Stars of** says.")
    elif field == "stars_mode":
        st.selectbox("Stars of", list(_STARS_MODES), key=key,
                     format_func=cast(_Format, _STARS_MODES.get), help=_STARS_MODE_HELP)
    elif field == "thumbs":
        st.segmented_control(
            "Thumbs", list(_THUMBS), key=key, format_func=cast(_Format, _THUMBS.get),
            help="Items someone gave this thumb.",
        )
    elif field in _SELECTS:
        label, _, source = _SELECTS[field]
        chosen = st.session_state.get(key) or []
        choices = list(dict.fromkeys([*options.get(source, []), *chosen]))
        st.multiselect(label, choices, key=key, placeholder="Any")
    elif field == "dates":
        st.date_input("Dates", value=(),  # type: ignore[arg-type]  # () picks no day
                      key=key, min_value=_EARLIEST, format="YYYY-MM-DD",
                      help="Pick the first and the last day (UTC).")
    elif field == "has_ideal":
        st.selectbox("Ideal answer", list(_IDEAL), key=key, format_func=cast(_Format, _IDEAL.get))
    elif field == "errors":
        st.selectbox("Calls", list(_ERRORS), key=key, format_func=cast(_Format, _ERRORS.get))
    elif field == "unrated":
        st.toggle("Unrated only", key=key, help="Items nobody has rated yet.")
    else:
        raise ValueError(f"unknown filter field: {field}")


def current_filters(key: str, fields: Sequence[str], base: Filters) -> Filters:
    """The Filters the bar with this key holds now (before it is drawn), else ``base``."""
    if any(_key(key, f) not in st.session_state for f in _widgets(fields)):
        return base
    return _filters_from_state(key, fields, st.session_state.get(_key(key, "base"), base))


def _filters_from_state(prefix: str, fields: Sequence[str], base: Filters) -> Filters:
    state = st.session_state

    def get(field: str) -> Any:
        return state.get(_key(prefix, field))

    changes: dict[str, Any] = {}
    if "search" in fields:
        changes["search"] = (get("search") or "").strip()
    if "stars" in fields:
        low, high = get("stars") or (1, 5)
        changes["stars_min"] = None if low <= 1 else int(low)
        changes["stars_max"] = None if high >= 5 else int(high)
        mode = get("stars_mode")
        changes["stars_mode"] = mode if mode in STARS_MODES else "any"
    if "thumbs" in fields:
        changes["thumbs"] = get("thumbs") if get("thumbs") in _THUMBS else None
    for field, (_, attr, _) in _SELECTS.items():
        if field in fields:
            changes[attr] = tuple(get(field) or ())
    if "dates" in fields:
        dates = tuple(get("dates") or ())
        changes["date_from"] = dates[0] if len(dates) >= 1 else None
        changes["date_to"] = dates[1] if len(dates) >= 2 else None
    if "has_ideal" in fields:
        changes["has_ideal"] = {"yes": True, "no": False}.get(get("has_ideal"))
    if "errors" in fields:
        changes["errors"] = {"failed": True, "answered": False}.get(get("errors"))
    if "unrated" in fields:
        changes["unrated"] = bool(get("unrated"))
    return base.with_(**changes)


_WRITTEN_KEPT = 32  # how many of a page's own recent URL writes are remembered


def _url_now() -> dict[str, list[str]]:
    return {k: st.query_params.get_all(k) for k in st.query_params}


def _history_navigation() -> bool:
    """True when this run comes from the browser's Back or Forward button."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    return bool(getattr(get_script_run_ctx(), "is_history_navigation", False))


def url_is_new(prefix: str, fields: Sequence[str] = ALL_FIELDS) -> bool:
    """True when the URL should decide the view of the filter bar ``prefix``.

    That is when it holds parameters and either the bar is drawn for the first time on this
    visit of the page (a link, a page switch with parameters), or the browser went Back or
    Forward, or the URL is none that this page wrote lately. A URL that repeats one of the
    page's own recent writes is the browser catching up: a widget step that reruns before
    the address bar took the previous step's parameters must not be undone by them.
    """
    now = _url_now()
    if not now:
        return False  # a sidebar link carries no parameters: the session keeps its view
    if any(_key(prefix, f) not in st.session_state for f in _widgets(fields)):
        return True
    written = st.session_state.get(_key(prefix, "written"), [])
    if _history_navigation():
        return not written or now != written[-1]
    return now not in written


def write_query_params(params: dict[str, str | list[str]], prefix: str | None = None) -> None:
    """Make the URL hold exactly ``params`` (written only when something changed).

    With ``prefix`` the write is remembered for ``url_is_new`` of that filter bar.
    """
    wanted = {k: v if isinstance(v, list) else [v] for k, v in params.items()}
    if prefix is not None:
        written = st.session_state.setdefault(_key(prefix, "written"), [])
        if not written or written[-1] != wanted:
            written.append(wanted)
            del written[:-_WRITTEN_KEPT]
    if _url_now() != wanted:
        st.query_params.from_dict(params)
