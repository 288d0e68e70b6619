"""Run the app's pages in Streamlit's AppTest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.paths import ROOT

APP = ROOT / "app.py"


def run_page(page: str | None = None, *, script: Path | str = APP, params: dict | None = None,
             reviewer: str | None = None, state: dict | None = None, timeout: float = 60,
             check: bool = True) -> AppTest:
    """Run ``script`` (app.py, then views/<page>.py when named) and return the AppTest.

    ``params`` go into the address bar, ``reviewer`` is the name typed in the sidebar, ``state``
    other session state; ``check`` asserts the run raised nothing.
    """
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


def use_database(monkeypatch, db_path: Path, ollama: str | None = None) -> None:
    """Point the app at db_path (and Ollama at ``ollama``) with Streamlit's caches emptied."""
    monkeypatch.setenv("LOUPE_DB", str(db_path))
    if ollama is not None:
        monkeypatch.setenv("OLLAMA_HOST", ollama)
    st.cache_data.clear()
    st.cache_resource.clear()


def open_app(monkeypatch, db_path: Path, page: str | None = None, **options: Any) -> AppTest:
    """``run_page`` on the database at db_path, Streamlit's caches cleared first."""
    use_database(monkeypatch, db_path)
    return run_page(page, **options)
