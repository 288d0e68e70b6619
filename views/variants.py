"""Prompt variants (versioned) and question sets."""

import pandas as pd
import streamlit as st

from dashboard.chat import backend_label
from dashboard.experiments import variant_backend_name, variant_label
from dashboard.safe_text import plain_text
from dashboard.ui.auth import require
from dashboard.ui.common import get_store, reviewer_input
from dashboard.ui.experiments import (
    question_set_creator,
    question_set_from_feedback,
    variant_form,
)
from dashboard.ui.guard import permitted

EDIT_KEY = "variants.editing"

store = get_store()
reviewer_input()
require(store, "variants")
st.title("Variants")
st.caption("A variant is a model with a system prompt, a template and settings. Editing saves a "
           "new version; answers always point at the exact version that produced them.")

variants_tab, sets_tab = st.tabs(["Prompt variants", "Question sets"])

with variants_tab:
    show_archived = st.toggle("Show archived variants", key="variants.archived")
    variants = store.experiments.list_variants(include_archived=show_archived)
    if variants:
        st.dataframe(
            pd.DataFrame([{
                "variant": variant_label(v), "model": v["model"],
                "backend": backend_label(variant_backend_name(v)), "versions": v["versions"],
                "system prompt": v["system_prompt"] or "", "template": v["template"],
                "temperature": v["params"].get("temperature"), "archived": bool(v["archived"]),
                "created": v["created_at"][:16].replace("T", " "),
            } for v in variants]),
            hide_index=True, width="stretch",
        )
    else:
        st.info("No variants yet: create the first one below.")

    with st.expander("New variant", icon=":material/add:", expanded=not variants):
        fields = variant_form("variants.new")
        if fields and permitted(store, "variants"):
            try:
                store.experiments.add_variant(**fields)
            except ValueError as exc:
                st.error(plain_text(exc))
            else:
                st.toast(f"Created {plain_text(fields['name'])} v1.", icon=":material/check:")
                st.rerun()

    if variants:
        names = [v["name"] for v in variants]
        chosen = st.selectbox("Work on a variant", names, key=EDIT_KEY)
        current = next(v for v in variants if v["name"] == chosen)
        edit_tab, copy_tab, history_tab = st.tabs(["Edit", "Duplicate or archive", "Versions"])
        with edit_tab:
            changes = variant_form(f"variants.edit.{current['id']}", current)
            if changes and permitted(store, "variants"):
                changes.pop("name")
                new_id = store.experiments.edit_variant(current["id"], **changes)
                st.toast(f"Saved {plain_text(chosen)} v{store.experiments.get_variant(new_id)['version']}.",
                         icon=":material/check:")
                st.rerun()
        with copy_tab:
            new_name = st.text_input("Name of the copy", key="variants.copy_name")
            if st.button("Duplicate", key="variants.duplicate") and permitted(store, "variants"):
                try:
                    store.experiments.duplicate_variant(current["id"], new_name.strip())
                except ValueError as exc:
                    st.error(plain_text(f"{exc}." if not str(exc).endswith(".") else str(exc)))
                else:
                    st.toast(f"Created {plain_text(new_name.strip())} v1 from "
                             f"{plain_text(variant_label(current))}.", icon=":material/check:")
                    st.rerun()
            archived = bool(current["archived"])
            if st.button("Show again" if archived else "Archive", key="variants.archive"
                         ) and permitted(store, "variants"):
                store.experiments.archive_variant(chosen, not archived)
                st.rerun()
        with history_tab:
            for version in store.experiments.variant_versions(chosen):
                with st.container(border=True):
                    st.markdown(f"**{plain_text(variant_label(version))}** · "
                                f"{plain_text(version['model'])} · "
                                f"{version['created_at'][:16].replace('T', ' ')}")
                    st.caption("System prompt")
                    st.text(version["system_prompt"] or "(none)")
                    st.caption("Template")
                    st.text(version["template"])

with sets_tab:
    sets = store.experiments.list_question_sets()
    if sets:
        st.dataframe(pd.DataFrame(sets)[["name", "size", "origin", "created_at"]],
                     hide_index=True, width="stretch")
    with st.expander("New question set", icon=":material/add:", expanded=not sets):
        question_set_creator(store)
    with st.expander("Question set from feedback", icon=":material/filter_alt:"):
        question_set_from_feedback(store)
