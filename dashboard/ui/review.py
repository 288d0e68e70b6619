"""Widgets and cached reads of the Review and Annotate pages."""

from __future__ import annotations

import hashlib
from typing import Any

import pandas as pd
import streamlit as st

from dashboard.filters import Filters
from dashboard.ratings import (
    RATING_KEYS,
    RatingKey,
    stars_from_widget,
    stars_to_widget,
    tag_options,
    thumbs_from_widget,
    thumbs_to_widget,
)
from dashboard.review import PAGE_SIZE, call_facts, next_in_queue, ratings_frame, table_frame
from dashboard.safe_text import plain_text
from dashboard.stats import ratings_frame as ratings_frame_of
from dashboard.ui.auth import allowed
from dashboard.ui.rating import rating_widget
from dashboard.ui.text import show_turn
from store import Store

# -- cached reads (keyed on the data stamp, so a commit anywhere refreshes them) -----------


@st.cache_data(show_spinner=False, max_entries=64, ttl="1h")
def _count(_store: Store, path: str, stamp: Any, filters: Filters | None) -> tuple[int, bool]:
    return _store.review.count_interactions(filters)


@st.cache_data(show_spinner=False, max_entries=64, ttl="1h")
def _rows(
    _store: Store, path: str, stamp: Any, filters: Filters, offset: int, matches: int
) -> list[dict]:
    return _store.review.review_rows(filters, limit=PAGE_SIZE, offset=offset, matches=matches)


@st.cache_data(show_spinner=False, max_entries=64, ttl="1h")
def _detail(_store: Store, path: str, stamp: Any, item: int) -> dict | None:
    return _store.review.interaction_detail(item)


@st.cache_data(show_spinner=False, max_entries=32, ttl="1h")
def _progress(
    _store: Store, path: str, stamp: Any, reviewer: str, filters: Filters
) -> tuple[int, int]:
    return _store.review.queue_progress(reviewer, filters)


def queue_progress(store: Store, reviewer: str, filters: Filters) -> tuple[int, int]:
    """(done, remaining) of ``reviewer``'s queue within ``filters``."""
    return _progress(store, store.path, store.data_stamp(), reviewer, filters)


@st.cache_data(show_spinner=False, max_entries=32, ttl="1h")
def _next(_store: Store, path: str, stamp: Any, reviewer: str, filters: Filters, from_id: int,
          skipped: tuple[int, ...]) -> tuple[dict | None, bool]:
    return next_in_queue(_store, reviewer, filters, from_id=from_id, skipped=skipped)


def queue_next(store: Store, reviewer: str, filters: Filters, from_id: int, skipped: list[int]
               ) -> tuple[dict | None, bool]:
    """The queue's next item for ``reviewer`` and whether the skipped items came back."""
    return _next(store, store.path, store.data_stamp(), reviewer, filters, from_id, tuple(skipped))


@st.cache_data(show_spinner=False, max_entries=16, max_size="64MB", ttl="1h")
def _overlap(_store: Store, path: str, stamp: Any, filters: Filters) -> pd.DataFrame:
    return ratings_frame_of(_store.review.overlapping_ratings(filters))


@st.cache_data(show_spinner=False, max_entries=16, ttl="1h")
def _briefs(_store: Store, path: str, stamp: Any, ids: tuple[int, ...]) -> list[dict]:
    return _store.review.interaction_briefs(ids)


def overlapping_ratings(store: Store, filters: Filters) -> pd.DataFrame:
    """Ratings of the items several reviewers rated (interaction_id, reviewer, stars, thumbs)."""
    return _overlap(store, store.path, store.data_stamp(), filters)


def briefs(store: Store, ids: list[int]) -> list[dict]:
    """Question, answer and rating summary of these interactions."""
    return _briefs(store, store.path, store.data_stamp(), tuple(ids))


