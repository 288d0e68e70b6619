"""The store, the reviewer's identity and other state every page shares."""

from __future__ import annotations

import streamlit as st

from store import Store, default_db_path

REVIEWER_KEY = "app.reviewer"


@st.cache_resource(show_spinner=False)
def _open_store(path: str) -> Store:
    return Store(path)


def get_store() -> Store:
    """The Store for LOUPE_DB (else data/loupe.db), opened once per process."""
    return _open_store(default_db_path())


def reviewer() -> str:
    """The reviewer name typed in the sidebar, stripped ('' when none)."""
    return (st.session_state.get(REVIEWER_KEY) or "").strip()


def reviewer_input() -> None:
    """The sidebar box where a reviewer types their name, kept for the session."""
    st.sidebar.text_input(
        "Your name",
        key=REVIEWER_KEY,
        placeholder="e.g. ana",
        help="Stored with every rating you give. Kept until you close the tab.",
    )
