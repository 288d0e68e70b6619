"""Insights: what a team watches: ratings, speed, failures, re-asks, volume and tags over time."""

import streamlit as st

from dashboard import charts
from dashboard.insights import (
    EMPTY_HINT,
    NO_NAME,
    PERCENTILE_ERROR,
    REASK_THRESHOLD,
    USAGE_BY,
    data_span,
    format_cost,
    period_days,
    period_for,
    previous_period,
)
from dashboard.ui.auth import require
from dashboard.ui.common import get_store, reviewer_input
from dashboard.ui.insight_filters import (
    insight,
    insight_filter_bar,
    refresh_with_progress,
)
from dashboard.ui.prices import price_editor

GROUP_KEY = "insights.ratings_by"
STARS_KEY = "insights.stars_by"
STACK_KEY = "insights.volume_by"
TAGS_KEY = "insights.tags_by"
USAGE_KEY = "insights.usage_by"

name = reviewer_input()
store = get_store()
require(store, "view")
st.title("Insights")
st.caption("Ratings, speed, failures, re-asks, usage and cost over time. Days are UTC; every "
           "number follows the filters below, and the link in your address bar shares this "
           "exact view.")

refresh_with_progress()
span = data_span(store)
options = insight("filter_options", None)
filters = insight_filter_bar(options, span[1] if span else None)
if span is None:
    st.info(EMPTY_HINT)
    st.stop()

period = period_for(filters)
per = "day" if period == "day" else "week (from Monday)"
model_colors = charts.color_map([*options["models"], NO_NAME["model"]])

# -- headline numbers -----------------------------------------------------------
headlines = insight("headline", filters)
if not headlines[0].value:
    st.info(f"No interactions match these filters between {filters.date_from} and "
            f"{filters.date_to}. Widen the date range or clear a filter (the newest data is "
            f"from {span[1]}).")
    st.stop()
for col, item in zip([*st.columns(4), *st.columns(4)], headlines):
    col.metric(item.label, item.value_text(), item.delta_text(), help=item.help, border=True,
               delta_color=item.delta_color, delta_arrow=item.delta_arrow)
before = previous_period(filters)
if headlines[0].previous:
    partial = (f" The data starts on {span[0]}, so that period is only partly covered."
               if span[0] > before.date_from else "")
    st.caption(f"Arrows compare with the previous {period_days(filters)} days "
               f"({before.date_from} to {before.date_to}).{partial}")
else:
    st.caption(f"No interactions in the previous {period_days(filters)} days "
               f"({before.date_from} to {before.date_to}), so there is no change to show.")

# -- ratings --------------------------------------------------------------------
st.subheader("Ratings")
by = st.segmented_control("Lines per", ["model", "variant"], default="model", key=GROUP_KEY,
                          format_func=str.capitalize, required=True) or "model"
trend = insight("ratings_over_time", filters, by=by)
group_colors = model_colors if by == "model" else charts.color_map(
    [*options["variants"], NO_NAME["variant"]])
if trend.empty:
    st.info("No ratings in this period yet. Rate answers on the Chat page, or import a file "
            "that has ratings.")
else:
    left, right = st.columns(2)
    left.plotly_chart(charts.trend_chart(
        trend.dropna(subset=["mean_stars"]), y="mean_stars", title="Mean stars",
        y_title="Mean stars (1–5)", group_title=by.capitalize(), period=period,
        y_range=(1, 5), colors=group_colors))
    left.caption(f"Mean of the star ratings given to each {per}'s answers, per {by}.")
    right.plotly_chart(charts.trend_chart(
        trend.dropna(subset=["thumbs_up_share"]), y="thumbs_up_share", title="Thumbs up",
        y_title="Thumbs up (% of thumbs)", group_title=by.capitalize(), period=period,
        percent=True, y_range=(0, 1), colors=group_colors))
    right.caption(f"Share of thumbs up among thumbs given to each {per}'s answers, per {by}.")
    split = st.toggle("Star ratings per model", value=True, key=STARS_KEY)
    stars = insight("star_distribution", filters, by_model=split)
    if stars.empty:
        st.info("No star ratings in this period: only thumbs were given.")
    else:
        st.plotly_chart(charts.star_distribution_chart(stars, colors=model_colors))
        st.caption("How the star ratings of the period spread from 1 to 5, as a share of each "
                   "model's star ratings (hover for counts).")

# -- speed ------------------------------------------------------------------------
st.subheader("Speed")
timing = insight("timing_percentiles", filters)
if timing.empty:
    st.info("No answered call in this period recorded a latency.")
else:
    left, right = st.columns(2)
    left.plotly_chart(charts.timing_chart(timing, metric="latency", title="Latency",
                                          period=period, colors=model_colors))
    left.caption("Time from question to full answer, answered calls only: p95 solid, p50 dotted.")
    right.plotly_chart(charts.timing_chart(timing, metric="ttft", title="Time to first token",
                                           period=period, colors=model_colors))
    right.caption("Time until the first token arrived, answered calls only: p95 solid, p50 "
                  "dotted.")
    st.caption(f"Percentiles are read from log-spaced histogram buckets (20 per tenfold range), "
               f"so each is within ±{PERCENTILE_ERROR:.0%} of the exact value.")

