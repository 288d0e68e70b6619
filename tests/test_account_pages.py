"""Sign-in, the reviewer's name and the Users page, run as pages (AppTest)."""

from __future__ import annotations

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard.auth import hash_password
from dashboard.ui.auth import NOTICE_KEY, SESSION_KEY
from store import Store
from tests.pages import use_database
from tests.paths import ROOT
from tests.shown import shown

PAGES = ["insights", "review", "clusters", "agreement", "results", "queue", "chat", "export"]


@pytest.fixture
def env(monkeypatch, db_path):
    Store(db_path).close()
    use_database(monkeypatch, db_path, ollama="http://127.0.0.1:9")
    return db_path


def _app() -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)


def _button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def _sign_in(at: AppTest, name: str, password: str) -> None:
    at.text_input[0].input(name)
    at.text_input[1].input(password)
    _button(at, "Sign in").click().run()


def _texts(at: AppTest) -> str:
    return " ".join(e.value for e in [*at.success, *at.error, *at.info, *at.warning])


def _name_box(at: AppTest):
    return next(box for box in at.sidebar.text_input if box.label == "Your name")


def test_the_reviewers_name_survives_every_page_switch(env):
    at = _app().run()
    _name_box(at).input("ana").run()
    for page in PAGES + PAGES:
        at.switch_page(f"views/{page}.py").run()
        assert not at.exception, page
        assert _name_box(at).value == "ana", page
    _name_box(at).input("bea").run()
    at.switch_page("views/review.py").run()
    assert _name_box(at).value == "bea"
    at.switch_page("views/chat.py").run()
    assert _name_box(at).value == "bea"


def test_the_name_kept_in_the_browser_stays_data():
    from dashboard.ui.common import remember_reviewer_html

    hostile = '"><img src=x onerror="alert(1)"></div><script>alert(2)</script>'
    kept = remember_reviewer_html(hostile)
    assert "<img" not in kept and "alert(2)</script>" not in kept
    assert 'data-loupe-reviewer="&quot;&gt;&lt;img src=x' in kept
    assert kept.count("<script>") == 1


def test_the_first_admin_is_signed_in_and_the_next_form_lands(env):
    at = _app().run()
    at.switch_page("views/users.py").run()
    assert any("local single-user mode" in i.value for i in at.info)
    at.text_input(key="users.add.name").input("ana")
    at.selectbox(key="users.add.role").select("admin")
    at.text_input(key="users.add.password").input("ana-password")
    _button(at, "Add user").click().run()
    assert not at.exception
    assert at.session_state[SESSION_KEY].name == "ana"
    assert any("Signed in as **ana** · admin" in m.value for m in at.sidebar.markdown)
    assert not any("local single-user mode" in i.value for i in at.info)  # the banner is gone
    assert list(at.dataframe[0].value["name"]) == ["ana"]

    at.text_input(key="users.add.name").input("vic")
    at.selectbox(key="users.add.role").select("viewer")
    at.text_input(key="users.add.password").input("vic-password")
    _button(at, "Add user").click().run()
    assert "Added vic (viewer)." in _texts(at)
    assert list(at.dataframe[0].value["name"]) == ["ana", "vic"]  # the table refreshed at once
    with Store(env) as store:
        assert [(u["name"], u["role"]) for u in store.users.list_users()] == [
            ("ana", "admin"), ("vic", "viewer")]
        session = store.users.live_session(at.session_state[SESSION_KEY].session_id)
        assert session["name"] == "ana"


def test_a_refused_form_keeps_what_was_typed(env):
    with Store(env) as store:
        store.users.add_user("ada", "admin", hash_password("ada-password"))
    at = _app().run()
    _sign_in(at, "ada", "ada-password")
    at.switch_page("views/users.py").run()
    at.text_input(key="users.add.name").input("bob")
    at.text_input(key="users.add.password").input("short")
    _button(at, "Add user").click().run()
    assert "8 characters" in _texts(at)
    assert at.text_input(key="users.add.name").value == "bob"
    with Store(env) as store:
        assert store.users.get_user("bob") is None


def test_the_first_account_must_be_an_admin(env):
    at = _app().run()
    at.switch_page("views/users.py").run()
    at.text_input(key="users.add.name").input("vic")
    at.selectbox(key="users.add.role").select("viewer")
    at.text_input(key="users.add.password").input("vic-password")
    _button(at, "Add user").click().run()
    assert "first account must be an admin" in _texts(at)
    with Store(env) as store:
        assert store.users.user_count() == 0


