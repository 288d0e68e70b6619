"""Journeys in a real Chromium: a viewer's every write is refused on every page, and hostile
text in every field and name stays inert (shown as written, nothing fetched) on every page.

One server for the module, signed in through the form as each role in turn. Every request
the browser makes is recorded: none may leave the machine.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest

from dashboard.auth import hash_password
from store import Store
from tests.browser import chromium, screenshot, streamlit_app
from tests.fake_ollama import FakeOllama
from tests.test_clustering import fill, separated

pytestmark = pytest.mark.browser
playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

EVIL = "evil.example"
QUESTION = f"Where is `![q](http://{EVIL}/q.png)`` my :red[parcel] for $5 and $x$?"
ANSWER_A = (f"It ships **today** <img src=x onerror=\"window.__pwned=1\"> ![a](http://{EVIL}/a.png)"
            f" [track it](http://{EVIL}/l) http://{EVIL}/x www.{EVIL} help@{EVIL}")
ANSWER_B = f"Soon :material/home: :smile: :blue-background[bg] :small[s] -> ![b](http://{EVIL}/b.png)"
VARIANT_A = f":red[alpha] ![va](http://{EVIL}/va.png)"
VARIANT_B = "<img src=x onerror=\"window.__pwned=2\"> `b`` **bee**"
MODEL = f"m![m](http://{EVIL}/m.png) :material/home: <b>x</b>"
SET_NAME = f":blue-background[set] ![s](http://{EVIL}/s.png) $s$"
REFERENCE = f"ref ![r](http://{EVIL}/r.png) :red[r] $r$ **r**"
REVIEWER = f"rev :red[eve] ![e](http://{EVIL}/e.png)"
TAG = f":small[tag] ![t](http://{EVIL}/t.png)"
THEME_NAME = f"![n](http://{EVIL}/n.png) :red[Refund] $n$"
BIG = (f"![x](http://{EVIL}/big.png) :red[x] <img src=x> $y$ " * 25_000)[:1_000_000]
# Sign-in is limited per name, so each journey signs in under a name of its own.
ROLES = {"vic": "viewer", "ann": "annotator", "ann2": "annotator", "ann3": "annotator",
         "ada": "admin", **{f"vic{i}": "viewer" for i in range(1, 8)}}
PASSWORDS = {name: f"{name}-password" for name in ROLES}
VIEWER_PAGES = {"insights": "Insights", "review": "Review", "clusters": "Failure themes",
                "agreement": "Agreement", "results": "Results"}
FORBIDDEN = {"chat": "Chat", "queue": "Annotate", "vote": "Vote", "variants": "Variants",
             "experiments": "Experiments", "export": "Export", "users": "Users"}


def _seed(db_path) -> dict[str, int]:
    with Store(db_path) as store:
        for name, role in ROLES.items():
            store.users.add_user(name, role, hash_password(PASSWORDS[name]))
        low = fill(store, separated(3, 12)[0], model=MODEL)  # low-rated questions: themes
        for iid in low[:6]:  # a second reviewer on some of them: the Agreement page has pairs
            store.review.save_rating(iid, REVIEWER, stars=2, tags=[TAG], comment=REFERENCE)
        conversation = store.ingest.start_conversation()
        hostile = store.ingest.add_question(conversation, QUESTION, model=MODEL)
        store.ingest.record_answer(hostile, answer=ANSWER_A)
        store.review.save_rating(hostile, REVIEWER, stars=1, thumbs=-1, tags=[TAG], comment=REFERENCE,
                          ideal_answer=ANSWER_B)
        big = store.ingest.add_question(store.ingest.start_conversation(), BIG, model=MODEL)
        store.ingest.record_answer(big, answer=BIG)
        a = store.experiments.add_variant(VARIANT_A, model=MODEL)
        b = store.experiments.add_variant(VARIANT_B, model=MODEL)
        set_id = store.experiments.create_question_set(SET_NAME, [{"question": QUESTION,
                                                       "reference_answer": REFERENCE}])
        experiment = store.experiments.create_experiment(SET_NAME, set_id, [a, b])
        [item] = store.experiments.question_set_items(set_id)
        for variant, answer in ((a, ANSWER_A), (b, ANSWER_B)):
            store.experiments.record_experiment_answer(experiment, item["id"], variant, QUESTION, answer=answer,
                                           model=MODEL, backend="ollama")
    return {"hostile": hostile, "big": big, "experiment": experiment}


def sign_in(page, name: str) -> None:
    """Sign in through the form if it is shown (the one step to adapt if sign-in changes)."""
    form = page.get_by_role("button", name="Sign in")
    page.get_by_text("Signed in as").or_(form).first.wait_for(timeout=60_000)
    if page.get_by_text("Signed in as").count():
        return
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Password", exact=True).fill(PASSWORDS[name])
    form.click()
    page.get_by_text("Signed in as").wait_for(timeout=60_000)


def type_address(page, url: str, path: str, name: str) -> None:
    """Open a page by typing its address (a new page load), signing in if asked."""
    page.goto(f"{url}/{path}")
    sign_in(page, name)


def _model_reply(messages):
    """The hostile name: as chat text, or as the JSON a theme name is asked for."""
    if "You name groups" in messages[0]["content"]:
        return {"name": THEME_NAME}
    return THEME_NAME


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    db_path = tmp_path_factory.mktemp("journey") / "loupe.db"
    ids = _seed(db_path)
    with FakeOllama(reply=_model_reply) as fake, \
            streamlit_app(db_path, {"OLLAMA_HOST": fake.url}) as url, \
            chromium() as browser:
        yield {"url": url, "db": db_path, "ids": ids, "browser": browser}


@pytest.fixture
def visit(app):
    """A fresh browser context whose every request is recorded; checked when the test ends."""
    context = app["browser"].new_context(viewport={"width": 1400, "height": 1100})
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    yield page
    context.close()
    assert not [u for u in requests if EVIL in u or u.endswith("/x")]
    foreign = [u for u in requests if not u.startswith(("data:", "blob:"))
               and urlparse(u).hostname not in {"localhost", "127.0.0.1"}]
    assert foreign == []


def _main_text(page) -> str:
    return page.locator("section.stMain, [data-testid='stMain']").first.inner_text()


def _open(page, url: str, path: str, title: str | None = None, *, name: str) -> str:
    """Go to a page by its address, wait until it has drawn, and check it shows no error."""
    type_address(page, url, path, name)
    return _check(page, path, title)


def _go(page, link: str, title: str) -> str:
    """Go to a page through the sidebar menu (the session goes on), and check it."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=link, exact=True).click()
    return _check(page, link, title)