def count_matches(store: Store, filters: Filters | None) -> tuple[int, bool]:
    """(count, exact) of the interactions matching ``filters`` (None: all of them)."""
    return _count(store, store.path, store.data_stamp(), filters)


def page_rows(store: Store, filters: Filters, page: int, matches: int) -> list[dict]:
    """The rows of one page (1-based) of the Review table."""
    return _rows(store, store.path, store.data_stamp(), filters, (page - 1) * PAGE_SIZE, matches)


def detail(store: Store, item: int) -> dict | None:
    """One interaction with its conversation and ratings (None when it does not exist)."""
    return _detail(store, store.path, store.data_stamp(), item)


# -- the table ----------------------------------------------------------------------------

TABLE_CONFIG = {
    "id": st.column_config.NumberColumn("#", width=60, format="%d"),
    "Time": st.column_config.TextColumn(width=130),
    "Question": st.column_config.TextColumn(width=280),
    "Answer": st.column_config.TextColumn(width=280),
    "Stars": st.column_config.TextColumn(
        width=105, help="The mean of every rating's stars, rounded to one decimal; in brackets "
        "the lowest and highest stars when ratings differ."),
    "Up": st.column_config.NumberColumn(width=50, help="Thumbs up"),
    "Down": st.column_config.NumberColumn(width=60, help="Thumbs down"),
    "Ratings": st.column_config.NumberColumn(width=70, help="Number of ratings"),
    "Tags": st.column_config.TextColumn(width=150),
    "Error": st.column_config.CheckboxColumn(width=60, help="The model call failed"),
}


def table_key(prefix: str, store: Store, filters: Filters, page: int) -> str:
    """A widget key per (data, filters, page): a row number never outlives the rows it meant."""
    digest = hashlib.sha1(repr((store.data_stamp(), filters, page)).encode()).hexdigest()[:12]
    return f"{prefix}.table.{digest}"


def selectable_table(
    rows: list[dict], key: str, open_item: int | None, memory_key: str
) -> int | None:
    """The Review table with single-row selection; returns the item to open.

    That is the row the reviewer selected, else ``open_item`` (pre-selected when it is on
    this page), or None when the reviewer cleared the selection. ``memory_key`` keeps the
    last selection seen, so that only a change of selection moves the open item.
    """
    ids = [row["id"] for row in rows]
    state = st.session_state
    if key not in state and open_item in ids:
        state[key] = {"selection": {"rows": [ids.index(open_item)], "columns": []}}
    event = st.dataframe(
        table_frame(rows), key=key, on_select="rerun", selection_mode="single-row",
        column_config=TABLE_CONFIG, height=min(420, 35 * (len(rows) + 1) + 3), width="stretch",
    )
    chosen = event.selection.rows
    picked = ids[chosen[0]] if chosen and chosen[0] < len(ids) else None
    before = state.get(memory_key)
    if before == (key, picked):
        return open_item
    state[memory_key] = (key, picked)
    if picked is not None:
        return picked
    return None if before and before[0] == key else open_item  # same table: a cleared selection


# -- one interaction ----------------------------------------------------------------------


def show_turns(turns: list[dict], highlight: int | None = None) -> None:
    """Every turn of a conversation as chat messages; the highlighted turn sits in a frame."""
    for turn in turns:
        box = st.container(border=True) if turn["id"] == highlight else st.container()
        with box:
            if turn["id"] == highlight and len(turns) > 1:
                st.caption(f"Turn {turn.get('turn') or 1} · the selected answer")
            show_turn(turn)


def show_facts(interaction: dict) -> None:
    """Model, backend, variant, latency, tokens and source on one line of small metrics."""
    facts = call_facts(interaction)
    for column, (label, value) in zip(st.columns(len(facts)), facts):
        column.caption(label)
        column.markdown(f"**{plain_text(value)}**")


