"""Sign-in, sessions that outlive a reload, and the role checks every page and write goes through.

A session is a record in the database; the browser holds its random token in a signed,
HttpOnly cookie (set by dashboard/ui/session_routes.py), which every new tab and every reload
sends. Each script run checks the record, so signing out (in any tab), a changed password, a
removed account or the end of the 8 hours end the session at the next click, and a changed
role applies at once.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

import streamlit as st

from dashboard.auth import (
    DEVICE_COOKIE,
    SESSION_COOKIE,
    SESSION_SECONDS,
    SIGN_IN_CODE_SECONDS,
    SIGN_IN_FORGET_SECONDS,
    OidcSettings,
    Session,
    can,
    hash_password,
    identity_email,
    identity_subject,
    match_identity,
    new_secret,
    oidc_providers,
    sign_in_client,
    sign_in_delay,
    token_digest,
    verify_password,
    wait_sentence,
)
from dashboard.safe_text import inert_markdown, plain_text
from dashboard.ui import session_routes
from dashboard.ui.common import browser_cookie, browser_url
from store import Store

SESSION_KEY = "auth.session"
NOTICE_KEY = "auth.notice"
IDENTITY_USED_KEY = "auth.identity_used"  # this tab already turned st.user into a session

_ENDED = {
    "expired": "Your session ended after 8 hours: sign in again.",
    "signed out": "You were signed out (in another tab, or your password changed): sign in again.",
    "removed": "Your account was removed: ask an admin if you still need access.",
}


# -- identity provider (Streamlit's st.login, configured in secrets.toml [auth]) ------------

def _secrets_section(name: str) -> Mapping[str, Any] | None:
    try:
        section = st.secrets.get(name)
    except Exception:  # noqa: BLE001 - no or unreadable secrets.toml: nothing configured
        return None
    return section if isinstance(section, Mapping) else None


def identity_providers() -> list[tuple[str | None, str]]:
    """The identity providers that `.streamlit/secrets.toml` configures (may be none)."""
    return oidc_providers(_secrets_section("auth"))


def oidc_settings() -> OidcSettings:
    """Default role and first admins for identity-provider users, from secrets.toml [loupe]."""
    return OidcSettings.from_config(_secrets_section("loupe"))


def login_required(store: Store) -> bool:
    """True once any account exists or an identity provider is configured; before that Loupe
    is a local single-user tool."""
    return store.users.user_count() > 0 or bool(identity_providers())


# -- sessions -----------------------------------------------------------------------------

def _redirect(url: str) -> None:
    """Send the browser to a URL of this server (as st.login and st.logout do)."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None:
        return
    message = ForwardMsg()
    message.auth_redirect.url = url
    ctx.enqueue(message)


def this_page_path() -> str:
    """The path of the page this browser shows (the start page in AppTest)."""
    return urlsplit(browser_url() or "").path or session_routes.base_path() + "/"


def _this_page() -> str:
    """The path and query of the page this browser shows, to come back to after sign-in
    (st.context.url leaves the query out: it comes from st.query_params)."""
    params = {key: st.query_params.get_all(key) for key in st.query_params}
    query = urlencode(params, doseq=True)
    return this_page_path() + (f"?{query}" if query else "")


def begin_session(store: Store, name: str, *, method: str = "password",
                  next_path: str | None = None) -> Session:
    """Sign a user in, in this tab at once and in this browser through the session cookie."""
    code = new_secret()
    record = store.users.start_session(name, token_digest(code), seconds=SESSION_SECONDS,
                                 code_seconds=SIGN_IN_CODE_SECONDS, method=method)
    session = Session(record["name"], record["role"], time.time(), record["id"])
    st.session_state[SESSION_KEY] = session
    _redirect(session_routes.session_url(code, next_path or _this_page()))
    return session


def _from_record(record: dict[str, Any], signed_in_at: float | None = None) -> Session:
    return Session(record["name"], record["role"], signed_in_at or time.time(), record["id"])


def _cookie_session(store: Store) -> Session | None:
    """The live session named by this browser's cookie (sent when the tab connected)."""
    cookie = browser_cookie(SESSION_COOKIE)
    token = session_routes.token_from_cookie(store, cookie) if cookie else None
    record = store.users.session_by_token(token_digest(token)) if token else None
    return _from_record(record) if record else None


