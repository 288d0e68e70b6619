"""Variants, Experiments, Vote and Results pages in AppTest."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.experiments import run_experiment
from dashboard.llm import OllamaBackend
from store import Store
from tests.fake_ollama import DEFAULT_MODEL
from tests.pages import run_page, use_database
from tests.shown import shown

QUESTIONS = ["How do I reset my password?", "Where is my parcel?"]


@pytest.fixture
def env(monkeypatch, db_path, fake_ollama):
    use_database(monkeypatch, db_path, ollama=fake_ollama.url)
    return db_path


def _page(name: str, reviewer: str | None = "ana") -> AppTest:
    return run_page(name, reviewer=reviewer)


def _seed_experiment(db_path, fake_ollama) -> int:
    with Store(db_path) as store:
        a = store.experiments.add_variant("plain", model=DEFAULT_MODEL)
        b = store.experiments.add_variant("concise", model=DEFAULT_MODEL, template="Answer briefly: {question}")
        set_id = store.experiments.create_question_set("support", [{"question": q} for q in QUESTIONS])
        experiment = store.experiments.create_experiment("plain vs concise", set_id, [a, b])
        run_experiment(store, experiment,
                       backend_for=lambda m: OllamaBackend(host=fake_ollama.url, timeout=5))
    return experiment


def test_create_and_edit_a_variant_makes_versions(env):
    at = _page("variants")
    [name] = [t for t in at.text_input if t.label == "Name"]
    name.input("concise")
    [t for t in at.text_area if t.label == "System prompt"][0].input("Be brief.")
    [b for b in at.button if b.label == "Create variant"][0].click().run()
    assert not at.exception
    with Store(env) as store:
        assert [v["version"] for v in store.experiments.variant_versions("concise")] == [1]
        at.run()
        # the edit form comes after the (collapsed) new-variant form
        edit_prompt = [t for t in at.text_area if t.label == "System prompt"][-1]
        assert edit_prompt.value == "Be brief."
        edit_prompt.input("Be very brief.")
        [b for b in at.button if b.label == "Save as a new version"][0].click().run()
        assert not at.exception
        versions = store.experiments.variant_versions("concise")
        assert [v["version"] for v in versions] == [2, 1]
        assert versions[0]["system_prompt"] == "Be very brief."
        assert versions[1]["system_prompt"] == "Be brief."


def test_question_set_from_pasted_lines(env):
    at = _page("variants")
    at.text_input(key="sets.name").input("billing")
    at.text_area(key="sets.pasted").input("Why was I charged twice?\nCan I get a refund?\n")
    at.button(key="sets.save").click().run()
    assert not at.exception
    assert any("2 questions" in s.value for s in at.success)
    with Store(env) as store:
        [question_set] = store.experiments.list_question_sets()
        assert question_set["size"] == 2


def test_experiment_page_runs_and_shows_side_by_side(env, fake_ollama):
    with Store(env) as store:
        a = store.experiments.add_variant("plain", model=DEFAULT_MODEL)
        b = store.experiments.add_variant("concise", model=DEFAULT_MODEL, template="Answer briefly: {question}")
        set_id = store.experiments.create_question_set("support", [{"question": q} for q in QUESTIONS])
        store.experiments.create_experiment("plain vs concise", set_id, [a, b])
        at = _page("experiments")
        [run] = [b for b in at.button if b.label == "Run"]
        run.click().run()
        from dashboard.ui.experiments import experiment_runner
        experiment_runner().wait(1, timeout=30)
        at.run()
        assert not at.exception
        assert len(store.experiments.experiment_answers(1)) == 4
        text = " ".join(shown(m.value) for m in at.markdown)
        assert "plain v1" in text and "concise v1" in text
        assert "You asked: Answer briefly: How do I reset my password?" in text


def test_vote_hides_names_until_the_vote_and_stores_the_side(env, fake_ollama):
    experiment = _seed_experiment(env, fake_ollama)
    at = _page("vote")
    shown = " ".join(m.value for m in at.markdown) + " ".join(s.value for s in at.success)
    assert "Answer 1" in shown and "Answer 2" in shown
    assert "plain v1" not in shown and "concise v1" not in shown
    at.button(key="vote.left").click().run()
    assert not at.exception
    revealed = " ".join(s.value for s in at.success)
    assert "plain v1" in revealed and "concise v1" in revealed
    with Store(env) as store:
        [vote] = store.experiments.votes(experiment)
        assert vote["reviewer"] == "ana" and vote["left_side"] in ("a", "b")
        assert vote["winner"] == vote["left_side"]


def test_vote_needs_a_name(env, fake_ollama):
    _seed_experiment(env, fake_ollama)
    at = _page("vote", reviewer=None)
    assert any("Type your name" in i.value for i in at.info)


def test_results_page_shows_rates_and_leaderboard(env, fake_ollama):
    experiment = _seed_experiment(env, fake_ollama)
    with Store(env) as store:
        from dashboard.experiments import cast_vote, next_blind_pair
        for choice in ("left", "right"):
            cast_vote(store, next_blind_pair(store, experiment, "ana"), choice, "ana")
    at = _page("results")
    assert not at.exception
    assert [s.value for s in at.subheader] == ["Win rates", "Leaderboard", "Bias checks"]
    assert len(at.get("plotly_chart")) == 2


def test_results_page_without_votes_says_how_to_get_some(env):
    at = _page("results")
    assert any("No votes yet" in i.value for i in at.info)


def test_question_set_from_low_rated_feedback(env):
    with Store(env) as store:
        conversation = store.ingest.start_conversation()
        for n, stars in enumerate([1, 2, 5, 4]):
            iid = store.ingest.add_question(conversation, f"question {n}")
            store.ingest.record_answer(iid, answer="a")
            store.review.save_rating(iid, "ana", stars=stars)
    at = _page("variants")
    at.text_input(key="sets.fb.name").input("failures")
    at.checkbox(key="sets.fb.thumbs").uncheck()
    at.button(key="sets.fb.save").click().run()
    assert not at.exception
    with Store(env) as store:
        [question_set] = store.experiments.list_question_sets()
        items = store.experiments.question_set_items(question_set["id"])
    assert question_set["name"] == "failures"
    assert sorted(i["question"] for i in items) == ["question 0", "question 1"]
