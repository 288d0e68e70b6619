"""The Users page's forms: each write runs in the form's callback, before the page is drawn,
so the tables and the banner below always show the result, and a refused form keeps what
was typed in it."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from dashboard.auth import ROLES, Session, hash_password, new_token, token_digest
from dashboard.ratelimit import parse_rate
from dashboard.safe_text import plain_text
from dashboard.scopes import DEFAULT, SCOPES, parse_scopes
from dashboard.ui.auth import begin_session, identity_providers, this_page_path
from store import Store

FLASH_KEY = "users.flash"  # (kind, text) to show once, at the top of the page
NEW_TOKEN_KEY = "users.new_token"  # a token just created: shown once, then forgotten
WELCOME_PARAM = "welcome"  # ?welcome=first-admin after the first admin signed in

ADD_NAME, ADD_ROLE, ADD_EMAIL, ADD_PASSWORD = (
    "users.add.name", "users.add.role", "users.add.email", "users.add.password")
EDIT_TARGET, EDIT_ROLE, EDIT_PASSWORD = "users.edit.target", "users.edit.role", "users.edit.password"
REMOVE_TARGET, REMOVE_CONFIRM = "users.remove.target", "users.remove.confirm"
TOKEN_NAME, TOKEN_RATE, TOKEN_SCOPES = "users.token.name", "users.token.rate", "users.token.scopes"
REVOKE_ID = "users.revoke.id"

ROLE_HELP = ("viewer: browse and read; annotator: also chat, rate and vote; "
             "admin: also variants, experiments, import, export and users.")


def _flash(kind: str, text: str) -> None:
    st.session_state.setdefault(FLASH_KEY, []).append((kind, text))


def show_flash() -> None:
    """The outcome of the last form, once."""
    for kind, text in st.session_state.pop(FLASH_KEY, []):
        getattr(st, kind)(text)


def _when(iso: Any) -> str:
    """'2026-11-29 21:52' from stored ISO time ('' for none)."""
    return "" if not iso else str(iso)[:16].replace("T", " ")


def users_table(users: list[dict[str, Any]]) -> pd.DataFrame:
    """The accounts as shown: name, role, how they sign in, live sessions, created."""
    table = pd.DataFrame([{
        "name": u["name"],
        "role": u["role"],
        "signs in with": " and ".join(
            ([("password")] if u["has_password"] else [])
            + (["identity provider"] if u["email"] or u["linked"] else [])) or "nothing yet",
        "email": u["email"] or "",
        "live sessions": u["sessions"],
        "created": _when(u["created_at"]),
    } for u in users])
    return table if table["email"].any() else table.drop(columns="email")


def tokens_table(tokens: list[dict[str, Any]]) -> pd.DataFrame:
    """The API tokens as shown (never the token itself)."""
    return pd.DataFrame([{
        "name": t["name"],
        "rate": t["rate"] or "",
        "created by": t["created_by"] or "",
        "created": _when(t["created_at"]),
        "last used": _when(t["last_used_at"]) or "never",
        "revoked": _when(t["revoked_at"]),
        "scopes": ", ".join(t["scopes"]),
    } for t in tokens])


# -- callbacks (they run before the page is drawn again) ---------------------------------

def add_user(store: Store) -> None:
    """Add the account typed in the form; the first admin is signed in in this browser."""
    state = st.session_state
    name = (state.get(ADD_NAME) or "").strip()
    role = state.get(ADD_ROLE) or "annotator"
    email = (state.get(ADD_EMAIL) or "").strip() or None
    password = state.get(ADD_PASSWORD) or ""
    first = store.users.user_count() == 0
    if first and role != "admin":
        _flash("error", "The first account must be an admin, so that someone can manage the "
                        "others: choose the admin role.")
        return
    try:
        hashed = hash_password(password) if password or not email else None
        store.users.add_user(name, role, hashed, email=email)
    except ValueError as exc:
        _flash("error", f"{str(exc).capitalize()}.")
        return
    for key in (ADD_NAME, ADD_EMAIL, ADD_PASSWORD):
        state[key] = ""
    if first:
        begin_session(store, name, next_path=f"{this_page_path()}?{WELCOME_PARAM}=first-admin")
        _flash("success", f"Added {plain_text(name)} (admin) and signed you in as {plain_text(name)}: "
                          "from now on everyone signs in.")
    else:
        _flash("success", f"Added {plain_text(name)} ({role}).")


def _edit_keys(target: str) -> tuple[str, str]:
    """The role and password boxes of one user's form (a form per user, so that each starts
    from that user's current role)."""
    return f"{EDIT_ROLE}.{target}", f"{EDIT_PASSWORD}.{target}"


