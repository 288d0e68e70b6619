"""Hugging Face / TRL dataset rows (JSONL, CSV or Parquet), each read by the fields it holds:

- conversational ``messages`` (system, user and assistant turns) -> one interaction per user
  turn, in one conversation when there are several;
- ``prompt``/``completion`` -> an interaction; with ``label`` (unpaired preference) the label
  is a thumbs up (true) or down (false);
- preference ``chosen``/``rejected`` with ``prompt`` (standard text or conversational messages)
  or without it (implicit prompt: the part both start with) -> a pairwise vote, chosen winning;
- OpenAI's preference fine-tuning layout (``input.messages``, ``preferred_output``,
  ``non_preferred_output``) -> a pairwise vote, preferred winning.
"""

from __future__ import annotations

import json
from typing import Any

from dashboard.formats import checks, messages
from dashboard.formats.checks import Bad
from store.dates import kind_of
from store.ingest import ImportRating, ImportRow, ImportVote


def detect(first: dict[str, Any]) -> bool:
    """Rows with messages, a chosen/rejected pair, or a prompt with a completion."""
    return (
        isinstance(first.get("messages"), list)
        or {"chosen", "rejected"} <= set(first)
        or {"prompt", "completion"} <= set(first)
        or {"instruction", "output"} <= set(first)
    )


def detect_openai(first: dict[str, Any]) -> bool:
    """OpenAI's preference layout."""
    return "preferred_output" in first and "non_preferred_output" in first


def parse(obj: Any) -> list[ImportRow | ImportVote]:
    """One dataset row as interactions or a vote."""
    if not isinstance(obj, dict):
        raise Bad(f"each row must be an object, not {kind_of(obj)}")
    if "chosen" in obj or "rejected" in obj:
        return [preference(obj)]
    if "answer_a" in obj or "answer_b" in obj:  # a vote in Loupe's pairwise layout
        from dashboard.pairwise_import import parse as pairwise

        return list(pairwise(obj))
    if "messages" in obj:
        return list(conversation(obj))
    if "completion" in obj:
        return [completion(obj)]
    if "instruction" in obj:
        return [instruction(obj)]
    raise Bad("a dataset row needs messages, prompt and completion, or chosen and rejected")


def parse_openai(obj: Any) -> list[ImportVote]:
    """One row of OpenAI's preference layout as a vote."""
    if not isinstance(obj, dict):
        raise Bad(f"each line must be a JSON object, not {kind_of(obj)}")
    source = obj.get("input")
    if not isinstance(source, dict):
        raise Bad("input must be an object holding messages")
    prompt = messages.chat(source.get("messages"), "input.messages")
    return [_vote(obj, prompt, _reply(obj.get("preferred_output"), "preferred_output"),
                  _reply(obj.get("non_preferred_output"), "non_preferred_output"),
                  ("preferred", "non_preferred"))]


def _reply(value: Any, name: str) -> str:
    if isinstance(value, str):
        return checks.size_check(value, name)
    if not isinstance(value, list):
        raise Bad(f"{name} must be text or a list of messages, not {kind_of(value)}")
    said = messages.chat(value, name)
    if not said or any(role != "assistant" for role, _ in said):
        raise Bad(f"{name} must hold assistant messages")
    return "\n\n".join(text for _, text in said)


def _prompt(value: Any, name: str) -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [("user", checks.size_check(value, name))]
    return messages.chat(value, name)


def preference(obj: dict[str, Any]) -> ImportVote:
    """A chosen/rejected pair as a vote for the chosen answer."""
    chosen, rejected = obj.get("chosen"), obj.get("rejected")
    if chosen is None or rejected is None:
        raise Bad("a preference pair needs both chosen and rejected")
    prompt_value = obj.get("prompt", obj.get("question"))
    if prompt_value is None:  # implicit prompt: what both sides start with
        if isinstance(chosen, str) and isinstance(rejected, str):
            cut = _common_prefix(chosen, rejected)
            prompt = [("user", chosen[:cut])] if chosen[:cut].strip() else []
            chosen_text, rejected_text = chosen[cut:], rejected[cut:]
        else:
            said_a, said_b = messages.chat(chosen, "chosen"), messages.chat(rejected, "rejected")
            cut = 0
            while cut < min(len(said_a), len(said_b)) and said_a[cut] == said_b[cut]:
                cut += 1
            prompt = said_a[:cut]
            chosen_text = _assistant_text(said_a[cut:], "chosen")
            rejected_text = _assistant_text(said_b[cut:], "rejected")
        if not prompt:
            raise Bad("no prompt: give a prompt, or chosen and rejected that start with the"
                      " same conversation")
    else:
        prompt = _prompt(prompt_value, "prompt")
        chosen_text = checks.size_check(chosen, "chosen") if isinstance(chosen, str) else _reply(chosen, "chosen")
        rejected_text = (checks.size_check(rejected, "rejected") if isinstance(rejected, str)
                         else _reply(rejected, "rejected"))
    return _vote(obj, prompt, chosen_text, rejected_text, ("chosen", "rejected"))


