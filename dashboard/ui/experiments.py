"""Widgets for variants, question sets, experiment runs and blind votes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pandas as pd
import streamlit as st

from dashboard.chat import backend_label
from dashboard.evaluate import answer_metrics
from dashboard.experiments import (
    ExperimentRunner,
    parse_questions,
    variant_backend_name,
    variant_label,
)
from dashboard.filters import Filters
from dashboard.llm import EMBEDDED, EMBEDDED_MODEL, OLLAMA
from dashboard.safe_text import inert_markdown, plain_text
from dashboard.ui.chat import model_catalog
from dashboard.ui.guard import permitted
from dashboard.ui.text import show_markdown
from store import Store

EXPERIMENT_KEY = "experiments.selected"


@st.cache_resource(show_spinner=False)
def experiment_runner() -> ExperimentRunner:
    """One runner per server process: runs go on while pages reload."""
    return ExperimentRunner()


def known_models() -> list[tuple[str, str]]:
    """(backend, model) pairs the backends offer now (the embedded model always listed)."""
    pairs = [(b, m) for b, models in model_catalog().items() for m in models]
    return list(dict.fromkeys([*pairs, (EMBEDDED, EMBEDDED_MODEL)]))


def variant_form(key: str, current: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """A form for a variant's fields; returns them when submitted."""
    current = current or {}
    params = current.get("params") or {}
    models = known_models()
    mine = (variant_backend_name(current), current["model"]) if current.get("model") else None
    if mine and mine not in models:
        models.append(mine)
    with st.form(key, border=True, clear_on_submit=not current):
        name = st.text_input("Name", value=current.get("name", ""), disabled=bool(current),
                             placeholder="e.g. concise")
        backend, model = st.selectbox(
            "Model", models, index=models.index(mine) if mine else 0,
            format_func=lambda pair: f"{pair[1]} · {backend_label(pair[0])}",
            help="The model and the backend that serves it.")
        system_prompt = st.text_area("System prompt", value=current.get("system_prompt") or "")
        template = st.text_area(
            "Template", value=current.get("template") or "{question}",
            help="The user message sent to the model; {question} is replaced by the question.",
        )
        left, middle, right = st.columns(3)
        temperature = left.number_input("Temperature", 0.0, 2.0,
                                        float(params.get("temperature", 0.7)), 0.1)
        max_tokens = middle.number_input("Max tokens", 16, 8192, int(params.get("max_tokens", 512)), 16)
        seed = right.number_input("Seed (0 = random)", 0, 2**31 - 1, int(params.get("seed") or 0))
        description = st.text_input("Description", value=current.get("description") or "")
        label = "Save as a new version" if current else "Create variant"
        if not st.form_submit_button(label, type="primary"):
            return None
    fields = {
        "name": name.strip(),
        "model": model,
        "system_prompt": system_prompt.strip() or None,
        "template": template,
        "params": {"temperature": float(temperature), "max_tokens": int(max_tokens)}
        | ({"seed": int(seed)} if seed else {})
        # Ollama and the embedded model are told apart by the model; others are named.
        | ({"backend": backend} if backend not in (OLLAMA, EMBEDDED) else {}),
        "description": description.strip() or None,
    }
    if not fields["name"]:
        st.error("Give the variant a name.")
        return None
    if "{question}" not in template:
        st.error("The template must contain {question} where the question goes.")
        return None
    return fields


def question_set_creator(store: Store) -> None:
    """Paste or upload questions and save them as a named set."""
    name = st.text_input("Name of the set", key="sets.name", placeholder="e.g. billing regressions")
    pasted = st.text_area(
        "Questions", key="sets.pasted", height=150,
        placeholder="One question per line, or JSONL lines with question, reference_answer, category",
    )
    upload = st.file_uploader("…or upload a file", type=["txt", "jsonl"], key="sets.upload")
    if not st.button("Save question set", type="primary", key="sets.save") or not permitted(
            store, "variants"):
        return
    text, source = pasted, "pasted text"
    if upload is not None:
        try:
            text, source = upload.getvalue().decode("utf-8"), upload.name
        except UnicodeDecodeError:
            st.error(f"{plain_text(upload.name)} is not UTF-8 text: save it as UTF-8 and upload "
                     "it again.")
            return
    parsed = parse_questions(text, source)
    for line in parsed.refused[:20]:
        st.warning(plain_text(line))
    if not name.strip():
        st.error("Give the question set a name.")
    elif not parsed.items:
        st.error("No questions found: paste one question per line.")
    elif parsed.refused:
        st.error(f"{len(parsed.refused)} lines were refused; fix them and save again.")
    else:
        store.experiments.create_question_set(name, parsed.items, origin=source)
        st.success(f"Saved “{plain_text(name.strip())}” with {len(parsed.items)} questions.")