def show_ratings(ratings: list[dict]) -> None:
    """Every reviewer's rating, or a sentence when there is none."""
    if not ratings:
        st.caption("Nobody has rated this answer yet.")
        return
    st.dataframe(
        ratings_frame(ratings), hide_index=True, width="stretch",
        column_config={"Comment": st.column_config.TextColumn(width="medium"),
                       "Ideal answer": st.column_config.TextColumn(width="large")},
    )


def interaction_panel(store: Store, info: dict, reviewer: str, *, prefix: str = "review") -> None:
    """The whole story of one interaction: conversation, how it was made, ratings, your rating."""
    interaction = info["interaction"]
    st.caption(f"Asked {interaction['created_at'][:16].replace('T', ' ')} UTC")
    show_facts(interaction)
    show_turns(info["turns"], highlight=interaction["id"])
    st.markdown("**Ratings**")
    show_ratings(info["ratings"])
    if not allowed(store, "rate"):
        return  # a role that reads ratings gets no empty place for its own
    st.markdown("**Your rating**")
    if interaction.get("answer"):
        rating_widget(store, interaction["id"], reviewer, prefix=prefix)
    else:
        st.caption("A failed call has no answer to rate.")



def scroll_into_view(container_key: str, token: int) -> None:
    """Scroll the page to the container with this key, once (a new ``token`` scrolls again).

    The script is fixed text and a number: nothing from data goes into it.
    """
    css_class = "st-key-" + "".join(c if c.isalnum() or c in "-_" else "-" for c in container_key)
    st.html(
        f"<script data-token='{int(token)}'>"
        "setTimeout(() => { const box = document.querySelector('." + css_class + "');"
        " if (box) { box.style.scrollMarginTop = '1.5rem';"
        " box.scrollIntoView({behavior: 'smooth', block: 'start'}); } }, 150);"
        "</script>",
        unsafe_allow_javascript=True,
    )


# -- the annotation queue -----------------------------------------------------------------

QUEUE_INPUTS = ("stars", "thumbs", "tags", "comment", "ideal")
QUEUE_SHOWN_KEY = "queue.shown"  # the item whose inputs are on screen
_SHORTCUTS = "queue_shortcuts"  # the container of the hidden key buttons (and its CSS class)
# A key sets a widget's value on the server; the browser shows it one run later. A run that
# the browser asks for before that still carries the widget's older value, which would undo
# the key ("2" then "S" quickly saved no stars). Each run that draws the inputs gets a number,
# which a hidden input hands to the browser and the browser sends back with every request:
# a value set by a key stands until the browser has received a run drawn after it.
_RUN_KEY = "queue.run"  # the number of the last run that drew the inputs
_SEEN_KEY = "queue.seen"  # the hidden input: the last run number the browser received
_PENDING_KEY = "queue.pending"  # widget key -> (value set by a key, run number at that time)


def queue_keys(interaction_id: int, reviewer: str) -> dict[str, str]:
    """Session-state keys of the queue's rating inputs for one item and reviewer."""
    return {name: f"queue.{interaction_id}.{reviewer}.{name}" for name in QUEUE_INPUTS}


def queue_shown(interaction_id: int) -> bool:
    """True when ``interaction_id`` is the item the queue last put on screen.

    A key press or click sent for an item that has already gone (a repeated key, a second
    click while the page moves on) must not act on it.
    """
    return st.session_state.get(QUEUE_SHOWN_KEY) == interaction_id


def queue_inputs(interaction_id: int, keys: dict[str, str]) -> None:
    """Stars, thumbs, tags, comment and ideal answer, and the keys that set stars and thumbs;
    nothing is saved until asked."""
    state = st.session_state
    state[QUEUE_SHOWN_KEY] = interaction_id
    _keep_key_values()
    state[_RUN_KEY] = state.get(_RUN_KEY, 0) + 1
    stars_col, thumbs_col, _ = st.columns([2, 1, 5], vertical_alignment="center")
    with stars_col:
        st.feedback("stars", key=keys["stars"])
    with thumbs_col:
        st.feedback("thumbs", key=keys["thumbs"])
    tags_col, comment_col = st.columns(2)
    with tags_col:
        st.multiselect(
            "Tags", tag_options(st.session_state.get(keys["tags"])), key=keys["tags"],
            accept_new_options=True, placeholder="Pick or type a tag",
        )
    with comment_col:
        st.text_input("Comment", key=keys["comment"], placeholder="What is right or wrong with it?")
    with st.expander("Ideal answer", icon=":material/edit_note:"):
        st.text_area(
            "The answer the model should have given", key=keys["ideal"], height=120,
            help="Exports use it as the training target.",
        )
    _shortcut_buttons(interaction_id, keys)


