"""Comparing variants in a real Chromium: a tiny experiment judged by a model that ignores the
schema (its hostile junk shown as text, counted, retried), two blind votes that are not enough
to rank, and the demo's finished experiment with its leaderboard and its judge.
Every step checks the database against what the page showed."""

from __future__ import annotations

import re
import time

import pytest

from dashboard.demo import load_demo
from dashboard.experiments import pairwise_report
from store import Store
from tests.browser import screenshot, streamlit_app, wait_for_run
from tests.fake_ollama import DEFAULT_MODEL, FakeOllama

pytestmark = pytest.mark.browser
playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

HOSTILE = ('<img src="http://127.0.0.1:9/pwned.png" onerror="document.title=\'pwned\'"> '
           "[click me](http://evil.test) <b>bold</b>")


def _sign_in(page, url: str, path: str) -> None:
    page.goto(f"{url}/{path}")
    page.get_by_label("Your name", exact=True).wait_for(timeout=60_000)
    wait_for_run(page)
    name = page.get_by_label("Your name", exact=True)
    name.fill("ana")
    name.press("Enter")
    wait_for_run(page)


def _metric(page, label: str) -> str:
    metric = page.get_by_test_id("stMetric").filter(has_text=label)
    return metric.get_by_test_id("stMetricValue").inner_text().strip()


def _grid(page, header: str, seconds: float = 30) -> list[dict[str, str]]:
    """The rows of the table that has a column ``header`` (from the grid's accessible copy),
    once the grid has drawn them."""
    deadline = time.monotonic() + seconds
    while True:
        rows = _grid_now(page, header)
        if rows or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    if rows is None:
        raise AssertionError(f"no table with a column {header!r}")
    return rows


def _grid_now(page, header: str) -> list[dict[str, str]] | None:
    for grid in page.get_by_test_id("stDataFrame").all():
        headers = grid.locator("[role=columnheader]").all_text_contents()
        if header in [h.strip() for h in headers]:
            rows = []
            for row in grid.locator("[role=row]").all()[1:]:
                cells = row.locator("[role=gridcell]").all_text_contents()
                if cells:
                    rows.append(dict(zip([h.strip() for h in headers][-len(cells):], cells)))
            return rows
    return None


def _no_live_markup(page) -> None:
    assert page.evaluate("document.title") != "pwned"
    assert page.locator('img[src*="pwned"]').count() == 0
    assert page.locator('a[href*="evil.test"]').count() == 0


def _seed(db_path) -> int:
    with Store(db_path) as store:
        a = store.experiments.add_variant("plain", model=DEFAULT_MODEL)
        b = store.experiments.add_variant("concise", model=DEFAULT_MODEL, template="Briefly: {question}")
        set_id = store.experiments.create_question_set("support", [{"question": "Where is my parcel?"},
                                                       {"question": "Can I get a refund?"}])
        return store.experiments.create_experiment("plain vs concise", set_id, [a, b])


