"""The demo data set: labelled, varied enough for every page, deterministic, loaded once."""

from __future__ import annotations

import itertools
import json
import statistics
from datetime import UTC, datetime, timedelta

import pytest

from dashboard import demo
from dashboard.experiments import blind_pairs_left, next_blind_pair, pairwise_report
from dashboard.judge import judge_human_agreement
from store import Store
from tests.test_cli_import import cli

NOW = datetime(2026, 3, 2, 16, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    with Store(tmp_path_factory.mktemp("demo") / "demo.db") as store:
        result = demo.load_demo(store, seed=7, now=NOW)
        yield store, result


def q(store: Store, sql: str, params=()) -> list[dict]:
    return store.rows(sql, params)


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
    sizes = q(store, "SELECT conversation_id, COUNT(*) AS n FROM interactions"
                     " WHERE conversation_id IS NOT NULL GROUP BY 1")
    assert sum(s["n"] >= 2 for s in sizes) > 200 and max(s["n"] for s in sizes) >= 4
    reasks = 0
    for size in sizes:
        if size["n"] < 2:
            continue
        turns = store.ingest.conversation_turns(size["conversation_id"])
        assert [t["turn"] for t in turns] == list(range(1, len(turns) + 1))
        for before, after in itertools.pairwise(turns):
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
    with Store(tmp_path / "twice.db") as store:
        mine = store.ingest.add_question(store.ingest.start_conversation(reviewer="ana"), "a real question")
        store.review.save_rating(mine, "ana", stars=5)
        first = demo.load_demo(store, seed=3, now=NOW)
        counts = store.summary()
        again = demo.load_demo(store, seed=3, now=NOW)
        assert again.skipped and again.existing == first.counts["interactions"]
        assert store.summary() == counts
        replaced = demo.load_demo(store, seed=3, now=NOW, replace=True)
        assert not replaced.skipped and replaced.removed == first.counts["interactions"]
        assert store.summary() == counts
        assert store.ingest.get_interaction(mine)["question"] == "a real question"
        assert store.review.get_rating(mine, "ana")["stars"] == 5
        assert q(store, "SELECT COUNT(*) AS n FROM conversations WHERE source = 'chat'")[0]["n"] == 1
        assert store.pragma("integrity_check") == "ok"


def test_replace_clears_what_refers_to_demo_rows(tmp_path):
    with Store(tmp_path / "votes.db") as store:
        first = demo.load_demo(store, seed=1, now=NOW)
        a, b = [r["id"] for r in q(store, "SELECT id FROM interactions LIMIT 2")]
        store.db.execute(
            "INSERT INTO comparisons (question, interaction_a, interaction_b, winner, created_at)"
            " VALUES ('q', ?, ?, 'a', '2026-03-01T00:00:00.000Z')", [a, b])
        store.db.conn.commit()
        result = demo.load_demo(store, seed=1, now=NOW, replace=True)
        assert result.removed > 0
        # the vote on demo answers went with them; the demo's own votes were loaded again
        assert not q(store, "SELECT 1 FROM comparisons WHERE source != 'demo'")
        assert store.summary()["comparisons"] == first.counts["votes"] == result.counts["votes"]


def test_summary_lines_name_what_was_loaded(loaded):
    _, result = loaded
    text = "\n".join(result.lines())
    for word in ("source = demo", "llama3.2:3b", "concise v2", "ana", "rated by two or more",
                 "calls failed", "re-asked", "blind votes", "judge verdicts", "demo-judge"):
        assert word in text


# -- the finished experiment ------------------------------------------------------------------


def _demo_experiment(store: Store) -> dict:
    [experiment] = store.experiments.list_experiments()
    return experiment


def test_a_finished_experiment_is_stored_like_a_real_run(loaded):
    store, result = loaded
    summary = _demo_experiment(store)
    assert summary["due"] == summary["done"] == 33 * 3 and summary["failed"] == 0
    experiment = store.experiments.get_experiment(summary["id"])
    assert [demo.variant_label(v) for v in experiment["variants"]] == [
        "baseline v1", "concise v2", "friendly v1"]
    [question_set] = store.experiments.list_question_sets()
    assert question_set["size"] == 33 and question_set["origin"] == "demo"
    items = store.experiments.question_set_items(question_set["id"])
    assert all(i["reference_answer"] and i["category"] for i in items)
    answers = store.experiments.experiment_answers(summary["id"])
    assert len(answers) == 99 and all(a["answer"] and not a["error"] for a in answers)
    rows = q(store, "SELECT * FROM interactions WHERE experiment_id IS NOT NULL")
    assert {r["source"] for r in rows} == {"demo"}
    assert all(r["conversation_id"] is None and r["model"] and r["latency_ms"] for r in rows)
    by_id = {v["id"]: v for v in experiment["variants"]}
    # each answer carries the exact prompt of the variant version that produced it
    assert all(r["system_prompt"] == by_id[r["variant_id"]]["system_prompt"] for r in rows)
    assert result.counts["interactions"] == store.summary()["interactions"]


def test_votes_are_blind_pairwise_votes_of_the_demo_reviewers(loaded):
    store, _ = loaded
    experiment_id = _demo_experiment(store)["id"]
    answers = {a["interaction_id"]: a for a in store.experiments.experiment_answers(experiment_id)}
    votes = store.experiments.votes(experiment_id)
    assert {v["reviewer"] for v in votes} == {r.name for r in demo.REVIEWERS}
    assert {v["source"] for v in votes} == {"demo"}
    for vote in votes:
        a, b = answers[vote["interaction_a"]], answers[vote["interaction_b"]]
        assert a["item_id"] == b["item_id"] == vote["item_id"]
        assert vote["question"] == a["question"]
        assert vote["variant_a"] == f"{a['variant_name']} v{a['variant_version']}"
        assert vote["variant_b"] == f"{b['variant_name']} v{b['variant_version']}"
        assert (vote["length_a"], vote["length_b"]) == (len(a["answer"]), len(b["answer"]))
        assert vote["left_side"] in ("a", "b") and vote["created_at"] <= NOW.isoformat()
    # a reviewer votes on a pair once
    seen = [(v["reviewer"], v["interaction_a"], v["interaction_b"]) for v in votes]
    assert len(seen) == len(set(seen))
    left_won = sum(v["winner"] == v["left_side"] for v in votes if v["winner"] in ("a", "b"))
    assert 0.35 < left_won / sum(v["winner"] in ("a", "b") for v in votes) < 0.65


def test_every_pair_has_enough_votes_for_honest_intervals(loaded):
    store, _ = loaded
    report = pairwise_report(store, _demo_experiment(store)["id"])
    pairs = {(p["variant_b"], p["variant_a"]): p for p in report["pairs"]}
    assert len(pairs) == 3
    for pair in pairs.values():
        assert 60 <= pair["a_wins"] + pair["b_wins"] <= 120
        assert pair["ties"] > 0
    assert sum(p["both_bad"] for p in pairs.values()) > 0
    clear = pairs[("concise v2", "baseline v1")]
    assert clear["p_value"] < 0.01 and clear["ci_low"] > 0.5
    close = pairs[("friendly v1", "baseline v1")]
    assert close["ci_low"] < 0.5 < close["ci_high"]
    assert report["leaderboard"][0]["variant"] == "concise v2"


def test_judge_verdicts_both_orders_a_few_flips_and_partial_agreement(loaded):
    store, _ = loaded
    experiment_id = _demo_experiment(store)["id"]
    judgments = store.experiments.judgments(experiment_id)
    assert len(judgments) == 99
    assert {j["judge_model"] for j in judgments} == {demo.JUDGE_MODEL}
    assert "demo" in demo.JUDGE_MODEL and "no model" in demo.JUDGE_MODEL
    for judgment in judgments:
        a_first, b_first = judgment["verdict_a_first"], judgment["verdict_b_first"]
        assert a_first in ("a", "b", "tie") and b_first in ("a", "b", "tie")
        assert judgment["verdict"] == (a_first if a_first == b_first else "tie")
        assert judgment["rationale"].startswith("VERDICT: ") and not judgment["error"]
    agreement = judge_human_agreement(judgments, store.experiments.votes(experiment_id))
    assert 3 <= agreement["position_flips"] <= 25
    assert agreement["pairs"] >= 90
    assert 0.45 <= agreement["agreement"] <= 0.85  # agrees often, not always


def test_a_new_reviewer_has_every_pair_left_to_vote_on(loaded):
    store, _ = loaded
    experiment_id = _demo_experiment(store)["id"]
    assert len(blind_pairs_left(store, experiment_id, "newcomer")) == 99
    assert next_blind_pair(store, experiment_id, "newcomer") is not None
    left_for_ana = len(blind_pairs_left(store, experiment_id, "ana"))
    assert 0 < left_for_ana < 99


def test_the_experiment_depends_on_the_seed_not_on_the_day():
    today = demo.generate(7, NOW).experiments[0]
    later = demo.generate(7, NOW + timedelta(days=3)).experiments[0]
    assert [v["winner"] for v in today["votes"]] == [v["winner"] for v in later["votes"]]
    assert [j["verdict"] for j in today["judgments"]] == [j["verdict"] for j in later["judgments"]]
    other = demo.generate(8, NOW).experiments[0]
    assert [v["winner"] for v in other["votes"]] != [v["winner"] for v in today["votes"]]


def test_replace_reloads_the_experiment_and_keeps_the_teams_own(tmp_path):
    with Store(tmp_path / "experiments.db") as store:
        demo.load_demo(store, seed=2, now=NOW)
        variant = store.experiments.add_variant("mine")
        set_id = store.experiments.create_question_set("our set", [{"question": "Is it on?"}])
        own = store.experiments.create_experiment("ours", set_id, [variant, store.experiments.add_variant("theirs")])
        before = store.summary()
        again = demo.load_demo(store, seed=2, now=NOW)
        assert again.skipped and store.summary() == before
        demo.load_demo(store, seed=2, now=NOW, replace=True)
        assert store.summary() == before
        names = [e["name"] for e in store.experiments.list_experiments()]
        assert sorted(names) == sorted(["ours", demo.generate(2, NOW).experiments[0]["name"]])
        assert store.experiments.get_experiment(own)["question_set"] == "our set"
        assert [s["name"] for s in store.experiments.list_question_sets()].count("Support questions (demo)") == 1
        assert len(q(store, "SELECT * FROM judgments")) == 99
        assert store.pragma("integrity_check") == "ok"
        assert not q(store, "PRAGMA foreign_key_check")


def test_stats_pairwise_json_on_the_demo_gives_real_intervals(tmp_path):
    db = str(tmp_path / "demo.db")
    assert cli("demo", "--db", db).returncode == 0
    done = cli("stats", "pairwise", "--json", "--db", db)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert len(report["pairs"]) == 3
    for pair in report["pairs"]:
        assert 0 < pair["ci_low"] < pair["b_win_rate"] < pair["ci_high"] < 1
        assert 0.08 < pair["ci_high"] - pair["ci_low"] < 0.3  # neither a point nor everything
    assert any(p["ci_low"] > 0.5 or p["ci_high"] < 0.5 for p in report["pairs"])
    assert any(p["ci_low"] < 0.5 < p["ci_high"] for p in report["pairs"])
    for row in report["leaderboard"]:
        assert row["ci_low"] < row["score"] < row["ci_high"]
        assert row["ci_high"] - row["ci_low"] < 150
    assert report["position_bias"]["n"] > 150
