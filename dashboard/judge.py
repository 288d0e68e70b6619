"""LLM-as-judge: a model compares two answers under a rubric, twice with the positions swapped.

A verdict that flips when the answers swap places is position bias, not preference: it counts as
a tie. Judge verdicts are stored apart from human votes and compared with them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dashboard.llm import Backend, ChatStream, GenerationOptions
from store import Store

DEFAULT_RUBRIC = "Accuracy: is it correct?\nHelpfulness: does it answer the question?\nConciseness: no padding."
_VERDICT = re.compile(r"verdict\s*[:=]\s*\**\s*(1|2|tie)\b", re.IGNORECASE)


def judge_messages(rubric: str, question: str, first: str, second: str) -> list[dict[str, str]]:
    """The prompt that asks a judge model to compare two answers."""
    system = (
        "You are an impartial judge comparing two answers to the same question. "
        "Judge only by the rubric. Ignore the order of the answers and their length."
    )
    user = (
        f"Rubric:\n{rubric.strip() or DEFAULT_RUBRIC}\n\n"
        f"Question:\n{question}\n\n"
        f"Answer 1:\n{first}\n\n"
        f"Answer 2:\n{second}\n\n"
        "Reply with one line 'VERDICT: 1', 'VERDICT: 2' or 'VERDICT: tie', "
        "then one sentence explaining why."
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def parse_verdict(text: str) -> str | None:
    """'1', '2' or 'tie' from a judge's reply, or None when it gave none."""
    match = _VERDICT.search(text or "")
    return match.group(1).lower() if match else None


@dataclass(frozen=True)
class JudgeResult:
    """The judge's verdict on answers a and b, asked in both orders."""

    verdict: str | None  # a, b, tie; None when the judge failed
    verdict_a_first: str | None
    verdict_b_first: str | None
    rationale: str
    error: str | None = None


def judge_pair(
    backend: Backend, model: str, rubric: str, question: str, answer_a: str, answer_b: str
) -> JudgeResult:
    """Ask twice (a first, then b first); a verdict that flips with position is a tie."""
    options = GenerationOptions(temperature=0.0, max_tokens=200, seed=0)
    first = ChatStream(backend, model, judge_messages(rubric, question, answer_a, answer_b), options).run()
    second = ChatStream(backend, model, judge_messages(rubric, question, answer_b, answer_a), options).run()
    error = first.error or second.error
    if error:
        return JudgeResult(None, None, None, "", error)
    a_first = {"1": "a", "2": "b", "tie": "tie"}.get(parse_verdict(first.text) or "")
    b_first = {"1": "b", "2": "a", "tie": "tie"}.get(parse_verdict(second.text) or "")
    if a_first is None or b_first is None:
        return JudgeResult(
            None, a_first, b_first, first.text.strip()[:500],
            "The judge did not give a verdict in the expected form.",
        )
    verdict = a_first if a_first == b_first else "tie"
    return JudgeResult(verdict, a_first, b_first, first.text.strip()[:500])


def run_judge(
    store: Store,
    experiment_id: int,
    backend: Backend,
    model: str,
    rubric: str,
    on_progress: Callable[[int, int], None] | None = None,
) -> int:
    """Judge every answered pair of an experiment not yet judged by this model; return how many."""
    answers = [r for r in store.experiment_answers(experiment_id) if r["answer"] and not r["error"]]
    by_item: dict[int, list[dict[str, Any]]] = {}
    for row in answers:
        by_item.setdefault(row["item_id"], []).append(row)
    done = {(j["interaction_a"], j["interaction_b"]) for j in store.judgments(experiment_id)
            if j["judge_model"] == model and j["verdict"]}
    todo = [
        (a, b)
        for rows in by_item.values()
        for i, a in enumerate(rows)
        for b in rows[i + 1 :]
        if (a["interaction_id"], b["interaction_id"]) not in done
    ]
    for count, (a, b) in enumerate(todo, 1):
        result = judge_pair(backend, model, rubric, a["question"], a["answer"], b["answer"])
        store.record_judgment(
            experiment_id=experiment_id,
            item_id=a["item_id"],
            interaction_a=a["interaction_id"],
            interaction_b=b["interaction_id"],
            variant_a=f"{a['variant_name']} v{a['variant_version']}",
            variant_b=f"{b['variant_name']} v{b['variant_version']}",
            judge_model=model,
            judge_backend=backend.name,
            criteria=rubric,
            verdict=result.verdict,
            verdict_a_first=result.verdict_a_first,
            verdict_b_first=result.verdict_b_first,
            rationale=result.rationale,
            error=result.error,
        )
        if on_progress:
            on_progress(count, len(todo))
    return len(todo)


def judge_human_agreement(
    judgments: list[dict[str, Any]], votes: list[dict[str, Any]]
) -> dict[str, Any]:
    """How often the judge agrees with the human majority on the same pairs (both-bad = tie)."""
    human: dict[tuple[int, int], list[str]] = {}
    for vote in votes:
        key = (vote["interaction_a"], vote["interaction_b"])
        winner = "tie" if vote["winner"] == "both_bad" else vote["winner"]
        if key in human or (key[1], key[0]) not in human:
            human.setdefault(key, []).append(winner)
        else:
            human[(key[1], key[0])].append({"a": "b", "b": "a"}.get(winner, winner))
    agree = total = flips = 0
    for judgment in judgments:
        if judgment.get("verdict_a_first") and judgment.get("verdict_b_first"):
            flips += judgment["verdict_a_first"] != judgment["verdict_b_first"]
        if not judgment.get("verdict"):
            continue
        key = (judgment["interaction_a"], judgment["interaction_b"])
        verdicts = human.get(key)
        if verdicts is None and (key[1], key[0]) in human:
            verdicts = [{"a": "b", "b": "a"}.get(v, v) for v in human[(key[1], key[0])]]
        if not verdicts:
            continue
        majority = max(set(verdicts), key=verdicts.count)
        total += 1
        agree += majority == judgment["verdict"]
    return {
        "pairs": total,
        "agreement": agree / total if total else None,
        "position_flips": flips,
        "judged": len(judgments),
    }