def test_a_changed_password_signs_that_user_out_at_their_next_click(env):
    with Store(env) as store:
        store.users.add_user("ada", "admin", hash_password("ada-password"))
        store.users.add_user("ann", "annotator", hash_password("ann-password"))
    ann = _app().run()
    _sign_in(ann, "ann", "ann-password")
    assert any("Signed in as **ann**" in m.value for m in ann.sidebar.markdown)

    ada = _app().run()
    _sign_in(ada, "ada", "ada-password")
    ada.switch_page("views/users.py").run()
    ada.selectbox(key="users.edit.target").select("ann").run()
    assert ada.selectbox(key="users.edit.role.ann").value == "annotator"
    ada.text_input(key="users.edit.password.ann").input("ann-new-password")
    _button(ada, "Save").click().run()
    assert _texts(ada) == "Password changed; ann was signed out everywhere."
    with Store(env) as store:
        assert store.users.get_user("ann")["role"] == "annotator"

    ann.switch_page("views/review.py").run()
    assert [b.label for b in ann.button] == ["Sign in"]
    assert "password changed" in ann.info[0].value
    _sign_in(ann, "ann", "ann-password")
    assert "Wrong name or password" in _texts(ann)
    _sign_in(ann, "ann", "ann-new-password")
    assert any("Signed in as **ann**" in m.value for m in ann.sidebar.markdown)


def test_removing_a_user_signs_them_out_and_an_admin_stays(env):
    with Store(env) as store:
        store.users.add_user("ada", "admin", hash_password("ada-password"))
        store.users.add_user("ann", "annotator", hash_password("ann-password"))
    ann = _app().run()
    _sign_in(ann, "ann", "ann-password")
    ada = _app().run()
    _sign_in(ada, "ada", "ada-password")
    ada.switch_page("views/users.py").run()

    ada.selectbox(key="users.remove.target").select("ada")
    ada.checkbox(key="users.remove.confirm").check()
    _button(ada, "Remove user").click().run()
    assert "cannot remove yourself: you are the last admin" in _texts(ada)

    ada.selectbox(key="users.remove.target").select("ann")
    ada.checkbox(key="users.remove.confirm").check()
    _button(ada, "Remove user").click().run()
    assert "Removed ann" in _texts(ada)
    assert list(ada.dataframe[0].value["name"]) == ["ada"]

    ann.run()
    assert [b.label for b in ann.button] == ["Sign in"]
    assert "account was removed" in ann.info[0].value


def test_a_role_change_applies_at_the_next_click(env):
    with Store(env) as store:
        store.users.add_user("ada", "admin", hash_password("ada-password"))
        store.users.add_user("ann", "annotator", hash_password("ann-password"))
    ann = _app().run()
    _sign_in(ann, "ann", "ann-password")
    ann.switch_page("views/queue.py").run()
    with Store(env) as store:
        store.users.set_user("ann", role="viewer")
    ann.run()
    assert not ann.exception
    assert "Annotate" not in [t.value for t in ann.title]
    assert any("Signed in as **ann** · viewer" in m.value for m in ann.sidebar.markdown)


def test_anyone_signed_in_can_change_their_own_password(env):
    with Store(env) as store:
        store.users.add_user("ann", "annotator", hash_password("ann-password"))
        store.users.add_user("ada", "admin", hash_password("ada-password"))
    at = _app().run()
    _sign_in(at, "ann", "ann-password")
    at.sidebar.text_input(key="auth.own.current").input("wrong-password")
    at.sidebar.text_input(key="auth.own.new").input("ann-password-2")
    at.sidebar.text_input(key="auth.own.repeat").input("ann-password-2")
    _button(at, "Change my password").click().run()
    assert "current password is not right" in _texts(at)
    at.sidebar.text_input(key="auth.own.current").input("ann-password")
    _button(at, "Change my password").click().run()
    assert "Password changed" in _texts(at)
    assert any("Signed in as **ann**" in m.value for m in at.sidebar.markdown)  # still signed in
    with Store(env) as store:
        from dashboard.auth import verify_password
        assert verify_password("ann-password-2", store.users.get_user("ann")["password_hash"])


def test_tokens_are_listed_and_revoked_in_the_page(env):
    with Store(env) as store:
        store.users.add_user("ada", "admin", hash_password("ada-password"))
    at = _app().run()
    _sign_in(at, "ada", "ada-password")
    at.switch_page("views/users.py").run()
    assert "No API token yet." in [c.value for c in at.caption]
    at.text_input(key="users.token.name").input("support widget")
    at.text_input(key="users.token.rate").input("5/minute")
    _button(at, "Create token").click().run()
    [shown] = [c.value for c in at.code]
    assert shown.startswith("loupe_")
    table = at.dataframe[-1].value
    assert list(table.columns) == ["name", "rate", "created by", "created", "last used", "revoked",
                                   "scopes"]
    assert (table["name"][0], table["rate"][0], table["created by"][0], table["last used"][0],
            table["revoked"][0], table["scopes"][0]) == (
        "support widget", "5/minute", "ada", "never", "", "feedback:write")

    at.run()
    assert not at.code  # shown once

    with Store(env) as store:
        from dashboard.auth import token_digest
        [token] = store.users.list_tokens()
        assert store.users.token_by_digest(token_digest(shown))["id"] == token["id"]
    at.selectbox(key="users.revoke.id").select(token["id"])
    _button(at, "Revoke token").click().run()
    assert "Revoked the token support widget" in _texts(at)
    assert at.dataframe[-1].value["revoked"][0] != ""
    with Store(env) as store:
        assert store.users.list_tokens()[0]["revoked_at"] is not None
        assert store.users.token_by_digest(token_digest(shown)) is None


