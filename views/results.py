"""Results of blind votes: win rates with intervals, sign tests, leaderboard and bias checks."""

import pandas as pd
import streamlit as st

from dashboard.charts import leaderboard_figure, leaderboard_table, win_rate_figure
from dashboard.experiments import pairwise_report
from dashboard.judge import judge_summaries
from dashboard.pairwise import votes_needed
from dashboard.safe_text import plain_text
from dashboard.ui.auth import require
from dashboard.ui.common import get_store, reviewer_input
from dashboard.ui.experiments import judge_report

store = get_store()
reviewer_input()
require(store, "view")
st.title("Results")
st.caption("Win rates count ties and both-bad votes as half a win for each side. Intervals are 95% "
           "(exact Clopper–Pearson for win rates and bias checks, the posterior for the "
           "leaderboard); the p-value is a two-sided sign test on decisive votes.")


# Cached reads, keyed on the database and its data stamp: a commit anywhere refreshes them.
@st.cache_data(show_spinner="Computing statistics…", max_entries=16, ttl="1h")
def report(_store, path, stamp, experiment_id, sources):
    return pairwise_report(_store, experiment_id=experiment_id, sources=sources)


@st.cache_data(show_spinner="Comparing the judge with the votes…", max_entries=16, ttl="1h")
def judges(_store, path, stamp, experiment_id):
    return judge_summaries(_store.experiments.judgments(experiment_id), _store.experiments.votes(experiment_id))


experiments = store.experiments.list_experiments()
scope_col, source_col = st.columns(2)
scope = scope_col.selectbox("Votes from", [None] + [e["id"] for e in experiments],
                            format_func=lambda i: "every experiment and import" if i is None
                            else next(e["name"] for e in experiments if e["id"] == i))
sources = tuple(source_col.multiselect("Sources", store.experiments.vote_sources(), placeholder="All sources",
                                       help="vote: cast here; import: votes collected elsewhere"))
data = report(store, store.path, store.data_stamp(), scope, sources)
if not data["pairs"]:
    st.info("No votes yet: vote on the Vote page, or import votes with "
            "`python -m dashboard import FILE --format pairwise`.")
    st.stop()

st.subheader("Win rates")
st.plotly_chart(win_rate_figure(data["pairs"]), width="stretch")
margin = st.slider("Precision you want (± points of win rate)", 1, 20, 5,
                   help="'votes still needed' is about how many more votes bring each 95% "
                        "interval down to this half-width.") / 100
table = pd.DataFrame(data["pairs"])
table["votes still needed"] = [votes_needed(p["b_win_rate"], margin, p["n"]) for p in data["pairs"]]
table["95% interval"] = [f"{p['ci_low']:.0%} – {p['ci_high']:.0%}" for p in data["pairs"]]
st.dataframe(
    table[["variant_b", "variant_a", "n", "b_wins", "a_wins", "ties", "both_bad", "b_win_rate",
           "95% interval", "p_value", "votes still needed"]],
    hide_index=True, width="stretch",
    column_config={"b_win_rate": st.column_config.NumberColumn("win rate", format="percent"),
                   "variant_b": "variant", "variant_a": "against", "b_wins": "wins",
                   "a_wins": "losses", "p_value": st.column_config.NumberColumn("p", format="%.3f")},
)

st.subheader("Leaderboard")
ranked = data["ranking"]
st.caption(f"{ranked['method']} On the Elo scale: 1000 is the average variant, +400 means ten "
           "times the odds of winning. A variant ranks above another only when their "
           "difference is clear and their own votes agree (the sign test above).")
if ranked["enough"]:
    st.info(plain_text(ranked["sentence"]), icon=":material/leaderboard:")
else:
    st.warning(plain_text(ranked["sentence"]), icon=":material/hourglass_empty:")
st.plotly_chart(leaderboard_figure(data["leaderboard"]), width="stretch")
st.dataframe(leaderboard_table(data["leaderboard"]), hide_index=True, width="stretch")

st.subheader("Bias checks")
left, right = st.columns(2)
for column, name, what in ((left, "position_bias", "the answer shown on the left"),
                           (right, "length_bias", "the longer answer")):
    check = data[name]
    if check["share"] is None:
        column.metric(f"Wins by {what}", "n/a", help="No decisive votes where this applies yet.")
    else:
        column.metric(f"Wins by {what}", f"{check['share']:.0%}",
                      help=f"{check['n']} decisive votes; 95% interval {check['ci_low']:.0%}–"
                           f"{check['ci_high']:.0%}; p = {check['p_value']:.3f} against 50%.")

if scope is not None:
    summaries = judges(store, store.path, store.data_stamp(), scope)
    if summaries:
        st.subheader("LLM judge")
        st.caption("The judge's verdicts against the human majority on the same pairs; judge "
                   "verdicts never count as votes above. Unreadable replies can be retried on the "
                   "Experiments page.")
        for n, summary in enumerate(summaries):
            judge_report(summary, key=f"results.judge.{n}")
