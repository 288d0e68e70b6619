"""A fake Ollama server speaking the real REST protocol on a loopback port.

It answers /api/tags, /api/version, /api/show and /api/chat (streamed NDJSON with chunked
transfer encoding, a final chunk with done, done_reason, counts and durations in ns; or one JSON
object with stream false), /api/embed (a deterministic bag-of-words vector per input), and 404
{"error": "model 'x' not found"} for an unknown model.
A test can make it stall, slow its tokens, or change what it answers.

Structured output: a request's ``format`` (a JSON schema, or "json") is honoured as Ollama's
constrained decoding does: the answer is JSON that follows the schema. A ``reply`` may then
return a dict (checked against the schema) or text; text that is not such JSON is replaced by
the schema's first valid instance, as a constrained model could not have written it. A test
that wants what a server ignoring ``format`` would send (junk, empty, hostile text) sets
``honour_format=False``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.loopback import LoopbackServer

DEFAULT_MODEL = "fake-llm:latest"


def _echo_reply(messages: list[dict[str, Any]]) -> str:
    last = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
    return f"You asked: {last}. Here is a short answer."


def _tokens(text: str) -> list[str]:
    """Split text into word-sized pieces that keep their spaces, like a tokenizer would."""
    pieces: list[str] = []
    current = ""
    for char in text:
        if char == " " and current:
            pieces.append(current)
            current = char
        else:
            current += char
    if current:
        pieces.append(current)
    return pieces


class FakeOllama(LoopbackServer):
    """Run with ``with FakeOllama() as server:``; ``server.url`` is its OLLAMA_HOST."""

    def __init__(
        self,
        models: tuple[str, ...] = (DEFAULT_MODEL,),
        reply: Callable[[list[dict[str, Any]]], str | dict[str, Any]] = _echo_reply,
        token_delay: float = 0.0,
        stall_seconds: float = 0.0,
        honour_format: bool = True,
    ) -> None:
        self.models = list(models)
        self.reply = reply
        self.honour_format = honour_format
        self.token_delay = token_delay
        self.stall_seconds = stall_seconds
        self.requests: list[dict[str, Any]] = []
        self._serve(self._handler())

    @property
    def url(self) -> str:
        return self.address

    def _stopping(self) -> None:
        self.stall_seconds = 0

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def _body(self) -> dict[str, Any]:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                return json.loads(raw or b"{}")

            def _json(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                fake.requests.append({"method": "GET", "path": self.path})
                if self.path == "/api/tags":
                    self._json(200, {"models": [_model_entry(m) for m in fake.models]})
                elif self.path == "/api/version":
                    self._json(200, {"version": "0.12.6"})
                else:
                    self._json(404, {"error": "not found"})

            def do_POST(self) -> None:
                body = self._body()
                fake.requests.append({"method": "POST", "path": self.path, "body": body})
                if self.path == "/api/show":
                    if body.get("model") in fake.models:
                        self._json(200, {"modelfile": "", "details": {"family": "fake"}})
                    else:
                        self._json(404, {"error": f"model '{body.get('model')}' not found"})
                elif self.path == "/api/chat":
                    self._chat(body)
                elif self.path == "/api/embed":
                    self._embed(body)
                else:
                    self._json(404, {"error": "not found"})

            def _chat(self, body: dict[str, Any]) -> None:
                model = body.get("model", "")
                if model not in fake.models:
                    self._json(404, {"error": f"model '{model}' not found"})
                    return
                if fake.stall_seconds:
                    time.sleep(fake.stall_seconds)
                started = time.perf_counter_ns()
                messages = body.get("messages") or []
                text = _formatted(fake.reply(messages), body.get("format"), fake.honour_format)
                pieces = _tokens(text)
                limit = (body.get("options") or {}).get("num_predict")
                if isinstance(limit, int) and limit > 0:
                    pieces = pieces[:limit]
                prompt_count = sum(len(_tokens(m.get("content", ""))) for m in messages) + 4
                final = {
                    "model": model,
                    "created_at": _now(),
                    "message": {"role": "assistant", "content": ""},
                    "done": True,
                    "done_reason": "stop" if limit is None or len(pieces) < limit else "length",
                    "load_duration": 1_000_000,
                    "prompt_eval_count": prompt_count,
                    "prompt_eval_duration": 2_000_000,
                    "eval_count": len(pieces),
                }
                if body.get("stream") is False:
                    final["message"]["content"] = "".join(pieces)
                    final["eval_duration"] = time.perf_counter_ns() - started
                    final["total_duration"] = final["eval_duration"] + 3_000_000
                    self._json(200, final)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/x-ndjson")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for piece in pieces:
                    if fake.token_delay:
                        time.sleep(fake.token_delay)
                    self._chunk(
                        {
                            "model": model,
                            "created_at": _now(),
                            "message": {"role": "assistant", "content": piece},
                            "done": False,
                        }
                    )
                final["eval_duration"] = time.perf_counter_ns() - started
                final["total_duration"] = final["eval_duration"] + 3_000_000
                self._chunk(final)
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

            def _embed(self, body: dict[str, Any]) -> None:
                model = body.get("model", "")
                if model not in fake.models:
                    self._json(404, {"error": f"model '{model}' not found"})
                    return
                inputs = body.get("input") or ""
                inputs = [inputs] if isinstance(inputs, str) else list(inputs)
                self._json(200, {
                    "model": model,
                    "embeddings": [_embedding(text) for text in inputs],
                    "total_duration": 1_000_000,
                    "load_duration": 100_000,
                    "prompt_eval_count": sum(len(_tokens(text)) for text in inputs),
                })

            def _chunk(self, payload: dict[str, Any]) -> None:
                line = (json.dumps(payload) + "\n").encode()
                self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
                self.wfile.flush()

        return Handler


def _formatted(reply: str | dict[str, Any], form: Any, honour: bool) -> str:
    """The answer text for a reply under a request's ``format`` (see the module docstring)."""
    if not form or not honour:
        return reply if isinstance(reply, str) else json.dumps(reply)
    schema = form if isinstance(form, dict) else {}
    if isinstance(reply, str):
        try:
            value = json.loads(reply)
        except ValueError:
            return json.dumps(_instance(schema) if schema else {"text": reply})
        return json.dumps(value if _follows(value, schema) else _instance(schema))
    if not _follows(reply, schema):
        raise ValueError(f"the test's reply {reply!r} does not follow the schema {schema!r}")
    return json.dumps(reply)


