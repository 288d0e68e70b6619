"""Failure themes: which kinds of question get low ratings, how many, how bad, with examples."""

import streamlit as st

from dashboard.clustering import OTHER_ID, summary_sentence
from dashboard.filters import Filters
from dashboard.llm import BackendError
from dashboard.safe_text import plain_text
from dashboard.ui.auth import require
from dashboard.ui.clusters import (
    Settings,
    continued_themes,
    followed_themes,
    make_question_set,
    name_all_with_model,
    name_with_model,
    reset_settings,
    save_run,
    send_to_queue,
    settings_row,
    theme_detail,
    theme_map,
    theme_names,
    theme_picker,
    theme_report,
    theme_source,
    theme_table,
    view_params,
)
from dashboard.ui.common import get_store, reviewer_input
from dashboard.ui.filters import filter_bar, reset_filters, write_query_params
from dashboard.ui.guard import needs_note
from store.clusters import LOW_RATED_TEXT

VIEW_KEY = "clusters.view"  # (filters, settings) last shown and written to the URL
FILTER_PREFIX = "clusters"
FIELDS = ("search", "stars", "thumbs", "models", "variants", "reviewers", "tags", "sources", "dates")

store = get_store()
reviewer_input()
require(store, "view")
state = st.session_state

st.title("Failure themes")
st.caption(f"Groups of similar questions among the low-rated answers (those {LOW_RATED_TEXT}), "
           "so you can see what the model fails at, how often and how badly.")

# A link (or a reload) with parameters decides the view; otherwise the session keeps it.
url_view = (Filters.from_query_params(st.query_params), Settings.from_query_params(st.query_params))
last = state.get(VIEW_KEY)
if last is None or (st.query_params and view_params(*url_view) != view_params(*last)):
    reset_filters(FILTER_PREFIX, url_view[0])
    reset_settings(url_view[1])
    last = url_view

filters = filter_bar(store, FIELDS, key=FILTER_PREFIX, base=last[0])
settings = settings_row()
state[VIEW_KEY] = (filters, settings)
write_query_params(view_params(filters, settings))

source = theme_source(store, filters, settings.low_rated)
if source["count"] == 0:
    scope = "low-rated answer" if settings.low_rated else "answer"
    st.info(f"No {scope} matches these filters, so there is nothing to group yet. Rate answers on "
            "the **Chat** or **Annotate** pages, or widen the filters.", icon=":material/inbox:")
    st.stop()

# The saved run comes first: it stays on screen while a large clustering below works.
st.subheader("Saved themes, week by week")
followed = followed_themes(store, filters)

st.subheader("Themes now")
try:
    report = theme_report(store, filters, settings, source)
except BackendError as exc:  # an embedding server that fails
    st.error(f"{plain_text(exc)} Or pick the embedded model under Options, which needs no server.")
    st.stop()
except RuntimeError as exc:  # the embedded model is not installed
    st.error(f"{plain_text(exc)} Pick the TF-IDF vectorizer under Options to go on without it.")
    st.stop()

names = theme_names(report)
st.markdown(summary_sentence(report, settings.low_rated))
save_run(store, report, names, settings, filters)

st.subheader("Map")
theme_map(report, names)

st.subheader("Themes")
continues = continued_themes(store, report, followed, filters, settings, source) if followed else None
picked = theme_table(report, names, continues)

st.subheader("A theme up close")
theme = theme_picker(report, names, picked)
if theme["id"] == OTHER_ID:
    st.caption("“other” gathers the items of themes too small to stand alone.")
elif theme["id"] in names:
    st.caption(f"Named by a model; from the terms: {plain_text(theme['label'])}")
details, actions = st.columns([5, 2], gap="large")
with details:
    theme_detail(report, theme, names)
with actions:
    st.markdown("**Act on this theme**")
    if note := needs_note(store, {"rate": "annotate", "chat": "name themes",
                                  "variants": "make question sets"}):
        st.caption(note)
    send_to_queue(store, theme)
    st.divider()
    make_question_set(store, report, theme, names)
    st.divider()
    name_with_model(store, report, theme)
    name_all_with_model(store, report)
