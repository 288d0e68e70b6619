"""Chat widgets: the model picker and the rendering of a stored conversation."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import streamlit as st

from dashboard.chat import backend_label, describe_answer
from dashboard.experiments import (
    generation_options,
    variant_backend_name,
    variant_label,
)
from dashboard.llm import (
    EMBEDDED_MODEL,
    Backend,
    BackendError,
    GenerationOptions,
    available_backends,
    backend_named,
)
from dashboard.openai_backend import OpenAIBackend, openai_endpoints
from dashboard.ratelimit import RateLimiter
from dashboard.safe_text import plain_text
from dashboard.ui.rating import rating_widget
from dashboard.ui.text import show_turn
from store import Store

BACKEND_KEY = "chat.backend"
MODEL_KEY = "chat.model"
TEMPERATURE_KEY = "chat.temperature"
MAX_TOKENS_KEY = "chat.max_tokens"
SYSTEM_KEY = "chat.system_prompt"
VARIANT_KEY = "chat.variant"


@st.cache_resource(show_spinner=False)
def chat_limiter(rate: str) -> RateLimiter:
    """One limiter per server process for the configured chat rate."""
    return RateLimiter.from_text(rate)


def chat_allowed(reviewer: str) -> tuple[bool, float]:
    """Whether this reviewer (or this browser session) may ask now, per LOUPE_CHAT_RATE."""
    rate = os.environ.get("LOUPE_CHAT_RATE", "20/minute")
    try:
        limiter = chat_limiter(rate)
    except ValueError:
        limiter = chat_limiter("20/minute")
    key = reviewer or f"session:{id(st.session_state)}"
    return limiter.allow(key)


def ollama_timeout() -> float:
    """Seconds to wait for Ollama (LOUPE_OLLAMA_TIMEOUT, default 60)."""
    try:
        return float(os.environ.get("LOUPE_OLLAMA_TIMEOUT", "60"))
    except ValueError:
        return 60.0


def make_backend(name: str) -> Backend:
    """A backend object by its stored name ('ollama', 'embedded', 'openai:<endpoint>')."""
    return backend_named(name, ollama_timeout=ollama_timeout())


@st.cache_data(ttl=30, show_spinner="Looking for models…")
def model_catalog() -> dict[str, list[str]]:
    """Backend name -> models it can answer with, for the backends that answer now."""
    catalog: dict[str, list[str]] = {}
    for backend in available_backends(ollama_timeout=ollama_timeout()):
        try:
            models = backend.models()
        except Exception:  # noqa: BLE001 - a server that fails its listing is not offered
            models = []
        if models:
            catalog[backend.name] = models
    return catalog


@st.cache_data(ttl=30, show_spinner=False)
def endpoint_problems() -> dict[str, str]:
    """Configured OpenAI-compatible endpoints that are not offered, each with why (a sentence)."""
    catalog = model_catalog()
    problems: dict[str, str] = {}
    for endpoint in openai_endpoints().values():
        if endpoint.backend_name in catalog:
            continue
        try:
            models = OpenAIBackend(endpoint, timeout=3).models()
        except BackendError as exc:
            problems[endpoint.backend_name] = str(exc)
        else:
            if not models:
                problems[endpoint.backend_name] = (
                    f"The OpenAI-compatible endpoint '{endpoint.name}' lists no model: load one "
                    "on the server.")
    return problems


@dataclass
class ChatSettings:
    """What the next question is sent with."""

    backend: Backend
    model: str
    system_prompt: str | None
    options: GenerationOptions
    variant: dict[str, Any] | None = None

    @property
    def variant_id(self) -> int | None:
        """The exact variant version chatted as, if any."""
        return self.variant["id"] if self.variant else None

    @property
    def template(self) -> str | None:
        """The variant's template, if any."""
        return self.variant["template"] if self.variant else None


def model_picker(store: Store) -> ChatSettings | None:
    """Sidebar settings (free, or "as" a variant); None when no model can answer."""
    catalog = model_catalog()
    st.sidebar.subheader("Model")
    for problem in endpoint_problems().values():
        st.sidebar.warning(plain_text(problem), icon=":material/cloud_off:")
    variants = store.experiments.list_variants()
    if variants:
        labels = {v["id"]: variant_label(v) for v in variants}
        chosen = st.sidebar.selectbox(
            "Chat as variant", [None, *labels], key=VARIANT_KEY,
            format_func=lambda i: "No variant: choose below" if i is None else labels[i],
            help="A variant fixes the model, system prompt, template and settings; the answers "
                 "record the exact version.",
        )
        if chosen is not None:
            variant = next(v for v in variants if v["id"] == chosen)
            backend = make_backend(variant_backend_name(variant))
            st.sidebar.caption(
                f"{backend_label(backend.name)} · {plain_text(variant['model'])} · temperature "
                f"{variant['params'].get('temperature', 0.7)}"
            )
            return ChatSettings(backend, variant["model"] or EMBEDDED_MODEL,
                                variant.get("system_prompt"), generation_options(variant), variant)
    if not catalog:
        st.sidebar.error(
            "No model is available: start Ollama (`ollama serve`), configure an "
            "OpenAI-compatible endpoint (see the README), or install the embedded model with "
            "`make run`."
        )
        return None
    name = st.sidebar.selectbox(
        "Backend", list(catalog), key=BACKEND_KEY, format_func=backend_label
    )
    model = st.sidebar.selectbox("Model", catalog[name], key=MODEL_KEY)
    temperature = st.sidebar.slider(
        "Temperature", 0.0, 2.0, 0.7, 0.1, key=TEMPERATURE_KEY,
        help="Higher is more varied, lower is more predictable.",
    )
    max_tokens = st.sidebar.number_input(
        "Longest answer (tokens)", 16, 4096, 512, 16, key=MAX_TOKENS_KEY
    )
    system_prompt = st.sidebar.text_area(
        "System prompt", key=SYSTEM_KEY, placeholder="Optional: how the assistant should behave"
    )
    if st.sidebar.button("Look for models again", icon=":material/refresh:"):
        model_catalog.clear()
        endpoint_problems.clear()
        st.rerun()
    options = GenerationOptions(temperature=float(temperature), max_tokens=int(max_tokens))
    return ChatSettings(make_backend(name), model, system_prompt, options)


def show_rated_turn(store: Store, turn: dict, reviewer: str) -> None:
    """One stored question and its answer (or error), with the rating widget."""
    def below() -> None:
        st.caption(plain_text(describe_answer(turn)))
        if turn.get("answer"):
            rating_widget(store, turn["id"], reviewer, prefix="chat")

    show_turn(turn, below)
