"""Experiments: runs that resume, failures kept per answer, blind pairs, votes and the judge."""

from __future__ import annotations

import random

import pytest

from dashboard.experiments import (
    ExperimentRunner,
    cast_vote,
    next_blind_pair,
    pairwise_report,
    parse_questions,
    render_messages,
    run_experiment,
)
from dashboard.judge import judge_human_agreement, parse_verdict, run_judge
from dashboard.llm import OllamaBackend
from tests.fake_ollama import DEFAULT_MODEL, FakeOllama

QUESTIONS = ["How do I reset my password?", "Where is my parcel?", "Can I get a refund?"]


@pytest.fixture
def experiment(store):
    a = store.experiments.add_variant("plain", model=DEFAULT_MODEL, params={"temperature": 0.2})
    b = store.experiments.add_variant("concise", model=DEFAULT_MODEL, system_prompt="Be brief.",
                          template="Answer briefly: {question}")
    set_id = store.experiments.create_question_set("support", [{"question": q} for q in QUESTIONS])
    return store.experiments.create_experiment("plain vs concise", set_id, [a, b])


def _backend_for(server):
    return lambda model: OllamaBackend(host=server.url, timeout=5)


def test_variant_versions_keep_old_ones_readable(store):
    first = store.experiments.add_variant("concise", model="m", system_prompt="Be brief.")
    second = store.experiments.edit_variant(first, system_prompt="Be very brief.")
    assert [v["version"] for v in store.experiments.variant_versions("concise")] == [2, 1]
    assert store.experiments.get_variant(first)["system_prompt"] == "Be brief."
    assert store.experiments.get_variant(second)["system_prompt"] == "Be very brief."
    copy = store.experiments.duplicate_variant(second, "concise-copy")
    assert store.experiments.get_variant(copy)["version"] == 1
    store.experiments.archive_variant("concise")
    assert [v["name"] for v in store.experiments.list_variants()] == ["concise-copy"]
    with pytest.raises(ValueError, match="question"):
        store.experiments.add_variant("bad", template="no placeholder")


def test_template_and_system_prompt_shape_the_messages(store):
    variant = store.experiments.get_variant(store.experiments.add_variant("t", system_prompt="S", template="Q: {question}"))
    assert render_messages(variant, "why?") == [
        {"role": "system", "content": "S"}, {"role": "user", "content": "Q: why?"}]


def test_parse_questions_lines_and_jsonl():
    text = 'plain question\n\n{"question": "with ref", "reference_answer": "R", "category": "c"}\n{bad\n{"answer": 1}'
    parsed = parse_questions(text, "q.txt")
    assert [i["question"] for i in parsed.items] == ["plain question", "with ref"]
    assert parsed.items[1]["reference_answer"] == "R"
    assert parsed.refused[0].startswith("q.txt:4: not valid JSON")
    assert parsed.refused[1] == 'q.txt:5: no "question" text'


def test_run_answers_everything_and_records_the_exact_variant(store, experiment, fake_ollama):
    progress = run_experiment(store, experiment, backend_for=_backend_for(fake_ollama))
    assert (progress.total, progress.done, progress.failed) == (6, 6, 0)
    answers = store.experiments.experiment_answers(experiment)
    assert len(answers) == 6
    concise = [a for a in answers if a["variant_name"] == "concise"]
    assert concise[0]["answer"].startswith("You asked: Answer briefly:")
    sent = [r["body"]["messages"] for r in fake_ollama.requests if r["path"] == "/api/chat"]
    assert {"role": "system", "content": "Be brief."} in [m for msgs in sent for m in msgs]


def test_interrupted_run_resumes_without_asking_again(store, experiment, fake_ollama):
    calls = {"n": 0}

    def stop_after_two():
        calls["n"] += 1
        return calls["n"] > 2

    first = run_experiment(store, experiment, backend_for=_backend_for(fake_ollama),
                           should_stop=stop_after_two)
    assert first.stopped and first.done == 2
    asked = [r["body"]["messages"][-1]["content"] for r in fake_ollama.requests
             if r["path"] == "/api/chat"]
    second = run_experiment(store, experiment, backend_for=_backend_for(fake_ollama))
    assert second.total == 4 and second.done == 4
    asked_again = [r["body"]["messages"][-1]["content"] for r in fake_ollama.requests
                   if r["path"] == "/api/chat"][len(asked):]
    assert len(asked_again) == 4 and not set(asked) & set(asked_again)
    assert len(store.experiments.experiment_answers(experiment)) == 6
    assert run_experiment(store, experiment, backend_for=_backend_for(fake_ollama)).total == 0


def test_failures_are_kept_per_answer_and_can_be_retried(store, fake_ollama):
    good = store.experiments.add_variant("good", model=DEFAULT_MODEL)
    missing = store.experiments.add_variant("missing", model="absent:1b")
    set_id = store.experiments.create_question_set("s", [{"question": q} for q in QUESTIONS])
    experiment = store.experiments.create_experiment("e", set_id, [good, missing])
    progress = run_experiment(store, experiment, backend_for=_backend_for(fake_ollama))
    assert (progress.done, progress.failed) == (6, 3)
    failed = [a for a in store.experiments.experiment_answers(experiment) if a["error"]]
    assert len(failed) == 3 and "absent:1b" in failed[0]["error"]
    fake_ollama.models.append("absent:1b")
    retry = run_experiment(store, experiment, backend_for=_backend_for(fake_ollama), retry_failed=True)
    assert (retry.total, retry.failed) == (3, 0)
    assert not [a for a in store.experiments.experiment_answers(experiment) if a["error"]]
    # the failed attempts are still there: nothing is deleted
    assert store.summary()["interactions"] == 9


