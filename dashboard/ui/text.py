"""Text from data on screen: formatted but inert, and never more than a browser lays out fast.

Streamlit's Markdown renderer slows down sharply on long text full of escapes (a megabyte of
hostile text takes minutes), so past ``FORMATTED_LIMIT`` characters only the start is
formatted and the whole text follows as plain text, exactly as written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from dashboard.safe_text import inert_markdown

FORMATTED_LIMIT = 20_000


def show_markdown(text: str | None, where: Any = None) -> None:
    """Show ``text`` as inert Markdown; a long text's start formatted, then all of it plain."""
    where = where or st
    text = text or ""
    if len(text) <= FORMATTED_LIMIT:
        where.markdown(inert_markdown(text))
        return
    cut = text.rfind("\n", FORMATTED_LIMIT - 2_000, FORMATTED_LIMIT)
    head = text[: cut if cut > 0 else FORMATTED_LIMIT]
    where.markdown(inert_markdown(head))
    where.caption(f"Long text: the first {len(head):,} of {len(text):,} characters are shown "
                  "above; the whole text, as written, is below.")
    with where.expander(f"The whole text ({len(text):,} characters)", icon=":material/notes:"):
        st.text(text)


def show_turn(turn: dict[str, Any], below: Callable[[], None] | None = None) -> None:
    """One chat turn: the question, then the answer and its error (both inert), then ``below``
    (a caption, a rating, a streamed answer) inside the answer's message."""
    with st.chat_message("user"):
        show_markdown(turn["question"])
    with st.chat_message("assistant"):
        if turn.get("answer"):
            show_markdown(turn["answer"])
        if turn.get("error"):
            st.error(inert_markdown(turn["error"]), icon=":material/error:")
        if below is not None:
            below()