def _check(page, path: str, title: str | None) -> str:
    """Wait until the page has drawn; no traceback, nothing run, nothing fetched."""
    if title:
        page.get_by_role("heading", name=title, exact=True).first.wait_for(timeout=60_000)
    else:
        page.get_by_text("does not allow").first.wait_for(timeout=60_000)
    page.wait_for_load_state("networkidle")
    _settle(page)
    text = page.locator("body").inner_text()
    assert "Traceback" not in text and 'File "/' not in text, path
    assert page.evaluate("window.__pwned") is None
    srcs = page.locator("img").evaluate_all("els => els.map(e => e.src)")
    assert not [s for s in srcs if EVIL in s or s.endswith("/x")], srcs
    hrefs = page.locator("a").evaluate_all("els => els.map(e => e.href)")
    assert not [h for h in hrefs if EVIL in h], hrefs  # addresses in data are text, not links
    return text


def _settle(page) -> None:
    """Wait until Streamlit has finished the run (no 'Running…' status)."""
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " && !document.querySelector('[data-testid=\"stSkeleton\"]')", timeout=60_000)


VIEWER_LINKS = {"Insights": "Insights", "Review": "Review", "Failure themes": "Failure themes",
                "Agreement": "Agreement", "Results": "Results"}


def _counts(db_path) -> tuple:
    with Store(db_path) as store:
        return tuple(store.db.execute(
            "SELECT (SELECT count(*) FROM ratings), (SELECT count(*) FROM question_sets),"
            " (SELECT count(*) FROM comparisons), (SELECT count(*) FROM interactions),"
            " (SELECT count(*) FROM variants), (SELECT count(*) FROM experiments)").fetchone())


def test_a_viewer_can_read_every_page_and_write_nothing(app, visit):
    page, url = visit, app["url"]
    before = _counts(app["db"])
    type_address(page, url, "", "vic")
    for link, title in VIEWER_LINKS.items():
        assert "does not allow" not in _go(page, link, title), link
    # the menu offers only what a viewer may open
    nav = page.get_by_test_id("stSidebarNav").inner_text().split("\n")
    assert "Review" in nav and not [t for t in FORBIDDEN.values() if t in nav], nav
    # Failure themes: its actions are shown disabled, with the reason
    _go(page, "Failure themes", "Failure themes")
    page.get_by_text("Your role (viewer) can read this page").wait_for()
    assert page.get_by_role("button", name="Name this theme").is_disabled()
    assert page.get_by_role("button", name=re.compile("Annotate these")).is_disabled()
    assert page.get_by_role("button", name=re.compile("Make a question set")).is_disabled()
    page.get_by_role("button", name="Name this theme").scroll_into_view_if_needed()
    screenshot(page, "journey_viewer_themes")
    # Review: no import box, no rating widget
    item = app["ids"]["hostile"]
    _open(page, url, f"review?item={item}", "Review", name="vic")
    page.get_by_text(f"Interaction #{item}").wait_for()
    assert page.get_by_text("Import feedback").count() == 0
    assert page.get_by_test_id("stFeedback").count() == 0
    # typing the address of a page a viewer may not open: a sentence, never the page
    for number, (path, title) in enumerate(FORBIDDEN.items(), start=1):
        text = _open(page, url, path, name=f"vic{number}")
        assert "Your role does not allow this page" in text, path
        assert page.get_by_role("heading", name=title, exact=True).count() == 0, path
    screenshot(page, "journey_viewer_refused")
    assert _counts(app["db"]) == before


