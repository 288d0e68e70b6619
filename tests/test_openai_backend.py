"""The OpenAI-compatible backend through the real `openai` client against a fake server."""

from __future__ import annotations

import json

import pytest

from dashboard.chat import ChatTurn, backend_label, describe_answer
from dashboard.experiments import backend_for_variant
from dashboard.llm import (
    ChatStream,
    GenerationOptions,
    available_backends,
    backend_named,
)
from dashboard.openai_backend import Endpoint, OpenAIBackend, openai_endpoints
from tests.fake_openai import DEFAULT_KEY, DEFAULT_MODEL, FakeOpenAI
from tests.paths import free_port

HI = [{"role": "user", "content": "Why is the sky blue?"}]


@pytest.fixture
def fake_openai():
    with FakeOpenAI() as server:
        yield server


def backend_for(server: FakeOpenAI, key: str | None = DEFAULT_KEY, timeout: float = 5,
                name: str = "local") -> OpenAIBackend:
    return OpenAIBackend(Endpoint(name, server.base_url, key, "the environment variable KEY_VAR",
                                  timeout))


def test_model_list_comes_from_the_server(fake_openai):
    backend = backend_for(fake_openai)
    assert backend.is_up()
    assert backend.models() == [DEFAULT_MODEL]
    assert fake_openai.requests[-1]["path"] == "/v1/models"


def test_answer_streams_with_usage_from_the_final_chunk(fake_openai):
    stream = ChatStream(backend_for(fake_openai), DEFAULT_MODEL, HI)
    chunks = list(stream)
    result = stream.result
    assert result.error is None
    assert len(chunks) > 5
    assert result.text == "".join(chunks) == "You asked: Why is the sky blue?. Here is a short answer."
    # the fake counts words: 10 answer pieces; 5 question words + 4 for the template
    assert (result.prompt_tokens, result.completion_tokens) == (9, len(chunks))
    assert 0 <= result.ttft_ms <= result.latency_ms
    assert (result.backend, result.model) == ("openai:local", DEFAULT_MODEL)
    body = fake_openai.requests[-1]["body"]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


def test_options_and_json_schema_reach_the_server(fake_openai):
    schema = {"title": "Verdict", "type": "object", "properties": {"answer": {"type": "string"}},
              "required": ["answer"], "additionalProperties": False}
    options = GenerationOptions(temperature=0.1, max_tokens=50, seed=4, json_schema=schema)
    result = ChatStream(backend_for(fake_openai), DEFAULT_MODEL, HI, options).run()
    body = fake_openai.requests[-1]["body"]
    assert (body["temperature"], body["max_tokens"], body["seed"]) == (0.1, 50, 4)
    assert body["response_format"] == {
        "type": "json_schema", "json_schema": {"name": "Verdict", "schema": schema, "strict": True}}
    assert json.loads(result.text)["answer"].startswith("You asked")


def test_wrong_key_says_where_to_set_it_and_never_shows_it(fake_openai):
    secret = "sk-wrong-key-98765432"
    result = ChatStream(backend_for(fake_openai, key=secret), DEFAULT_MODEL, HI).run()
    assert result.error == (
        f"The OpenAI-compatible endpoint 'local' at {fake_openai.base_url} refused the API key: "
        "set a valid key in the environment variable KEY_VAR and restart Loupe.")
    assert "5432" not in result.error and "sk-" not in result.error
    with pytest.raises(Exception) as listing:
        backend_for(fake_openai, key=secret).models()
    assert "refused the API key" in str(listing.value) and "5432" not in str(listing.value)
    assert not backend_for(fake_openai, key=None).is_up()


def test_unknown_model_says_to_pick_a_listed_one(fake_openai):
    result = ChatStream(backend_for(fake_openai), "gpt-nope", HI).run()
    assert result.text == ""
    assert "has no model named 'gpt-nope': pick one of the models it lists" in result.error


def test_server_down_says_to_start_it():
    endpoint = Endpoint("gone", f"http://127.0.0.1:{free_port()}/v1", "k", "X", 2)
    backend = OpenAIBackend(endpoint)
    assert not backend.is_up()
    result = ChatStream(backend, DEFAULT_MODEL, HI).run()
    assert result.error.startswith("Cannot reach the OpenAI-compatible endpoint 'gone' at http://")
    assert "start the server" in result.error


def test_stalled_server_times_out_with_a_sentence():
    with FakeOpenAI(stall_seconds=30) as server:
        result = ChatStream(backend_for(server, timeout=0.5), DEFAULT_MODEL, HI).run()
    assert result.error.endswith("did not answer within 0.5 s: check that it is not overloaded, "
                                 "or raise its timeout.")


def test_stall_in_the_middle_keeps_the_partial_answer(store):
    with FakeOpenAI(stall_after_tokens=3) as server:
        turn = ChatTurn(store, backend_for(server, timeout=0.5), DEFAULT_MODEL,
                        store.ingest.start_conversation(), "Why is the sky blue?")
        turn.run()
    row = store.ingest.get_interaction(turn.interaction_id)
    assert row["answer"] == "You asked: Why"
    assert "did not answer within 0.5 s" in row["error"]
    assert row["prompt_tokens"] is None and row["completion_tokens"] is None


