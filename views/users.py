"""Users and API tokens (admins only)."""

import streamlit as st

from dashboard.safe_text import plain_text
from dashboard.ui.auth import current_session, login_required, require
from dashboard.ui.common import get_store, reviewer_input
from dashboard.ui.users import (
    WELCOME_PARAM,
    add_user_form,
    edit_user_form,
    remove_user_form,
    show_flash,
    token_forms,
    users_table,
)

store = get_store()
reviewer_input()
require(store, "users")
me = current_session(store) if login_required(store) else None
st.title("Users")
show_flash()
if st.query_params.get(WELCOME_PARAM) == "first-admin" and me is not None:
    st.success(f"You are signed in as {plain_text(me.name)}, the first admin: from now on everyone "
               "signs in. Add your team below.")
    del st.query_params[WELCOME_PARAM]

users = store.users.list_users()
if not users:
    st.info("Loupe runs in local single-user mode: anyone who reaches this machine's localhost can "
            "use it. Add a first admin below (or `python -m dashboard users add NAME --role admin`):"
            " you are signed in as that admin, and everyone else will have to sign in.")
else:
    st.dataframe(users_table(users), hide_index=True, width="stretch")

with st.expander("Add a user", icon=":material/person_add:", expanded=len(users) <= 1):  # open while the team is the first admin
    add_user_form(store, first=not users)

if users:
    with st.expander("Change a role or password", icon=":material/manage_accounts:"):
        edit_user_form(store, users, me)
    with st.expander("Remove a user", icon=":material/person_remove:"):
        remove_user_form(store, users, me)

st.subheader("API tokens")
st.caption("Production apps send feedback to `python -m dashboard api` with a bearer token.")
token_forms(store, me)
