"""The store, the reviewer's identity and other state every page shares."""

from __future__ import annotations

import streamlit as st

from dashboard.safe_text import plain_text
from store import Store, default_db_path

REVIEWER_KEY = "app.reviewer"
SAVED_REVIEWER_KEY = "app.reviewer_saved"  # survives pages that do not draw the box


@st.cache_resource(show_spinner=False)
def _open_store(path: str) -> Store:
    return Store(path)


def get_store() -> Store:
    """The Store for LOUPE_DB (else data/loupe.db), opened once per process."""
    return _open_store(default_db_path())


def _remember_reviewer() -> None:
    # a name typed (or cleared) on purpose replaces the kept one
    st.session_state[SAVED_REVIEWER_KEY] = st.session_state.get(REVIEWER_KEY, "")


def reviewer() -> str:
    """The reviewer name typed in the sidebar, stripped ('' when none)."""
    return (st.session_state.get(REVIEWER_KEY) or "").strip()


def reviewer_input() -> str:
    """The reviewer's name: the signed-in user, or (in local single-user mode) the sidebar box
    where a reviewer types their name, kept for the session."""
    from dashboard.ui.auth import current_session, login_required, sign_out

    store = get_store()
    if login_required(store):
        session = current_session(store)
        if session is None:
            st.stop()
        st.sidebar.markdown(f"Signed in as **{plain_text(session.name)}** · {session.role}")
        if st.sidebar.button("Sign out", key="auth.sign_out", icon=":material/logout:"):
            sign_out()
            st.rerun()
        return session.name
    # Every page draws the box with the same key; its state can be dropped when the page
    # changes, so the name is also kept under a key no widget owns, and restored from there.
    state = st.session_state
    if not state.get(REVIEWER_KEY) and state.get(SAVED_REVIEWER_KEY):
        state[REVIEWER_KEY] = state[SAVED_REVIEWER_KEY]
    st.sidebar.text_input(
        "Your name",
        key=REVIEWER_KEY,
        placeholder="e.g. ana",
        help="Stored with every rating you give. Kept until you close the tab.",
        on_change=_remember_reviewer,
    )
    if reviewer():
        state[SAVED_REVIEWER_KEY] = reviewer()
    return reviewer()
