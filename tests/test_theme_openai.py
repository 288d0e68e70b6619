"""Failure themes from an embedding model on an OpenAI-compatible endpoint, through the real
`openai` client against the fake server: the themes, the page's choice, and failures in words."""

from __future__ import annotations

import base64
import json
import struct
import urllib.error
import urllib.request

import numpy as np
import pytest

from dashboard.clustering import ThemeOptions, find_themes
from dashboard.embedding import openai_embedder
from dashboard.llm import BackendError
from dashboard.openai_backend import Endpoint
from store import Store
from tests.fake_openai import DEFAULT_KEY, DEFAULT_MODEL, FakeOpenAI, hashed_vector
from tests.pages import open_app
from tests.paths import free_port
from tests.shown import shown
from tests.test_cli_import import cli
from tests.test_clustering import fill

EMBEDDER = "bge-m3"
VECTORIZER = f"openai:default:{EMBEDDER}"

# Two topics, each asked in English and in Korean.
TOPIC_WORDS = {
    "refund": ("refund", "money back", "환불"),
    "login": ("log in", "password", "로그인", "비밀번호"),
}
FRAMES = {
    "refund": ("How do I get a refund for order {n}?", "I want my money back for parcel {n}",
               "주문 {n} 환불은 어떻게 받나요?", "상품 {n} 환불해 주세요"),
    "login": ("I cannot log in to my account since day {n}", "My password reset fails, try {n}",
              "{n}일부터 로그인이 안 됩니다", "비밀번호 재설정이 안 돼요 {n}"),
}


def topic_vector(text: str) -> list[float]:
    """What a multilingual embedding model does to these questions: one axis per topic, whatever
    the language, plus a little of each text's own words."""
    axes = [1.0 if any(w in text.lower() for w in words) else 0.0 for words in TOPIC_WORDS.values()]
    return axes + [0.05 * x for x in hashed_vector(text, 6)]


def questions() -> tuple[list[str], list[str]]:
    texts, topics = [], []
    for topic, frames in FRAMES.items():
        for frame in frames:
            for n in range(5):
                texts.append(frame.format(n=n + 3 * len(texts)))
                topics.append(topic)
    return texts, topics


def is_korean(text: str) -> bool:
    return any("\uac00" <= c <= "\ud7a3" for c in text)


@pytest.fixture
def server():
    with FakeOpenAI(embedding_models=(EMBEDDER,), embed=topic_vector) as fake:
        yield fake


