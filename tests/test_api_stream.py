"""GET /feedback/ over large rows: each answer is bounded by bytes as well as rows, every row
stays reachable through next_after, and the service streams rather than building the answer
in memory."""

from __future__ import annotations

import tracemalloc

import anyio
import pytest
from fastapi.testclient import TestClient

from dashboard.api import MAX_RESPONSE, create_app
from dashboard.auth import new_token, token_digest
from dashboard.scopes import READ
from store import Store
from tests.factories import add_interaction

MB = 1_000_000


def _fill(store: Store, rows: int, size: int) -> list[int]:
    """``rows`` interactions whose answers are ``size`` bytes in UTF-8 (``size // 2``
    characters), each also rated."""
    ids = []
    for n in range(rows):
        iid = add_interaction(store, f"question {n}", f"{n:06d}" + "é" * (size // 2 - 6))
        store.review.save_rating(iid, "ana", stars=1 + n % 5, comment=f"comment {n}")
        ids.append(iid)
    return ids


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """A database of 50 interactions of about 1 MB each (UTF-8), and a read token."""
    with Store(tmp_path_factory.mktemp("stream") / "big.db") as store:
        ids = _fill(store, 50, MB)
        token = new_token()
        store.users.add_token("sync", token_digest(token), "100000/minute", "ada", [READ])
        yield store, ids, {"Authorization": f"Bearer {token}"}


def _pages(client: TestClient, headers: dict, limit: int) -> list[tuple[int, dict]]:
    """Every page from the start, following next_after: (bytes of the answer, its JSON)."""
    pages, after = [], 0
    while after is not None:
        response = client.get("/feedback/", params={"after": after, "limit": limit}, headers=headers)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        pages.append((len(response.content), response.json()))
        after = pages[-1][1]["next_after"]
        assert len(pages) <= 60
    return pages


def test_an_answer_is_bounded_by_bytes_and_every_row_stays_reachable(big):
    store, ids, headers = big
    client = TestClient(create_app(store))
    pages = _pages(client, headers, limit=300)
    assert all(size <= MAX_RESPONSE for size, _ in pages)
    assert len(pages[0][1]["items"]) >= 2 and len(pages) >= 7  # 50 MB in answers of 8 MB
    items = [item for _, page in pages for item in page["items"]]
    assert [item["id"] for item in items] == ids  # each exactly once, in order
    assert all(len(item["answer"]) == MB // 2 for item in items)  # whole rows, never cut
    assert items[7]["answer"].startswith("000007")
    assert items[7]["ratings"][0]["comment"] == "comment 7"


def test_a_row_larger_than_the_bound_comes_alone(big):
    store, ids, headers = big
    client = TestClient(create_app(store, max_response=300_000))
    pages = _pages(client, headers, limit=5)
    assert [[item["id"] for item in page["items"]] for _, page in pages] == [
        [iid] for iid in ids]


def test_small_answers_keep_their_shape(tmp_path):
    with Store(tmp_path / "small.db") as store:
        ids = _fill(store, 3, 100)
        token = new_token()
        store.users.add_token("sync", token_digest(token), "100/minute", "ada", [READ])
        client = TestClient(create_app(store))
        client.headers["Authorization"] = f"Bearer {token}"
        first = client.get("/feedback/", params={"limit": 2}).json()
        assert set(first) == {"items", "next_after"}
        assert [i["id"] for i in first["items"]] == ids[:2] and first["next_after"] == ids[1]
        rest = client.get("/feedback/", params={"after": ids[1]}).json()
        assert [i["id"] for i in rest["items"]] == ids[2:] and rest["next_after"] is None
        assert set(rest["items"][0]) == {"id", "conversation_id", "turn", "question", "answer",
                                         "model", "source", "external_id", "error", "created_at",
                                         "ratings"}
        assert client.get("/feedback/", params={"after": ids[-1]}).json() == {
            "items": [], "next_after": None}


async def _stream(app, headers: dict, query: str) -> tuple[int, int, bytes, bytes]:
    """Run one GET /feedback/ through the ASGI app, keeping only the size of the answer and
    its first and last bytes (as a client reading the stream would)."""
    status, size, head, tail = 0, 0, b"", b""
    done = anyio.Event()
    sent_request = False

    async def receive():
        nonlocal sent_request
        if not sent_request:
            sent_request = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message):
        nonlocal status, size, head, tail
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body = message.get("body", b"")
            size += len(body)
            head = (head + body)[:200]
            tail = (tail + body)[-200:]
            if not message.get("more_body", False):
                done.set()

    scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"},
             "http_version": "1.1", "method": "GET", "scheme": "http", "path": "/feedback/",
             "raw_path": b"/feedback/", "query_string": query.encode(), "root_path": "",
             "headers": [(b"host", b"loupe"), *((k.lower().encode(), v.encode())
                                                for k, v in headers.items())],
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000)}
    await app(scope, receive, send)
    return status, size, head, tail


def test_memory_stays_flat_while_streaming_50_rows_of_1_mb(big):
    store, ids, headers = big
    app = create_app(store, max_response=200 * MB)  # the whole 50 MB in one answer
    tracemalloc.start()
    try:
        status, size, head, tail = anyio.run(_stream, app, headers, "limit=300")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status == 200
    assert size > 50 * MB
    assert head.startswith(b'{"items":[{"id":%d,' % ids[0])
    assert tail.endswith(b'],"next_after":null}')
    assert peak < size / 8, f"peak {peak / MB:.1f} MB while sending {size / MB:.1f} MB"
