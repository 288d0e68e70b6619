"""Who may do what: sign-in, each role against each page, and writes checked on the server."""

from __future__ import annotations

import time

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard.auth import Session, hash_password
from dashboard.ui.auth import SESSION_KEY
from store import Store
from tests.pages import run_page, use_database

PAGES = {  # page -> its title and the roles that may open it
    "insights": ("Insights", {"viewer", "annotator", "admin"}),
    "review": ("Review", {"viewer", "annotator", "admin"}),
    "agreement": ("Agreement", {"viewer", "annotator", "admin"}),
    "results": ("Results", {"viewer", "annotator", "admin"}),
    "chat": ("Chat", {"annotator", "admin"}),
    "queue": ("Annotate", {"annotator", "admin"}),
    "vote": ("Vote", {"annotator", "admin"}),
    "variants": ("Variants", {"admin"}),
    "experiments": ("Experiments", {"admin"}),
    "export": ("Export", {"admin"}),
    "users": ("Users", {"admin"}),
}


@pytest.fixture
def team(monkeypatch, db_path):
    with Store(db_path) as store:
        for name, role in (("vic", "viewer"), ("ann", "annotator"), ("ada", "admin")):
            store.users.add_user(name, role, hash_password(f"{name}-password"))
        iid = store.ingest.add_question(store.ingest.start_conversation(), "Where is my parcel?")
        store.ingest.record_answer(iid, answer="On its way.")
    use_database(monkeypatch, db_path, ollama="http://127.0.0.1:9")
    return db_path


def _app(session: Session | None = None) -> AppTest:
    return run_page(state={SESSION_KEY: session} if session else None, check=False)


def test_nothing_shows_before_signing_in(team):
    at = _app()
    assert [t.value for t in at.title] == ["Loupe"]
    assert [b.label for b in at.button] == ["Sign in"]
    at.text_input[0].input("ann")
    at.text_input[1].input("wrong password")
    at.button[0].click().run()
    assert any("Wrong name or password" in e.value for e in at.error)
    assert SESSION_KEY not in at.session_state


def test_signing_in_opens_the_app_as_that_user(team):
    at = _app()
    at.text_input[0].input("ann")
    at.text_input[1].input("ann-password")
    at.button[0].click().run()
    assert not at.exception
    assert at.session_state[SESSION_KEY].role == "annotator"
    assert any("Signed in as **ann**" in m.value for m in at.sidebar.markdown)


@pytest.mark.parametrize("role", ["viewer", "annotator", "admin"])
def test_each_role_against_each_page(team, role):
    name = {"viewer": "vic", "annotator": "ann", "admin": "ada"}[role]
    for page, (title, roles) in PAGES.items():
        at = _app(Session(name, role, time.time()))
        if role in roles:
            at.switch_page(f"views/{page}.py").run()
            assert not at.exception, (page, at.exception)
            assert title in [t.value for t in at.title], page
            assert not [e for e in at.error if "role does not allow" in e.value], page
        else:  # its address stays, hidden from the menu: the page refuses with a sentence
            at.switch_page(f"views/{page}.py").run()
            assert not at.exception, (page, at.exception)
            assert [e for e in at.error if "role does not allow" in e.value], page
            assert title not in [t.value for t in at.title], page


def test_expired_sessions_must_sign_in_again(team):
    at = _app(Session("ada", "admin", time.time() - 9 * 3600))
    assert [b.label for b in at.button] == ["Sign in"]


def test_a_viewer_cannot_rate_even_by_calling_the_save(team):
    from dashboard.ui import rating

    at = _app(Session("vic", "viewer", time.time()))
    at.switch_page("views/review.py").run()
    assert not at.feedback  # no rating widget for a viewer

    with Store(team) as store:
        keys = rating._keys("x", 1, "vic")
        state = {keys["stars"]: 4, keys["thumbs"]: 1}

        class FakeState(dict):
            pass

        original = st.session_state
        try:
            st.session_state = FakeState({**state, SESSION_KEY: Session("vic", "viewer", time.time())})
            rating._save(store, 1, "vic", keys)
        finally:
            st.session_state = original
        assert store.review.ratings_for(1) == []


@pytest.mark.parametrize(("name", "role", "may_rate"),
                         [("vic", "viewer", False), ("ann", "annotator", True)])
def test_the_place_for_your_own_rating_shows_only_to_who_may_rate(team, name, role, may_rate):
    """A viewer saw a "Your rating" heading with nothing under it."""
    at = _app(Session(name, role, time.time()))
    at.switch_page("views/review.py")
    at.query_params["item"] = "1"
    at.run()
    assert not at.exception
    shown = [m.value for m in at.main.markdown]
    assert "**Ratings**" in shown  # everyone reads the ratings
    assert ("**Your rating**" in shown) is may_rate
    assert bool(at.feedback) is may_rate
