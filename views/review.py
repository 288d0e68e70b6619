"""Review: browse every answer and its ratings, filter and search, open one and re-rate it."""

import streamlit as st

from dashboard.filters import Filters
from dashboard.review import ReviewView, count_label, empty_review_text, page_count, rows_csv
from dashboard.ui.auth import allowed, require
from dashboard.ui.common import get_store, reviewer_input
from dashboard.ui.filters import filter_bar, reset_filters, url_is_new, write_query_params
from dashboard.ui.review import (
    count_matches,
    detail,
    interaction_panel,
    page_rows,
    scroll_into_view,
    selectable_table,
    table_key,
)
from dashboard.ui.upload import import_box

VIEW_KEY = "review.view"  # the view last shown (and written to the URL)
PAGE_KEY = "review.page"
ITEM_KEY = "review.item"
PICKED_KEY = "review.picked"  # the last row selection seen
SHOWN_KEY = "review.shown"  # the item open on the last run
ITEM_BOX = "review_item"  # the open item's container (and its CSS class)
FILTER_PREFIX = "review"

store = get_store()
name = reviewer_input()
state = st.session_state

require(store, "view")
st.title("Review")
if allowed(store, "import"):
    with st.expander("Import feedback", icon=":material/upload:"):
        import_box(store)

# A link (or a reload) with parameters decides the view; otherwise the session keeps it.
url_view = ReviewView.from_query_params(st.query_params)
last = state.get(VIEW_KEY)
if last is None or url_is_new(FILTER_PREFIX):
    reset_filters(FILTER_PREFIX, url_view.filters)
    state[PAGE_KEY], state[ITEM_KEY] = url_view.page, url_view.item
    last = url_view


def clear_filters() -> None:
    """Reset the filter bar and go back to the first page."""
    reset_filters(FILTER_PREFIX)
    state[PAGE_KEY] = 1


def close_item() -> None:
    """Close the open interaction."""
    state[ITEM_KEY] = None


if count_matches(store, Filters())[0] == 0:
    st.info(empty_review_text(can_import=allowed(store, "import"), can_chat=allowed(store, "chat")),
            icon=":material/inbox:")
    st.stop()

filters = filter_bar(store, key=FILTER_PREFIX, base=last.filters)
if filters != last.filters:
    state[PAGE_KEY] = 1
if filters.ids:
    note, show_all = st.columns([5, 1], vertical_alignment="center")
    note.info(f"Showing {len(filters.ids)} chosen items only.", icon=":material/checklist:")
    show_all.button("Show all items", on_click=reset_filters,
                    args=(FILTER_PREFIX, filters.with_(ids=())))

matches, exact = count_matches(store, filters)
pages = page_count(matches)
page = min(max(1, int(state.get(PAGE_KEY) or last.page)), pages)
state[PAGE_KEY] = page

if matches == 0:
    st.info("Nothing matches these filters.", icon=":material/filter_alt_off:")
    st.button("Clear filters", on_click=clear_filters, icon=":material/filter_alt_off:")
    rows = []
else:
    rows = page_rows(store, filters, page, matches if exact else matches + 1)
    summary, clear = st.columns([5, 1], vertical_alignment="center")
    summary.caption(f"{count_label(matches, exact)} · newest first · page {page:,} of {pages:,}")
    if not filters.is_empty():
        clear.button("Clear filters", on_click=clear_filters, icon=":material/filter_alt_off:",
                     type="tertiary", width="stretch")
    key = table_key(FILTER_PREFIX, store, filters, page)
    state[ITEM_KEY] = selectable_table(rows, key, state.get(ITEM_KEY), PICKED_KEY)
    pager, download = st.columns([4, 1], vertical_alignment="center")
    with pager:
        st.pagination(pages, key=PAGE_KEY, max_visible_pages=9)
    download.download_button(
        "CSV of this page", rows_csv(rows), file_name=f"loupe-review-page-{page}.csv",
        mime="text/csv", icon=":material/download:", on_click="ignore", width="stretch",
        help="The rows of this page, every column, as a CSV file.",
    )
    st.caption("Select a row to open the whole conversation, every rating and your own.")

item = state.get(ITEM_KEY)
if item is not None:
    st.divider()
    with st.container(key=ITEM_BOX):
        info = detail(store, item)
        head, close = st.columns([5, 1], vertical_alignment="center")
        head.subheader(f"Interaction #{item}")
        close.button("Close", icon=":material/close:", on_click=close_item)
        if info is None:
            st.warning(f"There is no interaction #{item}: it may come from another database.")
        else:
            interaction_panel(store, info, name, prefix="review")
    if state.get(SHOWN_KEY) != item:  # just opened: bring it to where the eye is
        scroll_into_view(ITEM_BOX, item)
state[SHOWN_KEY] = item

view = ReviewView(filters, page=state.get(PAGE_KEY) or 1, item=state.get(ITEM_KEY))
state[VIEW_KEY] = view
write_query_params(view.to_query_params(), FILTER_PREFIX)
