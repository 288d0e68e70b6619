"""The demo data set in the database: chats and ratings (``store.ingest.load_demo``) plus finished
experiments stored in the same tables and fields as a real run, real votes and a real judge."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from store.ingest import delete_with_dependents, demo_variant

if TYPE_CHECKING:
    from store.store import Store

DEMO_ORIGIN = "demo"  # question_sets.origin of the demo's question sets


def load_demo_set(
    store: Store,
    variants: list[dict[str, Any]],
    conversations: Iterable[dict[str, Any]],
    experiments: Iterable[dict[str, Any]],
    *,
    label: Callable[[dict[str, Any]], str],
    replace: bool = False,
) -> dict[str, int]:
    """Write the whole demo data set in one transaction; return the rows created.

    ``replace`` removes the demo rows already there first (interactions of source "demo", what
    refers to them, and the demo question sets with their experiments). ``label`` names a variant
    version in votes and verdicts as the Vote page does.
    """
    with store.write() as db:
        counts = store.ingest.load_demo(variants, conversations, replace=replace)
        if replace:
            _remove_demo_experiments(db)
        counts.update(experiments=0, answers=0, votes=0, judgments=0)
        for experiment in experiments:
            _insert_experiment(db, variants, experiment, label, counts)
        counts["interactions"] += counts["answers"]
    return counts


def _remove_demo_experiments(db: Any) -> None:
    demo_sets = "SELECT id FROM question_sets WHERE origin = ?"
    delete_with_dependents(db, "experiments", f"question_set_id IN ({demo_sets})", [DEMO_ORIGIN])
    delete_with_dependents(db, "question_sets", "origin = ?", [DEMO_ORIGIN])


def _insert_experiment(
    db: Any,
    variants: list[dict[str, Any]],
    experiment: dict[str, Any],
    label: Callable[[dict[str, Any]], str],
    counts: dict[str, int],
) -> None:
    conn = db.conn
    question_set = experiment["question_set"]
    set_id = conn.execute(
        "INSERT INTO question_sets (name, description, origin, created_at) VALUES (?, ?, ?, ?)",
        [question_set["name"], question_set.get("description"), DEMO_ORIGIN,
         question_set["created_at"]],
    ).lastrowid
    item_ids, questions = {}, {}
    for position, item in enumerate(question_set["items"], 1):
        item_ids[position] = conn.execute(
            "INSERT INTO question_set_items (set_id, position, question, reference_answer,"
            " category) VALUES (?, ?, ?, ?, ?)",
            [set_id, position, item["question"], item.get("reference_answer"),
             item.get("category")],
        ).lastrowid
        questions[position] = item["question"]

    by_key = {(v["name"], v["version"]): v for v in variants}
    variant_ids, labels = {}, {}
    for key in map(tuple, experiment["variants"]):
        variant_ids[key], _ = demo_variant(conn, by_key[key])
        name = conn.execute("SELECT name FROM variants WHERE id = ?", [variant_ids[key]]).fetchone()[0]
        labels[key] = label({"name": name, "version": key[1]})
    experiment_id = conn.execute(
        "INSERT INTO experiments (name, question_set_id, created_at) VALUES (?, ?, ?)",
        [experiment["name"], set_id, experiment["created_at"]],
    ).lastrowid
    conn.executemany(
        "INSERT INTO experiment_variants (experiment_id, variant_id, position) VALUES (?, ?, ?)",
        [(experiment_id, variant_ids[key], position)
         for position, key in enumerate(variant_ids)],
    )
    counts["experiments"] += 1

    # answers, as an experiment run records them (no conversation; source "demo")
    answers: dict[tuple[int, tuple], tuple[int, int]] = {}
    for answer in experiment["answers"]:
        key = tuple(answer["variant"])
        params = answer.get("params")
        iid = conn.execute(
            "INSERT INTO interactions (experiment_id, item_id, variant_id, question, answer,"
            " system_prompt, params, model, backend, latency_ms, ttft_ms, prompt_tokens,"
            " completion_tokens, error, source, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'demo', ?)",
            [
                experiment_id, item_ids[answer["item"]], variant_ids[key],
                questions[answer["item"]], answer.get("answer"), answer.get("system_prompt"),
                json.dumps(params) if params is not None else None, answer.get("model"),
                answer.get("backend"), answer.get("latency_ms"), answer.get("ttft_ms"),
                answer.get("prompt_tokens"), answer.get("completion_tokens"), answer.get("error"),
                answer["created_at"],
            ],
        ).lastrowid
        answers[(answer["item"], key)] = (iid, len(answer.get("answer") or ""))
        counts["answers"] += 1

    def pair(row: dict[str, Any]) -> tuple[int, int, int, int, str, str]:
        (ia, la), (ib, lb) = answers[(row["item"], tuple(row["a"]))], answers[(row["item"], tuple(row["b"]))]
        return ia, ib, la, lb, labels[tuple(row["a"])], labels[tuple(row["b"])]

    # blind votes, as the Vote page records them (source "demo")
    rows = []
    for vote in experiment["votes"]:
        ia, ib, la, lb, va, vb = pair(vote)
        rows.append((questions[vote["item"]], ia, ib, va, vb, vote["left_side"], vote["winner"],
                     vote.get("reason"), vote["reviewer"], vote["created_at"], experiment_id,
                     item_ids[vote["item"]], la, lb))
    conn.executemany(
        "INSERT INTO comparisons (question, interaction_a, interaction_b, variant_a, variant_b,"
        " left_side, winner, reason, reviewer, source, created_at, experiment_id, item_id,"
        " length_a, length_b) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'demo', ?, ?, ?, ?, ?)",
        rows,
    )
    counts["votes"] += len(rows)

    # judge verdicts, as a judge run records them
    verdicts = []
    for verdict in experiment["judgments"]:
        ia, ib, _, _, va, vb = pair(verdict)
        verdicts.append((experiment_id, item_ids[verdict["item"]], ia, ib, va, vb,
                     verdict["judge_model"], verdict.get("judge_backend"), verdict.get("criteria"),
                     verdict.get("verdict"), verdict.get("verdict_a_first"),
                     verdict.get("verdict_b_first"), verdict.get("rationale"), verdict.get("error"),
                     verdict["created_at"]))
    conn.executemany(
        "INSERT INTO judgments (experiment_id, item_id, interaction_a, interaction_b, variant_a,"
        " variant_b, judge_model, judge_backend, criteria, verdict, verdict_a_first,"
        " verdict_b_first, rationale, error, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        verdicts,
    )
    counts["judgments"] += len(verdicts)