def save_user(store: Store, target: str, me: Session | None) -> None:
    """Change the user's role and, when one is typed, password."""
    state = st.session_state
    role_key, password_key = _edit_keys(target)
    role = state.get(role_key)
    password = state.get(password_key) or ""
    account = store.users.get_user(target)
    if account is None:
        _flash("error", f"{plain_text(target)} was removed meanwhile.")
        return
    try:
        hashed = hash_password(password) if password else None
        keep = me.session_id if me is not None and me.name == target else None
        store.users.set_user(target, role=role, password_hash=hashed, keep_session=keep)
    except ValueError as exc:
        _flash("error", f"{str(exc).capitalize()}.")
        return
    for key in (role_key, password_key):  # drawn again from the stored account
        state.pop(key, None)
    article = "a" if role == "viewer" else "an"
    done = [f"{plain_text(target)} is now {article} {role}."] if role != account["role"] else []
    if hashed:
        done.append("Password changed; your other sessions were signed out." if keep
                    else f"Password changed; {plain_text(target)} was signed out everywhere.")
    _flash("success" if done else "info",
           " ".join(done) or f"Nothing to change for {plain_text(target)}.")


def remove_user(store: Store, me: Session | None) -> None:
    """Remove the chosen account (at least one admin stays)."""
    state = st.session_state
    target = state.get(REMOVE_TARGET)
    if not target:
        _flash("error", "Choose the account to remove.")
        return
    if not state.get(REMOVE_CONFIRM):
        _flash("error", f"Tick the box to confirm that {plain_text(target)} should be removed.")
        return
    account = store.users.get_user(target)
    admins = [u["name"] for u in store.users.list_users() if u["role"] == "admin"]
    if account and account["role"] == "admin" and admins == [target]:
        who = "yourself: you are" if me and me.name == target else f"{plain_text(target)}: they are"
        _flash("error", f"You cannot remove {who} the last admin. Give another user the admin "
                        "role first.")
        return
    try:
        removed = store.users.remove_user(target)
    except ValueError as exc:
        _flash("error", f"{str(exc).capitalize()}.")
        return
    state[REMOVE_CONFIRM] = False
    _flash("success" if removed else "warning",
           f"Removed {plain_text(target)}: signed out everywhere; their ratings stay under their name."
           if removed else f"{plain_text(target)} was already removed.")


def create_token(store: Store, me: Session | None) -> None:
    """Create an API token and keep it to show once."""
    state = st.session_state
    name = (state.get(TOKEN_NAME) or "").strip() or "token"
    rate = (state.get(TOKEN_RATE) or "").strip()
    try:
        parse_rate(rate)
        scopes = parse_scopes(state.get(TOKEN_SCOPES) or [])
    except ValueError as exc:
        _flash("error", f"{str(exc).capitalize()}.")
        return
    token = new_token()
    store.users.add_token(name, token_digest(token), rate, me.name if me else None, scopes)
    state[TOKEN_NAME] = ""
    state[TOKEN_SCOPES] = list(DEFAULT)  # the next token starts from the least again
    state[NEW_TOKEN_KEY] = (name, token, scopes)


