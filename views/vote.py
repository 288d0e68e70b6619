"""Blind voting: two answers to the same question, names hidden until the vote is cast."""

import streamlit as st

from dashboard.experiments import cast_vote, next_blind_pair
from dashboard.safe_text import plain_text
from dashboard.ui.auth import require
from dashboard.ui.common import get_store, reviewer_input
from dashboard.ui.guard import permitted
from dashboard.ui.text import show_markdown

PAIR_KEY = "vote.pair"
REVEAL_KEY = "vote.revealed"
EXPERIMENT_KEY = "vote.experiment"

store = get_store()
reviewer = reviewer_input()
require(store, "vote")
st.title("Vote")
st.caption("Pick the better answer. Which variant wrote which answer stays hidden until you vote, "
           "and the sides are shuffled for every pair.")

experiments = [e for e in store.experiments.list_experiments() if e["done"]]
if not reviewer:
    st.info("Type your name in the sidebar to vote.")
    st.stop()
if not experiments:
    st.info("No experiment has answers yet: run one on the Experiments page.")
    st.stop()
experiment_id = st.selectbox("Experiment", [e["id"] for e in experiments], key=EXPERIMENT_KEY,
                             format_func=lambda i: next(e["name"] for e in experiments if e["id"] == i))

pair = st.session_state.get(PAIR_KEY)
if pair is None or pair.experiment_id != experiment_id:
    pair = next_blind_pair(store, experiment_id, reviewer)
    st.session_state[PAIR_KEY] = pair
    st.session_state.pop(REVEAL_KEY, None)
if pair is None:
    st.success("You have voted on every pair of this experiment. See the Results page.")
    st.stop()

st.markdown("**Question**")
show_markdown(pair.question)
left, right = st.columns(2)
with left.container(border=True):
    st.markdown("**Answer 1**")
    show_markdown(pair.left["answer"])
with right.container(border=True):
    st.markdown("**Answer 2**")
    show_markdown(pair.right["answer"])

revealed = st.session_state.get(REVEAL_KEY)
if revealed is None:
    reason = st.text_input("Why? (optional)", key=f"vote.reason.{pair.a['interaction_id']}.{pair.b['interaction_id']}")
    choices = [("left", "Answer 1 is better", "1"), ("right", "Answer 2 is better", "2"),
               ("tie", "Tie", "t"), ("both_bad", "Both bad", "b")]
    for column, (choice, label, key) in zip(st.columns(4), choices):
        if column.button(label, key=f"vote.{choice}", shortcut=key, width="stretch",
                         type="primary" if choice in ("left", "right") else "secondary"
                         ) and permitted(store, "vote"):
            try:
                cast_vote(store, pair, choice, reviewer, reason.strip() or None)
            except ValueError as exc:
                st.error(f"Your vote was not saved: {plain_text(exc)}.")
            else:
                st.session_state[REVEAL_KEY] = choice
                st.rerun()
else:
    names = {"left": pair.label(pair.left_side), "right": pair.label("b" if pair.left_side == "a" else "a")}
    verdict = {"left": "Answer 1", "right": "Answer 2", "tie": "a tie", "both_bad": "both bad"}[revealed]
    st.success(f"Saved: {verdict}. Answer 1 was **{plain_text(names['left'])}**, "
               f"Answer 2 was **{plain_text(names['right'])}**.")
    if st.button("Next pair", type="primary", shortcut="n", icon=":material/arrow_forward:"):
        st.session_state.pop(PAIR_KEY, None)
        st.session_state.pop(REVEAL_KEY, None)
        st.rerun()
