"""Shared fixtures: a store that closes itself, a page opener, a fake Ollama, a browser."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from store import Store
from tests.fake_ollama import FakeOllama


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where this test's database lives (nothing is created there)."""
    return tmp_path / "loupe.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    """A fresh store on db_path, closed when the test ends."""
    with Store(db_path) as opened:
        yield opened


@pytest.fixture
def fake_ollama() -> Iterator[FakeOllama]:
    """A fake Ollama server for the length of the test."""
    with FakeOllama() as server:
        yield server


@pytest.fixture
def open_page(monkeypatch, db_path: Path) -> Callable[..., Any]:
    """``tests.pages.open_app`` on db_path: run a page in AppTest, Streamlit's caches cleared."""
    from tests.pages import open_app

    def run(page: str | None = None, **options: Any) -> Any:
        return open_app(monkeypatch, db_path, page, **options)

    return run


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, one per test module."""
    from tests.browser import chromium

    with chromium() as launched:
        yield launched


@pytest.fixture(autouse=True)
def generous_chat_rate(monkeypatch):
    """Tests ask many questions quickly; the one test of the limit sets its own rate."""
    monkeypatch.setenv("LOUPE_CHAT_RATE", "10000/minute")
