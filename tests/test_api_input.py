"""The feedback API on odd input: numbers JSON does not allow, text that is not text, ids of the
wrong kind, dates out of range, and a Retry-After a client can trust."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from dashboard import api as api_module
from dashboard.api import create_app
from dashboard.auth import new_token, token_digest
from dashboard.ratelimit import RateLimiter
from dashboard.scopes import SCOPES
from store import Store


@pytest.fixture
def api(tmp_path):
    with Store(tmp_path / "api.db") as store:
        token = new_token()
        store.users.add_token("tests", token_digest(token), "100000/minute", "ada", SCOPES)
        client = TestClient(create_app(store), raise_server_exceptions=False)
        client.headers["Authorization"] = f"Bearer {token}"
        client.headers["Content-Type"] = "application/json"
        yield client, store


ODD_VALUES = {"NaN": "NaN", "Infinity": "Infinity", "-Infinity": "-Infinity", "1e400": "1e400",
              "lone surrogate": '"\\ud800"'}
FEEDBACK_FIELDS = ["question", "response", "rating", "comment", "thumbs", "tags", "ideal_answer",
                   "reviewer", "model", "variant", "created_at", "latency_ms", "conversation_id",
                   "turn", "external_id", "meta"]
RATING_FIELDS = ["interaction_id", "reviewer", "stars", "thumbs", "comment", "tags", "ideal_answer"]


def _body(base: dict, field: str, raw: str) -> bytes:
    """A JSON body with ``field`` set to the raw JSON text ``raw`` (which json.dumps cannot write)."""
    others = {k: v for k, v in base.items() if k != field}
    text = json.dumps(others)[:-1]
    return (text + (", " if others else "") + f'"{field}": {raw}}}').encode()


@pytest.mark.parametrize("kind", ODD_VALUES)
@pytest.mark.parametrize("field", FEEDBACK_FIELDS)
def test_odd_values_in_feedback_fields_are_422_naming_the_field(api, field, kind):
    client, store = api
    for path in ("/submit_feedback/", "/v1/interactions"):
        response = client.post(path, content=_body({"question": "q"}, field, ODD_VALUES[kind]))
        assert response.status_code == 422, (path, field, kind, response.text)
        assert field in response.text
    assert store.summary()["interactions"] == 0


@pytest.mark.parametrize("kind", ODD_VALUES)
@pytest.mark.parametrize("field", RATING_FIELDS)
def test_odd_values_in_rating_fields_are_422_naming_the_field(api, field, kind):
    client, store = api
    iid = client.post("/v1/interactions", json={"question": "q", "answer": "a"}).json()["id"]
    body = {"interaction_id": iid, "reviewer": "ana", "stars": 4}
    response = client.post("/v1/ratings", content=_body(body, field, ODD_VALUES[kind]))
    assert response.status_code == 422, (field, kind, response.text)
    assert field in response.text
    assert store.review.ratings_for(iid) == []


@pytest.mark.parametrize("raw", ["NaN", "Infinity", '"\\udfff"', '{"k": [1, -Infinity]}'])
def test_odd_values_in_extra_fields_and_meta_are_422(api, raw):
    client, store = api
    for field in ("meta", "shop"):
        body = _body({"question": "q"}, field, raw if field == "shop" or raw.startswith("{")
                     else '{"k": %s}' % raw)
        response = client.post("/submit_feedback/", content=body)
        assert response.status_code == 422, response.text
        assert field in response.text
    assert store.summary()["interactions"] == 0


def test_a_lone_surrogate_in_a_field_name_is_422(api):
    client, store = api
    response = client.post("/submit_feedback/", content=b'{"question": "q", "\\udc00": 1}')
    assert response.status_code == 422
    assert store.summary()["interactions"] == 0


@pytest.mark.parametrize("value", ["false", "true", "1.5", "[1]", '{"a": 1}'])
@pytest.mark.parametrize("field", ["external_id", "conversation_id"])
def test_ids_must_be_text_or_whole_numbers(api, field, value):
    client, store = api
    response = client.post("/v1/interactions", content=_body({"question": "q"}, field, value))
    assert response.status_code == 422, response.text
    assert f"{field} must be text or a whole number" in response.text
    assert store.summary()["interactions"] == 0


def test_a_whole_number_external_id_is_kept_as_text(api):
    client, store = api
    response = client.post("/v1/interactions", json={"question": "q", "external_id": 42})
    assert response.status_code == 201
    assert store.ingest.get_interaction(response.json()["id"])["external_id"] == "42"


@pytest.mark.parametrize("field,path,body", [
    ("turn", "/v1/interactions", {"question": "q"}),
    ("rating", "/submit_feedback/", {"question": "q"}),
    ("latency_ms", "/submit_feedback/", {"question": "q"}),
    ("stars", "/v1/ratings", {"interaction_id": 1, "reviewer": "ana"}),
])
def test_true_is_not_a_number(api, field, path, body):
    client, store = api
    client.post("/v1/interactions", json={"question": "first"})
    response = client.post(path, json=body | {field: True})
    assert response.status_code == 422, response.text
    assert f"{field} must be a number, not true/false" in response.text
    assert store.summary()["interactions"] == 1 and store.review.ratings_for(1) == []


@pytest.mark.parametrize("created_at,says", [
    ("9999-12-31", "in the future"),
    ("9999-12-31T23:59:59-14:00", "in the future"),
    ("0001-01-01T00:00:00+14:00", "before 1970-01-01"),
    ("1969-12-31T23:59:59Z", "before 1970-01-01"),
])
def test_dates_out_of_range_are_422_naming_the_field(api, created_at, says):
    client, store = api
    response = client.post("/submit_feedback/", json={"question": "q", "created_at": created_at})
    assert response.status_code == 422, response.text
    assert "created_at" in response.text and says in response.text
    assert store.summary()["interactions"] == 0


def test_retry_after_is_long_enough(monkeypatch, tmp_path):
    """A client that waits exactly Retry-After seconds is let in (the clock is the limiter's)."""
    now = [1000.0]
    real = RateLimiter.from_text
    monkeypatch.setattr(api_module.RateLimiter, "from_text",
                        classmethod(lambda cls, text: real(text, clock=lambda: now[0])))
    with Store(tmp_path / "rate.db") as store:
        for rate in ("5/minute", "7/minute", "3/second", "100/hour", "11/minute"):
            token = new_token()
            store.users.add_token(rate, token_digest(token), rate, "ada", SCOPES)
            client = TestClient(create_app(store))
            client.headers["Authorization"] = f"Bearer {token}"
            limit = int(rate.split("/")[0])
            for _ in range(3):
                statuses = [client.get("/feedback/").status_code for _ in range(limit + 1)]
                assert statuses[-1] == 429, (rate, statuses)
                wait = int(client.get("/feedback/").headers["Retry-After"])
                now[0] += wait
                assert client.get("/feedback/").status_code == 200, (rate, wait)
                now[0] += 100_000  # a full bucket again


@pytest.mark.parametrize("rate", ["5/minute", "7/minute", "3/second", "100/hour", "13/day"])
def test_the_limiter_lets_in_whoever_waited_the_retry_after(rate):
    from dashboard.ratelimit import retry_after

    now = [0.0]
    limiter = RateLimiter.from_text(rate, clock=lambda: now[0])
    for _ in range(20):
        while (answer := limiter.allow("k"))[0]:
            pass  # use up what the bucket holds
        now[0] += retry_after(answer[1])
        assert limiter.allow("k")[0], (rate, answer[1], retry_after(answer[1]))


def test_an_external_id_sent_again_with_another_question_is_409(api):
    client, store = api
    first = client.post("/v1/interactions", json={"question": "q", "answer": "a", "external_id": "t1"})
    again = client.post("/v1/interactions", json={"question": "q", "answer": "a", "external_id": "t1",
                                                  "created_at": "2026-01-02T00:00:00Z"})
    assert again.status_code == 201 and again.json() == {"id": first.json()["id"], "duplicate": True}
    other = client.post("/submit_feedback/", json={"question": "another", "response": "a",
                                                   "external_id": "t1", "rating": 1})
    assert other.status_code == 409
    assert "external_id 't1' is already used" in other.json()["detail"]
    assert store.summary()["interactions"] == 1 and store.summary()["ratings"] == 0


def test_odd_values_deep_inside_meta_are_422(api):
    client, store = api
    deep = "{\"a\": " * 200 + '"\\udc00"' + "}" * 200
    response = client.post("/submit_feedback/", content=f'{{"question": "q", "meta": {deep}}}'.encode())
    assert response.status_code == 422 and "meta" in response.text
    assert store.summary()["interactions"] == 0
