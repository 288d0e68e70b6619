"""Results page in AppTest: the leaderboard says what it is and never claims more than the votes."""

from __future__ import annotations

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from store import Store
from tests.conftest import ROOT
from tests.shown import shown


@pytest.fixture
def env(monkeypatch, db_path):
    monkeypatch.setenv("LOUPE_DB", str(db_path))
    st.cache_data.clear()
    st.cache_resource.clear()
    return db_path


def _votes(db_path, spec):
    with Store(db_path) as store:
        for a, b, winner, count in spec:
            for _ in range(count):
                store.record_vote(question="q", interaction_a=None, interaction_b=None,
                                  variant_a=a, variant_b=b, winner=winner, reviewer="ana")


def _results() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("views/results.py").run()
    assert not at.exception, at.exception
    return at


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
