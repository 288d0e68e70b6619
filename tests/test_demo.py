"""The demo data set: labelled, varied enough for every page, deterministic, loaded once."""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta, timezone

import pytest

from dashboard import demo
from store import Store

NOW = datetime(2026, 3, 2, 16, 30, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("demo") / "demo.db")
    result = demo.load_demo(store, seed=7, now=NOW)
    yield store, result
    store.close()


def q(store: Store, sql: str, params=()) -> list[dict]:
    return store._rows(sql, params)


def test_generation_is_deterministic_for_a_seed():
    one, two = demo.generate(7, NOW), demo.generate(7, NOW)
    assert one == two
    other = demo.generate(8, NOW)
    assert [t["question"] for t in other.turns][:50] != [t["question"] for t in one.turns][:50]


def test_everything_is_labelled_demo(loaded):
    store, result = loaded
    assert q(store, "SELECT DISTINCT source FROM interactions") == [{"source": "demo"}]
    assert q(store, "SELECT DISTINCT source FROM conversations") == [{"source": "demo"}]
    assert 1500 <= result.counts["interactions"] <= 3000
    assert store.summary()["interactions"] == result.counts["interactions"]


def test_several_models_variants_and_reviewers(loaded):
    store, _ = loaded
    models = q(store, "SELECT model, COUNT(*) AS n FROM interactions GROUP BY model")
    assert {m["model"] for m in models} == {"llama3.2:3b", "qwen2.5:7b", "mistral:7b"}
    assert min(m["n"] for m in models) > 300
    variants = q(store, "SELECT name, version, system_prompt FROM variants ORDER BY name, version")
    assert [(v["name"], v["version"]) for v in variants] == [
        ("baseline", 1), ("concise", 1), ("concise", 2), ("friendly", 1)]
    assert all(v["system_prompt"] for v in variants)
    used = q(store, "SELECT DISTINCT variant_id FROM interactions")
    assert len(used) == 4
    reviewers = q(store, "SELECT reviewer, COUNT(*) AS n FROM ratings GROUP BY reviewer")
    assert 4 <= len(reviewers) <= 6 and min(r["n"] for r in reviewers) > 100


def test_many_items_have_two_or_three_reviewers_who_partly_disagree(loaded):
    store, _ = loaded
    rated = q(store, "SELECT interaction_id, COUNT(*) AS n FROM ratings GROUP BY interaction_id")
    overlap = [r for r in rated if r["n"] >= 2]
    assert len(overlap) / len(rated) > 0.3
    assert any(r["n"] == 3 for r in rated)
    pairs = q(store, "SELECT a.stars AS x, b.stars AS y FROM ratings a JOIN ratings b"
                     " ON a.interaction_id = b.interaction_id AND a.reviewer < b.reviewer"
                     " WHERE a.stars IS NOT NULL AND b.stars IS NOT NULL")
    same = sum(p["x"] == p["y"] for p in pairs) / len(pairs)
    close = sum(abs(p["x"] - p["y"]) <= 1 for p in pairs) / len(pairs)
    assert 0.25 < same < 0.75 and close > 0.8  # real but partial agreement


def test_failures_have_an_error_and_no_answer(loaded):
    store, _ = loaded
    failed = q(store, "SELECT * FROM interactions WHERE error IS NOT NULL")
    assert 20 <= len(failed) <= 150
    assert all(f["answer"] is None for f in failed)
    assert not q(store, "SELECT 1 FROM ratings r JOIN interactions i ON i.id = r.interaction_id"
                        " WHERE i.error IS NOT NULL")
    assert not q(store, "SELECT 1 FROM interactions WHERE error IS NULL AND answer IS NULL")


def test_conversations_have_several_turns_and_re_asks(loaded):
    store, _ = loaded
    sizes = q(store, "SELECT conversation_id, COUNT(*) AS n FROM interactions GROUP BY 1")
    assert sum(s["n"] >= 2 for s in sizes) > 200 and max(s["n"] for s in sizes) >= 4
    reasks = 0
    for size in sizes:
        if size["n"] < 2:
            continue
        turns = store.conversation_turns(size["conversation_id"])
        assert [t["turn"] for t in turns] == list(range(1, len(turns) + 1))
        for before, after in zip(turns, turns[1:]):
            bad = before["error"] is not None or (before["stars_min"] or 5) <= 2
            if bad and before["question"] in after["question"]:
                reasks += 1
    assert reasks > 50  # the same question again after a failure or a poor answer


def test_low_ratings_carry_tags_comments_and_some_ideal_answers(loaded):
    store, _ = loaded
    low = q(store, "SELECT * FROM ratings WHERE stars <= 2")
    tagged = [r for r in low if r["tags"] != "[]"]
    assert len(tagged) / len(low) > 0.6
    high_tagged = q(store, "SELECT COUNT(*) AS n FROM ratings WHERE stars = 5 AND tags LIKE '%wrong%'")
    assert high_tagged[0]["n"] == 0
    assert sum(1 for r in low if r["comment"]) > 50
    assert sum(1 for r in low if r["ideal_answer"]) > 40
    tags = {r["tag"] for r in q(store, "SELECT DISTINCT tag FROM rating_tags")}
    assert {"wrong", "incomplete", "too long", "off-topic", "hallucination"} <= tags


