"""OpenTelemetry GenAI spans as OTLP JSON: the collector's file exporter writes one
``{"resourceSpans": [...]}`` object per line, and ``POST /v1/traces`` receives the same object.

A span is a model call when it carries ``gen_ai.*`` attributes (or OpenInference ``llm.*`` ones);
other spans are passed over. Each model call becomes one interaction:

- ``gen_ai.input.messages`` (JSON text) -> the last user message is the question, earlier turns
  are kept in meta; ``gen_ai.system_instructions`` -> system prompt; ``gen_ai.output.messages``
  -> the answer;
- ``gen_ai.response.model`` (else ``gen_ai.request.model``) -> model; ``gen_ai.provider.name``
  (or ``gen_ai.system``) -> backend; ``gen_ai.usage.input_tokens``/``output_tokens`` -> token
  counts; ``gen_ai.conversation.id`` -> conversation; ``gen_ai.prompt.name`` and
  ``gen_ai.prompt.version`` -> variant ``name@version``; ``error.type`` or an error status ->
  error; start time -> created_at, end minus start -> latency;
- each ``gen_ai.evaluation.result`` event -> a rating by ``gen_ai.evaluation.name``: a label
  such as pass/correct/relevant/good -> thumbs up, fail/incorrect/not_relevant/bad -> thumbs
  down; ``gen_ai.evaluation.score.value`` 1-5 (whole) -> stars, 0-1 (a fraction) -> 1 + 4 x
  value rounded; ``gen_ai.evaluation.explanation`` -> comment;
- OpenInference fallback: ``llm.model_name``, ``llm.input_messages.N.message.role/content``,
  ``llm.output_messages.N.message.content``, ``input.value``/``output.value``,
  ``llm.token_count.prompt``/``completion``, ``session.id``.

The span is known by ``traceId:spanId``: sending it again adds nothing.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from dashboard.formats import checks, messages
from dashboard.formats.checks import Bad
from store.dates import kind_of
from store.ingest import ImportRating, ImportRow

GOOD_LABELS = {"pass", "passed", "correct", "relevant", "good", "positive", "thumbs_up", "up",
               "yes", "true", "helpful", "accurate"}
BAD_LABELS = {"fail", "failed", "incorrect", "not_relevant", "irrelevant", "bad", "negative",
              "thumbs_down", "down", "no", "false", "unhelpful", "inaccurate"}
MAX_SPANS = 100_000  # spans in one object
STATUS_ERROR = 2


def detect(first: dict[str, Any]) -> bool:
    """An OTLP traces object."""
    return "resourceSpans" in first


def any_value(value: Any) -> Any:
    """An OTLP AnyValue (``{"stringValue": ...}``, ``{"intValue": "12"}``...) as plain Python."""
    if not isinstance(value, dict):
        return value
    if "stringValue" in value:
        return value["stringValue"]
    if "intValue" in value:
        try:
            return int(value["intValue"])
        except (TypeError, ValueError):
            raise Bad(f"intValue {checks.shown(value['intValue'])} is not a whole number") from None
    if "doubleValue" in value:
        raw = value["doubleValue"]
        return float(raw) if isinstance(raw, (int, float, str)) and not isinstance(raw, bool) else raw
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "arrayValue" in value:
        values = _field(value["arrayValue"], "values", "arrayValue")
        return [any_value(v) for v in _list(values, "arrayValue.values")]
    if "kvlistValue" in value:
        return attributes(_field(value["kvlistValue"], "values", "kvlistValue"))
    if "bytesValue" in value:
        return value["bytesValue"]
    return None


def _field(obj: Any, name: str, where: str) -> Any:
    if obj is None:
        return None
    if not isinstance(obj, dict):
        raise Bad(f"{where} must be an object, not {kind_of(obj)}")
    return obj.get(name)


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise Bad(f"{where} must be a list, not {kind_of(value)}")
    return value


def attributes(items: Any) -> dict[str, Any]:
    """An OTLP attribute list (``[{"key", "value"}]``) as a dict."""
    if items is None:
        return {}
    if not isinstance(items, list):
        raise Bad(f"attributes must be a list, not {kind_of(items)}")
    result = {}
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("key"), str):
            result[item["key"]] = any_value(item.get("value"))
    return result


def spans(payload: Any) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(resource attributes, span) of every span in an OTLP traces object."""
    if not isinstance(payload, dict):
        raise Bad(f"each line must be an OTLP JSON object, not {kind_of(payload)}")
    resource_spans = payload.get("resourceSpans")
    if not isinstance(resource_spans, list):
        raise Bad("resourceSpans must be a list")
    found = []
    for resource_span in resource_spans:
        if not isinstance(resource_span, dict):
            raise Bad("each of resourceSpans must be an object")
        resource = attributes(_field(resource_span.get("resource"), "attributes", "resource"))
        scopes = resource_span.get("scopeSpans", resource_span.get("instrumentationLibrarySpans"))
        for scope_span in _list(scopes, "scopeSpans"):
            for span in _list(_field(scope_span, "spans", "each of scopeSpans"), "spans"):
                if not isinstance(span, dict):
                    raise Bad("each span must be an object")
                found.append((resource, span))
                if len(found) > MAX_SPANS:
                    raise Bad(f"more than {MAX_SPANS:,} spans in one object")
    return found


