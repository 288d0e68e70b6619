"""Annotate: the next answer you have not rated, one at a time, with keyboard-friendly rating."""

import streamlit as st

from dashboard.filters import Filters
from dashboard.review import queue_caption
from dashboard.ui.auth import require
from dashboard.safe_text import plain_text
from dashboard.ui.common import get_store, reviewer_input
from dashboard.ui.guard import permitted
from dashboard.ui.filters import current_filters, filter_bar, reset_filters, write_query_params
from dashboard.ui.review import (
    detail, queue_inputs, queue_keys, queue_next, queue_progress, queue_rating, show_turns,
)

VIEW_KEY = "queue.view"  # the filters last shown (and written to the URL)
FROM_KEY = "queue.from_id"  # the queue goes on from this id
SKIPPED_KEY = "queue.skipped"  # ids skipped in this session
NOTICE_KEY = "queue.notice"
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
if last is None or (st.query_params and url_filters != last):
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
write_query_params(filters.to_query_params())

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
    """Save the rating and move on (callback)."""
    if not permitted(store, "rate", say="toast"):
        return
    rating = queue_rating(keys)
    if rating["stars"] is None and rating["thumbs"] is None and not rating["ideal_answer"]:
        st.toast("Pick stars or a thumb first, or skip this answer.", icon=":material/warning:")
        return
    try:
        store.save_rating(iid, name, **rating)
    except ValueError as exc:
        st.toast(f"Your rating could not be saved ({plain_text(exc)}).", icon=":material/error:")
        return
    state[FROM_KEY] = iid + 1
    state[NOTICE_KEY] = f"Saved your rating of #{iid}"


def skip(iid: int) -> None:
    """Leave this item for later in the session (callback)."""
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
queue_inputs(keys)
save_col, skip_col, _ = st.columns([3, 2, 3])
save_col.button("Save and next", type="primary", icon=":material/check:", shortcut="Ctrl+Enter",
                on_click=save_and_next, args=(item["id"], keys), width="stretch")
skip_col.button("Skip", icon=":material/skip_next:", shortcut="Ctrl+Shift+Enter",
                on_click=skip, args=(item["id"],), width="stretch")
st.caption("Keyboard: Tab to the stars and use the arrow keys; Ctrl+Enter saves and moves on, "
           "Ctrl+Shift+Enter skips. Skipped answers come back when the rest are done.")
