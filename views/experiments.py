"""Experiments: run a question set through variants, compare answers side by side, ask a judge."""

import pandas as pd
import streamlit as st

from dashboard.chat import backend_label
from dashboard.experiments import variant_label
from dashboard.judge import DEFAULT_RUBRIC, judge_summaries, run_judge
from dashboard.llm import BackendError
from dashboard.safe_text import plain_text
from dashboard.ui.auth import require
from dashboard.ui.chat import make_backend, model_catalog
from dashboard.ui.common import get_store, reviewer_input
from dashboard.ui.experiments import (
    EXPERIMENT_KEY,
    experiment_runner,
    judge_report,
    side_by_side,
)
from dashboard.ui.guard import permitted

store = get_store()
reviewer_input()
require(store, "experiments")
runner = experiment_runner()
st.title("Experiments")

with st.expander("New experiment", icon=":material/science:", expanded=not store.experiments.list_experiments()):
    sets = store.experiments.list_question_sets()
    variants = store.experiments.list_variants()
    if not sets or len(variants) < 2:
        st.info("An experiment needs a question set and at least two variants: create them on the "
                "Variants page first.")
    else:
        with st.form("experiments.new"):
            name = st.text_input("Name", placeholder="e.g. concise vs friendly, November")
            set_id = st.selectbox("Question set", [s["id"] for s in sets],
                                  format_func=lambda i: next(f"{s['name']} ({s['size']} questions)"
                                                             for s in sets if s["id"] == i))
            chosen = st.multiselect("Variants (two or more)", [v["id"] for v in variants],
                                    format_func=lambda i: next(variant_label(v) for v in variants
                                                               if v["id"] == i))
            if st.form_submit_button("Create experiment", type="primary") and permitted(
                    store, "experiments"):
                try:
                    new_id = store.experiments.create_experiment(name.strip() or "experiment", set_id, chosen)
                except ValueError as exc:
                    st.error(f"{plain_text(str(exc).capitalize())}.")
                else:
                    st.session_state[EXPERIMENT_KEY] = new_id
                    st.rerun()

experiments = store.experiments.list_experiments()
if not experiments:
    st.stop()
ids = [e["id"] for e in experiments]
if st.session_state.get(EXPERIMENT_KEY) not in ids:
    st.session_state[EXPERIMENT_KEY] = ids[0]
experiment_id = st.selectbox(
    "Experiment", ids, key=EXPERIMENT_KEY,
    format_func=lambda i: next(f"{e['name']} · {e['question_set']}" for e in experiments
                               if e["id"] == i),
)
summary = next(e for e in experiments if e["id"] == experiment_id)
experiment = store.experiments.get_experiment(experiment_id)


@st.fragment(run_every=1.0)
def run_status() -> None:
    """Counts and a progress bar that follow a run going on in the background."""
    progress = runner.progress(experiment_id)
    live = store.experiments.list_experiments()
    row = next(e for e in live if e["id"] == experiment_id)
    done, due, failed = row["done"], row["due"], row["failed"]
    st.progress(done / due if due else 1.0,
                text=f"{done} of {due} answers · {failed} failed · {row['votes']} votes")
    if progress and progress.running:
        st.caption("Running… you can leave this page: the run goes on and resumes after a restart "
                   "when you press Resume.")
    elif progress and progress.message:
        st.error(plain_text(progress.message))
    if progress and not progress.running and st.session_state.get("experiments.was_running"):
        st.session_state["experiments.was_running"] = False
        st.rerun()


run_status()
running = bool(runner.progress(experiment_id) and runner.progress(experiment_id).running)
left, middle, right = st.columns(3)
label = "Resume" if 0 < summary["done"] < summary["due"] else "Run"
if left.button(label, icon=":material/play_arrow:", disabled=running or summary["done"] >= summary["due"]
               ) and permitted(store, "experiments"):
    runner.start(store, experiment_id)
    st.session_state["experiments.was_running"] = True
    st.rerun()
