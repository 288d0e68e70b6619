"""Loupe: the Streamlit entry point. Navigation and the sidebar identity, nothing else."""

import streamlit as st

from dashboard.ui.common import reviewer_input

st.set_page_config(page_title="Loupe", page_icon=":material/rate_review:", layout="wide")

navigation = st.navigation(
    [
        st.Page("pages/chat.py", title="Chat", icon=":material/chat:", default=True),
    ]
)
st.sidebar.markdown("**Loupe** · feedback on your LLM")
reviewer_input()
navigation.run()
