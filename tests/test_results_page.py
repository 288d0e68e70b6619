"""Results page in AppTest: the leaderboard says what it is and never claims more than the votes."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from store import Store
from tests.pages import run_page, use_database
from tests.shown import shown


@pytest.fixture
def env(monkeypatch, db_path):
    use_database(monkeypatch, db_path)
    return db_path


def _votes(db_path, spec):
    with Store(db_path) as store:
        for a, b, winner, count in spec:
            for _ in range(count):
                store.experiments.record_vote(question="q", interaction_a=None, interaction_b=None,
                                  variant_a=a, variant_b=b, winner=winner, reviewer="ana")


def _results() -> AppTest:
    return run_page("results")


def _text(at: AppTest) -> str:
    parts = [e.value for kind in ("markdown", "caption", "info", "warning") for e in at.get(kind)]
    return " ".join(shown(str(p)) for p in parts)


def test_three_unanimous_votes_are_not_enough_to_rank(env):
    _votes(env, [("friendly", "concise", "b", 3)])
    at = _results()
    [warning] = at.warning
    assert "Not enough votes to rank" in shown(warning.value)
    assert "Bradley–Terry" in _text(at) and "posterior" in _text(at)
    pairs, board = at.dataframe
    assert list(board.value["rank"]) == ["1–2", "1–2"]
    low, high = (board.value["95% interval"].str.split(" – ", expand=True).astype(float)
                 .to_numpy().T)
    assert high.min() > low.max()  # the two intervals overlap
    assert (high - low).min() > 200
    [pair] = pairs.value.to_dict("records")
    assert pair["p_value"] == pytest.approx(0.25)


def test_clear_votes_are_ranked_without_a_warning(env):
    _votes(env, [("concise", "friendly", "a", 30), ("concise", "friendly", "b", 4),
                 ("concise", "friendly", "tie", 3)])
    at = _results()
    assert not at.warning
    assert any("concise above friendly" in shown(i.value) for i in at.info)
    _, board = at.dataframe
    assert list(board.value["variant"]) == ["concise", "friendly"]
    assert list(board.value["rank"]) == ["1", "2"]


# -- the judge on the Experiments and Results pages --------------------------------------------

HOSTILE = '<img src="http://127.0.0.1:9/x.png" onerror="alert(1)"> [click](http://evil.test)'


@pytest.fixture
def judged(env, monkeypatch):
    """An experiment whose judge sent junk (a server ignoring the schema), and one human vote."""
    from dashboard.experiments import cast_vote, next_blind_pair, run_experiment
    from dashboard.judge import run_judge
    from dashboard.llm import OllamaBackend
    from tests.fake_ollama import DEFAULT_MODEL, FakeOllama

    with Store(env) as store:
        a = store.experiments.add_variant("plain", model=DEFAULT_MODEL)
        b = store.experiments.add_variant("concise", model=DEFAULT_MODEL, template="Briefly: {question}")
        set_id = store.experiments.create_question_set("support", [{"question": "Where is my parcel?"},
                                                       {"question": "Can I get a refund?"}])
        experiment = store.experiments.create_experiment("plain vs concise", set_id, [a, b])
        with FakeOllama(reply=lambda m: HOSTILE, honour_format=False) as server:
            backend = OllamaBackend(host=server.url, timeout=5)
            run_experiment(store, experiment, backend_for=lambda m: backend)
            run_judge(store, experiment, backend, DEFAULT_MODEL, "accuracy")
        cast_vote(store, next_blind_pair(store, experiment, "ana"), "left", "ana")
    with FakeOllama(reply=lambda m: {"verdict": "1", "reason": "The first is right."}) as good:
        monkeypatch.setenv("OLLAMA_HOST", good.url)
        yield experiment


def _experiments_page() -> AppTest:
    return run_page("experiments", reviewer="ana")


def test_unreadable_replies_are_counted_shown_inert_and_retried(env, judged):
    at = _experiments_page()
    [warning] = [w for w in at.warning if "have no verdict" in w.value]
    assert warning.value.startswith("2 pairs have no verdict")
    assert [m.value for m in at.metric if m.label == "Pairs with no verdict"] == ["2"]
    unreadable = next(d.value for d in at.dataframe if "reason" in d.value.columns)
    assert unreadable["reason"].str.contains("names no verdict").all()
    assert (unreadable["reply (A first)"] == HOSTILE).all()  # the raw reply, as text
    for element in (*at.markdown, *at.caption, *at.warning):
        # answers (the fake wrote the hostile text as answers too) show escaped, as text
        assert not re.search(r"(?<!\\)<img|(?<!\\)\[click\]", element.value), element.value
    at.button(key="experiments.judge.0.retry").click().run()
    assert not at.exception, at.exception
    assert [m.value for m in at.metric if m.label == "Pairs with no verdict"] == ["0"]
    assert [m.value for m in at.metric if m.label == "Verdicts read"] == ["2 of 2"]
    with Store(env) as store:
        judgments = store.experiments.judgments(judged)
    assert [j["verdict"] for j in judgments] == ["tie", "tie"]  # "1" both ways: a flip
    assert all(j["problem"] is None for j in judgments)


def test_results_page_shows_the_judge_beside_the_votes(env, judged):
    at = run_page("results", check=False)
    at.selectbox[0].select(judged).run()
    assert not at.exception, at.exception
    assert "LLM judge" in [s.value for s in at.subheader]
    assert [m.value for m in at.metric if m.label == "Pairs with no verdict"] == ["2"]
    assert not [b for b in at.button if "Retry" in b.label]  # retried on Experiments
