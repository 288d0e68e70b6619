"""API token scopes in a real Chromium and against the real API on loopback.

An admin creates a read-only token and a write token on the Users page; the list shows each
one's scopes; each token, sent to `python -m dashboard api`, does what its scopes say and
nothing more; the database is checked after every step.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from dashboard.auth import hash_password, token_digest
from store import Store
from tests.browser import chromium, screenshot, streamlit_app, wait_for_run
from tests.factories import add_interaction
from tests.paths import ROOT, free_port

pytestmark = pytest.mark.browser
playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

ADA_COMMENT = "Wrong hub: it left Leeds on Monday."
ADA_IDEAL = "Your parcel left the Leeds hub on Monday; track it under Orders."


@pytest.fixture(scope="module")
def loupe(tmp_path_factory):
    """An admin, one interaction she rated on the dashboard, the dashboard and the API."""
    db_path = tmp_path_factory.mktemp("journey_tokens") / "loupe.db"
    with Store(db_path) as store:
        store.users.add_user("ada", "admin", hash_password("ada-password"))
        iid = add_interaction(store, "Where is my parcel?", "It ships tomorrow.")
        store.review.save_rating(iid, "ada", stars=1, comment=ADA_COMMENT, ideal_answer=ADA_IDEAL)
    port = free_port()
    log = open(db_path.parent / "api.log", "w")
    api = subprocess.Popen(
        [sys.executable, "-m", "dashboard", "api", "--db", str(db_path), "--port", str(port)],
        cwd=ROOT, env={**os.environ}, stdout=log, stderr=subprocess.STDOUT)
    api_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{api_url}/health", timeout=2)
                break
            except OSError:
                if api.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the API did not start:\n"
                                       + (db_path.parent / "api.log").read_text()) from None
                time.sleep(0.2)
        with streamlit_app(db_path) as url:
            yield url, api_url, db_path, iid
    finally:
        api.terminate()
        api.wait(timeout=10)
        log.close()


def _call(api_url: str, token: str, method: str, path: str, body: dict | None = None):
    """(status, JSON answer) of one request to the API."""
    request = urllib.request.Request(
        api_url + path, method=method, data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _token_cells(page, cells: int) -> list[str]:
    grid = page.get_by_test_id("stDataFrame").nth(1)  # the accounts, then the tokens
    expect(grid.locator("td")).to_have_count(cells)
    return grid.locator("td").all_inner_texts()


def _create(page, name: str, remove: list[str], add: list[str]) -> str:
    """Fill the token form (name, scopes) and return the token shown once."""
    form = page.get_by_test_id("stForm").filter(has_text="Create token")
    form.get_by_label("Token name", exact=True).fill(name)
    for scope in remove:
        form.get_by_role("button", name=f"Remove {scope}", exact=True).click()
    for scope in add:
        form.get_by_role("combobox", name="Scopes", exact=True).click()
        page.get_by_role("option", name=scope, exact=True).click()
    page.keyboard.press("Escape")
    chips = form.get_by_role("group", name="Selected values").locator("[data-tag]")
    expect(chips).to_have_count(len(add) + 1 - len(remove))
    form.get_by_role("button", name="Create token").click()
    page.get_by_text(f"Created the token {name}").wait_for(timeout=20_000)
    token = page.get_by_test_id("stCode").inner_text().strip()
    wait_for_run(page, timeout=20_000)
    return token


def test_each_token_does_what_its_scopes_say(loupe):
    url, api_url, db_path, iid = loupe
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1300, "height": 1400})
        page.goto(f"{url}/users")
        page.get_by_label("Name", exact=True).fill("ada")
        page.get_by_label("Password", exact=True).fill("ada-password")
        page.get_by_role("button", name="Sign in", exact=True).click()
        page.get_by_text("Signed in as ada").wait_for(timeout=20_000)
        page.get_by_role("button", name="Create token").wait_for(timeout=20_000)
        wait_for_run(page, timeout=20_000)

        # a read-only token: the default write scope taken out, read put in
        reader = _create(page, "analytics sync", remove=["feedback:write"], add=["feedback:read"])
        with Store(db_path) as store:
            [row] = store.users.list_tokens()
            assert store.users.token_by_digest(token_digest(reader))["id"] == row["id"]
            assert (row["name"], row["scopes"], row["created_by"]) == (
                "analytics sync", ["feedback:read"], "ada")
        # a write token with the form's default scope
        writer = _create(page, "support widget", remove=[], add=[])
        with Store(db_path) as store:
            tokens = store.users.list_tokens()
            assert [(t["name"], t["scopes"]) for t in tokens] == [
                ("analytics sync", ["feedback:read"]), ("support widget", ["feedback:write"])]
            assert store.users.token_by_digest(token_digest(writer))["id"] == tokens[1]["id"]
        cells = _token_cells(page, 14)
        assert (cells[0], cells[6], cells[7], cells[13]) == (
            "analytics sync", "feedback:read", "support widget", "feedback:write")
        screenshot(page, "journey_tokens_created")

        # the read token reads everything, ada's comment included, and writes nothing
        status, answer = _call(api_url, reader, "GET", "/feedback/")
        assert status == 200
        [item] = answer["items"]
        assert item["ratings"][0]["comment"] == ADA_COMMENT and answer["next_after"] is None
        status, answer = _call(api_url, reader, "POST", "/submit_feedback/",
                               {"question": "Can I pay later?", "rating": 5})
        assert status == 403 and "feedback:write" in answer["detail"]
        with Store(db_path) as store:
            assert store.summary()["interactions"] == 1

        # the write token sends feedback as itself, cannot read, cannot speak for ada
        status, answer = _call(api_url, writer, "POST", "/submit_feedback/", {
            "question": "Can I pay later?", "response": "Yes.", "rating": 2, "comment": "vague"})
        assert status == 201, answer
        with Store(db_path) as store:
            [rating] = store.review.ratings_for(answer["id"])
            assert (rating["reviewer"], rating["stars"], rating["comment"], rating["source"]) == (
                "api:support widget", 2, "vague", "api")
        status, answer = _call(api_url, writer, "GET", "/feedback/")
        assert status == 403 and "feedback:read" in answer["detail"]
        status, answer = _call(api_url, writer, "POST", "/v1/ratings",
                               {"interaction_id": iid, "reviewer": "ada", "stars": 5})
        assert status == 403 and "feedback:write-as" in answer["detail"]
        with Store(db_path) as store:
            ada = store.review.get_rating(iid, "ada")
            assert (ada["stars"], ada["comment"], ada["ideal_answer"], ada["source"]) == (
                1, ADA_COMMENT, ADA_IDEAL, "dashboard")
            used = {t["name"]: t["last_used_at"] for t in store.users.list_tokens()}
            assert all(used.values())

        # the page shows both tokens as used
        page.reload()
        page.get_by_role("button", name="Create token").wait_for(timeout=20_000)
        wait_for_run(page, timeout=20_000)
        cells = _token_cells(page, 14)
        assert cells[4] == used["analytics sync"][:16].replace("T", " ")
        assert cells[11] == used["support widget"][:16].replace("T", " ")
        page.get_by_role("heading", name="API tokens").scroll_into_view_if_needed()
        screenshot(page, "journey_tokens_used")
