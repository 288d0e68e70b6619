"""The LLM judge always yields something readable, or says exactly why not.

Replies are read through the fake Ollama server (which honours ``format`` as Ollama does, or
sends raw junk when asked) and through the real embedded SmolLM2 with a grammar.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from statsmodels.stats.inter_rater import cohens_kappa

from dashboard.experiments import cast_vote, next_blind_pair, run_experiment
from dashboard.judge import (
    VERDICT_SCHEMA,
    judge_messages,
    judge_pair,
    judge_summaries,
    read_verdict,
    run_judge,
)
from dashboard.llm import EMBEDDED_MODEL, EmbeddedBackend, OllamaBackend
from dashboard.stats import cohen_kappa, kappa_interval
from tests.fake_ollama import DEFAULT_MODEL, FakeOllama

QUESTIONS = ["How do I reset my password?", "Where is my parcel?", "Can I get a refund?"]
HOSTILE = ('<img src="http://127.0.0.1:9/x.png" onerror="alert(1)"> [click](http://evil.test) '
           ':red[boom] $x^2$ <script>alert(2)</script>')


@pytest.fixture
def experiment(store):
    a = store.experiments.add_variant("plain", model=DEFAULT_MODEL)
    b = store.experiments.add_variant("concise", model=DEFAULT_MODEL, template="Answer briefly: {question}")
    set_id = store.experiments.create_question_set("support", [{"question": q} for q in QUESTIONS])
    experiment = store.experiments.create_experiment("plain vs concise", set_id, [a, b])
    with FakeOllama() as server:
        run_experiment(store, experiment,
                       backend_for=lambda m: OllamaBackend(host=server.url, timeout=5))
    return experiment


def _judge(store, experiment, **fake):
    with FakeOllama(**fake) as server:
        run_judge(store, experiment, OllamaBackend(host=server.url, timeout=5), DEFAULT_MODEL,
                  "accuracy")
        return server.requests


@pytest.mark.parametrize("reply,verdict,reason", [
    ('{"verdict": "2", "reason": "It is right."}', "2", "It is right."),
    ('```json\n{"verdict": "tie", "reason": "Same."}\n```', "tie", "Same."),
    ('Sure! {"verdict": "1", "reason": "Shorter."} Hope this helps.', "1", "Shorter."),
    ('{"verdict": "Answer 2", "reason": "x"}', "2", "x"),
    ('{"verdict": "1", "reason": "The first one is corr', "1", "The first one is corr"),
    ("VERDICT: 2\nThe second is complete.", "2", "The second is complete."),
    ("**Verdict:** tie", "tie", ""),
])
def test_readable_replies(reply, verdict, reason):
    reading = read_verdict(reply)
    assert (reading.verdict, reading.reason, reading.problem) == (verdict, reason, None)


@pytest.mark.parametrize("reply,problem", [
    ("", "The reply was empty."),
    ("   \n", "The reply was empty."),
    ('{"verdict": "3", "reason": "x"}', 'The verdict "3" is not 1, 2 or tie.'),
    ('{"winner": "first"}', "The reply is JSON without a verdict."),
    ('{"reason": "I was cut', "The reply is not valid JSON (cut off?) and names no verdict."),
    ("I prefer the first answer.", "The reply names no verdict"),
    (HOSTILE, "The reply names no verdict"),
])
def test_unreadable_replies_say_why(reply, problem):
    reading = read_verdict(reply)
    assert reading.verdict is None
    assert reading.problem.startswith(problem)


def test_the_judge_asks_for_the_schema_and_a_faithful_server_follows_it(store, experiment):
    # the echo reply is not JSON: a server held to the schema still answers with a verdict
    requests = _judge(store, experiment)
    chats = [r for r in requests if r["path"] == "/api/chat"]
    assert len(chats) == 6 and all(r["body"]["format"] == VERDICT_SCHEMA for r in chats)
    judgments = store.experiments.judgments(experiment)
    assert len(judgments) == 3
    for judgment in judgments:
        assert judgment["verdict"] in ("a", "b", "tie") and judgment["problem"] is None
        assert json.loads(judgment["reply_a_first"])["verdict"] in ("1", "2", "tie")


def test_valid_replies_are_stored_with_the_raw_reply(store, experiment):
    def prefer_brief(messages):
        first = messages[-1]["content"].split("Answer 1:")[1].split("Answer 2:")[0]
        return {"verdict": "1" if "briefly" in first else "2", "reason": "Brief is better."}

    _judge(store, experiment, reply=prefer_brief)
    judgments = store.experiments.judgments(experiment)
    assert {(j["variant_a"], j["variant_b"], j["verdict"]) for j in judgments} == {
        ("plain v1", "concise v1", "b")}
    assert all(j["rationale"] == "Brief is better." for j in judgments)
    assert all(json.loads(j["reply_b_first"]) == {"verdict": "1", "reason": "Brief is better."}
               for j in judgments)
    [summary] = judge_summaries(judgments, [])
    assert summary["readable"] == 3 and summary["unreadable"] == []
    assert summary["flips"] == 0 and summary["flip_rate"]["rate"] == 0


@pytest.mark.parametrize("junk,problem", [
    ("I like both of them.", "names no verdict"),
    ("", "The reply was empty."),
    ('{"verdict": "maybe"', "not valid JSON"),
    (HOSTILE, "names no verdict"),
])
def test_a_server_ignoring_the_schema_leaves_unreadable_pairs_that_can_be_retried(
        store, experiment, junk, problem):
    _judge(store, experiment, reply=lambda messages: junk, honour_format=False)
    judgments = store.experiments.judgments(experiment)
    assert [j["verdict"] for j in judgments] == [None, None, None]
    for judgment in judgments:
        assert problem in judgment["problem"]
        assert judgment["reply_a_first"] == (junk or None)  # the raw reply, exactly
    [summary] = judge_summaries(judgments, [])
    assert len(summary["unreadable"]) == 3 and summary["readable"] == 0
    assert problem in summary["unreadable"][0]["reason"]
    # retrying asks again only for those pairs, and a readable reply replaces them
    with FakeOllama(reply=lambda m: {"verdict": "tie", "reason": "Both fine."}) as server:
        again = run_judge(store, experiment, OllamaBackend(host=server.url, timeout=5),
                          DEFAULT_MODEL, "accuracy", only_unreadable=True)
        assert again == 3
        assert run_judge(store, experiment, OllamaBackend(host=server.url, timeout=5),
                         DEFAULT_MODEL, "accuracy", only_unreadable=True) == 0
    judgments = store.experiments.judgments(experiment)
    assert [j["verdict"] for j in judgments] == ["tie"] * 3
    assert all(j["problem"] is None for j in judgments)


def test_one_unreadable_order_names_which(store, experiment):
    def only_first_order(messages):
        first = messages[-1]["content"].split("Answer 1:")[1].split("Answer 2:")[0]
        return '{"verdict": "1", "reason": "ok"}' if "briefly" not in first else "no idea"

    _judge(store, experiment, reply=only_first_order, honour_format=False)
    for judgment in store.experiments.judgments(experiment):
        assert judgment["verdict"] is None
        assert judgment["verdict_a_first"] == "a"
        assert judgment["problem"].startswith("Answer B shown first: The reply names no verdict")


def test_the_embedded_model_with_a_grammar_gives_a_readable_verdict():
    backend = EmbeddedBackend()
    if not backend.is_up():
        pytest.fail("the embedded model is part of the install: run `make install`")
    result = judge_pair(backend, EMBEDDED_MODEL, "Accuracy: is it correct?", "What is 2 + 2?",
                        "2 + 2 = 4.", "2 + 2 = 5.")
    assert result.error is None and result.problem is None, result
    assert result.verdict in ("a", "b", "tie")
    for reply in (result.reply_a_first, result.reply_b_first):
        value = json.loads(reply)  # the grammar held it to the schema
        assert value["verdict"] in ("1", "2", "tie") and isinstance(value["reason"], str)


def test_judge_prompt_asks_for_json():
    [_, user] = judge_messages("r", "q", "one", "two")
    assert '"verdict"' in user["content"] and "Answer 1:\none" in user["content"]


# -- calibration against humans ------------------------------------------------------------


def _judgment(n, verdict, a_first=None, b_first=None, model="judge"):
    return {"judge_model": model, "interaction_a": 2 * n, "interaction_b": 2 * n + 1,
            "variant_a": "plain v1", "variant_b": "concise v1", "verdict": verdict,
            "verdict_a_first": a_first or verdict, "verdict_b_first": b_first or verdict,
            "question": f"question {n}", "rationale": f"reason {n}", "problem": None,
            "error": None}


def _vote(n, winner, swapped=False):
    a, b = 2 * n, 2 * n + 1
    if swapped:
        a, b, winner = b, a, {"a": "b", "b": "a"}.get(winner, winner)
    return {"interaction_a": a, "interaction_b": b, "winner": winner}


def test_agreement_kappa_confusion_and_disagreements():
    humans = ["a", "a", "b", "b", "tie", "a", "b", "a", "b", "a"]
    judge = ["a", "a", "b", "a", "tie", "a", "b", "b", "b", "a"]
    judgments = [_judgment(n, v) for n, v in enumerate(judge)]
    judgments[0] = _judgment(0, "tie", "a", "tie")  # flipped with the position: a tie
    votes = [_vote(n, w, swapped=n % 2 == 1) for n, w in enumerate(humans)]
    votes += [_vote(9, "b"), _vote(9, "both_bad")]  # pair 9: a, b, tie -> a shared top: tie
    [summary] = judge_summaries(judgments, votes)
    human = humans[:9] + ["tie"]
    verdicts = ["tie"] + judge[1:]
    agree = sum(h == j for h, j in zip(human, verdicts))
    assert summary["pairs"] == 10 and summary["agree"] == agree
    assert summary["agreement"]["low"] < agree / 10 < summary["agreement"]["high"]
    assert summary["kappa"] == pytest.approx(cohen_kappa(human, verdicts,
                                                         labels=("a", "b", "tie")))
    low, high = summary["kappa_interval"]
    assert low < summary["kappa"] < high
    assert summary["flips"] == 1 and summary["flip_checked"] == 10
    assert sum(sum(row.values()) for row in summary["confusion"].values()) == 10
    assert summary["confusion"]["a"]["tie"] == 1  # pair 0: humans a, judge tie
    questions = {d["question"] for d in summary["disagreements"]}
    assert questions == {f"question {n}" for n in range(10) if human[n] != verdicts[n]}
    row = next(d for d in summary["disagreements"] if d["question"] == "question 3")
    assert (row["humans"], row["judge"]) == ("concise v1 (1 votes)", "plain v1")


def test_kappa_needs_five_pairs_and_its_interval_is_honest_when_all_agree():
    judgments = [_judgment(n, v) for n, v in enumerate(["a", "b", "a"])]
    votes = [_vote(n, w) for n, w in enumerate(["a", "b", "a"])]
    [summary] = judge_summaries(judgments, votes)
    assert summary["agreement"]["rate"] == 1 and summary["agreement"]["low"] < 0.4
    assert summary["kappa"] is None
    low, high = kappa_interval(["a", "b", "a", "b", "a"], ["a", "b", "a", "b", "a"])
    assert high == 1 and low < 0.5  # five agreements out of five prove little


def test_kappa_interval_contains_the_large_sample_interval():
    rng = np.random.default_rng(4)
    x = rng.choice(["a", "b", "tie"], size=300, p=[0.45, 0.4, 0.15])
    y = np.where(rng.random(300) < 0.7, x, rng.choice(["a", "b", "tie"], size=300))
    table = np.array([[np.sum((x == p) & (y == q)) for q in ("a", "b", "tie")]
                      for p in ("a", "b", "tie")])
    reference = cohens_kappa(table)
    low, high = kappa_interval(list(x), list(y), labels=("a", "b", "tie"))
    assert low <= reference.kappa_low + 1e-9 and high >= reference.kappa_upp - 1e-9
    assert high - low < 1.3 * (reference.kappa_upp - reference.kappa_low)


def test_agreement_with_votes_cast_on_the_vote_page(store, experiment):
    def prefer_brief(messages):
        first = messages[-1]["content"].split("Answer 1:")[1].split("Answer 2:")[0]
        return {"verdict": "1" if "briefly" in first else "2", "reason": "brief"}

    _judge(store, experiment, reply=prefer_brief)
    for _ in range(3):
        pair = next_blind_pair(store, experiment, "ana")
        concise = "a" if pair.a["variant_name"] == "concise" else "b"
        cast_vote(store, pair, "left" if pair.left_side == concise else "right", "ana")
    [summary] = judge_summaries(store.experiments.judgments(experiment), store.experiments.votes(experiment))
    assert summary["pairs"] == 3 and summary["agreement"]["rate"] == 1
    assert summary["disagreements"] == []
