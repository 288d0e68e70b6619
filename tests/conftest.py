"""Shared fixtures: a fresh store per test, a fake Ollama server, a free port."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from store import Store  # noqa: E402
from tests.fake_ollama import FakeOllama  # noqa: E402


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "loupe.db"


@pytest.fixture
def store(db_path: Path):
    s = Store(db_path)
    yield s
    s.close()


@pytest.fixture
def fake_ollama():
    with FakeOllama() as server:
        yield server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(autouse=True)
def generous_chat_rate(monkeypatch):
    """Tests ask many questions quickly; the one test of the limit sets its own rate."""
    monkeypatch.setenv("LOUPE_CHAT_RATE", "10000/minute")
