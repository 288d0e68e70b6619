"""Insights widgets: the refresh with progress, the filter bar kept in the URL, cached reads."""

from __future__ import annotations

import sqlite3
from datetime import date
from typing import Any

import streamlit as st

from dashboard.filters import Filters
from dashboard.insights import (
    DEFAULT_DAYS,
    INSIGHT_QUERIES,
    default_range,
    needs_refresh,
    refresh_insights,
    view_filters,
)
from dashboard.ui.common import get_store

DATES_KEY = "insights.dates"
LIST_KEYS = {
    "models": "insights.models",
    "variants": "insights.variants",
    "sources": "insights.sources",
}
LABELS = {"models": "Model", "variants": "Variant", "sources": "Source"}
PLACEHOLDERS = {"models": "All models", "variants": "All variants", "sources": "All sources"}


def refresh_with_progress() -> None:
    """Bring the Insights summary up to date, showing progress when there is work to do."""
    store = get_store()
    if not needs_refresh(store):
        return
    bar = st.progress(0.0, text="Bringing the Insights summary up to date…")
    try:
        refresh_insights(store, lambda done, text: bar.progress(done, text=text))
    except sqlite3.OperationalError:
        st.warning("The database is busy, so the newest rows may be missing from these numbers. "
                   "Reload the page in a moment to include them.")
    finally:
        bar.empty()


def insight_filter_bar(options: dict[str, list[str]], last_day: date | None) -> Filters:
    """Draw the filters, starting from the URL; write the chosen view back to it; return it."""
    state = st.session_state
    start = view_filters(Filters.from_query_params(st.query_params), last_day)
    state.setdefault(DATES_KEY, (start.date_from, start.date_to))
    for field, key in LIST_KEYS.items():
        state.setdefault(key, list(getattr(start, field)))

    dates_col, *list_cols, reset_col = st.columns([4, 3, 3, 3, 1.3], vertical_alignment="bottom")
    picked = dates_col.date_input(
        "Dates (UTC)",
        key=DATES_KEY,
        format="YYYY-MM-DD",
        help=f"Default: the last {DEFAULT_DAYS} days that have data, ending on the newest one.",
    )
    chosen: dict[str, Any] = {}  # field -> the values chosen, as a tuple
    for col, (field, key) in zip(list_cols, LIST_KEYS.items()):
        # Values from a shared link stay selectable even if the data no longer has them.
        choices = sorted(set(options.get(field, [])) | set(state[key]))
        chosen[field] = tuple(col.multiselect(
            LABELS[field], choices, key=key, placeholder=PLACEHOLDERS[field]
        ))
    if reset_col.button("Reset", help="Back to the last 30 days, all models, variants, sources"):
        reset_filters()
        st.rerun()

    days = tuple(picked) if isinstance(picked, (tuple, list)) else (picked,)
    filters = view_filters(
        Filters(
            date_from=days[0] if days else None,
            date_to=days[-1] if days else None,
            **chosen,
        ),
        last_day,
    )
    _write_url(filters, last_day)
    return filters


def reset_filters() -> None:
    """Forget the chosen filters and clear them from the URL."""
    for key in (DATES_KEY, *LIST_KEYS.values()):
        st.session_state.pop(key, None)
    st.query_params.clear()


def _write_url(filters: Filters, last_day: date | None) -> None:
    """Put the view in the URL; the default date range stays implicit so links stay current."""
    if (filters.date_from, filters.date_to) == default_range(last_day):
        filters = filters.with_(date_from=None, date_to=None)
    wanted = {k: v if isinstance(v, list) else [v] for k, v in filters.to_query_params().items()}
    current = {k: st.query_params.get_all(k) for k in st.query_params}
    if current != wanted:
        st.query_params.from_dict(filters.to_query_params())


@st.cache_data(show_spinner=False, max_entries=256, max_size="64MB", ttl="1h")
def _cached(
    name: str, path: str, stamp: Any, filters: Filters, options: dict[str, Any]
) -> Any:
    return INSIGHT_QUERIES[name](get_store(), filters, **options)


def insight(name: str, filters: Filters, **options: Any) -> Any:
    """INSIGHT_QUERIES[name] for these filters, cached until the database changes."""
    store = get_store()
    return _cached(name, store.path, store.data_stamp(), filters, options)
