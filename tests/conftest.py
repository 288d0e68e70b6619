"""Shared fixtures: a store that closes itself, a page opener, a fake Ollama, a browser."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from store import Store
from tests.fake_ollama import FakeOllama
from tests.paths import ROOT

APP = ROOT / "app.py"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "loupe.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    with Store(db_path) as opened:
        yield opened


@pytest.fixture
def fake_ollama() -> Iterator[FakeOllama]:
    with FakeOllama() as server:
        yield server


@pytest.fixture
def open_page(monkeypatch, db_path: Path) -> Callable[..., Any]:
    """Run a page of the app in Streamlit's AppTest on db_path, after clearing Streamlit's caches.

    ``page`` names a file of views/ reached from app.py (its navigation and sign-in run first);
    ``script`` runs another file on its own instead. ``params`` go into the address bar,
    ``reviewer`` is the name typed in the sidebar, ``state`` other session state.
    """
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    def run(page: str | None = None, *, script: Path | str = APP, db: Path | None = None,
            params: dict | None = None, reviewer: str | None = None, state: dict | None = None,
            timeout: float = 60, clear: bool = True, check: bool = True) -> AppTest:
        monkeypatch.setenv("LOUPE_DB", str(db or db_path))
        if clear:
            st.cache_data.clear()
            st.cache_resource.clear()
        at = AppTest.from_file(str(script), default_timeout=timeout)
        at.query_params.update(params or {})
        if reviewer:
            at.session_state["app.reviewer"] = reviewer
        for key, value in (state or {}).items():
            at.session_state[key] = value
        at.run()
        if page:
            at.switch_page(f"views/{page}.py").run()
        if check:
            assert not at.exception, at.exception
        return at

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
