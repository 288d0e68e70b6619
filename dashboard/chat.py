"""One chat turn: store the question first, stream the answer, record the outcome."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dashboard.llm import Backend, ChatResult, ChatStream, GenerationOptions, build_messages
from store import Store

INTERRUPTED = "The answer was interrupted before it finished; ask again to get a full answer."


class ChatTurn:
    """A question asked in a conversation; iterate it to stream the answer.

    The question is stored the moment the turn is created, and the answer (or the error)
    the moment the stream ends, even when the reader stops early.
    """

    def __init__(
        self,
        store: Store,
        backend: Backend,
        model: str,
        conversation_id: int,
        question: str,
        *,
        system_prompt: str | None = None,
        options: GenerationOptions | None = None,
        variant_id: int | None = None,
        template: str | None = None,
        source: str = "chat",
    ) -> None:
        options = options or GenerationOptions()
        history = store.ingest.conversation_turns(conversation_id)
        self.store = store
        self.interaction_id = store.ingest.add_question(
            conversation_id,
            question,
            model=model,
            backend=backend.name,
            system_prompt=system_prompt or None,
            params=_params(options),
            variant_id=variant_id,
            source=source,
        )
        self.stream = ChatStream(
            backend, model, build_messages(history, question, system_prompt, template), options
        )
        self._recorded = False

    @property
    def result(self) -> ChatResult:
        """The measured outcome (complete once the stream has ended)."""
        return self.stream.result

    def __iter__(self) -> Iterator[str]:
        finished = False
        try:
            yield from self.stream
            finished = True
        finally:
            if not finished and not self.stream.result.error:
                self.stream.result.error = INTERRUPTED
            self._record()

    def run(self) -> ChatResult:
        """Stream the whole answer without showing it and return the result."""
        for _ in self:
            pass
        return self.result

    def _record(self) -> None:
        if not self._recorded:
            self._recorded = True
            self.store.ingest.record_answer(self.interaction_id, **self.stream.result.as_record())


def _params(options: GenerationOptions) -> dict[str, Any]:
    params: dict[str, Any] = {"temperature": options.temperature, "max_tokens": options.max_tokens}
    if options.seed is not None:
        params["seed"] = options.seed
    return params


def describe_answer(turn: dict[str, Any]) -> str:
    """One line saying who answered and how fast, e.g. 'Ollama · llama3.2 · 1.2 s · 42 tokens'."""
    parts = [backend_label(turn.get("backend")), turn.get("model") or "unknown model"]
    if turn.get("latency_ms") is not None:
        parts.append(f"{turn['latency_ms'] / 1000:.1f} s")
    if turn.get("ttft_ms") is not None:
        parts.append(f"first token {turn['ttft_ms']:.0f} ms")
    if turn.get("completion_tokens") is not None:
        tokens = f"{turn['completion_tokens']} tokens out"
        if turn.get("prompt_tokens") is not None:
            tokens = f"{turn['prompt_tokens']} tokens in, " + tokens
        parts.append(tokens)
    return " · ".join(parts)


def backend_label(name: str | None) -> str:
    """The name a user reads for a backend."""
    if name and name.startswith("openai:"):
        return f"OpenAI-compatible ({name[len('openai:'):]})"
    return {"ollama": "Ollama", "embedded": "Embedded llama.cpp"}.get(name or "", name or "?")