def revoke_token(store: Store) -> None:
    """Revoke the chosen token."""
    token_id = st.session_state.get(REVOKE_ID)
    if token_id is None:
        return
    name = next((t["name"] for t in store.users.list_tokens() if t["id"] == token_id), token_id)
    if store.users.revoke_token(token_id):
        _flash("success", f"Revoked the token {plain_text(name)}: requests with it are refused from now on.")
    else:
        _flash("warning", f"The token {plain_text(name)} was already revoked.")


# -- forms ------------------------------------------------------------------------------------

def add_user_form(store: Store, first: bool) -> None:
    """Name, role, (email,) password."""
    providers = identity_providers()
    with st.form("users.add"):
        st.text_input("Name", key=ADD_NAME, help="Shown with every rating this person gives.")
        st.selectbox("Role", ROLES, index=2 if first else 1, key=ADD_ROLE, help=ROLE_HELP)
        if providers:
            st.text_input("Email (to sign in with the identity provider)", key=ADD_EMAIL)
        st.text_input("Password (8 characters or more)" + (", or none for identity sign-in only"
                                                           if providers else ""),
                      type="password", key=ADD_PASSWORD, autocomplete="new-password")
        st.form_submit_button("Add user", type="primary", on_click=add_user, args=(store,))


def edit_user_form(store: Store, users: list[dict[str, Any]], me: Session | None) -> None:
    """Role and password of one user."""
    names = [u["name"] for u in users]
    target = st.selectbox("User", names, key=EDIT_TARGET)
    account = next(u for u in users if u["name"] == target)
    role_key, password_key = _edit_keys(target)
    with st.form(f"users.edit.{target}"):
        st.selectbox("Role", ROLES, index=ROLES.index(account["role"]), key=role_key,
                     help=ROLE_HELP)
        st.text_input("New password (leave empty to keep)", type="password", key=password_key,
                      autocomplete="new-password")
        st.form_submit_button("Save", on_click=save_user, args=(store, target, me))


def remove_user_form(store: Store, users: list[dict[str, Any]], me: Session | None) -> None:
    """Pick a user, confirm, remove."""
    with st.form("users.remove"):
        st.selectbox("User", [u["name"] for u in users], key=REMOVE_TARGET, index=None,
                     placeholder="Choose the account to remove")
        st.checkbox("Yes, remove this account (its ratings stay)", key=REMOVE_CONFIRM)
        st.form_submit_button("Remove user", on_click=remove_user, args=(store, me))


def token_forms(store: Store, me: Session | None) -> None:
    """The token just created (once), the tokens, and the forms to create and revoke one."""
    fresh = st.session_state.pop(NEW_TOKEN_KEY, None)
    if fresh:
        st.success(f"Created the token {plain_text(fresh[0])} ({', '.join(fresh[2])}). Copy it now:"
                   " it is not shown again.")
        st.code(fresh[1], language=None)
    st.caption("Each token does only what its scopes allow: " + "; ".join(
        f"`{name}` {what}" for name, what in SCOPES.items()) + ".")
    tokens = store.users.list_tokens()
    if tokens:
        st.dataframe(tokens_table(tokens), hide_index=True, width="stretch")
    else:
        st.caption("No API token yet.")
    create, revoke = st.columns(2)
    with create, st.form("users.token"):
        st.text_input("Token name", placeholder="e.g. support widget", key=TOKEN_NAME)
        st.text_input("Rate limit", value="60/minute", key=TOKEN_RATE,
                      help="e.g. 5/minute for a free tier")
        st.session_state.setdefault(TOKEN_SCOPES, list(DEFAULT))
        st.multiselect("Scopes", list(SCOPES), key=TOKEN_SCOPES,
                       help="\n\n".join(f"`{name}`: {what}" for name, what in SCOPES.items()))
        st.form_submit_button("Create token", on_click=create_token, args=(store, me))
    live = {t["id"]: t["name"] for t in tokens if not t["revoked_at"]}
    if live:
        with revoke, st.form("users.revoke"):
            st.selectbox("Token", list(live), key=REVOKE_ID,
                         format_func=lambda i: f"{live[i]} (#{i})")
            st.form_submit_button("Revoke token", on_click=revoke_token, args=(store,))
