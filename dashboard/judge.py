"""LLM-as-judge: a model compares two answers under a rubric, twice with the positions swapped.

The judge is asked for JSON that follows ``VERDICT_SCHEMA``; backends that can constrain their
output to a schema (Ollama's ``format``, llama.cpp's grammar) are told to. Replies are read
leniently (JSON, JSON in a code fence or cut off, a 'VERDICT: 1' line); a reply that still
names no verdict is kept with the reason, so it can be shown and retried.

A verdict that flips when the answers swap places is position bias, not preference: it counts as
a tie. Judge verdicts are stored apart from human votes and compared with them.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dashboard.llm import Backend, ChatStream, GenerationOptions
from dashboard.pairwise import exact_interval
from dashboard.stats import MIN_SHARED_ITEMS, cohen_kappa, kappa_interval
from store import Store

DEFAULT_RUBRIC = "Accuracy: is it correct?\nHelpfulness: does it answer the question?\nConciseness: no padding."
VERDICT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "verdict": {"type": "string", "enum": ["1", "2", "tie"]},
        "reason": {"type": "string"},
    },
    "required": ["verdict", "reason"],
}
OUTCOMES = ("a", "b", "tie")  # a judgment's verdict: answer a, answer b, or a tie
_LOOSE_VERDICT = re.compile(r"verdict\W{0,6}(1|2|tie)\b", re.IGNORECASE)
_FENCE = re.compile(r"^```[\w-]*\s*\n?(.*?)\n?```\s*$", re.DOTALL)
_REPLY_LIMIT = 4000  # characters of a raw reply kept


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
        'Reply with JSON only: {"verdict": "1", "2" or "tie", "reason": "why, in one '
        'sentence"}.'
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


@dataclass(frozen=True)
class Reading:
    """What could be read from one reply: '1', '2' or 'tie', a reason, or why not."""

    verdict: str | None
    reason: str
    problem: str | None = None


def read_verdict(text: str | None) -> Reading:
    """The verdict in a judge's reply: JSON first, then lenient fallbacks."""
    raw = (text or "").strip()
    if not raw:
        return Reading(None, "", "The reply was empty.")
    fenced = _FENCE.match(raw)
    body = fenced.group(1).strip() if fenced else raw
    value = _first_json_object(body)
    if isinstance(value, dict):
        reason = str(value.get("reason") or value.get("explanation") or "").strip()
        verdict = _verdict_of(value.get("verdict"))
        if verdict:
            return Reading(verdict, reason)
        if "verdict" in value:
            shown = json.dumps(value["verdict"], ensure_ascii=False)[:40]
            return Reading(None, reason, f"The verdict {shown} is not 1, 2 or tie.")
    loose = _LOOSE_VERDICT.search(body)
    if loose:
        reason = body[loose.end():].lstrip(" \t\r\n\"',:;*")
        reason = re.sub(r'^"?reason"?\s*:\s*"?', "", reason, flags=re.IGNORECASE)
        return Reading(loose.group(1).lower(), reason.rstrip(' \t\r\n"}').strip())
    if isinstance(value, dict):
        return Reading(None, "", "The reply is JSON without a verdict.")
    if body.startswith("{"):
        return Reading(None, "", "The reply is not valid JSON (cut off?) and names no verdict.")
    return Reading(None, "", 'The reply names no verdict (expected JSON with "verdict": '
                             '"1", "2" or "tie").')


def parse_verdict(text: str) -> str | None:
    """'1', '2' or 'tie' from a judge's reply, or None when it gave none."""
    return read_verdict(text).verdict


def _first_json_object(text: str) -> Any:
    decoder = json.JSONDecoder()
    for start in [m.start() for m in re.finditer(r"\{", text)][:20]:
        try:
            value, _ = decoder.raw_decode(text, start)
        except ValueError:
            continue
        return value
    return None


