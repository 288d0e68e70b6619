"""OpenAI-compatible chat backends: vLLM, llama.cpp's llama-server, LM Studio, hosted APIs.

An endpoint is a base URL and an API key, named so that several can coexist. They come from

- ``.streamlit/secrets.toml`` (and ``~/.streamlit/secrets.toml``), one table per endpoint::

      [loupe.openai.vllm]
      base_url = "http://127.0.0.1:8000/v1"
      api_key_env = "VLLM_API_KEY"   # the environment variable holding the key
      # api_key = "..."              # or the key itself (secrets.toml is never committed)
      timeout = 60                   # seconds; optional

- the environment, as the endpoint named ``default``: ``LOUPE_OPENAI_BASE_URL`` with the key in
  ``OPENAI_API_KEY`` (and ``LOUPE_OPENAI_TIMEOUT``).

The key is sent to the endpoint and nowhere else: it is never stored, shown, or put in an
error sentence. Interactions record the backend as ``openai:<endpoint name>``.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from dashboard.llm import BackendError, GenerationOptions, Usage

PREFIX = "openai:"
DEFAULT_ENDPOINT = "default"
DEFAULT_TIMEOUT = 60.0
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass(frozen=True)
class Endpoint:
    """One OpenAI-compatible server: where it is and how to authenticate (key never shown)."""

    name: str
    base_url: str
    api_key: str | None = field(default=None, repr=False)
    key_source: str = "OPENAI_API_KEY"  # where the key is read from, for error sentences
    timeout: float = DEFAULT_TIMEOUT

    @property
    def backend_name(self) -> str:
        """The name stored with each interaction: ``openai:<name>``."""
        return PREFIX + self.name

    @property
    def shown_url(self) -> str:
        """The base URL without any user name or password in it."""
        parts = urlsplit(self.base_url)
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        return urlunsplit((parts.scheme, host, parts.path, "", ""))


def secrets_files() -> list[Path]:
    """Where Streamlit reads secrets from, the project's own file last (it wins)."""
    return [Path.home() / ".streamlit" / "secrets.toml", Path.cwd() / ".streamlit" / "secrets.toml"]


