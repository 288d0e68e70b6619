"""Sign-in, sessions that expire, and the role checks every page and write goes through."""

from __future__ import annotations

import time

import streamlit as st

from dashboard.auth import Session, can, verify_password
from dashboard.ratelimit import RateLimiter
from store import Store

SESSION_KEY = "auth.session"
NOTICE_KEY = "auth.notice"


@st.cache_resource(show_spinner=False)
def _login_limiter() -> RateLimiter:
    return RateLimiter.from_text("5/minute")


def login_required(store: Store) -> bool:
    """True once any account exists; before that Loupe is a local single-user tool."""
    return store.user_count() > 0


def current_session(store: Store) -> Session | None:
    """The signed-in user, or None (also when the session expired or the account is gone)."""
    session: Session | None = st.session_state.get(SESSION_KEY)
    if session is None:
        return None
    account = store.get_user(session.name)
    if session.expired() or account is None:
        st.session_state.pop(SESSION_KEY, None)
        st.session_state[NOTICE_KEY] = "Your session expired: sign in again."
        return None
    if account["role"] != session.role:  # a changed role applies at once
        session = Session(session.name, account["role"], session.signed_in_at)
        st.session_state[SESSION_KEY] = session
    return session


def current_role(store: Store) -> str | None:
    """The signed-in user's role; None in local single-user mode."""
    if not login_required(store):
        return None
    session = current_session(store)
    return session.role if session else "none"


def allowed(store: Store, action: str) -> bool:
    """Whether the current user may do an action (checked on the server, at every run)."""
    role = current_role(store)
    return role != "none" and can(role, action)


def require(store: Store, action: str) -> None:
    """Stop the page with a sentence when the current user may not do this."""
    if not allowed(store, action):
        st.error("Your role does not allow this page: ask an admin for access.",
                 icon=":material/lock:")
        st.stop()


def login_form(store: Store) -> None:
    """The sign-in form shown instead of the app while nobody is signed in."""
    st.title("Loupe")
    notice = st.session_state.pop(NOTICE_KEY, None)
    if notice:
        st.info(notice)
    with st.form("auth.login"):
        name = st.text_input("Name")
        password = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if not submitted:
        return
    ok, wait = _login_limiter().allow(name.strip().lower())
    if not ok:
        st.error(f"Too many attempts: wait {wait:.0f} s and try again.")
        return
    account = store.get_user(name)
    if account is None or not verify_password(password, account["password_hash"]):
        st.error("Wrong name or password.")
        return
    st.session_state[SESSION_KEY] = Session(account["name"], account["role"], time.time())
    st.rerun()


def sign_out() -> None:
    """Forget the session."""
    st.session_state.pop(SESSION_KEY, None)
