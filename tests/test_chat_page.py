"""The chat page in AppTest: ask, get an answer, rate it, find it in the database."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from store import Store
from tests.fake_ollama import DEFAULT_MODEL, FakeOllama
from tests.paths import free_port
from tests.shown import shown


@pytest.fixture
def app(monkeypatch, open_page, fake_ollama):
    monkeypatch.setenv("OLLAMA_HOST", fake_ollama.url)
    return open_page()


def _ask(at: AppTest, question: str) -> AppTest:
    at.text_input(key="app.reviewer").set_value("ana").run()
    at.chat_input[0].set_value(question).run()
    assert not at.exception, at.exception
    return at


def _rows(db_path, sql):
    with Store(db_path) as store:
        return [dict(r) for r in store.db.execute(sql).fetchall()]


def test_page_shows_which_backend_and_model_answer(app):
    assert app.title[0].value == "Chat"
    assert any("Ollama" in c.value and DEFAULT_MODEL in shown(c.value) for c in app.caption)
    assert app.selectbox(key="chat.model").value == DEFAULT_MODEL


def test_ask_get_an_answer_rate_it_and_find_it_in_the_database(app, db_path):
    at = _ask(app, "How do I export my data?")
    assistant = [m for m in at.chat_message if m.name == "assistant"]
    assert len(assistant) == 1
    assert "You asked: How do I export my data?" in shown(assistant[0].markdown[0].value)
    assert any(f"Ollama · {DEFAULT_MODEL}" in shown(c.value) for c in at.caption)

    [interaction] = _rows(db_path, "SELECT * FROM interactions")
    assert interaction["question"] == "How do I export my data?"
    assert interaction["answer"].startswith("You asked")
    assert interaction["backend"] == "ollama" and interaction["model"] == DEFAULT_MODEL
    assert interaction["latency_ms"] > 0 and interaction["completion_tokens"] > 0

    iid = interaction["id"]
    at.feedback(key=f"chat.{iid}.ana.stars").set_value(3).run()
    at.feedback(key=f"chat.{iid}.ana.thumbs").set_value(1).run()
    at.multiselect(key=f"chat.{iid}.ana.tags").select("incomplete").run()
    at.text_area(key=f"chat.{iid}.ana.comment").input("misses the CSV option").run()
    at.text_area(key=f"chat.{iid}.ana.ideal").input("Use Export, then pick CSV.").run()
    assert not at.exception
    [rating] = _rows(db_path, "SELECT * FROM ratings")
    assert (rating["reviewer"], rating["stars"], rating["thumbs"]) == ("ana", 4, 1)
    assert rating["tags"] == '["incomplete"]'
    assert rating["comment"] == "misses the CSV option"
    assert rating["ideal_answer"] == "Use Export, then pick CSV."

    # re-rating updates the same row
    at.feedback(key=f"chat.{iid}.ana.stars").set_value(0).run()
    ratings = _rows(db_path, "SELECT stars FROM ratings")
    assert ratings == [{"stars": 1}]


def test_second_question_continues_the_conversation(app, db_path, fake_ollama):
    at = _ask(app, "first question")
    at.chat_input[0].set_value("second question").run()
    rows = _rows(db_path, "SELECT conversation_id, turn FROM interactions ORDER BY id")
    assert [r["turn"] for r in rows] == [1, 2]
    assert rows[0]["conversation_id"] == rows[1]["conversation_id"]
    sent = fake_ollama.requests[-1]["body"]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    at.button[0].click().run()  # New conversation
    at.chat_input[0].set_value("fresh start").run()
    rows = _rows(db_path, "SELECT conversation_id, turn FROM interactions ORDER BY id")
    assert rows[2]["turn"] == 1 and rows[2]["conversation_id"] != rows[0]["conversation_id"]


def test_without_a_name_answers_are_kept_but_rating_asks_for_one(app, db_path):
    app.chat_input[0].set_value("anonymous question").run()
    assert not app.exception
    assert not app.feedback
    assert any("Type your name in the sidebar" in c.value for c in app.caption)
    assert len(_rows(db_path, "SELECT id FROM interactions")) == 1


def test_unknown_model_shows_a_sentence_and_keeps_the_question(monkeypatch, open_page, db_path):
    with FakeOllama(models=("gone:1b",)) as server:
        monkeypatch.setenv("OLLAMA_HOST", server.url)
        at = open_page(check=False)
        server.models.clear()  # the model disappears after the page listed it
        at.chat_input[0].set_value("still there?").run()
    assert not at.exception
    assert any("ollama pull gone:1b" in e.value for e in at.error)
    [row] = _rows(db_path, "SELECT question, answer, error FROM interactions")
    assert row["question"] == "still there?" and row["answer"] is None
    assert "no model named 'gone:1b'" in row["error"]


def test_without_ollama_the_embedded_model_answers(monkeypatch, open_page, db_path):
    monkeypatch.setenv("OLLAMA_HOST", f"http://127.0.0.1:{free_port()}")
    at = open_page(timeout=120, check=False)
    assert at.selectbox(key="chat.backend").value == "embedded"
    at.number_input(key="chat.max_tokens").set_value(16).run()
    at.chat_input[0].set_value("Say hello.").run()
    assert not at.exception
    [row] = _rows(db_path, "SELECT backend, model, answer, error FROM interactions")
    assert row["backend"] == "embedded" and row["error"] is None and row["answer"]
    assert any("Embedded llama.cpp · SmolLM2-135M-Instruct" in shown(c.value) for c in at.caption)


def test_chat_as_a_variant_records_its_exact_version(monkeypatch, open_page, db_path, fake_ollama):
    with Store(db_path) as store:
        first = store.experiments.add_variant("concise", model=DEFAULT_MODEL, system_prompt="Be brief.",
                                  template="Briefly: {question}")
        second = store.experiments.edit_variant(first, system_prompt="Be very brief.")
    monkeypatch.setenv("OLLAMA_HOST", fake_ollama.url)
    at = open_page(check=False)
    at.selectbox(key="chat.variant").set_value(second).run()
    assert any("as variant **concise v2**" in c.value for c in at.caption)
    at.chat_input[0].set_value("where is it?").run()
    assert not at.exception
    [row] = _rows(db_path, "SELECT question, variant_id, system_prompt FROM interactions")
    assert row == {"question": "where is it?", "variant_id": second, "system_prompt": "Be very brief."}
    sent = fake_ollama.requests[-1]["body"]["messages"]
    assert sent == [{"role": "system", "content": "Be very brief."},
                    {"role": "user", "content": "Briefly: where is it?"}]


def test_chat_rate_limit_per_reviewer(monkeypatch, app, db_path):
    monkeypatch.setenv("LOUPE_CHAT_RATE", "2/minute")
    at = _ask(app, "one")
    at.chat_input[0].set_value("two").run()
    at.chat_input[0].set_value("three").run()
    assert not at.exception
    assert any("faster than this server allows" in w.value for w in at.warning)
    questions = [r["question"] for r in _rows(db_path, "SELECT question FROM interactions ORDER BY id")]
    assert questions == ["one", "two"]