def test_speed_differs_by_model(loaded):
    store, _ = loaded
    speed = {
        r["model"]: r for r in q(store, "SELECT model, AVG(ttft_ms) AS ttft,"
                                        " AVG(completion_tokens * 1000.0 / (latency_ms - ttft_ms)) AS tps,"
                                        " AVG(prompt_tokens) AS prompt FROM interactions"
                                        " WHERE answer IS NOT NULL GROUP BY model")
    }
    assert speed["llama3.2:3b"]["ttft"] < speed["mistral:7b"]["ttft"]
    assert speed["llama3.2:3b"]["tps"] > 1.5 * speed["qwen2.5:7b"]["tps"]
    assert all(s["prompt"] > 20 for s in speed.values())


def test_quality_differs_by_model_and_the_second_concise_version_is_better(loaded):
    store, _ = loaded
    by_model = {r["model"]: r["m"] for r in q(
        store, "SELECT i.model, AVG(r.stars) AS m FROM ratings r"
               " JOIN interactions i ON i.id = r.interaction_id GROUP BY i.model")}
    assert by_model["qwen2.5:7b"] > by_model["llama3.2:3b"] + 0.2
    by_version = {r["version"]: r["m"] for r in q(
        store, "SELECT v.version, AVG(r.stars) AS m FROM ratings r"
               " JOIN interactions i ON i.id = r.interaction_id"
               " JOIN variants v ON v.id = i.variant_id WHERE v.name = 'concise' GROUP BY v.version")}
    assert by_version[2] > by_version[1]


def test_a_few_weeks_of_timestamps_ending_today(loaded):
    store, _ = loaded
    span = q(store, "SELECT MIN(created_at) AS lo, MAX(created_at) AS hi FROM interactions")[0]
    first = datetime.fromisoformat(span["lo"].replace("Z", "+00:00"))
    last = datetime.fromisoformat(span["hi"].replace("Z", "+00:00"))
    assert last <= NOW and last.date() == NOW.date()
    assert timedelta(days=21) <= NOW - first <= timedelta(days=demo.DAYS + 1)
    late = q(store, "SELECT COUNT(*) AS n FROM ratings WHERE created_at > ?",
             [NOW.strftime("%Y-%m-%dT%H:%M:%S")])
    assert late[0]["n"] == 0
    days = q(store, "SELECT COUNT(DISTINCT substr(created_at, 1, 10)) AS n FROM interactions")
    assert days[0]["n"] >= 25


def test_questions_are_varied_and_some_are_korean(loaded):
    store, _ = loaded
    questions = [r["question"] for r in q(store, "SELECT question FROM interactions")]
    assert len(set(questions)) > 100
    assert sum(any("\uac00" <= c <= "\ud7a3" for c in text) for text in questions) > 20
    topics = {e.topic for e in demo.ENTRIES}
    assert topics == {"billing", "shipping", "account", "setup", "api"}
    answers = statistics.mean(len(r["answer"]) for r in q(
        store, "SELECT answer FROM interactions WHERE answer IS NOT NULL"))
    assert answers > 100


def test_loading_twice_adds_nothing_and_replace_keeps_other_rows(tmp_path):
    store = Store(tmp_path / "twice.db")
    try:
        mine = store.add_question(store.start_conversation(reviewer="ana"), "a real question")
        store.save_rating(mine, "ana", stars=5)
        first = demo.load_demo(store, seed=3, now=NOW)
        counts = store.summary()
        again = demo.load_demo(store, seed=3, now=NOW)
        assert again.skipped and again.existing == first.counts["interactions"]
        assert store.summary() == counts
        replaced = demo.load_demo(store, seed=3, now=NOW, replace=True)
        assert not replaced.skipped and replaced.removed == first.counts["interactions"]
        assert store.summary() == counts
        assert store.get_interaction(mine)["question"] == "a real question"
        assert store.get_rating(mine, "ana")["stars"] == 5
        assert q(store, "SELECT COUNT(*) AS n FROM conversations WHERE source = 'chat'")[0]["n"] == 1
        assert store.pragma("integrity_check") == "ok"
    finally:
        store.close()


def test_replace_clears_what_refers_to_demo_rows(tmp_path):
    store = Store(tmp_path / "votes.db")
    try:
        demo.load_demo(store, seed=1, now=NOW)
        a, b = [r["id"] for r in q(store, "SELECT id FROM interactions LIMIT 2")]
        store.db.execute(
            "INSERT INTO comparisons (question, interaction_a, interaction_b, winner, created_at)"
            " VALUES ('q', ?, ?, 'a', '2026-03-01T00:00:00.000Z')", [a, b])
        store.db.conn.commit()
        result = demo.load_demo(store, seed=1, now=NOW, replace=True)
        assert result.removed > 0
        assert store.summary()["comparisons"] == 0
    finally:
        store.close()


def test_summary_lines_name_what_was_loaded(loaded):
    _, result = loaded
    text = "\n".join(result.lines())
    for word in ("source = demo", "llama3.2:3b", "concise v2", "ana", "rated by two or more",
                 "calls failed", "re-asked"):
        assert word in text
