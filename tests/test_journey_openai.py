"""Journey in a real Chromium against a fake OpenAI-compatible server: chat, a variant on that
server, an experiment run, usage and cost on Insights, and a refused key; the database is
checked after each step."""

from __future__ import annotations

import re
import time

import pytest

from store import Store
from tests.browser import chromium, screenshot, streamlit_app, wait_for_run
from tests.fake_openai import DEFAULT_KEY, DEFAULT_MODEL, FakeOpenAI
from tests.paths import free_port

pytestmark = pytest.mark.browser
playwright_api = pytest.importorskip("playwright.sync_api")

LABEL = "OpenAI-compatible (default)"


@pytest.fixture(scope="module")
def journey(tmp_path_factory):
    db_path = tmp_path_factory.mktemp("openai") / "loupe.db"
    env = {"LOUPE_OPENAI_BASE_URL": "", "OPENAI_API_KEY": DEFAULT_KEY,
           "OLLAMA_HOST": f"http://127.0.0.1:{free_port()}"}
    with FakeOpenAI(token_delay=0.02) as fake:
        env["LOUPE_OPENAI_BASE_URL"] = fake.base_url
        with streamlit_app(db_path, env) as url, chromium() as browser:
            page = browser.new_page(viewport={"width": 1300, "height": 1000})
            page.goto(url)
            name = page.get_by_label("Your name", exact=True)
            name.fill("ana")
            name.press("Enter")
            wait_for_run(page)  # the name is kept once that run ends
            yield page, fake, db_path


def _rows(db_path, sql: str, params=()) -> list[dict]:
    with Store(db_path) as store:
        return [dict(r) for r in store.db.execute(sql, params).fetchall()]


def test_chat_answers_from_the_server_and_stores_its_usage(journey):
    page, fake, db_path = journey
    page.get_by_text(f"Answering: {LABEL}").wait_for(timeout=30_000)
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill("How do I export my data?")
    box.press("Enter")
    caption = page.get_by_text(re.compile(rf"{re.escape(LABEL)} · {DEFAULT_MODEL} · .*tokens out"))
    caption.wait_for(timeout=30_000)
    screenshot(page, "openai_chat")
    [row] = _rows(db_path, "SELECT * FROM interactions")
    assert row["answer"] == "You asked: How do I export my data?. Here is a short answer."
    assert (row["backend"], row["model"], row["error"]) == ("openai:default", DEFAULT_MODEL, None)
    # what the server's usage chunk said (its word counts: 6 + 4 in, 13 out), as the page shows
    assert (row["prompt_tokens"], row["completion_tokens"]) == (10, 13)
    assert "10 tokens in, 13 tokens out" in caption.inner_text()
    assert fake.requests[-1]["body"]["stream_options"] == {"include_usage": True}
    assert DEFAULT_KEY not in page.content()


def test_a_refused_key_is_one_sentence_without_the_key(journey):
    page, fake, db_path = journey
    fake.api_key = "sk-server-now-wants-another-key"
    page.get_by_role("link", name="Chat").click()
    box = page.get_by_test_id("stChatInputTextArea")
    box.wait_for()
    box.fill("Still there?")
    box.press("Enter")
    page.get_by_text("refused the API key").first.wait_for(timeout=30_000)
    screenshot(page, "openai_refused_key")
    [row] = _rows(db_path, "SELECT * FROM interactions WHERE question = 'Still there?'")
    assert row["error"] == (
        f"The OpenAI-compatible endpoint 'default' at {fake.base_url} refused the API key: set a "
        "valid key in the environment variable OPENAI_API_KEY and restart Loupe.")
    assert DEFAULT_KEY not in page.content() and DEFAULT_KEY[-4:] not in row["error"]
    fake.api_key = DEFAULT_KEY


