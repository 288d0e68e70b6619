"""Loupe: the Streamlit entry point. Navigation and nothing else; each page draws its sidebar."""

import streamlit as st

st.set_page_config(page_title="Loupe", page_icon=":material/rate_review:", layout="wide")

st.navigation(
    [
        st.Page("pages/chat.py", title="Chat", icon=":material/chat:", default=True),
    ]
).run()
