"""Export curated answers as fine-tuning data."""

import streamlit as st

from dashboard.exporting import FORMATS
from dashboard.ui.auth import require
from dashboard.ui.common import get_store, reviewer_input
from dashboard.ui.export import (
    FORMAT_HELP,
    build_section,
    counts_before_writing,
    options_form,
    past_exports,
    preview_rows,
)
from dashboard.ui.filters import filter_bar

store = get_store()
who = reviewer_input()
require(store, "export")
st.title("Export")
st.caption("Turn what reviewers approved, corrected and preferred into training files. The ideal "
           "answer, where a reviewer wrote one, replaces the model's answer.")

fmt = st.segmented_control("Format", FORMATS, default="sft", required=True, key="export.format")
st.caption(FORMAT_HELP[fmt])
filters = filter_bar(store, key="export")
options = options_form(store, fmt, filters)

st.subheader("Preview")
preview_rows(store, options)
counts_before_writing(store, options)
build_section(store, options, who)

st.subheader("Past exports")
past_exports(store, who)