def test_a_judge_that_ignores_the_schema_then_two_votes_that_rank_nothing(browser, tmp_path):
    db_path = tmp_path / "loupe.db"
    experiment = _seed(db_path)
    with FakeOllama(reply=lambda m: HOSTILE, honour_format=False) as fake, \
            streamlit_app(db_path, {"OLLAMA_HOST": fake.url}) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 2400})
        _sign_in(page, url, "experiments")
        page.get_by_role("button", name="Run").click()
        page.get_by_text("4 of 4 answers").wait_for(timeout=60_000)
        wait_for_run(page)

        # the judge model answers junk: each pair is kept with the reason and the raw reply
        page.get_by_role("button", name="Judge the answered pairs").click()
        page.get_by_text("2 pairs have no verdict").wait_for(timeout=60_000)
        wait_for_run(page)
        page.get_by_text("2 pairs have no verdict").scroll_into_view_if_needed()
        page.get_by_test_id("stDataFrame").first.wait_for()
        assert _metric(page, "Pairs with no verdict") == "2"
        assert _metric(page, "Verdicts read") == "0 of 2"
        _no_live_markup(page)
        screenshot(page, "compare_judge_unreadable")
        with Store(db_path) as store:
            judgments = store.experiments.judgments(experiment)
        assert [j["verdict"] for j in judgments] == [None, None]
        assert all(j["reply_a_first"] == HOSTILE for j in judgments)
        assert all("names no verdict" in j["problem"] for j in judgments)
        shown = _grid(page, "reason")
        assert len(shown) == 2
        assert all("names no verdict" in row["reason"] for row in shown)
        assert all(row["reason"].startswith("Both orders: The reply names no verdict")
                   for row in shown)
        assert all(row["reply (A first)"] == HOSTILE for row in shown)  # as text, exactly

        # the server now holds the judge to the schema: a retry reads every pair
        fake.honour_format = True
        fake.reply = lambda messages: {"verdict": "1", "reason": "The first is clearer."}
        page.get_by_role("button", name="Retry the unreadable pairs").click()
        expect(page.get_by_text("2 pairs have no verdict")).to_have_count(0, timeout=60_000)
        wait_for_run(page)
        assert _metric(page, "Pairs with no verdict") == "0"
        assert _metric(page, "Verdicts read") == "2 of 2"
        assert _metric(page, "Flips when the answers swap") == "100%"  # always "1": position bias
        with Store(db_path) as store:
            judgments = store.experiments.judgments(experiment)
        assert [j["verdict"] for j in judgments] == ["tie", "tie"]
        assert all(j["problem"] is None and j["rationale"] == "The first is clearer."
                   for j in judgments)

        # two blind votes
        page.get_by_role("link", name="Vote").click()
        wait_for_run(page)
        revealed = []
        for _ in range(2):
            page.get_by_role("button", name="Answer 1 is better").click()
            saved = page.get_by_text("Saved: Answer 1.")
            saved.wait_for(timeout=30_000)
            revealed.append(re.search(r"Answer 1 was (.+?), Answer 2 was (.+?)\.$",
                                      saved.inner_text().strip()).groups())
            page.get_by_role("button", name="Next pair").click()
            wait_for_run(page)
        page.get_by_text("You have voted on every pair").wait_for()
        with Store(db_path) as store:
            votes = store.experiments.votes(experiment)
        assert len(votes) == 2
        for vote, (left, right) in zip(votes, revealed):
            winner = vote["variant_a"] if vote["winner"] == "a" else vote["variant_b"]
            assert winner == left and {left, right} == {vote["variant_a"], vote["variant_b"]}

        # Results: the method in a sentence, and no ranking from two votes
        page.get_by_role("link", name="Results").click()
        page.get_by_role("heading", name="Leaderboard").wait_for(timeout=60_000)
        wait_for_run(page)
        assert page.get_by_text("Not enough votes to rank").count() == 1
        assert page.get_by_text(re.compile("Bradley–Terry with ties")).count() == 1
        page.get_by_test_id("stSelectbox").first.click()
        page.get_by_role("option", name="plain vs concise").click()
        wait_for_run(page)
        page.get_by_role("heading", name="LLM judge").wait_for()
        assert _metric(page, "Verdicts read") == "2 of 2"
        _no_live_markup(page)
        screenshot(page, "compare_results_not_enough")
        report = pairwise_report(Store(db_path), experiment)
        assert not report["ranking"]["enough"]
        assert [row["rank_best"] for row in report["leaderboard"]] == [1, 1]
        page.close()


def test_the_demo_experiment_is_ranked_with_its_judge_calibrated(browser, tmp_path):
    db_path = tmp_path / "demo.db"
    with Store(db_path) as store:
        load_demo(store)
        experiment = store.experiments.list_experiments()[0]
        report = pairwise_report(store, experiment["id"])
    with streamlit_app(db_path) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 2400})
        page.goto(f"{url}/results")
        page.get_by_role("heading", name="Leaderboard").wait_for(timeout=60_000)
        wait_for_run(page)
        page.get_by_test_id("stSelectbox").first.click()
        page.get_by_role("option", name=experiment["name"]).click()
        wait_for_run(page)
        page.get_by_role("heading", name="LLM judge").wait_for()
        assert page.get_by_text("Not enough votes to rank").count() == 0
        sentence = report["ranking"]["sentence"]
        assert page.get_by_text(sentence).count() == 1
        assert _metric(page, "Verdicts read") == "99 of 99"
        assert _metric(page, "Pairs with no verdict") == "0"
        assert page.get_by_text(re.compile(r"Cohen's kappa -?\d\.\d\d \(95% interval")).count() == 1
        board = _grid(page, "rank")
        assert [row["variant"] for row in board] == [r["variant"] for r in report["leaderboard"]]
        assert [row["score"] for row in board] == [f"{r['score']:.0f}"
                                                   for r in report["leaderboard"]]
        screenshot(page, "compare_results_demo")
        page.close()