def test_the_api_notes_when_a_token_was_last_used(tmp_path):
    from fastapi.testclient import TestClient

    from dashboard.api import create_app
    from dashboard.auth import new_token, token_digest

    with Store(tmp_path / "api.db") as store:
        token = new_token()
        store.users.add_token("widget", token_digest(token), "100/minute", "ada", ["feedback:read"])
        assert store.users.list_tokens()[0]["last_used_at"] is None
        client = TestClient(create_app(store))
        response = client.get("/feedback/", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
        assert store.users.list_tokens()[0]["last_used_at"] is not None


# -- identity provider ---------------------------------------------------------------------

AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
        "google": {"client_id": "id", "client_secret": "secret", "label": "Google",
                   "server_metadata_url": "https://accounts.example/.well-known/openid-configuration"}}


def _oidc_app(loupe: dict | None = None, user: dict | None = None) -> AppTest:
    at = _app()
    at.secrets["auth"] = AUTH
    if loupe is not None:
        at.secrets["loupe"] = loupe
    if user is not None:
        at.user = user
    return at


def test_the_sign_in_page_offers_the_identity_provider(env):
    at = _oidc_app().run()
    assert not at.exception
    assert "Sign in with Google" in [b.label for b in at.button]
    assert "Sign in" not in [b.label for b in at.button]  # no account yet: no password form
    # st.login reads only a real secrets.toml (AppTest's secrets are not one): a sentence says so
    _button(at, "Sign in with Google").click().run()
    assert not at.exception
    assert at.error[0].value.startswith("Sign-in with the identity provider cannot start: To use "
                                        "authentication features you need to configure")


def test_the_admin_named_in_the_configuration_signs_in_as_admin(env):
    user = {"is_logged_in": True, "email": "Ana@Example.org", "sub": "g-1",
            "iss": "https://accounts.example", "name": "Ana"}
    at = _oidc_app({"oidc_admins": ["ana@example.org"]}, user).run()
    assert not at.exception
    assert at.session_state[SESSION_KEY].name == "ana@example.org"
    assert at.session_state[SESSION_KEY].role == "admin"
    at.switch_page("views/users.py").run()
    assert list(at.dataframe[0].value["signs in with"]) == ["identity provider"]
    with Store(env) as store:
        account = store.users.get_user("ana@example.org")
        assert (account["role"], account["email"], account["oidc_subject"],
                account["password_hash"]) == ("admin", "ana@example.org",
                                              "https://accounts.example|g-1", None)


def test_new_identities_get_the_default_role_or_are_refused(env):
    user = {"is_logged_in": True, "email": "bo@example.org", "sub": "g-2"}
    at = _oidc_app({"oidc_default_role": "annotator"}, user).run()
    assert at.session_state[SESSION_KEY].role == "annotator"

    st.cache_resource.clear()
    stranger = {"is_logged_in": True, "email": "cy@example.org", "sub": "g-3"}
    at = _oidc_app({"oidc_default_role": "none"}, stranger).run()
    assert SESSION_KEY not in at.session_state
    assert "has no Loupe account yet: ask an admin" in at.info[0].value
    assert "signed this browser in as cy@example.org" in " ".join(shown(c.value) for c in at.caption)
    _button(at, "Use another account").click().run()  # st.logout: the provider's cookie goes
    assert not at.exception and not at.user.get("is_logged_in")
    with Store(env) as store:
        assert store.users.get_user("cy@example.org") is None


def test_an_account_added_by_email_is_linked_at_first_sign_in(env):
    with Store(env) as store:
        store.users.add_user("dee", "annotator", None, email="dee@example.org")
    user = {"is_logged_in": True, "email": "dee@example.org", "sub": "g-4"}
    at = _oidc_app({"oidc_default_role": "none"}, user).run()
    assert (at.session_state[SESSION_KEY].name, at.session_state[SESSION_KEY].role) == (
        "dee", "annotator")
    with Store(env) as store:
        assert store.users.get_user("dee")["oidc_subject"] == "|g-4"
    assert NOTICE_KEY not in at.session_state
