"""OpenTelemetry GenAI spans in: from a file shaped as the collector's file exporter writes it
(tests/data/otel_genai_spans.jsonl: one compact `{"resourceSpans": ...}` per line, ids in hex,
64-bit integers as strings, attribute values as `{"stringValue": ...}`/`{"intValue": "31"}`,
content as the GenAI semantic conventions' JSON messages with parts; one OpenInference span),
and at `POST /v1/traces` from the real OTLP/HTTP exporter of the OpenTelemetry SDK."""

from __future__ import annotations

import gzip
import json
import threading
import time

import pytest
from fastapi.testclient import TestClient

from dashboard.api import create_app
from dashboard.auth import new_token, token_digest
from dashboard.importing import import_file
from store import Store
from tests.paths import ROOT, free_port

SPANS = ROOT / "tests" / "data" / "otel_genai_spans.jsonl"


def interactions(store: Store) -> list[dict]:
    return store.rows(
        "SELECT i.question, i.answer, i.model, i.backend, i.error, i.latency_ms, i.prompt_tokens,"
        " i.completion_tokens, i.created_at, i.turn, i.system_prompt, v.name AS variant,"
        " c.external_id AS conversation FROM interactions i"
        " LEFT JOIN variants v ON v.id = i.variant_id"
        " LEFT JOIN conversations c ON c.id = i.conversation_id ORDER BY i.created_at")


def test_model_call_spans_land_as_interactions_with_their_evaluations(store):
    report = import_file(store, SPANS)
    assert report.committed, [r.reason for r in report.refusals]
    assert report.format == "otlp"
    assert [(r["question"], r["answer"], r["model"], r["backend"], r["error"], r["latency_ms"],
             r["prompt_tokens"], r["completion_tokens"], r["created_at"], r["turn"],
             r["variant"], r["conversation"]) for r in interactions(store)] == [
        ("Where is my parcel?", "It left the warehouse this morning.", "gpt-4o-mini-2024-07-18",
         "openai", None, 1240.0, 31, 9, "2025-01-17T10:00:00.100Z", 1, "support@3", "conv_5f2a"),
        ("When will it arrive?", "Tomorrow before noon.", "gpt-4o-mini-2024-07-18", "openai", None,
         980.0, 52, 6, "2025-01-17T10:01:00.000Z", 2, "support@3", "conv_5f2a"),
        ("Can I pay by bank transfer?", None, "gpt-4o-mini-2024-07-18", "openai", "timeout",
         30000.0, None, None, "2025-01-17T10:02:00.000Z", 1, None, "conv_5f2a"),
        ("How do I reset my password?", "Settings > Account > Reset password.", "llama3.2:3b",
         "ollama", None, 700.0, 22, 8, "2025-01-17T10:03:00.000Z", 1, None, "sess-77"),
    ]
    assert interactions(store)[0]["system_prompt"] == "You are a helpful support assistant."
    assert interactions(store)[3]["system_prompt"] == "Be brief."
    ratings = store.rows("SELECT reviewer, stars, thumbs, comment FROM ratings ORDER BY reviewer")
    assert ratings == [
        {"reviewer": "relevance", "stars": 5, "thumbs": 1, "comment": "Answers the question asked."},
        {"reviewer": "user_feedback", "stars": 4, "thumbs": None, "comment": None},
    ]
    again = import_file(store, SPANS)
    assert again.committed and again.imported == 0 and store.summary()["interactions"] == 4


