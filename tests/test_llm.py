"""Chat backends through the real `ollama` client against a fake server, and the embedded model."""

from __future__ import annotations

from dashboard.chat import INTERRUPTED, ChatTurn
from dashboard.llm import (
    EMBEDDED_MODEL,
    ChatStream,
    EmbeddedBackend,
    GenerationOptions,
    OllamaBackend,
    build_messages,
    embedded_model_path,
)
from tests.fake_ollama import DEFAULT_MODEL, FakeOllama
from tests.paths import free_port


def test_model_list_comes_from_the_server(fake_ollama):
    backend = OllamaBackend(host=fake_ollama.url, timeout=5)
    assert backend.is_up()
    assert backend.models() == [DEFAULT_MODEL]


def test_answer_streams_token_by_token_with_counts(fake_ollama):
    backend = OllamaBackend(host=fake_ollama.url, timeout=5)
    stream = ChatStream(backend, DEFAULT_MODEL, [{"role": "user", "content": "Why is the sky blue?"}])
    chunks = list(stream)
    assert len(chunks) > 5
    result = stream.result
    assert result.error is None
    assert result.text == "".join(chunks) == "You asked: Why is the sky blue?. Here is a short answer."
    assert result.completion_tokens == len(chunks)
    assert result.prompt_tokens and result.prompt_tokens > 0
    assert 0 <= result.ttft_ms <= result.latency_ms
    assert (result.backend, result.model) == ("ollama", DEFAULT_MODEL)


def test_options_and_history_reach_the_server(fake_ollama):
    backend = OllamaBackend(host=fake_ollama.url, timeout=5)
    history = [{"question": "hi", "answer": "hello"}, {"question": "lost", "answer": None, "error": "x"}]
    messages = build_messages(history, "and now?", system_prompt="Be brief.")
    ChatStream(backend, DEFAULT_MODEL, messages, GenerationOptions(temperature=0.1, max_tokens=3, seed=4)).run()
    body = fake_ollama.requests[-1]["body"]
    assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "user"]
    assert body["options"] == {"temperature": 0.1, "num_predict": 3, "seed": 4}
    assert body["stream"] is True


def test_unknown_model_says_how_to_get_it(fake_ollama):
    backend = OllamaBackend(host=fake_ollama.url, timeout=5)
    result = ChatStream(backend, "nope:7b", [{"role": "user", "content": "hi"}]).run()
    assert result.text == ""
    assert "no model named 'nope:7b'" in result.error
    assert "ollama pull nope:7b" in result.error


def test_server_down_says_to_start_it():
    backend = OllamaBackend(host=f"http://127.0.0.1:{free_port()}", timeout=2)
    assert not backend.is_up()
    result = ChatStream(backend, DEFAULT_MODEL, [{"role": "user", "content": "hi"}]).run()
    assert "Cannot reach the Ollama server" in result.error
    assert "ollama serve" in result.error


def test_stalled_server_times_out_with_a_sentence():
    with FakeOllama(stall_seconds=5) as server:
        backend = OllamaBackend(host=server.url, timeout=0.5)
        result = ChatStream(backend, DEFAULT_MODEL, [{"role": "user", "content": "hi"}]).run()
    assert "did not answer within 0.5 s" in result.error


def test_failed_call_keeps_the_question_with_its_error(store):
    backend = OllamaBackend(host=f"http://127.0.0.1:{free_port()}", timeout=2)
    conversation = store.ingest.start_conversation(reviewer="ana")
    turn = ChatTurn(store, backend, DEFAULT_MODEL, conversation, "Is my question kept?")
    assert store.ingest.get_interaction(turn.interaction_id)["question"] == "Is my question kept?"
    turn.run()
    row = store.ingest.get_interaction(turn.interaction_id)
    assert row["answer"] is None
    assert "Cannot reach the Ollama server" in row["error"]
    assert (row["backend"], row["model"]) == ("ollama", DEFAULT_MODEL)


def test_answer_is_stored_with_measurements_when_stream_ends(store, fake_ollama):
    backend = OllamaBackend(host=fake_ollama.url, timeout=5)
    conversation = store.ingest.start_conversation()
    ChatTurn(store, backend, DEFAULT_MODEL, conversation, "first").run()
    turn = ChatTurn(store, backend, DEFAULT_MODEL, conversation, "second", system_prompt="S")
    turn.run()
    row = store.ingest.get_interaction(turn.interaction_id)
    assert row["answer"] == "You asked: second. Here is a short answer."
    assert row["turn"] == 2 and row["system_prompt"] == "S"
    assert row["latency_ms"] > 0 and row["ttft_ms"] is not None
    assert row["completion_tokens"] > 0 and row["prompt_tokens"] > 0
    sent = fake_ollama.requests[-1]["body"]["messages"]
    assert [m["content"] for m in sent if m["role"] == "user"] == ["first", "second"]


def test_reader_stopping_early_still_stores_the_partial_answer(store):
    with FakeOllama(token_delay=0.01) as server:
        backend = OllamaBackend(host=server.url, timeout=5)
        turn = ChatTurn(store, backend, DEFAULT_MODEL, store.ingest.start_conversation(), "long one")
        stream = iter(turn)
        first = next(stream)
        stream.close()
    row = store.ingest.get_interaction(turn.interaction_id)
    assert row["answer"] == first
    assert row["error"] == INTERRUPTED


def test_embedded_model_ships_with_the_package():
    path = embedded_model_path()
    assert path.suffix == ".gguf" and path.stat().st_size > 50_000_000


def test_embedded_model_answers_a_real_question():
    backend = EmbeddedBackend()
    assert backend.models() == [EMBEDDED_MODEL]
    stream = ChatStream(
        backend,
        EMBEDDED_MODEL,
        [{"role": "user", "content": "What is the opposite of hot?"}],
        GenerationOptions(temperature=0.0, max_tokens=24, seed=1),
    )
    chunks = list(stream)
    result = stream.result
    assert result.error is None, result.error
    assert len(chunks) > 1 and result.text.strip()
    assert 0 < result.completion_tokens <= 24
    assert result.prompt_tokens > 20  # the chat template adds a default system prompt
    assert "cold" in result.text.lower()


def test_embedded_backend_refuses_other_models():
    result = ChatStream(EmbeddedBackend(), "llama3", [{"role": "user", "content": "hi"}]).run()
    assert "only runs" in result.error