def test_background_runner_finishes_and_reports_progress(store, experiment, fake_ollama):
    runner = ExperimentRunner()
    assert runner.start(store, experiment, backend_for=_backend_for(fake_ollama))
    runner.wait(experiment, timeout=30)
    progress = runner.progress(experiment)
    assert (progress.done, progress.total, progress.running) == (6, 6, False)


def test_blind_pair_stores_the_left_side_and_maps_the_choice(store, experiment, fake_ollama):
    run_experiment(store, experiment, backend_for=_backend_for(fake_ollama))
    pair = next_blind_pair(store, experiment, "ana", rng=random.Random(1))
    assert pair.left_side in ("a", "b")
    cast_vote(store, pair, "left", "ana", reason="clearer")
    [vote] = store.experiments.votes(experiment)
    assert vote["left_side"] == pair.left_side
    assert vote["winner"] == pair.left_side  # the left answer won
    assert vote["reason"] == "clearer"
    assert {vote["variant_a"], vote["variant_b"]} == {"plain v1", "concise v1"}
    seen = {(pair.a["interaction_id"], pair.b["interaction_id"])}
    while (pair := next_blind_pair(store, experiment, "ana")) is not None:
        key = (pair.a["interaction_id"], pair.b["interaction_id"])
        assert key not in seen
        seen.add(key)
        cast_vote(store, pair, "right", "ana")
    assert len(seen) == 3
    assert next_blind_pair(store, experiment, "ben") is not None  # another reviewer still votes


def test_left_side_is_randomized():
    from dashboard.experiments import BlindPair
    sides = {BlindPair(1, 1, "q", {}, {}, random.Random(s).choice("ab")).left_side for s in range(20)}
    assert sides == {"a", "b"}


def test_report_has_the_cli_contract(store, experiment, fake_ollama):
    run_experiment(store, experiment, backend_for=_backend_for(fake_ollama))
    for choice in ("left", "right", "tie"):
        cast_vote(store, next_blind_pair(store, experiment, "ana"), choice, "ana")
    report = pairwise_report(store)
    [pair] = report["pairs"]
    assert set(pair) >= {"variant_a", "variant_b", "n", "a_wins", "b_wins", "ties", "both_bad",
                         "a_win_rate", "b_win_rate", "ci_low", "ci_high", "p_value"}
    assert pair["n"] == 3 and 0 <= pair["ci_low"] <= pair["b_win_rate"] <= pair["ci_high"] <= 1
    assert {row["variant"] for row in report["leaderboard"]} == {"plain v1", "concise v1"}


def test_parse_verdict():
    assert parse_verdict("VERDICT: 2\nbecause") == "2"
    assert parse_verdict("**Verdict:** tie") == "tie"
    assert parse_verdict("I like the first") is None


def test_judge_counts_position_flips_as_ties(store, experiment):
    # a judge that always prefers whatever it reads first: pure position bias
    with FakeOllama(reply=lambda messages: {"verdict": "1", "reason": "The first is better."}
                    ) as server:
        run_experiment(store, experiment, backend_for=_backend_for(server))
        judged = run_judge(store, experiment, OllamaBackend(host=server.url, timeout=5),
                           DEFAULT_MODEL, "accuracy")
    assert judged == 3
    verdicts = store.experiments.judgments(experiment)
    assert {j["verdict"] for j in verdicts} == {"tie"}
    assert all(j["verdict_a_first"] != j["verdict_b_first"] for j in verdicts)
    assert store.experiments.votes(experiment) == []  # judge results never mix with human votes


def test_judge_agreement_with_humans(store, experiment):
    def prefer_brief(messages):
        text = messages[-1]["content"]
        if "Answer 1:" not in text:
            return f"You asked: {text}"
        first = text.split("Answer 1:")[1].split("Answer 2:")[0]
        return {"verdict": "1" if "briefly" in first else "2", "reason": "brief wins"}

    with FakeOllama(reply=prefer_brief) as server:
        run_experiment(store, experiment, backend_for=_backend_for(server))
        run_judge(store, experiment, OllamaBackend(host=server.url, timeout=5), DEFAULT_MODEL, "r")
    for _ in range(3):
        pair = next_blind_pair(store, experiment, "ana")
        concise_side = "a" if pair.a["variant_name"] == "concise" else "b"
        choice = "left" if pair.left_side == concise_side else "right"
        cast_vote(store, pair, choice, "ana")
    agreement = judge_human_agreement(store.experiments.judgments(experiment), store.experiments.votes(experiment))
    assert agreement["pairs"] == 3 and agreement["agreement"] == 1.0
    assert agreement["position_flips"] == 0
