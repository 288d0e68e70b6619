"""Annotate: the next answer you have not rated, one at a time, with keyboard-friendly rating."""

import streamlit as st

from dashboard.filters import Filters
from dashboard.ratings import SAVE_KEY, SKIP_KEY, keyboard_legend, rating_summary
from dashboard.review import queue_caption
from dashboard.safe_text import plain_text
from dashboard.ui.auth import require
from dashboard.ui.common import get_store, reviewer_input
from dashboard.ui.filters import (
    current_filters,
    filter_bar,
    reset_filters,
    url_is_new,
    write_query_params,
)
from dashboard.ui.guard import permitted
from dashboard.ui.review import (
    detail,
    queue_inputs,
    queue_keys,
    queue_next,
    queue_progress,
    queue_rating,
    queue_shown,
    show_turns,
)

VIEW_KEY = "queue.view"  # the filters last shown (and written to the URL)
FROM_KEY = "queue.from_id"  # the queue goes on from this id
SKIPPED_KEY = "queue.skipped"  # ids skipped in this session
NOTICE_KEY = "queue.notice"
SAVED_KEY = "queue.saved"  # the item saved last (a repeated key must not save it twice)
FILTER_PREFIX = "queue"
FIELDS = ("search", "stars", "thumbs", "models", "variants", "reviewers", "tags", "sources",
          "dates", "has_ideal", "unrated")

store = get_store()
name = reviewer_input()
require(store, "rate")
state = st.session_state

st.title("Annotate")
if not name:
    st.info("Type your name in the sidebar to start: this page then shows, one at a time, "
            "the answers you have not rated yet.", icon=":material/badge:")
    st.stop()

# A link (e.g. a theme's items sent here as ?ids=...) decides the queue; otherwise the session.
url_filters = Filters.from_query_params(st.query_params)
last = state.get(VIEW_KEY)
if last is None or url_is_new(FILTER_PREFIX, FIELDS):
    reset_filters(FILTER_PREFIX, url_filters)
    last = url_filters

shown = current_filters(FILTER_PREFIX, FIELDS, last)
with st.popover(f"Queue: {plain_text(shown.describe())}", icon=":material/filter_list:"):
    filters = filter_bar(store, FIELDS, key=FILTER_PREFIX, base=last)
    if filters.ids:
        st.caption(f"Limited to {len(filters.ids)} chosen items.")
    st.button("Clear the queue's filters", on_click=reset_filters, args=(FILTER_PREFIX,))
if filters != last:
    state[FROM_KEY], state[SKIPPED_KEY] = 0, []
state[VIEW_KEY] = filters
write_query_params(filters.to_query_params(), FILTER_PREFIX)

done, remaining = queue_progress(store, name, filters)
st.progress(done / max(1, done + remaining) if remaining else 1.0,
            text=queue_caption(done, remaining))

skipped = state.setdefault(SKIPPED_KEY, [])
item, came_back = queue_next(store, name, filters, state.get(FROM_KEY, 0), skipped)
if came_back:
    state[SKIPPED_KEY] = []
    st.info(f"Only the {len(skipped)} items you skipped are left: here they are again.",
            icon=":material/replay:")
if state.get(NOTICE_KEY):
    st.toast(state.pop(NOTICE_KEY), icon=":material/check:")

if item is None:
    if done + remaining == 0:
        st.info("No answer matches the queue's filters.", icon=":material/filter_alt_off:")
    else:
        st.success(f"All done, {plain_text(name)}: you have rated every answer in this queue.",
                   icon=":material/celebration:")
    st.stop()


def save_and_next(iid: int, keys: dict[str, str]) -> None:
    """Save the rating shown and move on (callback)."""
    if not queue_shown(iid) or state.get(SAVED_KEY) == iid:
        return  # the page has moved on: this click or key was meant for an item already gone
    if not permitted(store, "rate", say="toast"):
        return
    rating = queue_rating(iid, keys)
    if rating["stars"] is None and rating["thumbs"] is None and not rating["ideal_answer"]:
        st.toast("Pick stars or a thumb first (keys 1–5, U, D), or skip this answer (K).",
                 icon=":material/warning:")
        return
    try:
        store.review.save_rating(iid, name, **rating)
    except ValueError as exc:
        st.toast(f"Your rating could not be saved ({plain_text(exc)}).", icon=":material/error:")
        return
    state[SAVED_KEY] = iid
    state[FROM_KEY] = iid + 1
    state[NOTICE_KEY] = f"Saved #{iid}: {rating_summary(**rating)}"


def skip(iid: int) -> None:
    """Leave this item for later in the session (callback)."""
    if not queue_shown(iid) or iid in state.get(SKIPPED_KEY, []):
        return
    state[SKIPPED_KEY] = [*state.get(SKIPPED_KEY, []), iid]
    state[FROM_KEY] = iid + 1


turns = detail(store, item["id"])["turns"]
earlier = [t for t in turns if (t["turn"], t["id"]) < (item["turn"], item["id"])]
st.caption(f"#{item['id']} · {item['created_at'][:16].replace('T', ' ')} UTC · "
           f"{plain_text(item.get('model') or 'unknown model')}")
if earlier:
    label = f"Earlier in this conversation ({len(earlier)} turn{'s' if len(earlier) > 1 else ''})"
    with st.expander(label, icon=":material/history:"):
        show_turns(earlier)
show_turns([item])

keys = queue_keys(item["id"], name)
queue_inputs(item["id"], keys)
save_col, skip_col, _ = st.columns([3, 2, 3])
save_col.button("Save and next", key=f"queue.{item['id']}.save", type="primary",
                icon=":material/check:", shortcut=SAVE_KEY, on_click=save_and_next,
                args=(item["id"], keys), width="stretch")
skip_col.button("Skip", key=f"queue.{item['id']}.skip", icon=":material/skip_next:",
                shortcut=SKIP_KEY, on_click=skip, args=(item["id"],), width="stretch")
st.markdown(keyboard_legend())
st.caption("Skipped answers come back when the rest are done.")