def question_set_from_feedback(store: Store) -> None:
    """Build a question set from the questions of rated interactions (e.g. last week's failures)."""
    left, middle, right = st.columns(3)
    stars = left.selectbox("Rated at most", [None, 1, 2, 3, 4], index=2, key="sets.fb.stars",
                           format_func=lambda s: "any rating" if s is None else f"{s} stars")
    thumbs_down = middle.checkbox("or thumbs down", value=True, key="sets.fb.thumbs")
    days = right.number_input("In the last … days", 1, 3650, 7, key="sets.fb.days")
    limit = st.number_input("At most … questions", 1, 5000, 100, key="sets.fb.limit")
    latest = store.experiments.latest_interaction_date()
    if latest is None:
        st.info("No interactions yet.")
        return
    since = latest - timedelta(days=int(days) - 1)
    found: dict[str, dict[str, Any]] = {}
    for extra in ([{"stars_max": stars}] if stars else [{}]) + (
            [{"thumbs": "down"}] if thumbs_down else []):
        for row in store.experiments.questions_matching(Filters(date_from=since, **extra), int(limit)):
            found.setdefault(row["question"], row)
    questions = list(found)[: int(limit)]
    st.caption(f"{len(questions)} distinct questions from {since.isoformat()} to {latest.isoformat()}.")
    if questions:
        st.dataframe({"question": questions[:200]}, hide_index=True, width="stretch", height=200)
    name = st.text_input("Name of the set", key="sets.fb.name",
                         placeholder=f"low-rated since {since.isoformat()}")
    if st.button("Save as question set", key="sets.fb.save", disabled=not questions
                 ) and permitted(store, "variants"):
        label = name.strip() or f"low-rated since {since.isoformat()}"
        store.experiments.create_question_set(label, [{"question": q} for q in questions], origin="feedback")
        st.success(f"Saved “{plain_text(label)}” with {len(questions)} questions.")


def side_by_side(rows: list[dict[str, Any]], labels: list[str]) -> None:
    """Answers of two variants to the same question next to each other, with metrics."""
    columns = st.columns(len(labels))
    for column, label in zip(columns, labels):
        row = next((r for r in rows if variant_label_of(r) == label), None)
        with column.container(border=True):
            st.markdown(f"**{plain_text(label)}**")
            if row is None:
                st.caption("Not answered yet.")
                continue
            if row["error"]:
                st.error(inert_markdown(row["error"]))
                continue
            show_markdown(row["answer"])
            metrics = answer_metrics(row["answer"], row.get("reference_answer"))
            parts = [f"{metrics.words} words", f"{metrics.chars} characters"]
            if metrics.similarity is not None:
                parts += [
                    f"similarity {metrics.similarity:.2f}",
                    f"ROUGE-L {metrics.rouge_l:.2f}",
                    f"F1 {metrics.token_f1:.2f}",
                    "exact match" if metrics.exact_match else "not exact",
                ]
            st.caption(" · ".join(parts))


def variant_label_of(row: dict[str, Any]) -> str:
    """The label of the variant that produced an experiment answer row."""
    return variant_label({"name": row["variant_name"], "version": row["variant_version"]})


_PAIR_COLUMNS = {"variant_a": "variant A", "variant_b": "variant B"}


def _percent(rate: dict[str, float] | None) -> str:
    return "n/a" if rate is None else f"{rate['rate']:.0%}"


def _interval(rate: dict[str, float] | None, what: str) -> str:
    if rate is None:
        return f"no {what} yet"
    return f"95% interval {rate['low']:.0%}–{rate['high']:.0%} over {rate['n']} {what}"


def judge_report(summary: dict[str, Any], key: str, retry: bool = False) -> bool:
    """One judge's record: readable verdicts, unreadable replies with the reason, position flips,
    and calibration against the human majority. Returns True when "Retry" was pressed."""
    pressed = False
    with st.container(border=True):
        st.markdown(f"**{plain_text(summary['judge_model'])}**")
        read, failed, flips, agreement = st.columns(4)
        read.metric("Verdicts read", f"{summary['readable']} of {summary['judged']}")
        failed.metric("Pairs with no verdict", len(summary["unreadable"]),
                      help="A reply could not be read, or the model call failed.")
        flips.metric("Flips when the answers swap", _percent(summary["flip_rate"]),
                     help="Pairs where the verdict changed with the order of the answers "
                          "(counted as ties).")
        agreement.metric("Agrees with the human majority", _percent(summary["agreement"]))
        lines = [f"Flips: {_interval(summary['flip_rate'], 'pairs read in both orders')}.",
                 f"Agreement: {_interval(summary['agreement'], 'pairs humans also voted on')}."]
        if summary["kappa"] is not None:
            low, high = summary["kappa_interval"]
            lines.append(f"Cohen's kappa {summary['kappa']:.2f} (95% interval {low:.2f} to "
                         f"{high:.2f}): agreement beyond chance, 0 = chance, 1 = always.")
        elif summary["pairs"]:
            lines.append("Kappa needs at least 5 pairs that humans voted on, with some variety.")
        st.caption(" ".join(lines))
        if summary["unreadable"]:
            st.warning(f"{len(summary['unreadable'])} pairs have no verdict: the reply could not "
                       "be read or the call failed. The reason and the raw replies are below.")
            st.dataframe(pd.DataFrame(summary["unreadable"]).rename(columns=_PAIR_COLUMNS),
                         hide_index=True, width="stretch")
            if retry:
                pressed = st.button("Retry the unreadable pairs", icon=":material/replay:",
                                    key=f"{key}.retry")
        if summary["pairs"]:
            table = pd.DataFrame(summary["confusion"]).T
            names = {"a": "A better", "b": "B better", "tie": "tie"}
            table.index = [f"humans: {names[k]}" for k in table.index]
            table.columns = [f"judge: {names[k]}" for k in table.columns]
            st.markdown("Humans (rows) against the judge (columns), on the pairs both judged; "
                        "A and B are the two variants as named in each pair.")
            st.dataframe(table, width="stretch")
            disagreements = summary["disagreements"]
            with st.expander(f"Pairs where the judge and the humans disagree "
                             f"({len(disagreements)})", expanded=False):
                if disagreements:
                    st.dataframe(pd.DataFrame(disagreements).rename(columns=_PAIR_COLUMNS),
                                 hide_index=True, width="stretch")
                else:
                    st.caption("None: the judge agrees with the human majority on every pair.")
    return pressed
