"""Every write is refused on the server when the role does not allow it, with a sentence,
whatever the page showed: buttons, forms and callbacks alike; the database stays unchanged."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.auth import Session, hash_password
from dashboard.ui.auth import SESSION_KEY
from store import Store
from tests.fake_ollama import FakeOllama
from tests.pages import run_page, use_database
from tests.test_clustering import fill, separated

REFUSED = "does not allow"


def _counts(db_path) -> dict[str, int]:
    with Store(db_path) as store:
        return {table: store.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in ("question_sets", "ratings", "comparisons", "variants",
                              "experiments", "interactions")}


@pytest.fixture
def team(monkeypatch, db_path):
    with Store(db_path) as store:
        for name, role in (("vic", "viewer"), ("ann", "annotator"), ("ada", "admin"), ("abe", "admin")):
            store.users.add_user(name, role, hash_password(f"{name}-password"))
        fill(store, separated(3, 20)[0], variant="baseline")
    use_database(monkeypatch, db_path, ollama="http://127.0.0.1:9")
    return db_path


def _as(name: str, role: str, page: str) -> AppTest:
    return run_page(page, state={SESSION_KEY: Session(name, role, time.time())}, timeout=120)


def _refusals(at: AppTest) -> list[str]:
    return [e.value for e in at.error if REFUSED in e.value]


def _button(at: AppTest, label: str):
    [button] = [b for b in at.button if b.label.startswith(label)]
    return button


def test_a_viewer_on_failure_themes_is_shown_its_actions_disabled_and_why(team):
    at = _as("vic", "viewer", "clusters")
    assert at.title[0].value == "Failure themes"
    assert any("Your role (viewer) can read this page" in c.value for c in at.caption)
    for label in ("Annotate these", "Name this theme", "Make a question set"):
        assert _button(at, label).disabled, label


@pytest.mark.parametrize("label", ["Annotate these", "Name this theme", "Make a question set"])
def test_a_click_from_a_page_drawn_before_the_role_changed_does_nothing_and_says_why(
        monkeypatch, team, label):
    before = _counts(team)
    with FakeOllama(reply=lambda messages: "Refund troubles") as server:
        monkeypatch.setenv("OLLAMA_HOST", server.url)
        at = _as("ada", "admin", "clusters")  # every action enabled on screen
        with Store(team) as store:
            store.users.set_user("ada", role="viewer")
        _button(at, label).click().run()
        assert not at.exception, (label, at.exception)
        # the server drew the button disabled for the new role, so the click was dropped
        assert _button(at, label).disabled
        assert any("Your role (viewer) can read this page" in c.value for c in at.caption)
        assert not [r for r in server.requests if r["path"] == "/api/chat"]  # no model call
    assert at.title[0].value == "Failure themes"  # still here: no jump to a forbidden page
    assert _counts(team) == before


def test_an_annotator_may_annotate_and_name_but_not_make_a_question_set(monkeypatch, team):
    before = _counts(team)
    with FakeOllama(reply=lambda messages: "Refund troubles") as server:
        monkeypatch.setenv("OLLAMA_HOST", server.url)
        at = _as("ann", "annotator", "clusters")
        assert not _button(at, "Name this theme").disabled
        _button(at, "Name this theme").click().run()
        assert not at.exception, at.exception
        assert not _refusals(at)
        assert [r for r in server.requests if r["path"] == "/api/chat"]
        assert _button(at, "Make a question set").disabled  # an admin's action
        assert not _button(at, "Annotate these").disabled
        assert any("to make question sets ask an admin" in c.value for c in at.caption)
    assert _counts(team) == before


def test_a_rating_callback_is_refused_when_the_role_changed_after_the_page_was_drawn(team):
    before = _counts(team)
    at = _as("ann", "annotator", "queue")
    assert at.title[0].value == "Annotate"
    at.get("feedback")[0].set_value(4)  # four stars, not yet saved
    with Store(team) as store:
        store.users.set_user("ann", role="viewer")
    _button(at, "Save and next").click().run()
    assert not at.exception, at.exception
    assert _counts(team) == before
    assert any("(viewer) does not allow rating answers" in t.value for t in at.toast)


@pytest.mark.parametrize("page, title", [
    ("chat", "Chat"), ("queue", "Annotate"), ("vote", "Vote"), ("variants", "Variants"),
    ("experiments", "Experiments"), ("export", "Export"), ("users", "Users"),
])
def test_a_viewer_typing_the_address_of_a_page_they_may_not_open_is_refused(team, page, title):
    before = _counts(team)
    at = _as("vic", "viewer", page)
    assert _refusals(at) and title not in [t.value for t in at.title]
    assert [b.label for b in at.main.button] == []  # the sidebar keeps only the account menu
    assert _counts(team) == before


def test_a_viewer_sees_no_import_box_and_no_rating_widget_on_review(team):
    at = _as("vic", "viewer", "review")
    assert at.title[0].value == "Review"
    assert not [e for e in at.expander if "Import" in e.label]
    assert not at.get("feedback")
