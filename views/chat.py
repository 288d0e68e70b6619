"""Chat with a model and rate its answers."""

import streamlit as st

from dashboard.chat import ChatTurn, backend_label
from dashboard.experiments import variant_label
from dashboard.safe_text import inert_stream, plain_text
from dashboard.ui.auth import require
from dashboard.ui.chat import chat_allowed, model_picker, show_rated_turn
from dashboard.ui.common import get_store, reviewer_input
from dashboard.ui.guard import permitted
from dashboard.ui.text import show_turn

CONVERSATION_KEY = "chat.conversation_id"

store = get_store()
name = reviewer_input()
require(store, "chat")
settings = model_picker(store)

title_col, new_col = st.columns([4, 1], vertical_alignment="bottom")
title_col.title("Chat")
if new_col.button("New conversation", icon=":material/add_comment:"):
    st.session_state.pop(CONVERSATION_KEY, None)
    st.rerun()

if settings:
    as_variant = (f" · as variant **{plain_text(variant_label(settings.variant))}**"
                  if settings.variant else "")
    st.caption(f"Answering: **{backend_label(settings.backend.name)}** · "
               f"{plain_text(settings.model)}{as_variant}")

conversation_id = st.session_state.get(CONVERSATION_KEY)
if conversation_id:
    for turn in store.ingest.conversation_turns(conversation_id):
        show_rated_turn(store, turn, name)
else:
    st.info("Ask a question below. Every answer is saved, and you can rate it right under it.")

question = st.chat_input("Ask the model…", disabled=settings is None)
allowed_now, wait = chat_allowed(name) if question else (True, 0.0)
if question and not allowed_now:
    st.warning(f"You are asking faster than this server allows: wait {wait:.0f} s and ask again.",
               icon=":material/hourglass_top:")
if question and settings and allowed_now and permitted(store, "chat"):
    if not conversation_id:
        conversation_id = store.ingest.start_conversation(reviewer=name or None)
        st.session_state[CONVERSATION_KEY] = conversation_id
    chat_turn = ChatTurn(
        store, settings.backend, settings.model, conversation_id, question,
        system_prompt=settings.system_prompt, options=settings.options,
        variant_id=settings.variant_id, template=settings.template,
    )
    show_turn({"question": question}, below=lambda: st.write_stream(inert_stream(chat_turn)))
    st.rerun()
