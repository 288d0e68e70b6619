"""Open WebUI's feedback export: the JSON array that Admin > Evaluations > Feedbacks > Export
writes (one object per rating, each with a snapshot of its chat).

- The rated answer is ``snapshot.chat.chat.history.messages[meta.message_id]``; the
  conversation is followed back through ``parentId`` up to it and lands as one conversation
  (``meta.chat_id``), one interaction per user turn, each known by its message id.
- ``data.rating`` 1/-1 -> thumbs up/down; ``data.details.rating`` (1-10; also read beside
  ``data``) -> stars, 1-2 -> 1, 3-4 -> 2, 5-6 -> 3, 7-8 -> 4, 9-10 -> 5; ``data.comment`` ->
  comment; ``data.reason`` and ``data.tags`` (or ``meta.tags``) -> tags; ``user_id`` ->
  reviewer; ``data.model_id`` -> model; each message's ``timestamp`` (Unix seconds; else the
  feedback's ``created_at``) -> created_at.
- Arena feedback (``data.sibling_model_ids``) -> a pairwise vote against each sibling answer
  the snapshot holds (rating 1: the rated answer wins, -1: the sibling wins).
"""

from __future__ import annotations

import math
from typing import Any

from dashboard.formats import checks, messages
from dashboard.formats.checks import Bad
from store.dates import kind_of
from store.ingest import ImportRating, ImportRow, ImportVote

MAX_DEPTH = 10_000  # messages followed back from the rated one


def detect(first: dict[str, Any]) -> bool:
    """A feedback object: a type, data and meta (and usually a snapshot)."""
    return isinstance(first.get("data"), dict) and isinstance(first.get("meta"), dict) and (
        first.get("type") == "rating" or "snapshot" in first
    )


def stars_of(details: Any) -> int | None:
    """Open WebUI's 1-10 scale as stars 1-5 (each star spans two points)."""
    value = checks.whole(details, "details.rating", 1, 10)
    return None if value is None else math.ceil(value / 2)