def parse(obj: Any) -> list[ImportRow]:
    """Every model call of one OTLP object as an interaction (other spans are passed over)."""
    rows = []
    for index, (resource, span) in enumerate(spans(obj), 1):
        try:
            rows.extend(span_rows(resource, span))
        except Bad as bad:
            name = span.get("name")
            label = f"span {index}" + (f" ({name})" if isinstance(name, str) and name else "")
            raise Bad(f"{label}: {bad}") from None
    return rows


def _ident(value: Any) -> str | None:
    """A trace or span id as hex (OTLP JSON writes hex; protobuf turned into JSON writes base64)."""
    if not isinstance(value, str) or not value:
        return None
    if all(c in "0123456789abcdefABCDEF" for c in value) and len(value) in (16, 32):
        return value.lower()
    try:
        return base64.b64decode(value, validate=True).hex()
    except ValueError:
        return value


def _json_messages(value: Any, name: str) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise Bad(f"{name} is not valid JSON") from None
    return value


def _parts_text(message: dict[str, Any], name: str) -> str:
    if "parts" in message:
        return messages.content_text(message.get("parts"), name)
    return messages.content_text(message.get("content"), name)


def _gen_ai_chat(value: Any, name: str) -> list[tuple[str, str]]:
    value = _json_messages(value, name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise Bad(f"{name} must be a list of messages, not {kind_of(value)}")
    said = []
    for index, message in enumerate(value, 1):
        if not isinstance(message, dict):
            raise Bad(f"{name} message {index} must be an object")
        role = messages.ROLES.get(str(message.get("role", "")).lower())
        if role is None:
            continue  # tool calls and their results are not questions or answers
        said.append((role, _parts_text(message, f"{name} message {index}")))
    return said


def _openinference_chat(attrs: dict[str, Any], prefix: str) -> list[tuple[str, str]]:
    said = []
    index = 0
    while f"{prefix}.{index}.message.role" in attrs or f"{prefix}.{index}.message.content" in attrs:
        role = messages.ROLES.get(str(attrs.get(f"{prefix}.{index}.message.role", "user")).lower())
        content = attrs.get(f"{prefix}.{index}.message.content")
        if role is not None:
            said.append((role, messages.content_text(content, f"{prefix}.{index}")))
        index += 1
    return said


def _rating(event: dict[str, Any]) -> ImportRating | None:
    attrs = attributes(event.get("attributes"))
    name = checks.text(attrs.get("gen_ai.evaluation.name"), "gen_ai.evaluation.name") or "evaluation"
    label = attrs.get("gen_ai.evaluation.score.label")
    value = attrs.get("gen_ai.evaluation.score.value")
    thumbs = stars = None
    if label is not None and not isinstance(label, str):
        raise Bad(f"gen_ai.evaluation.score.label must be text, not {kind_of(label)}")
    if isinstance(label, str):
        word = label.strip().lower().replace(" ", "_").replace("-", "_")
        thumbs = 1 if word in GOOD_LABELS else -1 if word in BAD_LABELS else None
    if value is not None:
        score = checks.number(value, "gen_ai.evaluation.score.value")
        if score is not None and score.is_integer() and 1 <= score <= 5:
            stars = int(score)
        elif score is not None and 0 <= score < 1:
            stars = 1 + round(4 * score)
        elif score is not None:
            raise Bad(f"gen_ai.evaluation.score.value {score:g} is neither 1-5 stars nor a"
                      " fraction from 0 to 1")
    comment = checks.text(attrs.get("gen_ai.evaluation.explanation"), "gen_ai.evaluation.explanation")
    if thumbs is None and stars is None and not comment:
        return None
    return ImportRating(name, stars, thumbs, comment)


def span_rows(resource: dict[str, Any], span: dict[str, Any]) -> list[ImportRow]:
    """One span as an interaction (one record per evaluation of it); none when it is not a
    model call."""
    attrs = attributes(span.get("attributes"))
    gen_ai = any(k.startswith("gen_ai.") for k in attrs)
    openinference = any(k.startswith("llm.") for k in attrs)
    if not gen_ai and not openinference:
        return []
    system = None
    if gen_ai:
        said = _gen_ai_chat(attrs.get("gen_ai.input.messages"), "gen_ai.input.messages")
        answer_said = _gen_ai_chat(attrs.get("gen_ai.output.messages"), "gen_ai.output.messages")
        instructions = _json_messages(attrs.get("gen_ai.system_instructions"),
                                      "gen_ai.system_instructions")
        if instructions is not None:
            system = messages.content_text(instructions, "gen_ai.system_instructions") or None
    else:
        said, answer_said = [], []
    if not said:
        said = _openinference_chat(attrs, "llm.input_messages")
        if not said and isinstance(attrs.get("input.value"), str):
            said = [("user", attrs["input.value"])]
    if not answer_said:
        answer_said = _openinference_chat(attrs, "llm.output_messages")
        if not answer_said and isinstance(attrs.get("output.value"), str):
            answer_said = [("assistant", attrs["output.value"])]
    prompt_system, pairs = messages.turns(said)
    system = system or prompt_system
    if not pairs:
        return []  # a model call whose content was not captured: nothing to review
    question = pairs[-1][0]
    if not question.strip():
        raise Bad("the last user message is empty")
    answer = "\n\n".join(t for r, t in answer_said if r == "assistant") or None

    model = (checks.text(attrs.get("gen_ai.response.model"), "gen_ai.response.model")
             or checks.text(attrs.get("gen_ai.request.model"), "gen_ai.request.model")
             or checks.text(attrs.get("llm.model_name"), "llm.model_name"))
    backend = (checks.text(attrs.get("gen_ai.provider.name"), "gen_ai.provider.name")
               or checks.text(attrs.get("gen_ai.system"), "gen_ai.system")
               or checks.text(attrs.get("llm.provider"), "llm.provider"))
    prompt_name = checks.text(attrs.get("gen_ai.prompt.name"), "gen_ai.prompt.name")
    version = attrs.get("gen_ai.prompt.version")
    variant = f"{prompt_name}@{version}" if prompt_name and version not in (None, "") else prompt_name
    start = checks.whole(span.get("startTimeUnixNano"), "startTimeUnixNano", 0)
    end = checks.whole(span.get("endTimeUnixNano"), "endTimeUnixNano", 0)
    created = checks.epoch_time(start, "startTimeUnixNano", 1e-9) if start else None
    latency = (end - start) / 1e6 if start and end and end >= start else None
    status = span.get("status") or {}
    if not isinstance(status, dict):
        raise Bad(f"status must be an object, not {kind_of(status)}")
    error = checks.text(attrs.get("error.type"), "error.type")
    if error is None and isinstance(status, dict) and status.get("code") in (STATUS_ERROR, "STATUS_CODE_ERROR"):
        error = checks.text(status.get("message"), "status.message") or "error"
    conversation = (checks.key(attrs.get("gen_ai.conversation.id"), "gen_ai.conversation.id")
                    or checks.key(attrs.get("session.id"), "session.id"))
    trace, span_id = _ident(span.get("traceId")), _ident(span.get("spanId"))
    external = f"{trace}:{span_id}" if trace and span_id else None

    ratings = [r for r in (_rating(e) for e in _list(span.get("events"), "events")
                           if isinstance(e, dict) and e.get("name") == "gen_ai.evaluation.result")
               if r is not None]
    meta: dict[str, Any] = {}
    if len(pairs) > 1:
        meta["earlier_turns"] = [list(p) for p in pairs[:-1]]
    service = resource.get("service.name")
    if isinstance(service, str):
        meta["service.name"] = service
    prompt_tokens = attrs.get("gen_ai.usage.input_tokens", attrs.get("llm.token_count.prompt"))
    completion_tokens = attrs.get("gen_ai.usage.output_tokens",
                                  attrs.get("llm.token_count.completion"))
    row = ImportRow(
        question=question,
        content_hash=checks.content_hash(question, answer, error, model, variant, created,
                                         conversation, len(pairs)),
        answer=answer, model=model, variant=variant, created_at=created, latency_ms=latency,
        prompt_tokens=checks.whole(prompt_tokens, "gen_ai.usage.input_tokens", 0, checks.MAX_TOKENS),
        completion_tokens=checks.whole(completion_tokens, "gen_ai.usage.output_tokens", 0,
                                       checks.MAX_TOKENS),
        system_prompt=system, backend=backend, error=error, conversation_key=conversation,
        turn=len(pairs) if conversation else None,  # the user turns the call was sent
        external_id=external, meta=checks.meta_text(meta, "meta"),
        rating=ratings[0] if ratings else None,
    )
    # One record per evaluation: each evaluator rates the same interaction.
    return [row, *(row._replace(rating=r) for r in ratings[1:])]