def test_chat_turn_stores_backend_model_and_tokens(store, fake_openai):
    conversation = store.ingest.start_conversation(reviewer="ana")
    turn = ChatTurn(store, backend_for(fake_openai), DEFAULT_MODEL, conversation, "first")
    turn.run()
    row = store.ingest.get_interaction(turn.interaction_id)
    assert (row["backend"], row["model"]) == ("openai:local", DEFAULT_MODEL)
    assert (row["prompt_tokens"], row["completion_tokens"]) == (5, 8)
    assert row["answer"] == "You asked: first. Here is a short answer."
    assert "OpenAI-compatible (local)" in describe_answer(row)
    assert "5 tokens in, 8 tokens out" in describe_answer(row)
    assert backend_label("openai:local") == "OpenAI-compatible (local)"


def test_endpoints_from_secrets_and_environment(tmp_path):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(
        '[loupe.openai.vllm]\nbase_url = "http://127.0.0.1:8000/v1"\napi_key_env = "VLLM_KEY"\n'
        'timeout = 12\n'
        '[loupe.openai.studio]\nbase_url = "http://user:pw@127.0.0.1:1234/v1"\n'
        'api_key = "sk-inline-secret"\n'
        '[loupe.openai."bad name"]\nbase_url = "http://x/v1"\n'
    )
    environ = {"VLLM_KEY": "sk-from-env", "LOUPE_OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
               "OPENAI_API_KEY": "sk-default"}
    found = openai_endpoints(environ, secrets_paths=[secrets])
    assert sorted(found) == ["default", "studio", "vllm"]
    assert (found["vllm"].api_key, found["vllm"].timeout) == ("sk-from-env", 12.0)
    assert found["vllm"].key_source == "the environment variable VLLM_KEY"
    assert found["studio"].api_key == "sk-inline-secret"
    assert found["studio"].shown_url == "http://127.0.0.1:1234/v1"
    assert (found["default"].base_url, found["default"].api_key) == (
        "http://127.0.0.1:9/v1", "sk-default")
    assert "sk-" not in repr(found)
    # a key in the environment alone does not send anything anywhere
    assert openai_endpoints({"OPENAI_API_KEY": "sk-x"}, secrets_paths=[]) == {}


def test_available_backends_include_endpoints_that_answer(fake_openai, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OLLAMA_HOST", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("LOUPE_OPENAI_BASE_URL", fake_openai.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", DEFAULT_KEY)
    names = [b.name for b in available_backends()]
    assert names[0] == "openai:default" and "ollama" not in names
    monkeypatch.setenv("LOUPE_OPENAI_BASE_URL", f"http://127.0.0.1:{free_port()}/v1")
    assert "openai:default" not in [b.name for b in available_backends()]


def test_variant_on_an_endpoint_uses_it_and_an_unknown_one_says_so(fake_openai, monkeypatch,
                                                                   tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LOUPE_OPENAI_BASE_URL", fake_openai.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", DEFAULT_KEY)
    variant = {"model": DEFAULT_MODEL, "params": {"backend": "openai:default"}}
    assert backend_for_variant(variant).name == "openai:default"
    assert backend_named("openai:default").models() == [DEFAULT_MODEL]
    missing = backend_for_variant({"model": "m", "params": {"backend": "openai:gone"}})
    result = ChatStream(missing, "m", HI).run()
    assert result.error == ("No OpenAI-compatible endpoint named 'gone' is configured: add "
                            "[loupe.openai.gone] to .streamlit/secrets.toml, or choose another "
                            "backend.")
    assert backend_for_variant({"model": "llama3.2", "params": {}}).name == "ollama"


def test_chat_page_names_an_endpoint_that_refuses_its_key(monkeypatch, db_path, fake_openai,
                                                         tmp_path):
    from tests.pages import open_app

    monkeypatch.setenv("OLLAMA_HOST", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("LOUPE_OPENAI_BASE_URL", fake_openai.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-key-98765432")
    at = open_app(monkeypatch, db_path)
    from tests.shown import shown

    warnings = [shown(w.value) for w in at.sidebar.warning]
    assert warnings == [(
        f"The OpenAI-compatible endpoint 'default' at {fake_openai.base_url} refused the API "
        "key: set a valid key in the environment variable OPENAI_API_KEY and restart Loupe.")]
    assert "OpenAI-compatible (default)" not in (at.selectbox(key="chat.backend").options or [])


def test_the_judge_and_theme_naming_run_on_an_endpoint():
    from dashboard.clustering import name_theme
    from dashboard.judge import judge_pair

    def reply(messages):
        text = messages[-1]["content"]
        if "Answer 2:" in text:  # the better answer mentions a refund, wherever it is shown
            second = text.split("Answer 2:")[1]
            verdict = "2" if "refund" in second else "1"
            return json.dumps({"verdict": verdict, "reason": "It answers the question."})
        return "Refund requests"

    with FakeOpenAI(reply=reply) as server:
        backend = backend_for(server)
        result = judge_pair(backend, DEFAULT_MODEL, "", "Can I get my money back?",
                            "Yes, ask for a refund in Orders.", "Maybe.")
        assert (result.verdict, result.verdict_a_first, result.verdict_b_first, result.error) == (
            "a", "a", "a", None)
        theme = {"id": 1, "members": [1], "top_terms": ["refund"]}
        items = {1: {"question": "How do I get a refund?", "answer": "", "stars": 1}}
        assert name_theme(backend, DEFAULT_MODEL, theme, items) == "Refund requests"
