"""A newcomer's first visit on the demo data: Experiments, Vote and Results show the demo
experiment, its votes and its judge verdicts instead of an empty state."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import demo
from store import Store
from tests.pages import run_page, use_database
from tests.paths import free_port

NOW = datetime(2026, 3, 2, 16, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo-pages") / "demo.db"
    with Store(path) as store:
        demo.load_demo(store, seed=7, now=NOW)
    return path


@pytest.fixture
def env(monkeypatch, demo_db):
    use_database(monkeypatch, demo_db, ollama=f"http://127.0.0.1:{free_port()}")  # no Ollama here
    return demo_db


def _page(name: str, reviewer: str | None) -> AppTest:
    return run_page(name, reviewer=reviewer)


def _text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [s.value for s in at.success] + [i.value for i in at.info]
    return "\n".join(parts)


def test_experiments_page_shows_the_finished_demo_experiment(env):
    at = _page("experiments", "ana")
    [picker] = [s for s in at.selectbox if s.label == "Experiment"]
    assert picker.format_func(picker.value).startswith("baseline vs concise vs friendly (demo)")
    [bar] = at.get("progress")
    assert "99 of 99 answers · 0 failed" in bar.proto.text and "votes" in bar.proto.text
    text = _text(at)
    assert "baseline v1" in text and "concise v2" in text
    assert "Reference answer:" in text
    assert "No answers yet" not in text
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Verdicts read"] == "99 of 99"
    assert metrics["Pairs with no verdict"] == "0"
    assert 0 < int(metrics["Flips when the answers swap"].rstrip("%")) < 100
    assert metrics["Agrees with the human majority"].endswith("%")
    [verdicts] = [d for d in at.dataframe if "judge_model" in d.value.columns]
    assert set(verdicts.value["judge_model"]) == {demo.JUDGE_MODEL}


def test_vote_page_offers_a_newcomer_a_blind_pair_of_the_demo(env):
    at = _page("vote", "newcomer")
    text = _text(at)
    assert "No experiment has answers yet" not in text
    assert "You have voted on every pair" not in text
    assert "Answer 1" in text and "Answer 2" in text
    questions = {item.asks[0] for item in demo.ENTRIES}
    assert any(question in text for question in questions)
    assert not any(label in text for label in ("baseline v1", "concise v2", "friendly v1"))
    at.button(key="vote.tie").click().run()
    assert not at.exception
    with Store(env) as store:
        [mine] = [v for v in store.experiments.votes() if v["reviewer"] == "newcomer"]
        assert mine["winner"] == "tie" and mine["source"] == "vote"
        store.db.execute("DELETE FROM comparisons WHERE id = ?", [mine["id"]])
        store.db.conn.commit()


def test_results_page_shows_win_rates_and_leaderboard_of_the_demo_votes(env):
    at = _page("results", None)
    assert not any("No votes yet" in i.value for i in at.info)
    assert [s.value for s in at.subheader] == ["Win rates", "Leaderboard", "Bias checks"]
    assert len(at.get("plotly_chart")) == 2
    table, board = at.dataframe
    assert list(board.value["variant"])[0] == "concise v2"
    rows = table.value.set_index(["variant_b", "variant_a"])
    assert len(rows) == 3
    assert rows.loc[("concise v2", "baseline v1"), "p_value"] < 0.01
    assert rows.loc[("friendly v1", "baseline v1"), "p_value"] > 0.05
    assert (rows["n"] >= 80).all()
