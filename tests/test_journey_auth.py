"""Sign-in and the reviewer's name in a real Chromium, the database checked after each step.

One server for the module, on a database that starts empty: first the local single-user mode
(the reviewer's name, every page's address, no request leaving this machine), then the first
admin (which turns sign-in on), then signed-in sessions across reloads, tabs and sign-outs.
The tests run in this order and each adds the accounts it needs.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from dashboard.api import create_app
from dashboard.auth import SESSION_COOKIE, hash_password, token_digest
from store import Store
from tests.browser import screenshot, streamlit_app, wait_for_run
from tests.fake_ollama import FakeOllama

pytestmark = pytest.mark.browser
playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

# page address -> title, every page of the navigation
PAGES = {
    "insights": "Insights", "review": "Review", "clusters": "Failure themes",
    "agreement": "Agreement", "chat": "Chat", "queue": "Annotate", "variants": "Variants",
    "experiments": "Experiments", "vote": "Vote", "results": "Results", "export": "Export",
    "users": "Users",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    db_path = tmp_path_factory.mktemp("journey_auth") / "loupe.db"
    Store(db_path).close()
    with FakeOllama() as fake, streamlit_app(db_path, {"OLLAMA_HOST": fake.url}) as url:
        yield url, db_path


def _title(page, title: str) -> None:
    expect(page.locator("h1").filter(has_text=title).first).to_be_visible(timeout=20_000)


def _go(page, name: str) -> None:
    """Open a page from the sidebar navigation."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=name, exact=True).click()
    _title(page, name)
    wait_for_run(page, timeout=20_000)


def _name_box(page):
    return page.get_by_label("Your name", exact=True)


def _sign_in(page, name: str, password: str) -> None:
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_text(f"Signed in as {name}").wait_for(timeout=20_000)
    wait_for_run(page, timeout=20_000)


def _sign_in_form(page) -> None:
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible(timeout=20_000)