def _identity_session(store: Store) -> Session | None:
    """A session for the identity-provider user of this tab (st.user), once per tab."""
    state = st.session_state
    if not identity_providers() or state.get(IDENTITY_USED_KEY):
        return None
    try:
        user = st.user.to_dict()
    except Exception:  # noqa: BLE001 - st.user unavailable
        return None
    if not user.get("is_logged_in"):
        return None
    state[IDENTITY_USED_KEY] = True
    try:
        settings = oidc_settings()
    except ValueError as exc:
        state[NOTICE_KEY] = f"Sign-in is misconfigured in secrets.toml: {exc}."
        return None
    match = match_identity(user, store.users.identity_accounts(), settings)
    if match.action == "refuse":
        state[NOTICE_KEY] = match.reason
        return None
    assert match.name is not None and match.role is not None
    subject = identity_subject(user)
    if match.action == "create":
        try:
            store.users.add_user(match.name, match.role, None, email=identity_email(user),
                           oidc_subject=subject)
        except ValueError as exc:
            state[NOTICE_KEY] = f"{str(exc).capitalize()}: ask an admin."
            return None
    elif match.link and subject:
        store.users.link_identity(match.name, subject)
    return begin_session(store, match.name, method="oidc")


def current_session(store: Store) -> Session | None:
    """The signed-in user, or None (also once the session ended, expired or lost its account).

    The role is read afresh at every run, so a changed role applies at once.
    """
    state = st.session_state
    session: Session | None = state.get(SESSION_KEY)
    if session is not None:
        fresh = _checked(store, session)
        if fresh is not None:
            if fresh != session:
                state[SESSION_KEY] = fresh
            return fresh
        state.pop(SESSION_KEY, None)
    cookie = _cookie_session(store)
    if cookie is not None:
        state[SESSION_KEY] = cookie
        return cookie
    return _identity_session(store)


def _checked(store: Store, session: Session) -> Session | None:
    """The session with its current role, or None (and a notice saying why) once it is over."""
    if session.session_id is None:
        # A session made in code without a record (tests): it still expires and needs the
        # account, and takes the account's current role.
        account = store.users.get_user(session.name)
        if session.expired() or account is None:
            st.session_state[NOTICE_KEY] = _ENDED["expired" if account else "removed"]
            return None
        return Session(session.name, account["role"], session.signed_in_at)
    record = store.users.live_session(session.session_id)
    if record is None:
        reason = store.users.session_end_reason(session.session_id) or "signed out"
        st.session_state[NOTICE_KEY] = _ENDED[reason]
        return None
    return _from_record(record, session.signed_in_at)


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


LOGIN_NAME, LOGIN_PASSWORD, LOGIN_ERROR = "auth.login.name", "auth.login.password", "auth.login.error"


def _client_address() -> str | None:
    """The browser's network address as Streamlit sees it (None for local connections)."""
    try:
        address = st.context.ip_address
    except Exception:  # noqa: BLE001 - no browser connection (AppTest)
        return None
    return address if isinstance(address, str) and address else None


def _sign_in(store: Store) -> None:
    """Check the name and password typed in the sign-in form (its callback).

    Failed tries are counted per typed name and client (dashboard.auth.sign_in_client), in
    the database so that every server process sees them; after a few, each next try from that
    client must wait longer. Signing in happens here, before the page is drawn again, and
    never with st.rerun(): a rerun would drop the redirect that sets the cookie before it
    reaches the browser.
    """
    state = st.session_state
    name = (state.get(LOGIN_NAME) or "").strip()
    password = state.get(LOGIN_PASSWORD) or ""
    key = name.lower()[:200]
    client = sign_in_client(name, _client_address(), browser_cookie(DEVICE_COOKIE),
                            session_routes.cookie_key(store))
    wait = store.users.claim_sign_in(key, client, delay=sign_in_delay, forget=SIGN_IN_FORGET_SECONDS)
    if wait > 0:
        state[LOGIN_ERROR] = wait_sentence(wait, failed=False)
        return
    account = store.users.get_user(name)
    if account is None or not verify_password(password, account["password_hash"]):
        wait = store.users.sign_in_wait(key, client)
        state[LOGIN_ERROR] = (wait_sentence(wait, failed=True) if wait > 0
                              else "Wrong name or password.")
        return
    store.users.sign_in_succeeded(key, client)
    state[LOGIN_PASSWORD] = ""
    state.pop(NOTICE_KEY, None)
    begin_session(store, account["name"])


def login_form(store: Store) -> None:
    """The sign-in page shown instead of the app while nobody is signed in."""
    with st.columns([1, 2, 1])[1]:
        _login_column(store)