def test_hostile_text_on_review_shows_as_written(app, visit):
    page, url = visit, app["url"]
    item = app["ids"]["hostile"]
    _open(page, url, f"review?item={item}", "Review", name="ann")
    page.get_by_text(f"Interaction #{item}").wait_for()
    messages = page.get_by_test_id("stChatMessage")
    texts = [messages.nth(i).inner_text() for i in range(messages.count())]
    # the question keeps its odd code span as code; everything else is shown as written
    assert any(":red[parcel] for $5 and $x$?" in t and f"![q](http://{EVIL}/q.png)" in t
               for t in texts), texts
    assert any('<img src=x onerror="window.__pwned=1">' in t and f"![a](http://{EVIL}/a.png)" in t
               for t in texts), texts
    assert MODEL in _main_text(page)  # the model's name, exactly
    screenshot(page, "journey_review_hostile")
    # a megabyte of hostile text
    big = app["ids"]["big"]
    _open(page, url, f"review?item={big}", "Review", name="ann")
    page.get_by_text(f"Interaction #{big}").wait_for()
    page.get_by_text("Long text: the first").first.wait_for(timeout=60_000)
    message = page.get_by_test_id("stChatMessage").first
    head = message.get_by_test_id("stMarkdownContainer").first.inner_text().strip()
    assert len(head) > 15_000 and BIG.startswith(head)  # formatted start: as written
    assert message.get_by_test_id("stText").first.text_content() == BIG  # all of it, plain
    screenshot(page, "journey_review_megabyte")


def test_an_annotator_votes_blind_and_the_revealed_names_show_as_written(app, visit):
    page, url = visit, app["url"]
    text = _open(page, url, "vote", "Vote", name="ann2")
    assert ":red[parcel] for $5 and $x$?" in text
    left_text = page.get_by_test_id("stColumn").filter(has_text="Answer 1").first.inner_text()
    assert f"![b](http://{EVIL}/b.png)" in text and f"![a](http://{EVIL}/a.png)" in text
    page.get_by_role("button", name="Answer 1 is better").click()
    page.get_by_text("Saved: Answer 1").wait_for(timeout=30_000)
    verdict = page.get_by_test_id("stAlert").filter(has_text="Saved:").inner_text()
    assert f"{VARIANT_A} v1" in verdict and f"{VARIANT_B} v1" in verdict, verdict
    left_label = f"{VARIANT_A} v1" if "It ships today" in left_text else f"{VARIANT_B} v1"
    assert verdict.index(left_label) < verdict.index("Answer 2 was")
    screenshot(page, "journey_vote_revealed")
    with Store(app["db"]) as store:
        [vote] = store.experiments.votes(app["ids"]["experiment"])
    assert vote["reviewer"] == "ann2"
    winner = vote["variant_a"] if vote["winner"] == "a" else vote["variant_b"]
    assert winner == left_label  # what is stored is what the reviewer chose


def test_themes_named_by_a_model_show_their_new_name_at_once_and_as_written(app, visit):
    page, url = visit, app["url"]
    _open(page, url, "clusters", "Failure themes", name="ann3")
    picker = page.get_by_role("combobox", name="Theme", exact=True)
    before = picker.input_value()
    page.get_by_role("button", name="Name this theme").click()
    page.get_by_text("Named by a model").wait_for(timeout=60_000)
    _settle(page)
    shown = picker.input_value()
    assert THEME_NAME in shown and shown != before, (before, shown)
    assert "from the terms" in _main_text(page)
    picker.scroll_into_view_if_needed()
    screenshot(page, "journey_theme_named")


def test_an_admin_sees_every_hostile_name_as_written(app, visit):
    page, url = visit, app["url"]
    type_address(page, url, "", "ada")
    # Variants: the versions tab writes each variant's name and model in a sentence
    _go(page, "Variants", "Variants")
    page.get_by_role("tab", name="Versions").click()
    history = page.get_by_role("tabpanel").filter(has_text="System prompt").first.inner_text()
    assert MODEL in history, history
    # Experiments: variant names over the answers, the reference answer
    text = _go(page, "Experiments", "Experiments")
    assert f"{VARIANT_A} v1" in text and f"{VARIANT_B} v1" in text
    assert REFERENCE in text
    screenshot(page, "journey_experiments_hostile")
    # every other page drawn without running anything or fetching anything
    for link in ("Results", "Insights", "Agreement", "Review", "Failure themes", "Export",
                 "Users", "Annotate", "Vote"):
        _go(page, link, link if link != "Annotate" else "Annotate")
    _go(page, "Chat", "Chat")
    box = page.get_by_test_id("stChatInput").locator("textarea")
    box.fill(QUESTION)
    box.press("Enter")
    answer = page.get_by_test_id("stChatMessage").filter(has_text=":red[Refund]").first
    answer.wait_for(timeout=60_000)  # the model's reply, shown as written once it has streamed
    expect(answer).to_contain_text(THEME_NAME, use_inner_text=True, timeout=60_000)
    _settle(page)
    assert THEME_NAME in answer.inner_text()
    assert ":red[parcel] for $5 and $x$?" in page.get_by_test_id("stChatMessage").first.inner_text()
    assert page.evaluate("window.__pwned") is None
    screenshot(page, "journey_chat_hostile")