def _select(page, scope, label: str, option: str) -> None:
    """Choose an option of the select box ``label`` inside ``scope``."""
    wait_for_run(page, timeout=20_000)
    scope.get_by_role("combobox", name=label, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()
    expect(scope.get_by_role("combobox", name=label, exact=True)).to_have_value(option)
    wait_for_run(page, timeout=20_000)


def _table(page, index: int, cells: int) -> list[str]:
    """The cells of a table on the page, once it has ``cells`` of them (the grid keeps an
    accessible copy of the cells it draws)."""
    grid = page.get_by_test_id("stDataFrame").nth(index)
    expect(grid.locator("td")).to_have_count(cells)
    return grid.locator("td").all_inner_texts()


def _session_rows(db_path, name: str) -> list[dict]:
    with Store(db_path) as store:
        return store.rows("SELECT s.* FROM sessions s JOIN users u ON u.id = s.user_id"
                           " WHERE u.name = ? ORDER BY s.id", [name])


def _team(db_path, *people: tuple[str, str]) -> None:
    with Store(db_path) as store:
        for name, role in people:
            if store.users.get_user(name) is None:
                store.users.add_user(name, role, hash_password(f"{name}-password"))


# -- local single-user mode -----------------------------------------------------------------

def test_the_reviewers_name_survives_page_switches_reloads_and_new_tabs(browser, server):
    url, db_path = server
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    page = context.new_page()
    page.goto(url)
    _title(page, "Chat")
    _name_box(page).fill("ana")
    _name_box(page).press("Enter")
    wait_for_run(page, timeout=20_000)
    for name in ["Insights", "Review", "Agreement", "Annotate", "Results", "Chat"]:
        _go(page, name)
        expect(_name_box(page)).to_have_value("ana")
    page.reload()
    _title(page, "Chat")
    wait_for_run(page, timeout=20_000)
    expect(_name_box(page)).to_have_value("ana")

    tab = context.new_page()
    tab.goto(f"{url}/review")
    _title(tab, "Review")
    expect(_name_box(tab)).to_have_value("ana")
    _go(tab, "Chat")
    box = tab.get_by_test_id("stChatInputTextArea")
    box.fill("Where is my parcel?")
    box.press("Enter")
    tab.get_by_text("Ollama · fake-llm:latest · ").wait_for(timeout=30_000)
    tab.get_by_role("radio", name="4 out of 5 stars").click()
    tab.get_by_text("Rated by ana").wait_for()
    screenshot(tab, "journey_auth_local_name")
    with Store(db_path) as store:
        rows = store.rows("SELECT i.question, r.reviewer, r.stars FROM ratings r"
                           " JOIN interactions i ON i.id = r.interaction_id")
    assert rows == [{"question": "Where is my parcel?", "reviewer": "ana", "stars": 4}]
    context.close()


def test_every_page_has_its_address_and_no_request_leaves_this_machine(browser, server):
    url, _ = server
    host = urlsplit(url).hostname
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(url)
    _title(page, "Chat")
    wait_for_run(page, timeout=20_000)
    wrong: list[str] = []
    if page.url != f"{url}/chat":  # "/" opens the start page, at its own address
        wrong.append(f"/ -> {page.url}")
    for path, title in PAGES.items():
        page.goto(f"{url}/{path}")
        _title(page, title)
        wait_for_run(page, timeout=20_000)
        if page.get_by_text("Page not found").count() or page.url.split("?")[0] != f"{url}/{path}":
            wrong.append(f"/{path} -> {page.url}")
    icon = page.evaluate("document.querySelector(\"link[rel='shortcut icon']\").href")
    away = [r for r in requests
            if urlsplit(r).scheme in ("http", "https", "ws", "wss") and urlsplit(r).hostname != host]
    assert (wrong, away) == ([], [])
    assert icon.startswith(url), icon
    assert len(requests) > 20
    context.close()


# -- the first admin turns sign-in on ----------------------------------------------------

def test_the_first_admin_signs_in_and_nothing_typed_next_is_dropped(browser, server):
    url, db_path = server
    context = browser.new_context(viewport={"width": 1300, "height": 1400})
    page = context.new_page()
    page.goto(f"{url}/users")
    _title(page, "Users")
    page.get_by_text("Loupe runs in local single-user mode").wait_for()
    form = page.get_by_test_id("stForm").filter(has_text="Add user")
    form.get_by_label("Name", exact=True).fill("ana")
    form.get_by_label("Password (8 characters or more)", exact=True).fill("ana-password")
    form.get_by_role("button", name="Add user").click()
    page.get_by_text("You are signed in as ana, the first admin").wait_for(timeout=20_000)
    page.get_by_text("Signed in as ana · admin").wait_for()
    wait_for_run(page, timeout=20_000)
    expect(page.get_by_text("Loupe runs in local single-user mode")).to_have_count(0)
    with Store(db_path) as store:
        assert [(u["name"], u["role"]) for u in store.users.list_users()] == [("ana", "admin")]
    [session] = _session_rows(db_path, "ana")
    assert session["token_digest"] and session["code_digest"] is None
    assert session["revoked_at"] is None
    assert [c["name"] for c in context.cookies()].count(SESSION_COOKIE) == 1
    screenshot(page, "journey_auth_first_admin")

    # the very next form lands, and its form is open: the banner invites it
    form = page.get_by_test_id("stForm").filter(has_text="Add user")
    expect(form.get_by_label("Name", exact=True)).to_be_visible()
    form.get_by_label("Name", exact=True).fill("vic")
    _select(page, form, "Role", "viewer")
    form.get_by_label("Password (8 characters or more)", exact=True).fill("vic-password")
    form.get_by_role("button", name="Add user").click()
    page.get_by_text("Added vic (viewer).").wait_for(timeout=20_000)
    with Store(db_path) as store:
        assert [(u["name"], u["role"]) for u in store.users.list_users()] == [
            ("ana", "admin"), ("vic", "viewer")]
    assert [c for c in _table(page, 0, 10) if c in ("ana", "vic", "admin", "viewer")] == [
        "ana", "admin", "vic", "viewer"]
    page.reload()  # still signed in
    page.get_by_text("Signed in as ana · admin").wait_for(timeout=20_000)
    wait_for_run(page, timeout=20_000)

    # API tokens: create, use, see "last used", revoke
    tokens = page.get_by_test_id("stForm").filter(has_text="Create token")
    tokens.get_by_label("Token name", exact=True).fill("support widget")
    tokens.get_by_role("button", name="Create token").click()
    page.get_by_text("Copy it now: it is not shown again.").wait_for(timeout=20_000)
    token = page.get_by_test_id("stCode").inner_text().strip()
    with Store(db_path) as store:
        [row] = store.users.list_tokens()
        assert store.users.token_by_digest(token_digest(token))["id"] == row["id"]
        assert (row["name"], row["created_by"], row["last_used_at"]) == (
            "support widget", "ana", None)
        client = TestClient(create_app(store))
        answer = client.post("/submit_feedback/", json={"question": "Where is my parcel?"},
                             headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 201
        used = store.users.list_tokens()[0]["last_used_at"]
        assert used is not None
    page.reload()
    page.get_by_text("Signed in as ana · admin").wait_for(timeout=20_000)
    wait_for_run(page, timeout=20_000)
    assert _table(page, 1, 7) == ["support widget", "60/minute", "ana", row["created_at"][:16]
                               .replace("T", " "), used[:16].replace("T", " "), "",
                               "feedback:write"]
    screenshot(page, "journey_auth_users_page")
    revoke = page.get_by_test_id("stForm").filter(has_text="Revoke token")
    _select(page, revoke, "Token", f"support widget (#{row['id']})")
    page.get_by_role("button", name="Revoke token").click()
    page.get_by_text("Revoked the token support widget").wait_for(timeout=20_000)
    with Store(db_path) as store:
        assert store.users.list_tokens()[0]["revoked_at"] is not None
        client = TestClient(create_app(store))
        refused = client.get("/feedback/", headers={"Authorization": f"Bearer {token}"})
        assert refused.status_code == 401
    context.close()


# -- signed-in sessions ---------------------------------------------------------------------

def test_sign_in_lasts_across_reloads_and_tabs_and_ends_on_sign_out_in_another_tab(
        browser, server):
    url, db_path = server
    _team(db_path, ("ada", "admin"))
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    page = context.new_page()
    page.goto(f"{url}/review")
    _sign_in_form(page)
    _sign_in(page, "ada", "ada-password")
    _title(page, "Review")
    assert page.url == f"{url}/review"  # back where the link pointed

    [cookie] = [c for c in context.cookies() if c["name"] == SESSION_COOKIE]
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (True, "Lax", "/")
    assert 7.9 * 3600 < cookie["expires"] - time.time() <= 8 * 3600
    assert SESSION_COOKIE not in page.evaluate("document.cookie")  # scripts cannot read it
    [session] = _session_rows(db_path, "ada")
    assert session["token_digest"] and session["revoked_at"] is None

    page.reload()
    page.get_by_text("Signed in as ada · admin").wait_for(timeout=20_000)
    _title(page, "Review")
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_have_count(0)

    tab = context.new_page()
    tab.goto(f"{url}/insights")
    tab.get_by_text("Signed in as ada · admin").wait_for(timeout=20_000)
    _title(tab, "Insights")
    assert len(_session_rows(db_path, "ada")) == 1  # one session for the browser

    with tab.expect_response(lambda response: "/_loupe/signout" in response.url):
        tab.get_by_role("button", name="Sign out").click()
    _sign_in_form(tab)
    _title(tab, "Loupe")
    assert tab.url == f"{url}/insights"
    [session] = _session_rows(db_path, "ada")
    assert session["revoked_at"] is not None
    assert SESSION_COOKIE not in [c["name"] for c in context.cookies()]

    # the first tab is signed out at its next click
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Agreement").click()
    _sign_in_form(page)
    page.get_by_text("You were signed out").wait_for()
    wait_for_run(page, timeout=20_000)
    screenshot(page, "journey_auth_sign_in")
    page.reload()
    _sign_in_form(page)
    context.close()


def test_a_new_password_or_a_removed_account_signs_that_user_out_at_once(browser, server):
    url, db_path = server
    _team(db_path, ("ada", "admin"), ("ann", "annotator"))
    admin = browser.new_context(viewport={"width": 1300, "height": 1400}).new_page()
    admin.goto(f"{url}/users")
    _sign_in(admin, "ada", "ada-password")
    _title(admin, "Users")
    ann = browser.new_context(viewport={"width": 1300, "height": 900}).new_page()
    ann.goto(f"{url}/review")
    _sign_in(ann, "ann", "ann-password")
    _title(ann, "Review")

    admin.get_by_text("Change a role or password").click()
    _select(admin, admin.get_by_test_id("stExpander").filter(has_text="Change a role"), "User",
            "ann")
    edit = admin.get_by_test_id("stForm").filter(has_text="Save")
    edit.get_by_label("New password (leave empty to keep)", exact=True).fill("ann-new-password")
    edit.get_by_role("button", name="Save").click()
    admin.get_by_text("ann was signed out everywhere").wait_for(timeout=20_000)
    assert all(s["revoked_at"] for s in _session_rows(db_path, "ann"))
    with Store(db_path) as store:
        assert store.users.get_user("ann")["role"] == "annotator"

    _go_out = ann.get_by_test_id("stSidebarNav").get_by_role("link", name="Insights")
    _go_out.click()
    _sign_in_form(ann)
    ann.get_by_text("You were signed out").wait_for()
    _sign_in(ann, "ann", "ann-new-password")

    admin.get_by_text("Remove a user").click()
    remove = admin.get_by_test_id("stForm").filter(has_text="Remove user")
    _select(admin, remove, "User", "ann")
    remove.get_by_text("Yes, remove this account").click()
    remove.get_by_role("button", name="Remove user").click()
    admin.get_by_text("Removed ann").wait_for(timeout=20_000)
    with Store(db_path) as store:
        assert store.users.get_user("ann") is None
    assert _session_rows(db_path, "ann") == []

    ann.get_by_test_id("stSidebarNav").get_by_role("link", name="Review").click()
    _sign_in_form(ann)
    ann.get_by_text("Your account was removed").wait_for()
    screenshot(admin, "journey_auth_users_after_removal")


# -- signing in with an identity provider -------------------------------------------------

def test_signing_in_with_the_identity_provider(browser, tmp_path, monkeypatch):
    """Streamlit's own st.login against a fake OpenID Connect provider on this machine."""
    import tests.browser as browser_helpers
    from tests.fake_oidc import CLIENT_ID, CLIENT_SECRET, FakeOidc
    from tests.paths import free_port

    port = free_port()
    monkeypatch.setattr(browser_helpers, "free_port", lambda: port)  # the redirect_uri's port
    db_path = tmp_path / "loupe.db"
    _team(db_path, ("ada", "admin"))
    user = {"sub": "id-17", "email": "ida@example.org", "email_verified": True, "name": "Ida"}
    with FakeOidc(user) as idp:
        secrets = tmp_path / "secrets.toml"
        secrets.write_text(f"""
[auth]
redirect_uri = "http://localhost:{port}/oauth2callback"
cookie_secret = "{'s' * 40}"

[auth.fakeid]
label = "Fake ID"
client_id = "{CLIENT_ID}"
client_secret = "{CLIENT_SECRET}"
server_metadata_url = "{idp.metadata_url}"

[loupe]
oidc_default_role = "none"
oidc_admins = ["ida@example.org"]
""")
        with streamlit_app(db_path, {"STREAMLIT_SECRETS_FILES": str(secrets)}) as url:
            context = browser.new_context(viewport={"width": 1300, "height": 900})
            page = context.new_page()
            page.goto(f"{url}/review")
            page.get_by_role("button", name="Sign in with Fake ID").wait_for(timeout=20_000)
            expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
            screenshot(page, "journey_auth_sign_in_oidc")
            page.get_by_role("button", name="Sign in with Fake ID").click()
            page.get_by_text("Signed in as ida@example.org · admin").wait_for(timeout=30_000)
            assert {"/authorize", "/token"} <= set(idp.requests)
            with Store(db_path) as store:
                account = store.users.get_user("ida@example.org")
                assert (account["role"], account["email"], account["password_hash"]) == (
                    "admin", "ida@example.org", None)
                assert account["oidc_subject"] == f"{idp.issuer}|id-17"
            # the browser trades its one-time code for the cookie just after the page shows it
            deadline = time.monotonic() + 30
            [session] = _session_rows(db_path, "ida@example.org")
            while not session["token_digest"] and time.monotonic() < deadline:
                time.sleep(0.2)
                [session] = _session_rows(db_path, "ida@example.org")
            assert (session["method"], session["revoked_at"]) == ("oidc", None)
            assert session["token_digest"]

            page.reload()  # the session cookie, not a new identity round trip
            page.get_by_text("Signed in as ida@example.org · admin").wait_for(timeout=20_000)
            assert len(_session_rows(db_path, "ida@example.org")) == 1

            page.get_by_role("button", name="Sign out").click()
            page.get_by_role("button", name="Sign in with Fake ID").wait_for(timeout=20_000)
            wait_for_run(page, timeout=20_000)
            expect(page.get_by_text("Signed in as")).to_have_count(0)
            assert _session_rows(db_path, "ida@example.org")[0]["revoked_at"] is not None
            names = [c["name"] for c in context.cookies()]
            assert SESSION_COOKIE not in names and "_streamlit_user" not in names
            context.close()