def _shortcut_buttons(interaction_id: int, keys: dict[str, str]) -> None:
    """One hidden button per rating key: the key 'clicks' it, which sets what is shown."""
    # The container, and the wrapper right around it (else it leaves a gap). No '>' in the
    # selector: the HTML sanitizer would escape it.
    hidden = f".st-key-{_SHORTCUTS}"
    wrapper = f"div:has({hidden}):not(:has(* {hidden}))"
    st.html(f"<style>{hidden}, {wrapper} {{ display: none; }}</style>")
    with st.container(key=_SHORTCUTS):
        for rating_key in RATING_KEYS:
            st.button(
                rating_key.label, key=_key_button(interaction_id, rating_key),
                shortcut=rating_key.key, on_click=_press, args=(interaction_id, keys, rating_key),
            )
        st.session_state[_SEEN_KEY] = str(st.session_state[_RUN_KEY])
        st.text_input("Run shown", key=_SEEN_KEY)


def _keep_key_values() -> None:
    """Put back the values keys set that the browser had not received when it sent this run."""
    state = st.session_state
    pending = state.setdefault(_PENDING_KEY, {})
    try:
        seen = int(state.get(_SEEN_KEY) or 0)
    except ValueError:
        seen = 0
    for key, (value, run) in list(pending.items()):
        if seen > run:
            del pending[key]  # the browser has shown it: what it sends now is the reviewer's
        else:
            state[key] = value


def _key_button(interaction_id: int, rating_key: RatingKey) -> str:
    return f"queue.{interaction_id}.key.{rating_key.key}"


def _press(interaction_id: int, keys: dict[str, str], rating_key: RatingKey) -> None:
    """Set the stars or thumb of the item on screen as the key says (callback)."""
    if not queue_shown(interaction_id):
        return
    state = st.session_state
    values: dict[str, Any] = {}
    if rating_key.clears:
        values = {keys["stars"]: None, keys["thumbs"]: None}
    if rating_key.stars is not None:
        values[keys["stars"]] = stars_to_widget(rating_key.stars)
    if rating_key.thumbs is not None:
        values[keys["thumbs"]] = thumbs_to_widget(rating_key.thumbs)
    pending = state.setdefault(_PENDING_KEY, {})
    for key, value in values.items():
        state[key] = value
        pending[key] = (value, state.get(_RUN_KEY, 0))


def queue_rating(interaction_id: int, keys: dict[str, str]) -> dict[str, Any]:
    """The rating the queue's inputs describe, as keyword arguments of store.review.save_rating.

    Keys pressed just before the save count, as they came first: those whose run the browser
    had not shown yet, and those that reach the server in the same run as the save
    (callbacks have no order).
    """
    state = st.session_state
    _keep_key_values()
    for rating_key in RATING_KEYS:
        if state.get(_key_button(interaction_id, rating_key)) is True:
            _press(interaction_id, keys, rating_key)
    return {
        "stars": stars_from_widget(state.get(keys["stars"])),
        "thumbs": thumbs_from_widget(state.get(keys["thumbs"])),
        "tags": list(state.get(keys["tags"]) or []),
        "comment": (state.get(keys["comment"]) or "").strip() or None,
        "ideal_answer": (state.get(keys["ideal"]) or "").strip() or None,
    }