def _login_column(store: Store) -> None:
    st.title("Loupe")
    st.caption("Human feedback on your LLM, reviewed by your team.")
    notice = st.session_state.pop(NOTICE_KEY, None)
    if notice:
        st.info(notice, icon=":material/info:")
    providers = identity_providers()
    identity = _provider_identity() if providers else None
    if identity:
        st.caption(f"The identity provider signed this browser in as "
                   f"{inert_markdown(identity)}.")
        st.button("Use another account", icon=":material/switch_account:", on_click=st.logout)
    for provider, label in providers:
        if st.button(f"Sign in with {label}", key=f"auth.oidc.{provider or 'default'}",
                     type="primary", icon=":material/badge:"):
            st.session_state.pop(IDENTITY_USED_KEY, None)
            _login_with(provider)
    if providers and store.users.user_count() == 0:
        return
    with st.form("auth.login"):
        if providers:
            st.caption("Or with a Loupe password:")
        st.text_input("Name", key=LOGIN_NAME, autocomplete="username")
        st.text_input("Password", type="password", key=LOGIN_PASSWORD,
                      autocomplete="current-password")
        st.form_submit_button("Sign in", type="secondary" if providers else "primary",
                              on_click=_sign_in, args=(store,))
    error = st.session_state.pop(LOGIN_ERROR, None)
    if error:
        st.error(error)


def _provider_identity() -> str | None:
    """Who the identity provider signed this browser in as (st.user), if anyone."""
    try:
        user = st.user.to_dict()
    except Exception:  # noqa: BLE001 - st.user unavailable
        return None
    if not user.get("is_logged_in"):
        return None
    return str(user.get("email") or user.get("name") or user.get("sub") or "someone")


def _login_with(provider: str | None) -> None:
    """Hand over to Streamlit's OpenID Connect sign-in; a sentence if it cannot start."""
    try:
        if provider is None:
            st.login()
        else:
            st.login(provider)
    except Exception as exc:  # noqa: BLE001 - missing Authlib or incomplete [auth]: say so
        st.error(f"Sign-in with the identity provider cannot start: {exc}")


def sign_out(store: Store) -> None:
    """End this browser's session (every tab of it), then send the browser to delete its
    cookie (that address deletes only the cookie of a session that is over)."""
    session: Session | None = st.session_state.pop(SESSION_KEY, None) or _cookie_session(store)
    if session is not None and session.session_id is not None:
        store.users.end_session(session.session_id)
    st.session_state[IDENTITY_USED_KEY] = True  # st.user must not sign this tab straight back in
    _redirect(session_routes.signout_url(_this_page()))


def signed_in_caption(session: Session) -> str:
    """'Signed in as **name** · role', the name shown as written."""
    return f"Signed in as **{plain_text(session.name)}** · {session.role}"


OWN_CURRENT, OWN_NEW, OWN_REPEAT, OWN_FLASH = (
    "auth.own.current", "auth.own.new", "auth.own.repeat", "auth.own.flash")


def _change_own_password(store: Store, session: Session) -> None:
    state = st.session_state
    account = store.users.get_user(session.name)
    current, new, repeat = (state.get(OWN_CURRENT) or "", state.get(OWN_NEW) or "",
                            state.get(OWN_REPEAT) or "")
    if account is None:
        return
    if account["password_hash"] and not verify_password(current, account["password_hash"]):
        state[OWN_FLASH] = ("error", "Your current password is not right.")
        return
    if new != repeat:
        state[OWN_FLASH] = ("error", "The two new passwords differ: type the same one twice.")
        return
    try:
        store.users.set_user(session.name, password_hash=hash_password(new),
                       keep_session=session.session_id)
    except ValueError as exc:
        state[OWN_FLASH] = ("error", f"{str(exc).capitalize()}.")
        return
    for key in (OWN_CURRENT, OWN_NEW, OWN_REPEAT):
        state[key] = ""
    state[OWN_FLASH] = ("success", "Password changed. Your other sessions were signed out.")


def account_menu(store: Store, session: Session) -> None:
    """Who is signed in, changing one's own password, and signing out (in the sidebar)."""
    st.sidebar.markdown(signed_in_caption(session))
    flash = st.session_state.pop(OWN_FLASH, None)
    with st.sidebar.popover("Change password", icon=":material/key:", width="stretch"):
        if flash:
            getattr(st, flash[0])(flash[1])
        with st.form("auth.own_password"):
            if (store.users.get_user(session.name) or {}).get("password_hash"):
                st.text_input("Current password", type="password", key=OWN_CURRENT,
                              autocomplete="current-password")
            st.text_input("New password (8 characters or more)", type="password", key=OWN_NEW,
                          autocomplete="new-password")
            st.text_input("New password again", type="password", key=OWN_REPEAT,
                          autocomplete="new-password")
            st.form_submit_button("Change my password", on_click=_change_own_password,
                                  args=(store, session))
    if flash and flash[0] == "success":
        st.sidebar.success(flash[1])
    st.sidebar.button("Sign out", key="auth.sign_out", icon=":material/logout:", width="stretch",
                      on_click=sign_out, args=(store,))
