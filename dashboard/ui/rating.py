"""The rating widget shown under an answer: thumbs, stars, tags, comment, ideal answer."""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard.ratings import (
    rating_summary,
    stars_from_widget,
    stars_to_widget,
    tag_options,
    thumbs_from_widget,
    thumbs_to_widget,
)
from dashboard.safe_text import plain_text
from store import Store

FIELDS = ("thumbs", "stars", "tags", "comment", "ideal")


def _keys(prefix: str, interaction_id: int, reviewer: str) -> dict[str, str]:
    return {field: f"{prefix}.{interaction_id}.{reviewer}.{field}" for field in FIELDS}


def _save(store: Store, interaction_id: int, reviewer: str, keys: dict[str, str]) -> None:
    from dashboard.ui.auth import allowed

    if not allowed(store, "rate"):  # checked on the server, whatever the page showed
        st.toast("Your role does not allow rating.", icon=":material/lock:")
        return
    state = st.session_state
    rating: dict[str, Any] = {
        "thumbs": thumbs_from_widget(state.get(keys["thumbs"])),
        "stars": stars_from_widget(state.get(keys["stars"])),
        "tags": list(state.get(keys["tags"]) or []),
        "comment": (state.get(keys["comment"]) or "").strip() or None,
        "ideal_answer": (state.get(keys["ideal"]) or "").strip() or None,
    }
    try:
        store.review.save_rating(interaction_id, reviewer, **rating)
    except Exception as exc:  # noqa: BLE001 - tell the reviewer instead of failing the page
        st.toast(f"Your rating could not be saved ({plain_text(exc)}); try again.", icon=":material/error:")
    else:
        st.toast(f"Rating saved: {rating_summary(**rating)}", icon=":material/check:")


def rating_widget(store: Store, interaction_id: int, reviewer: str, prefix: str = "rate") -> None:
    """Thumbs and stars in a row, the rest in an expander; every change is saved at once."""
    from dashboard.ui.auth import allowed

    if not reviewer:
        st.caption("Type your name in the sidebar to rate this answer.")
        return
    if not allowed(store, "rate"):
        return
    keys = _keys(prefix, interaction_id, reviewer)
    existing = store.review.get_rating(interaction_id, reviewer) or {}
    state = st.session_state
    if keys["thumbs"] not in state:
        state[keys["thumbs"]] = thumbs_to_widget(existing.get("thumbs"))
        state[keys["stars"]] = stars_to_widget(existing.get("stars"))
        state[keys["tags"]] = existing.get("tags") or []
        state[keys["comment"]] = existing.get("comment") or ""
        state[keys["ideal"]] = existing.get("ideal_answer") or ""
    save_args = (store, interaction_id, reviewer, keys)

    # stars, then thumbs: the order of the Annotate page, so a hand that knows one knows both
    stars_col, thumbs_col, note_col = st.columns([2, 1, 5], vertical_alignment="center")
    with stars_col:
        st.feedback("stars", key=keys["stars"], on_change=_save, args=save_args)
    with thumbs_col:
        st.feedback("thumbs", key=keys["thumbs"], on_change=_save, args=save_args)
    with note_col:
        if existing:
            st.caption(f"Rated by {plain_text(reviewer)} · saved {existing['updated_at'][11:16]} UTC")
    with st.expander("Comment, tags, ideal answer", icon=":material/edit_note:"):
        st.multiselect(
            "Tags",
            options=tag_options(state[keys["tags"]]),
            key=keys["tags"],
            accept_new_options=True,
            placeholder="Pick or type a tag",
            on_change=_save,
            args=save_args,
        )
        st.text_area("Comment", key=keys["comment"], on_change=_save, args=save_args, height=80)
        st.text_area(
            "Ideal answer",
            key=keys["ideal"],
            on_change=_save,
            args=save_args,
            height=120,
            help="The answer the model should have given. Exports use it as the training target.",
        )
