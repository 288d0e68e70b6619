"""Sign-in under attack in a real Chromium, the database checked after each step.

One server for the module, with one account. A browser guessing ada's password is told how
long to wait, and waits longer and longer; ada's own browser, which signed in before, still
signs in at once. Signing out is the sidebar's button; a page of another origin on the same
site (so the browser sends the session cookie along) that makes the browser fetch the
sign-out address signs nobody out. The tests run in this order.
"""

from __future__ import annotations

import http.server
import re
import threading

import pytest

from dashboard.auth import DEVICE_COOKIE, SESSION_COOKIE, hash_password
from store import Store
from tests.browser import screenshot, streamlit_app, wait_for_run
from tests.paths import free_port

pytestmark = pytest.mark.browser
playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

WRONG = "Wrong name or password."
WAIT_AFTER_FAILURE = re.compile(r"^Wrong name or password\. Wait (\d+) seconds? before trying again\.$")
TOO_SOON = re.compile(r"^Too many failed sign-ins for this name: wait (\d+) seconds? "
                      r"and try again\.$")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    db_path = tmp_path_factory.mktemp("journey_signin") / "loupe.db"
    with Store(db_path) as store:
        store.users.add_user("ada", "admin", hash_password("ada-password"))
    with streamlit_app(db_path) as url:
        yield url, db_path


@pytest.fixture(scope="module")
def ada(browser):
    """ada's own browser, kept across the tests."""
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    yield context
    context.close()


@pytest.fixture(scope="module")
def other_origin(server):
    """A page on another port of localhost: another origin, but the same site, so the
    browser sends the Loupe cookies along with what that page makes it fetch."""
    url, _ = server
    html = (f'<!doctype html><title>Cat pictures</title><p>Cats.</p>'
            f'<img id="cat" src="{url}/_loupe/signout" alt="">'
            f'<a id="away" href="{url}/_loupe/signout?next=/review">more cats</a>').encode()

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args):
            pass

    port = free_port()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Page)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{port}/"
    httpd.shutdown()


def _sign_in_form(page) -> None:
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible(timeout=20_000)
    wait_for_run(page)


def _fill(page, password: str) -> None:
    page.get_by_label("Name", exact=True).fill("ada")
    page.get_by_label("Password", exact=True).fill(password)


def _try(page, password: str) -> str:
    """Sign in as ada with a wrong password; the sentence the form answers with.

    Each run of the script marks the page's elements stale and then fresh again: counting
    those changes tells this run from the previous one, whose sentence may read the same."""
    _fill(page, password)
    page.evaluate("""() => {
        window.loupeChanges = 0;
        window.loupeClicked = Date.now();
        new MutationObserver(() => { window.loupeChanges += 1; }).observe(document.body,
            {subtree: true, attributes: true, attributeFilter: ["data-stale"]});
    }""")
    page.get_by_role("button", name="Sign in", exact=True).click()
    # a run too quick to mark anything stale is taken as done once 3 s have passed
    page.wait_for_function("() => (window.loupeChanges > 0 || Date.now() - window.loupeClicked > 3000)"
                           " && !document.querySelector('[data-stale=\"true\"]')"
                           " && !document.querySelector('[data-testid=\"stStatusWidget\"]')",
                           timeout=20_000)
    wait_for_run(page)
    errors = page.get_by_test_id("stAlertContentError")
    return errors.first.inner_text().strip() if errors.count() else ""


def _sign_in(page) -> None:
    _fill(page, "ada-password")
    page.get_by_role("button", name="Sign in", exact=True).click()
    _signed_in(page)


def _signed_in(page) -> None:
    page.get_by_text("Signed in as ada · admin").wait_for(timeout=20_000)
    wait_for_run(page)


def _sessions(db_path) -> list[dict]:
    with Store(db_path) as store:
        return store.rows("SELECT id, token_digest, revoked_at FROM sessions ORDER BY id")


def _attempts(db_path) -> list[dict]:
    with Store(db_path) as store:
        return store.rows("SELECT name, client, failures FROM sign_in_attempts ORDER BY client")


def _cookies(context) -> dict[str, dict]:
    return {c["name"]: c for c in context.cookies()}


