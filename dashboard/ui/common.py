"""The store, the reviewer's identity and other state every page shares."""

from __future__ import annotations

from urllib.parse import unquote

import streamlit as st

from dashboard.auth import REVIEWER_COOKIE
from store import Store, default_db_path

REVIEWER_KEY = "app.reviewer"  # the sidebar box (a widget: its state lasts one page)
SAVED_REVIEWER_KEY = "app.reviewer_saved"  # the name itself, for the whole session
REVIEWER_COOKIE_DAYS = 365

# Keeps the name in a cookie of this server so that a reload or a new tab knows it. The name
# arrives as data; the code is fixed.
_REMEMBER_JS = """
export default function (component) {
    const name = (component.data && component.data.name) || "";
    const attributes = "; path=/; samesite=lax; max-age=" + component.data.max_age;
    document.cookie = "%s=" + encodeURIComponent(name) + (name ? attributes : "; path=/; max-age=0");
}
""" % REVIEWER_COOKIE


@st.cache_resource(show_spinner=False)
def _open_store(path: str) -> Store:
    return Store(path)


def get_store() -> Store:
    """The Store for LOUPE_DB (else data/loupe.db), opened once per process."""
    return _open_store(default_db_path())


@st.cache_resource(show_spinner=False)
def _remember_component():
    return st.components.v2.component("loupe_remember_reviewer", js=_REMEMBER_JS)


def _remember_reviewer() -> None:
    # a name typed (or cleared) on purpose replaces the kept one
    st.session_state[SAVED_REVIEWER_KEY] = (st.session_state.get(REVIEWER_KEY) or "").strip()


def browser_cookie(name: str) -> str | None:
    """A cookie the browser sent when this tab connected (None without one, or in AppTest)."""
    try:
        value = st.context.cookies.get(name)
    except Exception:  # noqa: BLE001 - no browser connection
        return None
    return value if isinstance(value, str) else None


def browser_url() -> str | None:
    """The address of the page this browser shows (None in AppTest)."""
    try:
        value = st.context.url
    except Exception:  # noqa: BLE001 - no browser connection
        return None
    return value if isinstance(value, str) else None


def _name_from_cookie() -> str:
    return unquote(browser_cookie(REVIEWER_COOKIE) or "").strip()[:200]


def reviewer() -> str:
    """The reviewer name kept for this session, stripped ('' when none)."""
    return (st.session_state.get(SAVED_REVIEWER_KEY) or "").strip()


def reviewer_input() -> str:
    """The reviewer's name: the signed-in user, or (in local single-user mode) the sidebar box
    where a reviewer types their name, kept across pages, reloads and tabs of this browser."""
    from dashboard.ui.auth import account_menu, current_session, login_required

    store = get_store()
    if login_required(store):
        session = current_session(store)
        if session is None:
            st.stop()
        account_menu(store, session)
        return session.name
    state = st.session_state
    if SAVED_REVIEWER_KEY not in state:  # a new tab or a reload: the name this browser kept
        state[SAVED_REVIEWER_KEY] = (state.get(REVIEWER_KEY) or "").strip() or _name_from_cookie()
    # A widget's identity includes the page that draws it, so each page's box is a new widget
    # that would start empty (and the previous page's box is dropped when the run ends). The
    # box therefore starts from the kept name at every run, and only a change typed into it
    # (on_change) replaces the kept name.
    state[REVIEWER_KEY] = state[SAVED_REVIEWER_KEY]
    st.sidebar.text_input(
        "Your name",
        key=REVIEWER_KEY,
        placeholder="e.g. ana",
        help="Stored with every rating you give. This browser remembers it.",
        on_change=_remember_reviewer,
    )
    name = reviewer()
    with st.sidebar:
        _remember_component()(data={"name": name, "max_age": REVIEWER_COOKIE_DAYS * 86400},
                              key="app.reviewer_cookie")
    return name