# -- failures and re-asks -------------------------------------------------------------
st.subheader("Failures and re-asks")
left, right = st.columns(2)
failures = insight("failure_rate", filters)
left.plotly_chart(charts.rate_chart(failures, count="failures", title="Failure rate",
                                    y_title="Failed calls (% of interactions)", period=period,
                                    colors=model_colors))
left.caption(f"Share of questions whose model call failed (an error was saved), per {per} and "
             "model, and over the whole period.")
reasks = insight("reask_rate", filters)
right.plotly_chart(charts.rate_chart(reasks, count="reasks", title="Re-ask rate",
                                     y_title="Re-asked questions (% of interactions)",
                                     period=period, colors=model_colors))
right.caption(f"Share of questions that repeat the previous question of the same conversation "
              f"(Levenshtein similarity of the normalised text at least {REASK_THRESHOLD:.0%}).")

# -- volume --------------------------------------------------------------------------
st.subheader("Volume")
stack = st.segmented_control("Stack by", ["source", "model"], default="source", key=STACK_KEY,
                             format_func=str.capitalize, required=True) or "source"
st.plotly_chart(charts.volume_chart(
    insight("volume", filters, stack=stack), group_title=stack.capitalize(), period=period,
    colors=model_colors if stack == "model" else None))
st.caption(f"Questions asked and ratings given per {per}, stacked by {stack}; a rating counts on "
           "the day of the answer it rates.")

# -- tags -------------------------------------------------------------------------------
st.subheader("Tags")
tags_by_model = st.toggle("Tags per model", key=TAGS_KEY)
tags = insight("top_tags", filters, by_model=tags_by_model)
if tags.empty:
    st.info("No tags in this period. Reviewers add tags (wrong, incomplete, …) under an answer.")
else:
    left, right = st.columns([3, 2])
    left.plotly_chart(charts.tags_chart(tags, colors=model_colors))
    left.caption("The ten most used tags: share of rated interactions that carry each.")
    right.dataframe(
        tags.assign(share=tags["share"] * 100).rename(columns={
            "tag": "Tag", "group": "Model", "items": "Items", "share": "Share of rated"}),
        hide_index=True,
        column_config={"Share of rated": st.column_config.NumberColumn(format="%.1f%%")},
    )

# -- usage and cost ----------------------------------------------------------------------
st.subheader("Usage and cost")
usage = insight("usage_summary", filters)
cells = [*st.columns(3), *st.columns(3)]
for col, (label, value, text) in zip(cells, [
    ("Calls", f"{usage.calls:,}", "Questions sent to a model in the period (answered or failed)."),
    ("Input tokens", usage.tokens_text("prompt_tokens"),
     "Prompt tokens of the calls that carry token counts."),
    ("Output tokens", usage.tokens_text("completion_tokens"),
     "Answer tokens of the calls that carry token counts."),
    ("Estimated cost", format_cost(usage.cost),
     "Each day's tokens times the model's price on that day (per million tokens)."),
    ("Cost per rated answer", format_cost(usage.cost_per_rated),
     "Estimated cost divided by the interactions that got at least one rating."),
    ("Cost per thumbs-up", format_cost(usage.cost_per_thumbs_up),
     "Estimated cost divided by the thumbs up given to the period's answers."),
]):
    col.metric(label, value, help=text, border=True)
for note in usage.gaps():
    st.caption(note)
usage_by = st.segmented_control("Split by", list(USAGE_BY), default="model", key=USAGE_KEY,
                                format_func=str.capitalize, required=True) or "model"
usage_trend = insight("usage_over_time", filters, by=usage_by)
usage_colors = model_colors if usage_by == "model" else None
if usage.counted:
    left, right = st.columns(2)
    left.plotly_chart(charts.usage_chart(usage_trend, group_title=usage_by.capitalize(),
                                         period=period, colors=usage_colors))
    left.caption(f"Input and output tokens per {per}, stacked by {usage_by}; calls without "
                 "token counts are not in these bars.")
    if usage.cost is not None:
        right.plotly_chart(charts.cost_chart(usage_trend, group_title=usage_by.capitalize(),
                                             period=period, colors=usage_colors))
        right.caption(f"Estimated cost per {per}, stacked by {usage_by}, from the price table "
                      "below.")
    else:
        right.info("No model of this period has a price yet, so there is no cost to show. "
                   "An admin can add prices below.")
else:
    st.info("No call in this period carries token counts, so there are no token totals or "
            "costs to show.")
breakdown = insight("usage_breakdown", filters, by=usage_by)
st.dataframe(
    breakdown.assign(cost=breakdown["cost"].map(format_cost)),
    hide_index=True, width="stretch",
    column_config={
        "group": usage_by.capitalize(), "calls": "Calls",
        "uncounted": st.column_config.NumberColumn("Without token counts",
                                                   help="Shown apart, never as zero tokens."),
        "prompt_tokens": "Input tokens", "completion_tokens": "Output tokens",
        "cost": "Estimated cost",
    },
)
with st.expander("Prices per million tokens", icon=":material/payments:"):
    price_editor(store, options["models"], name)