def _read_secrets(paths: list[Path]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for path in paths:
        try:
            with open(path, "rb") as handle:
                data = tomllib.load(handle)
        except (OSError, tomllib.TOMLDecodeError):
            continue
        section = (data.get("loupe") or {}).get("openai") or {}
        if isinstance(section, dict):
            merged.update({k: v for k, v in section.items() if isinstance(v, dict)})
    return merged


def _timeout(value: Any) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return DEFAULT_TIMEOUT
    return seconds if seconds > 0 else DEFAULT_TIMEOUT


def openai_endpoints(
    environ: Mapping[str, str] | None = None,
    config: Mapping[str, Mapping[str, Any]] | None = None,
    secrets_paths: list[Path] | None = None,
) -> dict[str, Endpoint]:
    """The configured endpoints by name: secrets tables ``[loupe.openai.NAME]``, then the
    ``default`` one from ``LOUPE_OPENAI_BASE_URL`` unless a table already uses that name."""
    environ = os.environ if environ is None else environ
    tables = dict(config) if config is not None else _read_secrets(
        secrets_files() if secrets_paths is None else secrets_paths)
    found: dict[str, Endpoint] = {}
    for name, table in tables.items():
        base_url = str(table.get("base_url") or "").strip()
        if not NAME_PATTERN.match(name) or not base_url:
            continue
        key: str | None
        if table.get("api_key"):
            key, source = str(table["api_key"]), f"secrets.toml [loupe.openai.{name}] api_key"
        else:
            variable = str(table.get("api_key_env") or "OPENAI_API_KEY")
            key, source = environ.get(variable) or None, f"the environment variable {variable}"
        found[name] = Endpoint(name, base_url, key, source, _timeout(table.get("timeout")))
    base_url = (environ.get("LOUPE_OPENAI_BASE_URL") or "").strip()
    if base_url and DEFAULT_ENDPOINT not in found:
        found[DEFAULT_ENDPOINT] = Endpoint(
            DEFAULT_ENDPOINT, base_url, environ.get("OPENAI_API_KEY") or None,
            "the environment variable OPENAI_API_KEY",
            _timeout(environ.get("LOUPE_OPENAI_TIMEOUT")),
        )
    return found


def _schema_name(schema: Mapping[str, Any]) -> str:
    """A response_format name from the schema's title (letters, digits, _ and -; 64 at most)."""
    title = re.sub(r"[^A-Za-z0-9_-]+", "_", str(schema.get("title") or "")).strip("_")
    return title[:64] or "answer"


class OpenAIBackend:
    """Chat through an OpenAI-compatible server with the official ``openai`` client."""

    def __init__(self, endpoint: Endpoint, timeout: float | None = None) -> None:
        self.endpoint = endpoint
        self.name = endpoint.backend_name
        self.timeout = timeout if timeout is not None else endpoint.timeout

    def _client(self, timeout: float | None = None) -> Any:
        import openai

        # Servers run without a key (llama-server, LM Studio) ignore the header; the client
        # insists on one. No retries: a stalled or failing server is reported at once.
        return openai.OpenAI(
            base_url=self.endpoint.base_url,
            api_key=self.endpoint.api_key or "no-key-configured",
            timeout=timeout if timeout is not None else self.timeout,
            max_retries=0,
        )

    def is_up(self, timeout: float = 2.0) -> bool:
        """Whether the server answers its model list quickly."""
        try:
            self._client(timeout).models.list()
        except Exception:  # noqa: BLE001 - any failure means "not available"
            return False
        return True

    def models(self) -> list[str]:
        try:
            listing = self._client().models.list()
            return sorted({m.id for m in listing.data if m.id})
        except Exception as exc:
            raise BackendError(self._explain(exc, model=None)) from exc

    def stream(
        self, model: str, messages: list[dict[str, str]], options: GenerationOptions, usage: Usage
    ) -> Iterator[str]:
        kwargs: dict[str, Any] = {
            "model": model,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
            "temperature": options.temperature,
            "max_tokens": options.max_tokens,
        }
        if options.seed is not None:
            kwargs["seed"] = options.seed
        if options.json_schema is not None:
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": _schema_name(options.json_schema),
                                "schema": options.json_schema, "strict": True},
            }
        try:
            stream = self._client().chat.completions.create(**kwargs)
            try:
                for chunk in stream:
                    # The last chunk (with include_usage) has no choices and carries the counts.
                    if chunk.usage is not None:
                        usage.prompt_tokens = chunk.usage.prompt_tokens
                        usage.completion_tokens = chunk.usage.completion_tokens
                    for choice in chunk.choices or ():
                        if choice.delta is not None and choice.delta.content:
                            yield choice.delta.content
            finally:
                stream.close()
        except GeneratorExit:
            raise
        except Exception as exc:
            raise BackendError(self._explain(exc, model=model)) from exc

    def embed(self, model: str, texts: list[str]) -> list[list[float]]:
        """Vectors of ``texts`` from an embedding model on the server, in the order given (one
        ``/v1/embeddings`` request: the caller batches); failures raise BackendError."""
        if not texts:
            return []
        try:
            response = self._client().embeddings.create(model=model, input=texts)
            data = sorted(response.data, key=lambda item: item.index)
            vectors = [list(item.embedding) for item in data]
        except Exception as exc:
            raise BackendError(self._explain(exc, model=model)) from exc
        if len(vectors) != len(texts) or len({len(v) for v in vectors}) != 1 or not vectors[0]:
            raise BackendError(
                f"The OpenAI-compatible endpoint '{self.endpoint.name}' at {self.endpoint.shown_url} "
                f"did not send one vector of one length per text from '{model}': check that it is "
                "an embedding model.")
        return vectors

    def _explain(self, exc: Exception, model: str | None) -> str:
        """One sentence saying what to do; never the key, never the server's echo of it."""
        import httpx
        import openai

        where = f"The OpenAI-compatible endpoint '{self.endpoint.name}' at {self.endpoint.shown_url}"
        if isinstance(exc, openai.AuthenticationError) or (
                isinstance(exc, openai.APIStatusError) and exc.status_code in (401, 403)):
            return (f"{where} refused the API key: set a valid key in {self.endpoint.key_source} "
                    "and restart Loupe.")
        if isinstance(exc, openai.NotFoundError):
            if model:
                return (f"{where} has no model named '{model}': pick one of the models it lists, "
                        "or load that model on the server.")
            return f"{where} has no model list at that address: check that base_url ends in /v1."
        if isinstance(exc, (openai.APITimeoutError, httpx.TimeoutException)):
            return (f"{where} did not answer within {self.timeout:g} s: check that it is not "
                    "overloaded, or raise its timeout.")
        if isinstance(exc, (openai.APIConnectionError, httpx.TransportError, ConnectionError)):
            return (f"Cannot reach the{where[3:]}: start the server, or correct base_url in its "
                    "configuration.")
        if isinstance(exc, openai.APIStatusError):
            return _without_key(
                f"{where} refused the request (HTTP {exc.status_code}: {_message(exc)}): "
                "check the model and settings.", self.endpoint.api_key)
        return _without_key(f"{where} failed ({type(exc).__name__}): try again, or check the "
                            "server's log.", self.endpoint.api_key)


def _message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:300]
        if isinstance(body.get("message"), str):
            return body["message"][:300]
    return "no reason given"


def _without_key(text: str, key: str | None) -> str:
    return text.replace(key, "[key]") if key else text
