"""Clusters page (being built)."""

import streamlit as st

from dashboard.ui.common import reviewer_input

reviewer_input()
st.title("Failure themes")
st.info("This page is not ready yet.")