if middle.button("Retry failed answers", icon=":material/replay:",
                 disabled=running or not summary["failed"]) and permitted(store, "experiments"):
    runner.start(store, experiment_id, retry_failed=True)
    st.session_state["experiments.was_running"] = True
    st.rerun()
if right.button("Stop", icon=":material/stop:", disabled=not running) and permitted(
        store, "experiments"):
    runner.stop(experiment_id)

answers = store.experiments.experiment_answers(experiment_id)
st.subheader("Side by side")
if not answers:
    st.info("No answers yet: press Run.")
else:
    labels = [variant_label(v) for v in experiment["variants"]]
    questions = list(dict.fromkeys((a["position"], a["question"]) for a in answers))
    position = st.selectbox("Question", [p for p, _ in questions],
                            format_func=lambda p: next(f"{p}. {q[:120]}" for n, q in questions if n == p))
    shown = st.multiselect("Variants to compare", labels, default=labels[:2], max_selections=3)
    rows = [a for a in answers if a["position"] == position]
    if rows and rows[0]["reference_answer"]:
        st.caption("Reference answer: " + plain_text(rows[0]["reference_answer"][:500]))
    side_by_side(rows, shown)

st.subheader("LLM judge")
st.caption("A judge model compares each pair twice, with the answers swapped; a verdict that flips "
           "with the position counts as a tie. The judge is asked for JSON that follows a schema "
           "(Ollama and the embedded model are held to it); its raw replies are kept. Judge "
           "verdicts are kept apart from human votes.")
catalog = model_catalog()
judge_models = [(b, m) for b, models in catalog.items() for m in models]
if not judge_models:
    st.warning("No model is available to judge: start Ollama or install the embedded model.")
else:
    choice = st.selectbox("Judge model", range(len(judge_models)),
                          format_func=lambda i: f"{judge_models[i][1]} · "
                                                f"{backend_label(judge_models[i][0])}")
    rubric = st.text_area("Rubric", value=experiment.get("rubric") or DEFAULT_RUBRIC)
    if st.button("Judge the answered pairs", icon=":material/gavel:", disabled=not answers
                 ) and permitted(store, "experiments"):
        backend_name, model = judge_models[choice]
        bar = st.progress(0.0, text="Judging…")
        try:
            count = run_judge(store, experiment_id, make_backend(backend_name), model, rubric,
                              on_progress=lambda n, total, bar=bar: bar.progress(
                                  n / total, text=f"Judged {n} of {total} pairs"))
        except BackendError as exc:
            st.error(f"The judge could not run: {plain_text(exc)}")
        else:
            st.success(f"Judged {count} new pairs." if count else "Every pair is already judged.")
        finally:
            bar.empty()
for n, summary in enumerate(judge_summaries(store.experiments.judgments(experiment_id),
                                            store.experiments.votes(experiment_id))):
    if judge_report(summary, key=f"experiments.judge.{n}", retry=True) and permitted(
            store, "experiments"):
        bar = st.progress(0.0, text="Asking the judge again…")
        try:
            run_judge(store, experiment_id, make_backend(summary["judge_backend"] or "embedded"),
                      summary["judge_model"], summary["criteria"] or DEFAULT_RUBRIC,
                      only_unreadable=True,
                      on_progress=lambda n, total, bar=bar: bar.progress(
                          n / total, text=f"Judged {n} of {total} pairs again"))
        except BackendError as exc:
            st.error(f"The judge could not run: {plain_text(exc)}")
        else:
            st.rerun()
        finally:
            bar.empty()
judgments = store.experiments.judgments(experiment_id)
if judgments:
    with st.expander(f"Every verdict ({len(judgments)}), with the judge's raw replies"):
        st.dataframe(
            pd.DataFrame(judgments)[["question", "variant_a", "variant_b", "verdict",
                                     "verdict_a_first", "verdict_b_first", "judge_model",
                                     "rationale", "problem", "error", "reply_a_first",
                                     "reply_b_first"]],
            hide_index=True, width="stretch",
        )
