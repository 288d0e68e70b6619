"""Agreement: how consistently reviewers rate the same answers, and where they disagree."""

import streamlit as st

from dashboard.agreement import (
    PAIR_HELP,
    alpha_note,
    disagreement_table,
    kappa_reading,
    missing_numbers_note,
    number_text,
    pairs_table,
)
from dashboard.charts import kappa_heatmap
from dashboard.filters import Filters
from dashboard.stats import alpha_summary, disagreements, pairwise_agreement
from dashboard.ui.auth import require
from dashboard.ui.common import get_store, reviewer_input
from dashboard.ui.filters import filter_bar, write_query_params
from dashboard.ui.review import briefs, overlapping_ratings

FILTER_PREFIX = "agreement"
FIELDS = ("models", "variants", "sources", "dates")

store = get_store()
reviewer_input()
require(store, "view")

st.title("Agreement")
st.caption(
    "How consistently reviewers rate the answers they both rated. Kappa compares two reviewers, "
    "alpha covers everyone at once (missing ratings allowed): 1 is perfect agreement, 0 is what "
    "chance alone would give, below 0 is systematic disagreement."
)
url_filters = Filters.from_query_params(st.query_params)
filters = filter_bar(store, FIELDS, key=FILTER_PREFIX, base=url_filters)
write_query_params(filters.to_query_params())

ratings = overlapping_ratings(store, filters)
if ratings.empty:
    st.info(
        "No item has been rated by two reviewers yet, so there is nothing to compare. Ask two or "
        "more reviewers to rate the same answers, for example by working through the same "
        "queue on the **Annotate** page.",
        icon=":material/group_off:",
    )
    st.stop()

summary = alpha_summary(ratings)
pairs = pairwise_agreement(ratings)
items, people, stars_alpha, thumbs_alpha = st.columns(4)
items.metric("Items rated by two or more", f"{ratings['interaction_id'].nunique():,}")
people.metric("Reviewers involved", ratings["reviewer"].nunique())
stars_alpha.metric(
    "Alpha, stars (ordinal)", number_text(summary["stars_alpha_ordinal"]),
    delta=kappa_reading(summary["stars_alpha_ordinal"]) or None,
    delta_color="off", delta_arrow="off",
    help=f"Krippendorff's alpha with the ordinal metric. Interval metric: "
         f"{number_text(summary['stars_alpha_interval'])}.",
)
thumbs_alpha.metric(
    "Alpha, thumbs (nominal)", number_text(summary["thumbs_alpha_nominal"]),
    delta=kappa_reading(summary["thumbs_alpha_nominal"]) or None,
    delta_color="off", delta_arrow="off",
)
if note := alpha_note(summary):
    st.warning(note, icon=":material/info:")

st.subheader("Pairs of reviewers")
if pairs.empty:
    st.info("No two reviewers have rated the same item yet.")
else:
    st.dataframe(pairs_table(pairs), hide_index=True, width="stretch",
                 column_config={name: st.column_config.Column(help=text)
                                for name, text in PAIR_HELP.items()})
    st.caption("The stars κ in words uses quadratic weights: a 4 against a 5 costs less than a 1 "
               "against a 5. Hover a column name for what it measures. "
               + missing_numbers_note(pairs))
    figure = kappa_heatmap(pairs)
    if figure is not None:
        with st.expander("Heatmap of the quadratic-weighted stars κ", icon=":material/grid_on:"):
            st.plotly_chart(figure, width="stretch")

st.subheader("Where reviewers disagree most")
worst = disagreements(ratings, top=25)
if worst.empty:
    st.success("Every item rated by several reviewers got the same stars and thumbs "
               "from all of them.")
else:
    st.dataframe(
        disagreement_table(worst, briefs(store, worst["interaction_id"].tolist())),
        hide_index=True, width="stretch",
        column_config={
            "Open": st.column_config.LinkColumn(display_text="Open", width="small",
                                                help="Open the item in Review to settle it"),
            "#": st.column_config.NumberColumn(format="%d", width="small"),
            "Question": st.column_config.TextColumn(width="large"),
        },
    )
    st.caption("Widest spread of stars first, then items with both a thumbs up and a thumbs down. "
               "Open one to read every rating and add yours.")
