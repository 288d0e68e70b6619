"""A tiny experiment in a real Chromium: run it against the fake Ollama server, then vote blind."""

from __future__ import annotations

import pytest

from store import Store
from tests.browser import chromium, screenshot, streamlit_app, wait_for_run
from tests.fake_ollama import DEFAULT_MODEL, FakeOllama

pytestmark = pytest.mark.browser
playwright_api = pytest.importorskip("playwright.sync_api")


def _seed(db_path) -> None:
    with Store(db_path) as store:
        a = store.experiments.add_variant("plain", model=DEFAULT_MODEL)
        b = store.experiments.add_variant("concise", model=DEFAULT_MODEL, template="Answer briefly: {question}")
        set_id = store.experiments.create_question_set("support", [{"question": "Where is my parcel?"},
                                                       {"question": "Can I get a refund?"}])
        store.experiments.create_experiment("plain vs concise", set_id, [a, b])


def test_run_a_tiny_experiment_and_vote(tmp_path):
    db_path = tmp_path / "loupe.db"
    _seed(db_path)
    with FakeOllama() as fake, streamlit_app(db_path, {"OLLAMA_HOST": fake.url}) as url, \
            chromium() as browser:
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        page.goto(url)
        name = page.get_by_label("Your name", exact=True)
        name.fill("ana")
        name.press("Enter")
        # the name is kept once that run ends; a page left before then forgets it
        wait_for_run(page)
        page.get_by_role("link", name="Experiments").click()
        page.get_by_role("button", name="Run").click()
        page.get_by_text("4 of 4 answers").wait_for(timeout=30_000)
        page.get_by_text("You asked: Answer briefly: Where is my parcel?").wait_for()
        screenshot(page, "experiment_side_by_side")

        page.get_by_role("link", name="Vote").click()
        page.get_by_text("Answer 1", exact=True).wait_for()
        assert page.get_by_text("plain v1").count() == 0  # names stay hidden before the vote
        screenshot(page, "vote_blind")
        page.get_by_role("button", name="Answer 1 is better").click()
        page.get_by_text("Answer 1 was").wait_for()
        page.get_by_role("button", name="Next pair").click()
        page.get_by_role("button", name="Tie").click()
        page.get_by_text("Saved: a tie").wait_for()
        page.get_by_role("button", name="Next pair").click()
        page.get_by_text("You have voted on every pair").wait_for()

    with Store(db_path) as store:
        votes = store.experiments.votes()
    assert [v["reviewer"] for v in votes] == ["ana", "ana"]
    assert votes[0]["winner"] == votes[0]["left_side"]
    assert votes[1]["winner"] == "tie"
    assert all(v["left_side"] in ("a", "b") for v in votes)
