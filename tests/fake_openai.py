"""A fake OpenAI-compatible server speaking the real protocol on a loopback port.

It answers ``GET /v1/models`` (``{"object": "list", "data": [...]}``) and
``POST /v1/chat/completions``: streamed as server-sent events (``data: {chunk}`` lines, a first
chunk with the assistant role, one chunk per word, a chunk with ``finish_reason``, then, when
``stream_options.include_usage`` is set, a chunk with empty ``choices`` and the ``usage``
counts, and ``data: [DONE]``), or one JSON object without streaming; and
``POST /v1/embeddings`` for its embedding models (a string or a list of strings in, OpenAI's
``{"object": "list", "data": [{"object": "embedding", "index", "embedding"}], "model", "usage"}``
out, as floats or, with ``encoding_format="base64"`` as the official client asks by default,
base64 of little-endian float32; ``dimensions`` shortens the vectors; an empty string or more
than 2,048 inputs get 400, a chat model 400, an unknown model 404). A wrong or missing key
gets 401 with OpenAI's error JSON (which echoes part of the key, as the real API does); an
unknown model gets 404 ``model_not_found``. A test can make it stall before answering or in the
middle of a stream, and reads every request it received.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import struct
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fake_ollama import _echo_reply, _tokens
from tests.loopback import LoopbackServer

DEFAULT_MODEL = "fake-gpt-mini"
DEFAULT_KEY = "sk-test-0123456789abcdef"
EMBEDDING_MODEL = "text-embedding-3-small"
MAX_EMBEDDING_INPUTS = 2048


def hashed_vector(text: str, dimensions: int = 16) -> list[float]:
    """A deterministic bag-of-words vector: each word adds one to a dimension its hash picks."""
    vector = [0.0] * dimensions
    for word in text.lower().split():
        vector[int(hashlib.md5(word.encode()).hexdigest(), 16) % dimensions] += 1.0
    return vector


def _unit(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vector))
    return [x / norm for x in vector] if norm else vector


def _error(message: str, kind: str, code: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


class FakeOpenAI(LoopbackServer):
    """Run with ``with FakeOpenAI() as server:``; ``server.base_url`` ends in ``/v1``."""

    def __init__(
        self,
        models: tuple[str, ...] = (DEFAULT_MODEL,),
        api_key: str | None = DEFAULT_KEY,
        reply: Callable[[list[dict[str, Any]]], str] = _echo_reply,
        token_delay: float = 0.0,
        stall_seconds: float = 0.0,
        stall_after_tokens: int | None = None,
        embedding_models: tuple[str, ...] = (),
        embed: Callable[[str], list[float]] = hashed_vector,
    ) -> None:
        self.models = list(models)
        self.embedding_models = list(embedding_models)
        self.embed = embed
        self.api_key = api_key
        self.reply = reply
        self.token_delay = token_delay
        self.stall_seconds = stall_seconds
        self.stall_after_tokens = stall_after_tokens
        self.requests: list[dict[str, Any]] = []
        self._stop = threading.Event()
        # A client that gave up on a stalled stream closes its socket: not worth a traceback.
        self._serve(self._handler(), quiet=True)

    @property
    def base_url(self) -> str:
        return f"{self.address}/v1"

    def _stopping(self) -> None:
        self._stop.set()

    def _sleep(self, seconds: float) -> None:
        self._stop.wait(seconds)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def _json(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorized(self) -> bool:
                if fake.api_key is None:
                    return True
                sent = self.headers.get("Authorization", "")
                key = sent[len("Bearer "):] if sent.startswith("Bearer ") else ""
                if key == fake.api_key:
                    return True
                shown = f"{key[:3]}***{key[-4:]}" if len(key) > 8 else key
                self._json(401, _error(
                    f"Incorrect API key provided: {shown}. You can find your API key at "
                    "https://platform.openai.com/account/api-keys.",
                    "invalid_request_error", "invalid_api_key"))
                return False

            def do_GET(self) -> None:
                fake.requests.append({"method": "GET", "path": self.path,
                                      "authorized": self._authorized()})
                if not fake.requests[-1]["authorized"]:
                    return
                if self.path == "/v1/models":
                    self._json(200, {"object": "list", "data": [
                        {"id": m, "object": "model", "created": 1700000000, "owned_by": "fake"}
                        for m in [*fake.models, *fake.embedding_models]]})
                else:
                    self._json(404, _error(f"Unknown request URL: GET {self.path}.",
                                           "invalid_request_error", "unknown_url"))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                authorized = self._authorized()
                fake.requests.append({"method": "POST", "path": self.path, "body": body,
                                      "authorized": authorized})
                if not authorized:
                    return
                if self.path == "/v1/embeddings":
                    self._embeddings(body)
                elif self.path != "/v1/chat/completions":
                    self._json(404, _error(f"Unknown request URL: POST {self.path}.",
                                           "invalid_request_error", "unknown_url"))
                elif body.get("model") not in fake.models:
                    self._json(404, _error(
                        f"The model `{body.get('model')}` does not exist or you do not have "
                        "access to it.", "invalid_request_error", "model_not_found"))
                else:
                    self._complete(body)

            def _embeddings(self, body: dict[str, Any]) -> None:
                model, given = body.get("model"), body.get("input")
                if model not in fake.models and model not in fake.embedding_models:
                    self._json(404, _error(
                        f"The model `{model}` does not exist or you do not have access to it.",
                        "invalid_request_error", "model_not_found"))
                    return
                if model not in fake.embedding_models:
                    self._json(400, _error(f"The model `{model}` does not support embeddings.",
                                           "invalid_request_error", None))
                    return
                texts = [given] if isinstance(given, str) else given
                if (not isinstance(texts, list) or not 0 < len(texts) <= MAX_EMBEDDING_INPUTS
                        or not all(isinstance(t, str) and t for t in texts)):
                    self._json(400, _error(
                        "'$.input' is invalid. Please check the API reference: "
                        "https://platform.openai.com/docs/api-reference.",
                        "invalid_request_error", None))
                    return
                if fake.stall_seconds:
                    fake._sleep(fake.stall_seconds)
                size = body.get("dimensions")
                data = []
                for index, text in enumerate(texts):
                    vector = _unit([float(x) for x in fake.embed(text)])
                    if isinstance(size, int) and 0 < size < len(vector):
                        vector = _unit(vector[:size])
                    if body.get("encoding_format") == "base64":
                        shown: Any = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
                    else:
                        shown = vector
                    data.append({"object": "embedding", "index": index, "embedding": shown})
                tokens = sum(len(_tokens(t)) for t in texts)
                self._json(200, {"object": "list", "data": data, "model": model,
                                 "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})

            def _complete(self, body: dict[str, Any]) -> None:
                if fake.stall_seconds:
                    fake._sleep(fake.stall_seconds)
                model = body["model"]
                messages = body.get("messages") or []
                text = fake.reply(messages)
                form = body.get("response_format") or {}
                if form.get("type") == "json_schema":
                    text = _structured(text, (form.get("json_schema") or {}).get("schema") or {})
                elif isinstance(text, dict):
                    text = json.dumps(text)
                pieces = _tokens(text)
                limit = body.get("max_completion_tokens") or body.get("max_tokens")
                if isinstance(limit, int) and limit > 0:
                    pieces = pieces[:limit]
                finish = "length" if isinstance(limit, int) and len(_tokens(text)) > limit else "stop"
                usage = {
                    "prompt_tokens": sum(len(_tokens(m.get("content") or "")) for m in messages) + 4,
                    "completion_tokens": len(pieces),
                }
                usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
                ident, created = f"chatcmpl-{len(fake.requests)}", int(time.time())
                base = {"id": ident, "object": "chat.completion.chunk", "created": created,
                        "model": model, "system_fingerprint": "fp_fake"}
                if not body.get("stream"):
                    self._json(200, {
                        "id": ident, "object": "chat.completion", "created": created,
                        "model": model, "usage": usage,
                        "choices": [{"index": 0, "finish_reason": finish, "logprobs": None,
                                     "message": {"role": "assistant", "content": "".join(pieces)}}],
                    })
                    return
                with_usage = bool((body.get("stream_options") or {}).get("include_usage"))
                extra = {"usage": None} if with_usage else {}

                def choice(delta: dict[str, Any], reason: str | None = None) -> dict[str, Any]:
                    return {**base, **extra, "choices": [
                        {"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason}]}

                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream; charset=utf-8")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self._event(choice({"role": "assistant", "content": "", "refusal": None}))
                for number, piece in enumerate(pieces):
                    if fake.stall_after_tokens is not None and number == fake.stall_after_tokens:
                        fake._sleep(3600)
                        return
                    if fake.token_delay:
                        time.sleep(fake.token_delay)
                    self._event(choice({"content": piece}))
                self._event(choice({}, finish))
                if with_usage:
                    self._event({**base, "choices": [], "usage": usage})
                self._send(b"data: [DONE]\n\n")
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

            def _event(self, payload: dict[str, Any]) -> None:
                self._send(f"data: {json.dumps(payload)}\n\n".encode())

            def _send(self, data: bytes) -> None:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

        return Handler


def _structured(reply: Any, schema: dict[str, Any]) -> str:
    """The reply as a server that holds the model to ``schema`` sends it: a dict or JSON text
    as it is, plain text put in the schema's first required text field."""
    if isinstance(reply, dict):
        return json.dumps(reply)
    try:
        json.loads(reply)
        return reply
    except ValueError:
        pass
    fields = schema.get("properties", {})
    texts = [name for name in schema.get("required", [])
             if fields.get(name, {}).get("type") == "string"]
    return json.dumps({texts[0] if texts else "text": reply})
