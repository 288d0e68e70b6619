"""The chat page in a real Chromium: ask, watch the answer stream, rate it; hostile answers stay inert."""

from __future__ import annotations

import time

import pytest

from store import Store
from tests.browser import screenshot, streamlit_app
from tests.fake_ollama import FakeOllama

pytestmark = pytest.mark.browser
playwright_api = pytest.importorskip("playwright.sync_api")

REMOTE_HOST = "203.0.113.9"  # TEST-NET-3: nothing answers there
HOSTILE = (
    "Here you go <script>window.__loupe_pwned = 1</script>\n"
    '<img src="x" onerror="window.__loupe_pwned = 2">\n'
    f"![tracker](http://{REMOTE_HOST}/pixel.png)\n"
    f'<img src="http://{REMOTE_HOST}/raw.png">\n'
    "Done."
)


def _open_chat(browser, url):
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(url)
    name = page.get_by_label("Your name", exact=True)
    name.fill("ana")
    name.press("Enter")
    page.get_by_test_id("stChatInputTextArea").wait_for()
    return page, requests


def _ask(page, question: str) -> None:
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(question)
    box.press("Enter")


def test_ask_watch_the_stream_then_rate_with_stars_and_thumbs(browser, tmp_path):
    db_path = tmp_path / "loupe.db"
    with FakeOllama(token_delay=0.08) as fake, streamlit_app(db_path, {"OLLAMA_HOST": fake.url}) as url:
        page, _ = _open_chat(browser, url)
        page.get_by_text("Answering: Ollama").wait_for()
        _ask(page, "How do I export my data?")

        # the answer grows on screen while the model is still writing
        assistant = page.get_by_test_id("stChatMessage").nth(1)
        seen: list[str] = []
        deadline = time.monotonic() + 30
        while "short answer." not in (seen[-1] if seen else "") and time.monotonic() < deadline:
            if assistant.count():
                text = assistant.inner_text()
                if not seen or text != seen[-1]:
                    seen.append(text)
            time.sleep(0.03)
        partial = [s for s in seen if "You asked" in s and "short answer." not in s]
        assert len(partial) >= 2, seen
        page.get_by_text("Ollama · fake-llm:latest · ").wait_for()

        page.get_by_role("radio", name="4 out of 5 stars").click()
        page.get_by_text("Rated by ana").wait_for()
        page.get_by_role("radio", name="Thumbs up").click()
        time.sleep(1.0)
        screenshot(page, "chat_rated")

        with Store(db_path) as store:
            [row] = store.db.execute("SELECT * FROM interactions").fetchall()
            assert row["answer"] == "You asked: How do I export my data?. Here is a short answer."
            assert row["backend"] == "ollama" and row["completion_tokens"] > 0
            rating = store.review.get_rating(row["id"], "ana")
        assert (rating["stars"], rating["thumbs"]) == (4, 1)


def test_hostile_answer_is_shown_as_inert_text(browser, tmp_path):
    db_path = tmp_path / "loupe.db"
    with FakeOllama(reply=lambda messages: HOSTILE) as fake, \
            streamlit_app(db_path, {"OLLAMA_HOST": fake.url}) as url:
        page, requests = _open_chat(browser, url)
        _ask(page, "Show me something")
        page.get_by_text("Ollama · fake-llm:latest · ").wait_for()
        page.get_by_text("Done.").first.wait_for()
        time.sleep(1.0)
        screenshot(page, "chat_hostile")
        answer = page.get_by_test_id("stChatMessage").nth(1).inner_text()

        assert "<script>window.__loupe_pwned = 1</script>" in answer
        assert 'onerror="window.__loupe_pwned = 2"' in answer
        assert page.evaluate("window.__loupe_pwned") is None
        assert page.locator(f"img[src*='{REMOTE_HOST}']").count() == 0
        assert page.locator("script:has-text('__loupe_pwned')").count() == 0
        assert [r for r in requests if REMOTE_HOST in r or r.endswith("/x")] == []
