"""API tokens do only what their scopes allow: reading needs its own scope, a write speaks for
the token itself unless it may name another reviewer, the API never replaces a rating written
on the dashboard, and a request never blanks a field it did not send."""

from __future__ import annotations

import sqlite3

import pytest
from fastapi.testclient import TestClient

from dashboard.api import create_app
from dashboard.auth import hash_password, new_token, token_digest
from dashboard.cli import main
from dashboard.scopes import READ, WRITE, WRITE_AS
from store import Store
from tests.factories import add_interaction


@pytest.fixture
def api(tmp_path):
    with Store(tmp_path / "api.db") as store:
        client = TestClient(create_app(store))
        iid = add_interaction(store, "Where is my parcel?", "It ships tomorrow.")
        yield client, store, iid


def _token(store: Store, name: str, *scopes: str) -> dict[str, str]:
    token = new_token()
    store.users.add_token(name, token_digest(token), "10000/minute", "ada", scopes)
    return {"Authorization": f"Bearer {token}"}


def _ratings(store: Store, iid: int) -> dict[str, dict]:
    return {r["reviewer"]: r for r in store.review.ratings_for(iid)}


def test_reading_feedback_needs_the_read_scope(api):
    client, store, iid = api
    store.review.save_rating(iid, "ana", stars=2, comment="private remark")
    writer, reader = _token(store, "widget", WRITE), _token(store, "sync", READ)
    refused = client.get("/feedback/", headers=writer)
    assert refused.status_code == 403
    assert "feedback:read" in refused.json()["detail"]
    assert "private remark" not in refused.text
    assert 'scope="feedback:read"' in refused.headers["WWW-Authenticate"]
    read = client.get("/feedback/", headers=reader)
    assert read.status_code == 200
    assert read.json()["items"][0]["ratings"][0]["comment"] == "private remark"
    # an unknown token is still 401, whatever it asks for
    assert client.get("/feedback/", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_a_read_token_cannot_write(api):
    client, store, iid = api
    reader = _token(store, "sync", READ)
    for path, body in [("/submit_feedback/", {"question": "q", "rating": 1}),
                       ("/v1/interactions", {"question": "q", "answer": "a"}),
                       ("/v1/ratings", {"interaction_id": iid, "stars": 1})]:
        response = client.post(path, json=body, headers=reader)
        assert response.status_code == 403, (path, response.text)
        assert "feedback:write" in response.json()["detail"]
    assert store.summary()["interactions"] == 1 and store.summary()["ratings"] == 0


def test_a_write_token_rates_as_itself(api):
    client, store, iid = api
    writer = _token(store, "support widget", WRITE)
    rated = client.post("/v1/ratings", json={"interaction_id": iid, "stars": 4}, headers=writer)
    assert rated.status_code == 201, rated.text
    sent = client.post("/submit_feedback/", json={"question": "Can I pay later?", "response": "Yes.",
                                                  "rating": 2, "comment": "vague"}, headers=writer)
    assert sent.status_code == 201, sent.text
    assert _ratings(store, iid)["api:support widget"]["stars"] == 4
    [rating] = store.review.ratings_for(sent.json()["id"])
    assert (rating["reviewer"], rating["stars"], rating["comment"]) == ("api:support widget", 2, "vague")
    sources = store.rows("SELECT DISTINCT source FROM ratings")
    assert sources == [{"source": "api"}]


def test_naming_another_reviewer_needs_the_write_as_scope(api):
    client, store, iid = api
    writer = _token(store, "widget", WRITE)
    for path, body in [("/v1/ratings", {"interaction_id": iid, "reviewer": "ben", "stars": 1}),
                       ("/submit_feedback/", {"question": "q", "reviewer": "ben", "rating": 1})]:
        response = client.post(path, json=body, headers=writer)
        assert response.status_code == 403, (path, response.text)
        assert "feedback:write-as" in response.json()["detail"]
    assert store.summary()["ratings"] == 0 and store.summary()["interactions"] == 1
    # its own name is not "another reviewer"
    own = client.post("/v1/ratings", json={"interaction_id": iid, "reviewer": "api:widget",
                                           "stars": 5}, headers=writer)
    assert own.status_code == 201
    proxy = _token(store, "proxy", WRITE, WRITE_AS)
    named = client.post("/v1/ratings", json={"interaction_id": iid, "reviewer": "shopper-17",
                                             "stars": 3}, headers=proxy)
    assert named.status_code == 201, named.text
    assert _ratings(store, iid)["shopper-17"]["stars"] == 3


def test_no_token_replaces_what_a_dashboard_reviewer_wrote(api):
    client, store, iid = api
    store.users.add_user("ana", "annotator", hash_password("ana-password"))
    store.review.save_rating(iid, "ana", stars=2, comment="wrong: it shipped last week",
                      ideal_answer="It shipped on Monday; here is the tracking link.")
    store.review.save_rating(iid, "ben", stars=1, comment="typed name, local mode")  # no account
    before = _ratings(store, iid)
    proxy = _token(store, "proxy", WRITE, WRITE_AS)
    for reviewer in ("ana", "ben"):
        response = client.post("/v1/ratings", json={"interaction_id": iid, "reviewer": reviewer,
                                                    "stars": 5}, headers=proxy)
        assert response.status_code == 409, (reviewer, response.text)
        assert reviewer in response.json()["detail"]
    assert _ratings(store, iid) == before
    # nor may it speak for an account that has not rated yet, through any endpoint
    other = add_interaction(store, "Can I pay later?", "Yes.")
    for path, body in [("/v1/ratings", {"interaction_id": other, "reviewer": "ana", "stars": 5}),
                       ("/submit_feedback/", {"question": "Can I pay later?", "response": "Yes.",
                                              "reviewer": "ana", "rating": 5})]:
        response = client.post(path, json=body, headers=proxy)
        assert response.status_code == 409, (path, response.text)
        assert "dashboard account" in response.json()["detail"]
    assert store.review.ratings_for(other) == []
    assert store.summary()["interactions"] == 2


def test_the_api_never_blanks_fields_a_request_did_not_send(api):
    client, store, iid = api
    writer = _token(store, "widget", WRITE)
    first = client.post("/v1/ratings", headers=writer, json={
        "interaction_id": iid, "stars": 2, "thumbs": -1, "comment": "too vague",
        "tags": ["vague"], "ideal_answer": "It ships tomorrow from Leeds; tracking is in Orders."})
    assert first.status_code == 201, first.text
    again = client.post("/v1/ratings", json={"interaction_id": iid, "stars": 4}, headers=writer)
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    rating = _ratings(store, iid)["api:widget"]
    assert (rating["stars"], rating["thumbs"], rating["comment"], rating["tags"],
            rating["ideal_answer"]) == (
        4, -1, "too vague", ["vague"], "It ships tomorrow from Leeds; tracking is in Orders.")
    # a field sent as null is cleared, and only that one
    client.post("/v1/ratings", json={"interaction_id": iid, "comment": None}, headers=writer)
    rating = _ratings(store, iid)["api:widget"]
    assert (rating["stars"], rating["comment"], rating["ideal_answer"]) == (
        4, None, "It ships tomorrow from Leeds; tracking is in Orders.")
    assert store.scalar("SELECT COUNT(*) FROM rating_tags WHERE tag = 'vague'") == 1


def test_a_write_as_token_updates_its_own_ratings_only(api):
    client, store, _ = api
    proxy = _token(store, "proxy", WRITE, WRITE_AS)
    sent = client.post("/submit_feedback/", headers=proxy, json={
        "question": "Can I pay later?", "response": "Yes.", "reviewer": "shopper-17",
        "rating": 2, "comment": "unclear", "ideal_answer": "Yes, in three instalments."})
    assert sent.status_code == 201, sent.text
    updated = client.post("/v1/ratings", headers=proxy, json={
        "interaction_id": sent.json()["id"], "reviewer": "shopper-17", "stars": 3})
    assert updated.status_code == 201, updated.text
    [rating] = store.review.ratings_for(sent.json()["id"])
    assert (rating["stars"], rating["comment"], rating["ideal_answer"], rating["source"]) == (
        3, "unclear", "Yes, in three instalments.", "api")


def test_tokens_from_before_scopes_keep_writing_only(tmp_path):
    path = tmp_path / "old.db"
    with Store(path) as store:
        iid = add_interaction(store, "Where is my parcel?", "It ships tomorrow.")
    # the database as the previous version left it: no scopes, no rating sources
    old = sqlite3.connect(path)
    old.executescript("""
        ALTER TABLE api_tokens DROP COLUMN scopes;
        ALTER TABLE ratings DROP COLUMN source;
        DELETE FROM _sqlite_migrations WHERE name = 'm011_token_scopes';
    """)
    token = new_token()
    old.execute("INSERT INTO api_tokens (name, digest, rate, created_at) VALUES (?, ?, ?, ?)",
                ["legacy app", token_digest(token), "100/minute", "2026-01-01T00:00:00.000Z"])
    old.execute("INSERT INTO ratings (interaction_id, reviewer, stars, comment, tags, created_at,"
                " updated_at) VALUES (?, 'prod-app', 2, 'kept', '[]', ?, ?)",
                [iid, "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z"])
    old.commit()
    old.close()
    with Store(path) as store:
        [listed] = store.users.list_tokens()
        assert listed["scopes"] == ["feedback:write"]
        client = TestClient(create_app(store))
        client.headers["Authorization"] = f"Bearer {token}"
        assert client.post("/submit_feedback/", json={"question": "q", "rating": 5}).status_code == 201
        assert client.get("/feedback/").status_code == 403
        assert client.post("/v1/ratings", json={"interaction_id": iid, "reviewer": "prod-app",
                                                "stars": 5}).status_code == 403
        proxy = _token(store, "proxy", WRITE, WRITE_AS)
        refused = client.post("/v1/ratings", headers=proxy, json={
            "interaction_id": iid, "reviewer": "prod-app", "stars": 5})
        assert refused.status_code == 409  # who wrote it before the upgrade is unknown: kept
        assert _ratings(store, iid)["prod-app"]["comment"] == "kept"


def test_the_command_line_chooses_and_lists_scopes(tmp_path, capsys):
    db = str(tmp_path / "cli.db")
    assert main(["tokens", "add", "widget", "--db", db]) == 0
    assert main(["tokens", "add", "sync", "--scope", "feedback:read", "--db", db]) == 0
    assert main(["tokens", "add", "proxy", "--scope", "feedback:write,feedback:write-as",
                 "--db", db]) == 0
    capsys.readouterr()
    assert main(["tokens", "add", "bad", "--scope", "feedback:admin", "--db", db]) == 2
    assert "Unknown scope 'feedback:admin'" in capsys.readouterr().err
    assert main(["tokens", "list", "--db", db]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [(line.split("\t")[1], line.split("\t")[-1]) for line in lines] == [
        ("widget", "feedback:write"), ("sync", "feedback:read"),
        ("proxy", "feedback:write,feedback:write-as")]
    with Store(db) as store:
        assert [t["scopes"] for t in store.users.list_tokens()] == [
            ["feedback:write"], ["feedback:read"], ["feedback:write", "feedback:write-as"]]


def test_the_users_page_asks_for_at_least_one_scope(monkeypatch, db_path):
    from tests.pages import open_app

    with Store(db_path) as store:
        store.users.add_user("ada", "admin", hash_password("ada-password"))
    at = open_app(monkeypatch, db_path, check=False)
    at.text_input[0].input("ada")
    at.text_input[1].input("ada-password")
    next(b for b in at.button if b.label == "Sign in").click().run()
    at.switch_page("views/users.py").run()
    create = next(b for b in at.button if b.label == "Create token")
    assert at.multiselect(key="users.token.scopes").value == ["feedback:write"]
    at.text_input(key="users.token.name").input("nothing")
    at.multiselect(key="users.token.scopes").unselect("feedback:write")
    create.click().run()
    assert [e.value for e in at.error] == [
        "Choose at least one scope (feedback:write, feedback:read, feedback:write-as)."]
    with Store(db_path) as store:
        assert store.users.list_tokens() == []
    at.multiselect(key="users.token.scopes").select("feedback:write-as").select("feedback:read")
    next(b for b in at.button if b.label == "Create token").click().run()
    assert not at.exception and not at.error
    with Store(db_path) as store:
        [token] = store.users.list_tokens()
    assert (token["name"], token["scopes"]) == ("nothing", ["feedback:read", "feedback:write-as"])
    assert at.dataframe[-1].value["scopes"][0] == "feedback:read, feedback:write-as"
    assert at.multiselect(key="users.token.scopes").value == ["feedback:write"]  # least again