def _verdict_of(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    text = str(value).strip().lower() if value is not None else ""
    text = re.sub(r"^answer\s*", "", text)
    return text if text in ("1", "2", "tie") else None


@dataclass(frozen=True)
class JudgeResult:
    """The judge's verdict on answers a and b, asked in both orders, with its raw replies."""

    verdict: str | None  # a, b, tie; None when the judge failed or could not be read
    verdict_a_first: str | None
    verdict_b_first: str | None
    rationale: str
    error: str | None = None  # the model call failed
    reply_a_first: str | None = None
    reply_b_first: str | None = None
    problem: str | None = None  # a reply came back but no verdict could be read


def judge_pair(
    backend: Backend, model: str, rubric: str, question: str, answer_a: str, answer_b: str
) -> JudgeResult:
    """Ask twice (a first, then b first); a verdict that flips with position is a tie."""
    options = GenerationOptions(temperature=0.0, max_tokens=300, seed=0,
                                json_schema=VERDICT_SCHEMA)
    first = ChatStream(backend, model, judge_messages(rubric, question, answer_a, answer_b),
                       options).run()
    second = ChatStream(backend, model, judge_messages(rubric, question, answer_b, answer_a),
                        options).run()
    replies = {"reply_a_first": first.text[:_REPLY_LIMIT] or None,
               "reply_b_first": second.text[:_REPLY_LIMIT] or None}
    error = first.error or second.error
    if error:
        return JudgeResult(None, None, None, "", error, **replies)
    read_first, read_second = read_verdict(first.text), read_verdict(second.text)
    a_first = {"1": "a", "2": "b", "tie": "tie"}.get(read_first.verdict or "")
    b_first = {"1": "b", "2": "a", "tie": "tie"}.get(read_second.verdict or "")
    rationale = (read_first.reason or read_second.reason)[:500]
    problems = [f"{order}: {reading.problem}" for order, reading in
                (("Answer A shown first", read_first), ("Answer B shown first", read_second))
                if reading.problem]
    if read_first.problem and read_first.problem == read_second.problem:
        problems = [f"Both orders: {read_first.problem}"]
    if problems:
        return JudgeResult(None, a_first, b_first, rationale, None, **replies,
                           problem=" ".join(problems))
    verdict = a_first if a_first == b_first else "tie"
    return JudgeResult(verdict, a_first, b_first, rationale, **replies)


def run_judge(
    store: Store,
    experiment_id: int,
    backend: Backend,
    model: str,
    rubric: str,
    on_progress: Callable[[int, int], None] | None = None,
    only_unreadable: bool = False,
) -> int:
    """Judge every answered pair of an experiment this model has no verdict on; return how many.

    ``only_unreadable`` retries just the pairs whose earlier reply could not be read or failed.
    """
    answers = [r for r in store.experiments.experiment_answers(experiment_id) if r["answer"] and not r["error"]]
    by_item: dict[int, list[dict[str, Any]]] = {}
    for row in answers:
        by_item.setdefault(row["item_id"], []).append(row)
    mine = [j for j in store.experiments.judgments(experiment_id) if j["judge_model"] == model]
    done = {(j["interaction_a"], j["interaction_b"]) for j in mine if j["verdict"]}
    failed = {(j["interaction_a"], j["interaction_b"]) for j in mine if not j["verdict"]}
    todo = [
        (a, b)
        for rows in by_item.values()
        for i, a in enumerate(rows)
        for b in rows[i + 1 :]
        if (a["interaction_id"], b["interaction_id"]) not in done
        and (not only_unreadable or (a["interaction_id"], b["interaction_id"]) in failed)
    ]
    for count, (a, b) in enumerate(todo, 1):
        result = judge_pair(backend, model, rubric, a["question"], a["answer"], b["answer"])
        store.experiments.record_judgment(
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
            reply_a_first=result.reply_a_first,
            reply_b_first=result.reply_b_first,
            problem=result.problem,
        )
        if on_progress:
            on_progress(count, len(todo))
    return len(todo)


# -- the judge against humans -----------------------------------------------------------


def human_majorities(votes: list[dict[str, Any]]) -> dict[tuple[int, int], tuple[str, int]]:
    """Per pair of answers (interaction ids, smaller first): the human majority and its votes.

    Both-bad counts as a tie; when two outcomes share the most votes the majority is a tie.
    """
    tallies: dict[tuple[int, int], Counter[str]] = {}
    for vote in votes:
        a, b = vote.get("interaction_a"), vote.get("interaction_b")
        if a is None or b is None:
            continue
        winner = "tie" if vote["winner"] == "both_bad" else vote["winner"]
        if a > b:
            a, b, winner = b, a, {"a": "b", "b": "a"}.get(winner, winner)
        tallies.setdefault((a, b), Counter())[winner] += 1
    majorities = {}
    for key, tally in tallies.items():
        (top, count), *rest = tally.most_common()
        majority = "tie" if rest and rest[0][1] == count else top
        majorities[key] = (majority, sum(tally.values()))
    return majorities


def _human_for(judgment: dict[str, Any], majorities: dict[tuple[int, int], tuple[str, int]]
               ) -> tuple[str, int] | None:
    a, b = judgment["interaction_a"], judgment["interaction_b"]
    if a < b:
        return majorities.get((a, b))
    found = majorities.get((b, a))
    if found is None:
        return None
    return {"a": "b", "b": "a"}.get(found[0], found[0]), found[1]


def judge_summaries(
    judgments: list[dict[str, Any]], votes: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Per judge model: readable and unreadable verdicts, position flips, and calibration
    against the human majority (agreement and kappa with 95% intervals, the confusion table,
    the pairs where they disagree). Rates are None where there is nothing to count."""
    majorities = human_majorities(votes)
    by_judge: dict[str, list[dict[str, Any]]] = {}
    for judgment in judgments:
        by_judge.setdefault(judgment["judge_model"], []).append(judgment)
    summaries = []
    for model, rows in by_judge.items():
        readable = [j for j in rows if j.get("verdict")]
        unreadable = [j for j in rows if not j.get("verdict")]
        both = [j for j in rows if j.get("verdict_a_first") and j.get("verdict_b_first")]
        flips = sum(j["verdict_a_first"] != j["verdict_b_first"] for j in both)
        human, judge, disagreements = [], [], []
        for judgment in readable:
            found = _human_for(judgment, majorities)
            if found is None:
                continue
            majority, count = found
            human.append(majority)
            judge.append(judgment["verdict"])
            if majority != judgment["verdict"]:
                disagreements.append({
                    "question": judgment.get("question"),
                    "variant_a": judgment["variant_a"],
                    "variant_b": judgment["variant_b"],
                    "humans": _named(majority, judgment) + f" ({count} votes)",
                    "judge": _named(judgment["verdict"], judgment),
                    "judge's reason": judgment.get("rationale") or "",
                })
        agree = sum(h == j for h, j in zip(human, judge))
        kappa = kappa_low = kappa_high = None
        if len(human) >= MIN_SHARED_ITEMS:
            value = cohen_kappa(human, judge, labels=OUTCOMES)
            if not math.isnan(value):
                kappa = value
                kappa_low, kappa_high = kappa_interval(human, judge, labels=OUTCOMES)
        confusion = {h: {j: 0 for j in OUTCOMES} for h in OUTCOMES}
        for h, j in zip(human, judge):
            confusion[h][j] += 1
        summaries.append({
            "judge_model": model,
            "judge_backend": rows[-1].get("judge_backend"),
            "criteria": rows[-1].get("criteria"),
            "judged": len(rows),
            "readable": len(readable),
            "unreadable": [
                {"question": j.get("question"), "variant_a": j["variant_a"],
                 "variant_b": j["variant_b"], "reason": j.get("problem") or j.get("error")
                 or "No verdict was recorded.",
                 "reply (A first)": j.get("reply_a_first") or "",
                 "reply (B first)": j.get("reply_b_first") or ""}
                for j in unreadable
            ],
            "flip_checked": len(both),
            "flips": flips,
            "flip_rate": _rate(flips, len(both)),
            "pairs": len(human),
            "agree": agree,
            "agreement": _rate(agree, len(human)),
            "kappa": kappa,
            "kappa_interval": (kappa_low, kappa_high) if kappa is not None else None,
            "confusion": confusion,
            "disagreements": disagreements,
        })
    return summaries


def _rate(hits: int, n: int) -> dict[str, float] | None:
    if not n:
        return None
    low, high = exact_interval(hits, n)
    return {"rate": hits / n, "low": low, "high": high, "n": n}


def _named(outcome: str, judgment: dict[str, Any]) -> str:
    return {"a": judgment["variant_a"], "b": judgment["variant_b"]}.get(outcome, "tie")


def judge_human_agreement(
    judgments: list[dict[str, Any]], votes: list[dict[str, Any]]
) -> dict[str, Any]:
    """How often the judges agree with the human majority on the same pairs (both-bad = tie)."""
    summaries = judge_summaries(judgments, votes)
    pairs = sum(s["pairs"] for s in summaries)
    agree = sum(s["agree"] for s in summaries)
    return {
        "pairs": pairs,
        "agreement": agree / pairs if pairs else None,
        "position_flips": sum(s["flips"] for s in summaries),
        "judged": len(judgments),
    }
