"""Users and API tokens (admins only)."""

import pandas as pd
import streamlit as st

from dashboard.auth import ROLES, hash_password, new_token, token_digest
from dashboard.ratelimit import parse_rate
from dashboard.safe_text import plain_text
from dashboard.ui.auth import require
from dashboard.ui.common import get_store, reviewer_input

store = get_store()
me = reviewer_input()
require(store, "users")
st.title("Users")
if store.user_count() == 0:
    st.info("Loupe runs in local single-user mode: anyone who reaches this machine's localhost can "
            "use it. Add a first admin below (or `python -m dashboard users add NAME --role admin`) "
            "and everyone will have to sign in.")

users = store.list_users()
if users:
    st.dataframe(pd.DataFrame(users), hide_index=True, width="stretch")

with st.expander("Add a user", icon=":material/person_add:", expanded=not users):
    with st.form("users.add", clear_on_submit=True):
        name = st.text_input("Name")
        role = st.selectbox("Role", ROLES, index=1 if users else 2,
                            help="viewer: browse and read; annotator: also chat, rate and vote; "
                                 "admin: also variants, experiments, import, export and users.")
        password = st.text_input("Password (8 characters or more)", type="password")
        if st.form_submit_button("Add user", type="primary"):
            try:
                store.add_user(name, role, hash_password(password))
            except ValueError as exc:
                st.error(f"{str(exc).capitalize()}.")
            else:
                st.success(f"Added {plain_text(name.strip())} ({role})."
                           + ("" if users else " From now on everyone signs in."))

if users:
    with st.expander("Change a role or password", icon=":material/manage_accounts:"):
        target = st.selectbox("User", [u["name"] for u in users], key="users.target")
        new_role = st.selectbox("New role", ROLES, key="users.role",
                                index=ROLES.index(next(u["role"] for u in users if u["name"] == target)))
        new_password = st.text_input("New password (leave empty to keep)", type="password",
                                     key="users.password")
        if st.button("Save", key="users.save"):
            admins = [u for u in users if u["role"] == "admin"]
            if new_role != "admin" and [a["name"] for a in admins] == [target]:
                st.error("Keep at least one admin: give another user the admin role first.")
            else:
                try:
                    store.set_user(target, role=new_role,
                                   password_hash=hash_password(new_password) if new_password else None)
                except ValueError as exc:
                    st.error(f"{str(exc).capitalize()}.")
                else:
                    st.success(f"Saved {plain_text(target)}.")

st.subheader("API tokens")
st.caption("Production apps send feedback to `python -m dashboard api` with a bearer token.")
tokens = store.list_tokens()
if tokens:
    st.dataframe(pd.DataFrame(tokens), hide_index=True, width="stretch")
with st.form("users.token", clear_on_submit=True):
    token_name = st.text_input("Token name", placeholder="e.g. support widget")
    rate = st.text_input("Rate limit", value="60/minute", help="e.g. 5/minute for a free tier")
    if st.form_submit_button("Create token"):
        try:
            parse_rate(rate)
        except ValueError as exc:
            st.error(f"{str(exc).capitalize()}.")
        else:
            token = new_token()
            store.add_token(token_name.strip() or "token", token_digest(token), rate, me or None)
            st.success("Copy this token now: it is not shown again.")
            st.code(token, language=None)
if tokens:
    live = [t["id"] for t in tokens if not t["revoked_at"]]
    if live:
        revoke = st.selectbox("Revoke a token", live, key="users.revoke_id",
                              format_func=lambda i: next(t["name"] for t in tokens if t["id"] == i))
        if st.button("Revoke", key="users.revoke"):
            store.revoke_token(revoke)
            st.rerun()
