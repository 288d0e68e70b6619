"""The feedback collection API: contract, auth, rate limits, size limits, and no 500s."""

from __future__ import annotations

import os

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from dashboard.api import create_app
from dashboard.auth import new_token, token_digest
from dashboard.scopes import SCOPES
from store import Store


@pytest.fixture
def api(tmp_path):
    with Store(tmp_path / "api.db") as store:
        token = new_token()
        store.users.add_token("tests", token_digest(token), "1000/minute", "ada", SCOPES)
        client = TestClient(create_app(store, max_body=200_000))
        client.headers["Authorization"] = f"Bearer {token}"
        yield client, store, token


def test_simple_feedback_records_land_as_they_are(api):
    client, store, _ = api
    response = client.post("/submit_feedback/", json={
        "question": "Where is my parcel?", "response": "It ships tomorrow.", "rating": 4,
        "comment": "fine"})
    assert response.status_code == 201, response.text
    stored = store.ingest.get_interaction(response.json()["id"])
    assert (stored["question"], stored["answer"], stored["source"]) == (
        "Where is my parcel?", "It ships tomorrow.", "api")
    [rating] = store.review.ratings_for(stored["id"])
    assert (rating["stars"], rating["comment"]) == (4, "fine")
    again = client.post("/submit_feedback/", json={
        "question": "Where is my parcel?", "response": "It ships tomorrow.", "rating": 4,
        "comment": "fine"})
    assert again.json() == {"id": stored["id"], "duplicate": True}


def test_interactions_ratings_and_paginated_listing(api):
    client, store, _ = api
    ids = [client.post("/v1/interactions", json={"question": f"q{n}", "answer": f"a{n}",
                                                "external_id": f"x{n}"}).json()["id"]
           for n in range(5)]
    rated = client.post("/v1/ratings", json={"interaction_id": ids[0], "reviewer": "ana",
                                             "stars": 2, "tags": ["wrong"]})
    assert rated.status_code == 201
    page = client.get("/feedback/", params={"limit": 3}).json()
    assert [i["id"] for i in page["items"]] == ids[:3]
    assert page["items"][0]["ratings"][0]["tags"] == ["wrong"]
    rest = client.get("/feedback/", params={"after": page["next_after"]}).json()
    assert [i["id"] for i in rest["items"]] == ids[3:] and rest["next_after"] is None
    assert client.post("/v1/ratings", json={"interaction_id": 999, "reviewer": "ana",
                                            "stars": 2}).status_code == 404


@pytest.mark.parametrize("body,field", [
    ({"response": "no question"}, "question"),
    ({"question": "q", "rating": 6}, "rating"),
    ({"question": "q", "rating": "five"}, "rating"),
    ({"question": 12}, "question"),
])
def test_validation_errors_are_422_naming_the_field(api, body, field):
    client, _, _ = api
    response = client.post("/submit_feedback/", json=body)
    assert response.status_code == 422
    assert field in response.text


def test_wrong_or_missing_token_is_401(api):
    client, _, _ = api
    body = {"question": "q"}
    assert client.post("/submit_feedback/", json=body, headers={"Authorization": "Bearer nope"}).status_code == 401
    del client.headers["Authorization"]
    assert client.post("/submit_feedback/", json=body).status_code == 401


def test_revoked_token_is_refused(api):
    client, store, _ = api
    store.users.revoke_token(store.users.list_tokens()[0]["id"])
    assert client.get("/feedback/").status_code == 401


def test_too_many_requests_is_429_per_token(tmp_path):
    with Store(tmp_path / "rate.db") as store:
        free, paid = new_token(), new_token()
        store.users.add_token("free", token_digest(free), "5/minute", "ada", SCOPES)
        store.users.add_token("paid", token_digest(paid), "100/minute", "ada", SCOPES)
        client = TestClient(create_app(store))
        statuses = [client.get("/feedback/", headers={"Authorization": f"Bearer {free}"}).status_code
                    for _ in range(6)]
        assert statuses == [200] * 5 + [429]
        limited = client.get("/feedback/", headers={"Authorization": f"Bearer {free}"})
        assert int(limited.headers["Retry-After"]) >= 1
        assert client.get("/feedback/", headers={"Authorization": f"Bearer {paid}"}).status_code == 200


def test_oversized_bodies_are_refused(api):
    client, store, _ = api
    response = client.post("/submit_feedback/", json={"question": "q" * 300_000})
    assert response.status_code == 413
    assert store.summary()["interactions"] == 0


def test_openapi_schema_names_every_endpoint(api):
    client, _, _ = api
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/submit_feedback/", "/v1/interactions", "/v1/ratings", "/feedback/"} <= set(paths)


def _schema():
    import tempfile
    from pathlib import Path

    store = Store(Path(tempfile.mkdtemp()) / "fuzz.db")
    token = new_token()
    store.users.add_token("fuzz", token_digest(token), "100000/minute", "ada", SCOPES)
    loaded = schemathesis.openapi.from_asgi("/openapi.json", create_app(store))
    return loaded, token


SCHEMA, FUZZ_TOKEN = _schema()


# Deterministic in `make test`; LOUPE_FUZZ_EXAMPLES=1000 explores new random cases.
@SCHEMA.parametrize()
@settings(max_examples=int(os.environ.get("LOUPE_FUZZ_EXAMPLES", "60")), deadline=None,
          derandomize="LOUPE_FUZZ_EXAMPLES" not in os.environ, suppress_health_check=list(HealthCheck))
def test_property_based_run_finds_no_server_errors(case):
    case.call_and_validate(headers={"Authorization": f"Bearer {FUZZ_TOKEN}"},
                           checks=[not_a_server_error])