def test_a_variant_runs_on_the_server_in_an_experiment(journey):
    page, _, db_path = journey
    page.get_by_role("link", name="Variants").click()
    form = page.get_by_test_id("stForm").first
    form.get_by_role("textbox", name="Name").fill("remote")
    form.get_by_test_id("stSelectbox").first.click()
    page.get_by_role("option", name=f"{DEFAULT_MODEL} · {LABEL}").click()
    form.get_by_role("textbox", name="Template").fill("Answer briefly: {question}")
    screenshot(page, "openai_variant_form")
    page.get_by_role("button", name="Create variant").click()
    deadline = time.monotonic() + 30
    while not _rows(db_path, "SELECT id FROM variants") and time.monotonic() < deadline:
        time.sleep(0.2)
    [variant] = _rows(db_path, "SELECT model, params FROM variants WHERE name = 'remote'")
    assert variant["model"] == DEFAULT_MODEL
    assert '"backend": "openai:default"' in variant["params"]

    with Store(db_path) as store:
        plain = store.experiments.add_variant("plain", model=DEFAULT_MODEL,
                                  params={"temperature": 0.2, "backend": "openai:default"})
        [remote] = [v["id"] for v in store.experiments.list_variants() if v["name"] == "remote"]
        set_id = store.experiments.create_question_set("support", [{"question": "Where is my parcel?"},
                                                       {"question": "Can I get a refund?"}])
        store.experiments.create_experiment("plain vs remote", set_id, [plain, remote])

    page.get_by_text("Work on a variant").wait_for()  # the page has drawn the new variant
    page.get_by_role("link", name="Experiments").click()
    page.get_by_role("heading", name="Experiments").wait_for()
    page.get_by_role("button", name="Run").click()
    page.get_by_text("4 of 4 answers").wait_for(timeout=30_000)
    page.get_by_text("You asked: Answer briefly: Where is my parcel?").first.wait_for()
    screenshot(page, "openai_experiment")
    rows = _rows(db_path, "SELECT backend, model, question, answer, prompt_tokens,"
                          " completion_tokens, error FROM interactions WHERE source = 'experiment'"
                          " ORDER BY id")
    assert len(rows) == 4
    assert {(r["backend"], r["model"], r["error"]) for r in rows} == {
        ("openai:default", DEFAULT_MODEL, None)}
    for r in rows:
        assert r["completion_tokens"] == len(r["answer"].split(" "))
        assert r["prompt_tokens"] > 4


def test_insights_show_the_tokens_and_cost(journey):
    page, _, db_path = journey
    [totals] = _rows(db_path, "SELECT COUNT(*) AS calls, SUM(prompt_tokens) AS tin,"
                              " SUM(completion_tokens) AS tout FROM interactions")
    with Store(db_path) as store:
        day = store.db.execute("SELECT MIN(substr(created_at, 1, 10)) FROM interactions").fetchone()[0]
        store.insights.set_model_price(DEFAULT_MODEL, day, 2.0, 8.0)
    page.get_by_role("link", name="Insights").click()
    page.get_by_text("Usage and cost").wait_for(timeout=30_000)
    page.get_by_text("Estimated cost", exact=True).first.scroll_into_view_if_needed()
    time.sleep(1.5)
    screenshot(page, "openai_insights_usage")
    metrics = {}
    for metric in page.get_by_test_id("stMetric").all():
        label = metric.get_by_test_id("stMetricLabel").inner_text().strip()
        metrics[label] = metric.get_by_test_id("stMetricValue").inner_text().strip()
    cost = totals["tin"] * 2.0 / 1e6 + totals["tout"] * 8.0 / 1e6
    assert metrics["Calls"] == str(totals["calls"])
    assert metrics["Input tokens"] == f"{totals['tin']:,}"
    assert metrics["Output tokens"] == f"{totals['tout']:,}"
    assert metrics["Estimated cost"] == f"${cost:,.4f}"
    page.get_by_text("Prices per million tokens").click()
    page.get_by_role("button", name="Save price").scroll_into_view_if_needed()
    time.sleep(1.0)
    screenshot(page, "openai_insights_prices")
