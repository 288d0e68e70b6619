"""Chat messages as the tools write them: ``{"role", "content"}`` where content is text or a
list of parts (``{"type": "text", "text": ...}``; OpenTelemetry: ``{"type": "text", "content": ...}``)."""

from __future__ import annotations

from typing import Any

from dashboard.formats.checks import Bad, size_check
from store.dates import kind_of

ROLES = {"system": "system", "developer": "system", "user": "user", "human": "user",
         "assistant": "assistant", "model": "assistant", "gpt": "assistant"}


def content_text(content: Any, name: str) -> str:
    """The text of a message's content (text parts joined by blank lines)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return size_check(content, name)
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict):
                value = part.get("text", part.get("content"))
                if part.get("type", "text") == "text" and isinstance(value, str):
                    parts.append(value)
            else:
                raise Bad(f"{name} holds {kind_of(part)} where a text part belongs")
        return size_check("\n\n".join(parts), name)
    raise Bad(f"{name} must be text or a list of parts, not {kind_of(content)}")


def chat(messages: Any, name: str) -> list[tuple[str, str]]:
    """(role, text) of each message, roles as system, user or assistant."""
    if not isinstance(messages, list):
        raise Bad(f"{name} must be a list of messages, not {kind_of(messages)}")
    result = []
    for index, message in enumerate(messages, 1):
        if not isinstance(message, dict):
            raise Bad(f"{name} message {index} must be an object, not {kind_of(message)}")
        role = message.get("role", message.get("from"))
        mapped = ROLES.get(role.lower()) if isinstance(role, str) else None
        if mapped is None:
            raise Bad(f"{name} message {index} has the role {role!r}; system, user and assistant"
                      " messages are read")
        text = content_text(message.get("content", message.get("value")), f"{name} message {index}")
        result.append((mapped, text))
    return result


def turns(messages: list[tuple[str, str]]) -> tuple[str | None, list[tuple[str, str | None]]]:
    """(system prompt, [(question, answer or None)]) of a chat: each user message with the
    assistant messages that follow it."""
    system: list[str] = []
    pairs: list[list[Any]] = []
    for role, text in messages:
        if role == "system":
            system.append(text)
        elif role == "user":
            pairs.append([text, None])
        elif pairs:
            pairs[-1][1] = text if pairs[-1][1] is None else pairs[-1][1] + "\n\n" + text
        else:
            raise Bad("an assistant message comes before any user message")
    return ("\n\n".join(system) or None), [(q, a) for q, a in pairs]
