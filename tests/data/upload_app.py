"""A one-widget app for testing the upload box on its own."""

import streamlit as st

from dashboard.ui.common import get_store
from dashboard.ui.upload import import_box

with st.expander("Import feedback", expanded=True):
    import_box(get_store())