def _assistant_text(said: list[tuple[str, str]], name: str) -> str:
    if not said or any(role != "assistant" for role, _ in said):
        raise Bad(f"{name} must end with the assistant's answer")
    return "\n\n".join(text for _, text in said)


def _common_prefix(a: str, b: str) -> int:
    cut = 0
    for cut in range(min(len(a), len(b)) + 1):
        if cut == min(len(a), len(b)) or a[cut] != b[cut]:
            break
    if cut > 0 and a[cut - 1 : cut] != " " and " " in a[:cut]:
        cut = a.rfind(" ", 0, cut) + 1  # whole words on both sides
    return cut


def _vote(obj: dict[str, Any], prompt: list[tuple[str, str]], answer_a: str, answer_b: str,
          sides: tuple[str, str]) -> ImportVote:
    system, pairs = messages.turns(prompt)
    if not pairs:
        raise Bad("the prompt holds no user message")
    question = pairs[-1][0]
    if not question.strip():
        raise Bad("the prompt's last user message is empty")
    for name, value in (("chosen", answer_a), ("rejected", answer_b)):
        if not isinstance(value, str):
            raise Bad(f"{name} must be text, not {kind_of(value)}")
    context: dict[str, Any] = {}
    if system:
        context["system_prompt"] = system
    if len(pairs) > 1 or pairs[-1][1] is not None:
        context["earlier_turns"] = [list(p) for p in pairs[:-1]]
    variant_a = checks.text(obj.get("variant_a"), "variant_a") or sides[0]
    variant_b = checks.text(obj.get("variant_b"), "variant_b") or sides[1]
    reviewer = checks.text(obj.get("reviewer"), "reviewer")
    parts = (question, answer_a, answer_b, variant_a, variant_b, "a", reviewer)
    external = checks.key(obj.get("external_id"), "external_id") or checks.vote_digest(*parts)
    return ImportVote(
        question=question, answer_a=answer_a, answer_b=answer_b, variant_a=variant_a,
        variant_b=variant_b, winner="a", external_id=external, reviewer=reviewer,
        reason=checks.text(obj.get("reason"), "reason"),
        created_at=checks.normalize_time(obj.get("created_at")),
        meta=checks.meta_text(context, "the prompt's earlier turns"),
    )


def conversation(obj: dict[str, Any]) -> list[ImportRow]:
    """Conversational ``messages``: one interaction per user turn."""
    system, pairs = messages.turns(messages.chat(obj.get("messages"), "messages"))
    if not pairs:
        raise Bad("messages hold no user message")
    key = None
    if len(pairs) > 1:
        key = "messages:" + checks.content_hash(system, json.dumps(pairs, ensure_ascii=False))
    model = checks.text(obj.get("model"), "model")
    rows = []
    for turn, (question, answer) in enumerate(pairs, 1):
        if not question.strip():
            raise Bad(f"messages: the user message of turn {turn} is empty")
        rows.append(ImportRow(
            question=question,
            content_hash=checks.content_hash(question, answer, None, model, None, None, key,
                                             turn if key else None),
            answer=answer, model=model, system_prompt=system, conversation_key=key,
            turn=turn if key else None,
        ))
    return rows


def completion(obj: dict[str, Any]) -> ImportRow:
    """``prompt``/``completion`` (and ``label``: unpaired preference) as an interaction."""
    system, pairs = messages.turns(_prompt(obj.get("prompt"), "prompt"))
    if not pairs or not pairs[-1][0].strip():
        raise Bad("no prompt (prompt and completion are required)")
    question = pairs[-1][0]
    value = obj.get("completion")
    answer = value if isinstance(value, str) else _reply(value, "completion")
    checks.size_check(answer, "completion")
    rating = None
    if obj.get("label") is not None:
        rating = ImportRating(checks.DEFAULT_REVIEWER, thumbs=checks.thumbs(obj["label"], "label"))
    model = checks.text(obj.get("model"), "model")
    return ImportRow(
        question=question,
        content_hash=checks.content_hash(question, answer, None, model, None, None, None, None),
        answer=answer, model=model, system_prompt=system, rating=rating,
    )


def instruction(obj: dict[str, Any]) -> ImportRow:
    """An Alpaca row (``instruction``, ``input``, ``output``) as an interaction."""
    question = checks.required_text(obj.get("instruction"), "instruction")
    extra = checks.text(obj.get("input"), "input")
    if extra:
        question = checks.size_check(f"{question}\n\n{extra}", "instruction and input")
    answer = checks.text(obj.get("output"), "output")
    return ImportRow(
        question=question,
        content_hash=checks.content_hash(question, answer, None, None, None, None, None, None),
        answer=answer,
    )
