"""Loupe: the Streamlit entry point. Navigation and nothing else; each page draws its sidebar."""

import streamlit as st

st.set_page_config(page_title="Loupe", page_icon=":material/rate_review:", layout="wide")

st.navigation(
    {
        "Look": [
            st.Page("pages/insights.py", title="Insights", icon=":material/monitoring:"),
            st.Page("pages/review.py", title="Review", icon=":material/table_view:"),
            st.Page("pages/clusters.py", title="Failure themes", icon=":material/bubble_chart:"),
            st.Page("pages/agreement.py", title="Agreement", icon=":material/group:"),
        ],
        "Label": [
            st.Page("pages/chat.py", title="Chat", icon=":material/chat:", default=True),
            st.Page("pages/queue.py", title="Annotate", icon=":material/checklist:"),
        ],
        "Compare": [
            st.Page("pages/variants.py", title="Variants", icon=":material/tune:"),
            st.Page("pages/experiments.py", title="Experiments", icon=":material/science:"),
            st.Page("pages/vote.py", title="Vote", icon=":material/how_to_vote:"),
            st.Page("pages/results.py", title="Results", icon=":material/leaderboard:"),
        ],
        "Train": [
            st.Page("pages/export.py", title="Export", icon=":material/output:"),
        ],
    }
).run()