def _follows(value: Any, schema: dict[str, Any]) -> bool:
    """Whether a value follows the parts of JSON Schema a structured-output request uses."""
    if "enum" in schema and value not in schema["enum"]:
        return False
    kind = schema.get("type")
    checks = {"object": dict, "string": str, "array": list, "boolean": bool, "null": type(None)}
    if kind in checks and not isinstance(value, checks[kind]):
        return False
    if kind in ("integer", "number") and (isinstance(value, bool) or not isinstance(
            value, int if kind == "integer" else (int, float))):
        return False
    if kind == "object":
        properties = schema.get("properties", {})
        if any(name not in value for name in schema.get("required", [])):
            return False
        if schema.get("additionalProperties") is False and set(value) - set(properties):
            return False
        return all(_follows(value[k], s) for k, s in properties.items() if k in value)
    if kind == "array":
        return all(_follows(item, schema.get("items", {})) for item in value)
    return True


def _instance(schema: dict[str, Any]) -> Any:
    """The first value a constrained decoder could produce for a schema."""
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        return {name: _instance(s) for name, s in schema.get("properties", {}).items()}
    return {"string": "", "integer": 0, "number": 0, "boolean": False, "array": [],
            "null": None}.get(kind)


EMBEDDING_SIZE = 64


def _embedding(text: str) -> list[float]:
    """A unit bag-of-words vector: texts sharing words point the same way."""
    import hashlib
    import math
    import re

    vector = [0.0] * EMBEDDING_SIZE
    for word in re.findall(r"\w+", text.lower()):
        slot = int(hashlib.md5(word.encode()).hexdigest(), 16) % EMBEDDING_SIZE
        vector[slot] += 1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _model_entry(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "model": name,
        "modified_at": _now(),
        "size": 1_000_000,
        "digest": "0" * 64,
        "details": {
            "format": "gguf",
            "family": "fake",
            "families": ["fake"],
            "parameter_size": "1M",
            "quantization_level": "Q4_0",
        },
    }