def test_a_bad_span_is_refused_with_its_line_and_nothing_lands(store, tmp_path):
    lines = SPANS.read_text().splitlines()
    broken = json.loads(lines[1])
    span = broken["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    for attribute in span["attributes"]:
        if attribute["key"] == "gen_ai.usage.input_tokens":
            attribute["value"] = {"intValue": "-3"}
    path = tmp_path / "traces.jsonl"
    path.write_text("\n".join([lines[0], json.dumps(broken), *lines[2:]]) + "\n")
    report = import_file(store, path)
    assert not report.committed
    assert [r.where("traces.jsonl") for r in report.refusals] == [(
        "traces.jsonl:2: span 1 (chat gpt-4o-mini): gen_ai.usage.input_tokens must be a whole"
        " number from 0 to 1000000000, not -3")]
    assert store.summary()["interactions"] == 0


@pytest.fixture
def api(tmp_path):
    with Store(tmp_path / "api.db") as store:
        token = new_token()
        store.users.add_token("tests", token_digest(token), "1000/minute", "ada")
        client = TestClient(create_app(store, max_body=200_000))
        yield client, store, token


def test_traces_as_otlp_json_need_a_token_and_land_whole(api):
    client, store, token = api
    body = SPANS.read_text().splitlines()[0]
    assert client.post("/v1/traces", content=body,
                       headers={"Content-Type": "application/json"}).status_code == 401
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    done = client.post("/v1/traces", content=body, headers=auth)
    assert done.status_code == 200, done.text
    assert done.json() == {"stored": 2, "already_present": 0}  # one call, two evaluations
    again = client.post("/v1/traces", content=gzip.compress(body.encode()),
                        headers=auth | {"Content-Encoding": "gzip"})
    assert again.json() == {"stored": 0, "already_present": 2}
    [row] = interactions(store)
    assert (row["question"], row["answer"]) == ("Where is my parcel?",
                                                "It left the warehouse this morning.")
    assert store.scalar("SELECT source FROM interactions") == "api"


def test_a_bad_trace_request_is_one_sentence_and_stores_nothing(api):
    client, store, token = api
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    assert client.post("/v1/traces", content=b"{not json", headers=auth).json() == {
        "detail": "The body is not valid JSON."}
    bad = json.loads(SPANS.read_text().splitlines()[0])
    bad["resourceSpans"][0]["scopeSpans"][0]["spans"][1]["startTimeUnixNano"] = "99999999999999999999"
    refused = client.post("/v1/traces", content=json.dumps(bad), headers=auth)
    assert refused.status_code == 400
    assert refused.json()["detail"].startswith("span 2 (chat gpt-4o-mini): startTimeUnixNano")
    assert refused.json()["detail"].endswith("; nothing was stored.")
    too_big = client.post("/v1/traces", content=gzip.compress(b" " * 300_000 + b"{}"),
                          headers=auth | {"Content-Encoding": "gzip"})
    assert too_big.status_code == 413
    assert store.summary()["interactions"] == 0


def test_the_opentelemetry_sdk_exporter_sends_spans_that_land(tmp_path):
    """The real OTLP/HTTP exporter (protobuf) against the service on a loopback port."""
    uvicorn = pytest.importorskip("uvicorn")
    pytest.importorskip("opentelemetry.exporter.otlp.proto.http")
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    with Store(tmp_path / "api.db") as store:
        token = new_token()
        store.users.add_token("app", token_digest(token), "1000/minute", "ada")
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(store), host="127.0.0.1", port=port,
                                               log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            for _ in range(200):
                if server.started:
                    break
                time.sleep(0.05)
            exporter = OTLPSpanExporter(endpoint=f"http://127.0.0.1:{port}/v1/traces",
                                        headers={"Authorization": f"Bearer {token}"}, timeout=10)
            provider = TracerProvider(resource=Resource.create({"service.name": "support-bot"}))
            provider.add_span_processor(SimpleSpanProcessor(exporter))
            tracer = provider.get_tracer("support-bot")
            with tracer.start_as_current_span("chat llama3.2:3b") as span:
                span.set_attribute("gen_ai.operation.name", "chat")
                span.set_attribute("gen_ai.request.model", "llama3.2:3b")
                span.set_attribute("gen_ai.input.messages", json.dumps(
                    [{"role": "user", "parts": [{"type": "text", "content": "Where is my parcel?"}]}]))
                span.set_attribute("gen_ai.output.messages", json.dumps(
                    [{"role": "assistant", "parts": [{"type": "text", "content": "It ships today."}],
                      "finish_reason": "stop"}]))
                span.set_attribute("gen_ai.usage.input_tokens", 12)
                span.set_attribute("gen_ai.usage.output_tokens", 4)
                span.add_event("gen_ai.evaluation.result", {"gen_ai.evaluation.name": "user_feedback",
                                                            "gen_ai.evaluation.score.label": "pass"})
                trace_id = f"{span.get_span_context().trace_id:032x}"
                span_id = f"{span.get_span_context().span_id:016x}"
            provider.shutdown()
        finally:
            server.should_exit = True
            thread.join(10)
        rows = store.rows("SELECT question, answer, model, prompt_tokens, completion_tokens,"
                           " external_id, source FROM interactions")
        assert rows == [{"question": "Where is my parcel?", "answer": "It ships today.",
                         "model": "llama3.2:3b", "prompt_tokens": 12, "completion_tokens": 4,
                         "external_id": f"{trace_id}:{span_id}", "source": "api"}]
        assert store.rows("SELECT reviewer, thumbs FROM ratings") == [
            {"reviewer": "api:app/user_feedback", "thumbs": 1}]  # the token speaks for its evaluator


def test_traces_need_the_write_scope_and_speak_for_their_token(tmp_path):
    with Store(tmp_path / "api.db") as store:
        client = TestClient(create_app(store, max_body=200_000))
        tokens = {}
        for name, scopes in [("reader", ["feedback:read"]), ("app", ["feedback:write"]),
                             ("relay", ["feedback:write", "feedback:write-as"])]:
            tokens[name] = new_token()
            store.users.add_token(name, token_digest(tokens[name]), "1000/minute", "ada", scopes=scopes)
        body = SPANS.read_text().splitlines()[0]

        def send(name):
            return client.post("/v1/traces", content=body, headers={
                "Authorization": f"Bearer {tokens[name]}", "Content-Type": "application/json"})

        refused = send("reader")
        assert refused.status_code == 403 and "feedback:write" in refused.json()["detail"]
        assert store.summary()["interactions"] == 0
        assert send("app").json() == {"stored": 2, "already_present": 0}
        assert {r["reviewer"] for r in store.rows("SELECT reviewer FROM ratings")} == {
            "api:app/relevance", "api:app/user_feedback"}
    with Store(tmp_path / "relay.db") as other:
        other.users.add_token("relay", token_digest(tokens["relay"]), "1000/minute", "ada",
                        scopes=["feedback:write", "feedback:write-as"])
        relayed = TestClient(create_app(other, max_body=200_000)).post(
            "/v1/traces", content=body, headers={"Authorization": f"Bearer {tokens['relay']}",
                                                 "Content-Type": "application/json"})
        assert relayed.json() == {"stored": 2, "already_present": 0}
        assert {r["reviewer"] for r in other.rows("SELECT reviewer FROM ratings")} == {
            "relevance", "user_feedback"}