def test_signing_out_with_the_button_ends_the_session_and_deletes_its_cookie(server, ada):
    url, db_path = server
    page = ada.new_page()
    page.goto(f"{url}/review")
    _sign_in_form(page)
    _sign_in(page)
    [session] = _sessions(db_path)
    assert session["token_digest"] and session["revoked_at"] is None
    device = _cookies(ada)[DEVICE_COOKIE]
    assert (device["httpOnly"], device["sameSite"]) == (True, "Lax")

    with page.expect_response(lambda response: "/_loupe/signout" in response.url):
        page.get_by_role("button", name="Sign out").click()
    _sign_in_form(page)
    assert page.url == f"{url}/review"
    [session] = _sessions(db_path)
    assert session["revoked_at"] is not None
    assert SESSION_COOKIE not in _cookies(ada)  # the device cookie stays: see the next test
    assert DEVICE_COOKIE in _cookies(ada)
    page.close()


def test_a_browser_guessing_is_told_to_wait_and_adas_own_browser_signs_in_at_once(
        server, ada, browser):
    url, db_path = server
    guesser = browser.new_context(viewport={"width": 1300, "height": 900})
    page = guesser.new_page()
    page.goto(f"{url}/review")
    _sign_in_form(page)
    said = [_try(page, "password1"), _try(page, "password2"), _try(page, "password3")]
    assert said[:2] == [WRONG, WRONG]
    assert WAIT_AFTER_FAILURE.match(said[2]), said
    screenshot(page, "journey_signin_wait_after_failure")
    # trying again at once is turned away, until a try comes too soon for its wait
    for n in range(4, 12):
        said.append(_try(page, f"password{n}"))
        if TOO_SOON.match(said[-1]):
            break
    assert TOO_SOON.match(said[-1]), said
    screenshot(page, "journey_signin_too_soon")
    failed = sum(1 for sentence in said if sentence.startswith("Wrong name or password."))
    # what the database counts is exactly what the guessing browser was told
    assert _attempts(db_path) == [{"name": "ada", "client": "address:local", "failures": failed}]
    assert [int(WAIT_AFTER_FAILURE.match(s).group(1)) for s in said[2:-1]] == [
        2 ** k for k in range(failed - 2)]
    assert len(_sessions(db_path)) == 1  # the signed-out one of the first test
    guesser.close()

    # ada's browser signed in as ada before: it is counted apart, and goes in at once
    page = ada.new_page()
    page.goto(f"{url}/insights")
    _sign_in_form(page)
    _sign_in(page)
    assert [s["revoked_at"] is None for s in _sessions(db_path)] == [False, True]
    assert _attempts(db_path)[0]["failures"] == failed  # the guesser still waits
    page.close()


def test_a_page_of_another_origin_cannot_sign_ada_out(server, ada, other_origin):
    url, db_path = server
    page = ada.new_page()
    page.goto(f"{url}/insights")
    _signed_in(page)
    live = [s["id"] for s in _sessions(db_path) if s["revoked_at"] is None]
    assert len(live) == 1

    cats = ada.new_page()
    with cats.expect_request_finished(lambda r: "/_loupe/signout" in r.url) as fetched:
        cats.goto(other_origin)
    sent = fetched.value.all_headers().get("cookie", "")
    assert f"{SESSION_COOKIE}=" in sent  # the browser did send the session cookie along
    assert [s["id"] for s in _sessions(db_path) if s["revoked_at"] is None] == live
    cats.locator("#away").click()  # following a link to it does not sign out either
    _signed_in(cats)
    assert cats.url == f"{url}/review"
    assert [s["id"] for s in _sessions(db_path) if s["revoked_at"] is None] == live
    assert SESSION_COOKIE in _cookies(ada)

    page.reload()
    _signed_in(page)
    with page.expect_response(lambda response: "/_loupe/signout" in response.url):
        page.get_by_role("button", name="Sign out").click()
    _sign_in_form(page)
    assert all(s["revoked_at"] for s in _sessions(db_path))
    assert SESSION_COOKIE not in _cookies(ada)
    cats.close()
    page.close()