@pytest.fixture
def endpoint_env(server, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no project secrets.toml: the endpoint comes from the environment
    monkeypatch.setenv("LOUPE_OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", DEFAULT_KEY)
    return server


def post(server: FakeOpenAI, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        server.base_url + "/embeddings", data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {DEFAULT_KEY}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_fake_embeddings_answer_in_openais_shape(server):
    status, body = post(server, {"model": EMBEDDER, "input": ["Where is my refund?", "로그인"],
                                 "encoding_format": "float"})
    assert status == 200 and body["object"] == "list" and body["model"] == EMBEDDER
    assert [(d["object"], d["index"]) for d in body["data"]] == [("embedding", 0), ("embedding", 1)]
    assert body["data"][0]["embedding"][:2] == pytest.approx([0.998, 0.0], abs=0.01)
    assert body["data"][1]["embedding"][:2] == pytest.approx([0.0, 0.997], abs=0.01)
    assert body["usage"]["prompt_tokens"] == body["usage"]["total_tokens"] > 0
    # base64 is little-endian float32, the same vector
    _, packed = post(server, {"model": EMBEDDER, "input": "로그인", "encoding_format": "base64"})
    raw = base64.b64decode(packed["data"][0]["embedding"])
    assert list(struct.unpack(f"<{len(raw) // 4}f", raw)) == pytest.approx(body["data"][1]["embedding"])
    unknown = post(server, {"model": "nope", "input": "x"})
    assert unknown[0] == 404 and unknown[1]["error"]["code"] == "model_not_found"
    assert post(server, {"model": DEFAULT_MODEL, "input": "x"})[0] == 400  # a chat model
    assert post(server, {"model": EMBEDDER, "input": ["a", ""]})[0] == 400


def test_themes_from_the_endpoint_put_both_languages_of_a_topic_together(endpoint_env):
    texts, topics = questions()
    rows = [{"id": i, "question": t, "created_at": "2026-02-01T10:00:00.000Z", "stars_mean": 1.0}
            for i, t in enumerate(texts)]
    report = find_themes(rows, ThemeOptions(vectorizer=VECTORIZER))
    themes = [c for c in report.clusters if c["id"] >= 0]
    assert len(themes) == 2 and sum(len(c["members"]) for c in themes) == 40
    for theme in themes:
        members = [texts[i] for i in theme["members"]]
        assert len({topics[i] for i in theme["members"]}) == 1  # one topic per theme
        assert {is_korean(m) for m in members} == {True, False}  # asked in both languages
    calls = [r for r in endpoint_env.requests if r["path"] == "/v1/embeddings"]
    assert len(calls) == 1 and calls[0]["body"]["input"] == texts


def test_batches_keep_the_order_and_empty_questions_are_sent_as_a_space(server):
    endpoints = {"local": Endpoint("local", server.base_url, DEFAULT_KEY)}
    embed = openai_embedder(f"openai:local:{EMBEDDER}", batch=16, endpoints=endpoints)
    texts = questions()[0][:35] + [""]
    vectors = embed(texts)
    calls = [r["body"]["input"] for r in server.requests if r["path"] == "/v1/embeddings"]
    assert [len(c) for c in calls] == [16, 16, 4] and calls[-1][-1] == " "
    assert vectors.shape == (36, 8)
    for text, vector in zip(texts, vectors):
        expected = np.asarray(topic_vector(text or " "))
        assert vector.tolist() == pytest.approx((expected / (np.linalg.norm(expected) or 1)).tolist(),
                                                abs=1e-6)


def test_endpoint_failures_are_one_sentence(server):
    url = server.base_url
    endpoints = {"local": Endpoint("local", url, DEFAULT_KEY)}
    with pytest.raises(BackendError) as unknown:
        openai_embedder("openai:local:nope", endpoints=endpoints)(["x"])
    assert str(unknown.value) == (
        f"The OpenAI-compatible endpoint 'local' at {url} has no model named 'nope': pick one of "
        "the models it lists, or load that model on the server.")
    with pytest.raises(BackendError) as missing:
        openai_embedder(f"openai:gone:{EMBEDDER}", endpoints=endpoints)
    assert str(missing.value) == (
        "No OpenAI-compatible endpoint named 'gone' is configured: add [loupe.openai.gone] to "
        ".streamlit/secrets.toml, or pick another vectorizer.")
    wrong_key = {"local": Endpoint("local", url, "sk-wrong-key-98765432", "the environment variable K")}
    with pytest.raises(BackendError) as refused:
        openai_embedder(f"openai:local:{EMBEDDER}", endpoints=wrong_key)(["x"])
    assert "refused the API key" in str(refused.value) and "5432" not in str(refused.value)


def test_a_stalled_endpoint_times_out_with_a_sentence():
    with FakeOpenAI(embedding_models=(EMBEDDER,), stall_seconds=30) as stalled:
        endpoints = {"slow": Endpoint("slow", stalled.base_url, DEFAULT_KEY)}
        with pytest.raises(BackendError) as late:
            openai_embedder(f"openai:slow:{EMBEDDER}", endpoints=endpoints, timeout=0.5)(["x"])
    assert str(late.value) == (
        f"The OpenAI-compatible endpoint 'slow' at {stalled.base_url} did not answer within 0.5 s: "
        "check that it is not overloaded, or raise its timeout.")


# -- the command line -----------------------------------------------------------


def test_cluster_command_uses_the_endpoint_and_says_why_it_cannot(server, tmp_path):
    db = str(tmp_path / "l.db")
    with Store(db) as store:
        texts, topics = questions()
        ids = fill(store, texts)
    env = {"LOUPE_OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": DEFAULT_KEY}
    done = cli("cluster", "--json", "--vectorizer", VECTORIZER, "--db", db, env=env)
    assert done.returncode == 0, done.stderr
    themes = [c for c in json.loads(done.stdout)["clusters"] if c["id"] >= 0]
    topic_of = dict(zip(ids, topics))
    assert sorted(len({topic_of[i] for i in c["members"]}) for c in themes) == [1, 1]
    assert any(r["path"] == "/v1/embeddings" for r in server.requests)
    failed = cli("cluster", "--vectorizer", "openai:default:nope", "--db", db, env=env)
    assert failed.returncode == 1 and failed.stdout == ""
    assert failed.stderr.strip() == (
        f"The OpenAI-compatible endpoint 'default' at {server.base_url} has no model named 'nope': "
        "pick one of the models it lists, or load that model on the server.")
    gone = cli("cluster", "--vectorizer", f"openai:gone:{EMBEDDER}", "--db", db, env=env)
    assert gone.returncode == 1 and "Traceback" not in gone.stderr
    assert gone.stderr.strip().startswith("No OpenAI-compatible endpoint named 'gone' is configured")


# -- the page -------------------------------------------------------------------


def test_page_offers_the_endpoints_embedding_model_and_says_when_it_is_gone(monkeypatch, db_path):
    with Store(db_path) as store:
        fill(store, questions()[0])
    monkeypatch.setenv("OLLAMA_HOST", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("OPENAI_API_KEY", DEFAULT_KEY)
    with FakeOpenAI(embedding_models=(EMBEDDER,), embed=topic_vector) as fake:
        url = fake.base_url
        monkeypatch.setenv("LOUPE_OPENAI_BASE_URL", url)
        at = open_app(monkeypatch, db_path, "clusters", timeout=120)
        box = at.selectbox(key="clusters.vectorizer")
        assert box.options == ["Embedded model (WordLlama, no server)", "Embedded model + TF-IDF",
                               "TF-IDF (words and characters)",
                               f"OpenAI-compatible (default) · {EMBEDDER}"]
        # the embedding model names no themes
        namers = at.selectbox(key="clusters.namer").options
        assert namers and not any(EMBEDDER in n for n in namers)
        box.set_value(VECTORIZER).run()
        assert not at.exception, at.exception
        assert any(r["path"] == "/v1/embeddings" for r in fake.requests)
        [table] = [df.value for df in at.dataframe if "Items" in df.value.columns]
        assert list(table["Items"]) == [20, 20]
        assert any("40 low-rated items in 2 themes" in m.value for m in at.markdown)
        assert at.query_params.get("vectors") in ([VECTORIZER], VECTORIZER)
    # The server stops; the next clustering (another seed) says so in one sentence.
    at.number_input(key="clusters.seed").set_value(3).run()
    assert not at.exception, at.exception
    assert [shown(e.value) for e in at.error] == [(
        f"Cannot reach the OpenAI-compatible endpoint 'default' at {url}: start the server, or "
        "correct base_url in its configuration. Or pick the embedded model under Options, which "
        "needs no server.")]