def _obj(value: Any, name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Bad(f"{name} must be an object, not {kind_of(value)}")
    return value


def parse(obj: Any) -> list[ImportRow | ImportVote]:
    """One feedback object as the conversation up to the rated answer, its rating, and votes."""
    if not isinstance(obj, dict):
        raise Bad(f"each feedback must be an object, not {kind_of(obj)}")
    data, meta = _obj(obj.get("data"), "data"), _obj(obj.get("meta"), "meta")
    kind = obj.get("type")
    if kind is not None and kind != "rating":
        raise Bad(f"type {kind!r} is not a rating")
    chat_id = checks.key(meta.get("chat_id"), "meta.chat_id")
    message_id = checks.key(meta.get("message_id"), "meta.message_id")
    if message_id is None:
        raise Bad("no meta.message_id: the feedback does not say which answer was rated")
    snapshot = _obj(obj.get("snapshot"), "snapshot")
    chat = _obj(snapshot.get("chat"), "snapshot.chat")
    inner = _obj(chat.get("chat"), "snapshot.chat.chat")
    history = _obj(inner.get("history"), "snapshot.chat.chat.history")
    tree = _obj(history.get("messages"), "snapshot.chat.chat.history.messages")
    rated = tree.get(message_id)
    if not isinstance(rated, dict):
        raise Bad(f"the snapshot does not hold the rated message {message_id!r}")

    chain = _chain(tree, rated)  # oldest first, ending with the rated answer
    thumbs = checks.thumbs(data.get("rating"), "data.rating") if data.get("rating") not in (0, "0", "") else None
    details = data.get("details", obj.get("details"))
    stars = stars_of(_obj(details, "details").get("rating")) if details is not None else None
    comment = checks.text(data.get("comment"), "data.comment")
    tags = set(checks.tags(data.get("tags") if data.get("tags") is not None else meta.get("tags")))
    reason = checks.text(data.get("reason"), "data.reason")
    if reason:
        tags.add(reason.strip())
    reviewer = checks.key(obj.get("user_id"), "user_id") or checks.DEFAULT_REVIEWER
    rated_at = checks.epoch_time(obj.get("created_at"), "created_at")
    model = checks.text(data.get("model_id"), "data.model_id") or _model(rated)
    conversation = f"openwebui:{chat_id}" if chat_id else None
    title = checks.text(chat.get("title"), "snapshot.chat.title")
    extra = {"open_webui": {k: v for k, v in (("feedback_id", obj.get("id")), ("chat_id", chat_id),
                                              ("title", title),
                                              ("message_index", meta.get("message_index")))
                            if v is not None}}

    votes = _votes(obj, data, tree, rated, thumbs, model, reviewer, rated_at, comment)
    if votes:
        return list(votes)

    records: list[ImportRow | ImportVote] = []
    pairs = _pairs(chain)
    for turn, (question_msg, answer_msg) in enumerate(pairs, 1):
        last = turn == len(pairs)
        question = checks.required_text(
            messages.content_text(question_msg.get("content"), "a user message"), "question")
        answer = messages.content_text(answer_msg.get("content"), "an answer") if answer_msg else None
        answer_id = checks.key(answer_msg.get("id"), "message id") if answer_msg else None
        rating = None
        if last and (thumbs is not None or stars is not None or comment or tags):
            rating = ImportRating(reviewer, stars, thumbs, comment, tuple(sorted(tags)))
        when = checks.epoch_time((answer_msg or question_msg).get("timestamp"), "timestamp")
        when = when or (rated_at if last else None)
        row_model = (model if last else None) or (_model(answer_msg) if answer_msg else None)
        records.append(ImportRow(
            question=question,
            content_hash=checks.content_hash(question, answer, None, row_model, None, when,
                                             conversation, turn),
            answer=answer or None, model=row_model, created_at=when,
            conversation_key=conversation, turn=turn if conversation else None,
            external_id=f"openwebui:{answer_id}" if answer_id else None,
            meta=checks.meta_text(extra) if last else None, rating=rating,
            backend="open-webui",
        ))
    if not records:
        raise Bad("the rated message has no user message before it")
    return records


def _model(message: dict[str, Any]) -> str | None:
    value = message.get("selectedModelId") or message.get("model")
    return value if isinstance(value, str) and value else None


def _chain(tree: dict[str, Any], rated: dict[str, Any]) -> list[dict[str, Any]]:
    chain = [rated]
    seen = {id(rated)}
    current = rated
    while current.get("parentId") is not None:
        parent = tree.get(current["parentId"])
        if not isinstance(parent, dict) or id(parent) in seen or len(chain) > MAX_DEPTH:
            raise Bad(f"the snapshot's message {current['parentId']!r} (a parentId) is missing"
                      " or loops back")
        seen.add(id(parent))
        chain.append(parent)
        current = parent
    return chain[::-1]


def _pairs(chain: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    pairs: list[list[Any]] = []
    for message in chain:
        if message.get("role") == "user":
            pairs.append([message, None])
        elif message.get("role") == "assistant" and pairs:
            pairs[-1][1] = message
    return [(q, a) for q, a in pairs]


def _votes(obj: dict[str, Any], data: dict[str, Any], tree: dict[Any, Any], rated: dict[str, Any],
           thumbs: int | None, model: str | None, reviewer: str, rated_at: str | None,
           comment: str | None) -> list[ImportVote]:
    siblings_models = data.get("sibling_model_ids")
    if not siblings_models or thumbs is None:
        return []
    if not isinstance(siblings_models, list):
        raise Bad(f"data.sibling_model_ids must be a list, not {kind_of(siblings_models)}")
    parent = tree.get(rated.get("parentId"))
    if not isinstance(parent, dict):
        return []
    question = messages.content_text(parent.get("content"), "the rated question")
    answer = messages.content_text(rated.get("content"), "the rated answer")
    if not question.strip() or not answer:
        return []
    votes = []
    for sibling_id in parent.get("childrenIds") or []:
        sibling = tree.get(sibling_id)
        if sibling is rated or not isinstance(sibling, dict) or _model(sibling) not in siblings_models:
            continue
        other = messages.content_text(sibling.get("content"), "a sibling answer")
        if not other:
            continue
        other_model = _model(sibling)
        votes.append(ImportVote(
            question=question, answer_a=answer, answer_b=other, variant_a=model or "a",
            variant_b=other_model or "b", winner="a" if thumbs > 0 else "b",
            external_id=f"openwebui:{obj.get('id') or rated.get('id')}:{sibling_id}",
            reviewer=reviewer, reason=comment, created_at=rated_at, model_a=model,
            model_b=other_model,
        ))
    return votes
