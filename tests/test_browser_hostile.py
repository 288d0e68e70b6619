"""Hostile content through import and the API stays inert in a real Chromium, and shared links
opened first on a fresh server go through sign-in and the app's own navigation."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from dashboard.api import create_app
from dashboard.auth import hash_password, new_token, token_digest
from dashboard.importing import import_file
from dashboard.review import rows_csv
from store import Store
from tests.browser import chromium, screenshot, streamlit_app

pytestmark = pytest.mark.browser
playwright_api = pytest.importorskip("playwright.sync_api")

REMOTE = "203.0.113.7"
HOSTILE = (
    f'Here <script>window.__pwned = 1</script> <img src="x" onerror="window.__pwned = 2"> '
    f'<a href="http://{REMOTE}/login" onclick="window.__pwned = 3">click</a> '
    f"![tracker](http://{REMOTE}/pixel.png) [more](http://{REMOTE}/phish)"
)
FORMULA = '=HYPERLINK("http://203.0.113.7/x","click")'


def _fill(db_path, tmp_path) -> tuple[int, int]:
    source = tmp_path / "hostile.jsonl"
    source.write_text(json.dumps({"question": FORMULA, "response": HOSTILE, "rating": 1,
                                  "comment": "+cmd|' /C calc'!A0", "external_id": "h1"}) + "\n",
                      encoding="utf-8")
    with Store(db_path) as store:
        assert import_file(store, source).imported == 1
        token = new_token()
        store.users.add_token("t", token_digest(token), "100/minute", "ada")
        client = TestClient(create_app(store))
        response = client.post("/submit_feedback/", headers={"Authorization": f"Bearer {token}"},
                               json={"question": "@SUM(1+1)", "response": HOSTILE, "rating": 2})
        assert response.status_code == 201
        ids = [r["id"] for r in store.db.execute("SELECT id FROM interactions ORDER BY id").fetchall()]
    return ids[0], ids[1]


def _watch(page):
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    return requests


def test_imported_and_api_answers_are_inert_in_the_review_page(tmp_path):
    db_path = tmp_path / "loupe.db"
    imported, from_api = _fill(db_path, tmp_path)
    with streamlit_app(db_path) as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        requests = _watch(page)
        for item in (imported, from_api):
            # a shared link opened first on a fresh server
            page.goto(f"{url}/review?item={item}")
            page.get_by_text(f"Interaction #{item}").wait_for(timeout=30_000)
            page.get_by_test_id("stChatMessage").get_by_text("window.__pwned = 1", exact=False).first.wait_for()
            screenshot(page, f"hostile_review_{item}")
            assert page.evaluate("window.__pwned") is None
            assert page.locator(f"img[src*='{REMOTE}']").count() == 0
            # the app's own navigation and wide layout, not a bare page
            assert page.get_by_role("link", name="Insights").count() == 1
        assert [r for r in requests if REMOTE in r] == []


def test_csv_downloads_neutralize_formula_cells(tmp_path):
    db_path = tmp_path / "loupe.db"
    _fill(db_path, tmp_path)
    with Store(db_path) as store:
        rows = store.review.review_rows()
    text = rows_csv(rows).decode("utf-8")
    assert FORMULA not in text.replace("'=", "")
    assert "'=HYPERLINK" in text and "'@SUM(1+1)" in text


def test_a_shared_link_on_a_fresh_server_asks_to_sign_in_first(tmp_path):
    db_path = tmp_path / "loupe.db"
    with Store(db_path) as store:
        store.users.add_user("ada", "admin", hash_password("ada-password"))
        iid = store.ingest.add_question(store.ingest.start_conversation(), "secret question")
        store.ingest.record_answer(iid, answer="secret answer")
    with streamlit_app(db_path) as url, chromium() as browser:
        page = browser.new_page()
        page.goto(f"{url}/review?item={iid}")
        page.get_by_role("button", name="Sign in").wait_for(timeout=30_000)
        assert page.get_by_text("secret").count() == 0
        page.get_by_role("textbox", name="Name").fill("ada")
        page.get_by_role("textbox", name="Password").fill("ada-password")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_text("Signed in as").wait_for()
        # the shared link's page opens once signed in
        page.get_by_text(f"Interaction #{iid}").wait_for()
        screenshot(page, "signed_in")
