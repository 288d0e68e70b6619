"""Prompt variants, question sets, experiments, blind votes and judge verdicts (``store.experiments``)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from store.area import Area, inserted_id
from store.filtering import where_clause
from store.filters import Filters
from store.store_text import now_iso

VARIANT_FIELDS = ("model", "system_prompt", "template", "params", "description")


class Experiments(Area):
    """Experiment methods of the Store."""

    # -- variants ---------------------------------------------------------------

    def add_variant(
        self,
        name: str,
        *,
        model: str | None = None,
        system_prompt: str | None = None,
        template: str | None = "{question}",
        params: dict[str, Any] | None = None,
        description: str | None = None,
        parent_id: int | None = None,
    ) -> int:
        """Create the next version of a prompt variant and return its id."""
        name = (name or "").strip()
        if not name:
            raise ValueError("a variant needs a name")
        template = template or "{question}"
        if "{question}" not in template:
            raise ValueError("the template must contain {question} where the question goes")
        with self.store.write() as db:
            version = db.execute(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM variants WHERE name = ?", [name]
            ).fetchone()[0]
            cursor = db.execute(
                "INSERT INTO variants (name, version, model, system_prompt, template, params,"
                " description, parent_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [name, version, model, system_prompt or None, template, json.dumps(params or {}),
                 description or None, parent_id, now_iso()],
            )
            return inserted_id(cursor)

    def get_variant(self, variant_id: int) -> dict[str, Any] | None:
        """One variant version, with its params decoded."""
        row = self.store.one("SELECT * FROM variants WHERE id = ?", [variant_id])
        if row is not None:
            row["params"] = json.loads(row["params"] or "{}")
        return row

    def list_variants(self, include_archived: bool = False) -> list[dict[str, Any]]:
        """The latest version of every variant name, newest name first."""
        rows = self.store.rows(
            "SELECT v.*, (SELECT COUNT(*) FROM variants w WHERE w.name = v.name) AS versions"
            " FROM variants v WHERE v.version = (SELECT MAX(version) FROM variants w"
            " WHERE w.name = v.name)" + ("" if include_archived else " AND v.archived = 0")
            + " ORDER BY v.created_at DESC, v.id DESC"
        )
        return [_decode_variant(row) for row in rows]

    def variant_versions(self, name: str) -> list[dict[str, Any]]:
        """Every version of a variant, newest first."""
        rows = self.store.rows("SELECT * FROM variants WHERE name = ? ORDER BY version DESC", [name])
        return [_decode_variant(row) for row in rows]

    def edit_variant(self, variant_id: int, **changes: Any) -> int:
        """Save changes as the next version of the variant (the old one stays); return its id."""
        unknown = set(changes) - set(VARIANT_FIELDS)
        if unknown:
            raise ValueError(f"unknown variant fields: {sorted(unknown)}")
        current = self.get_variant(variant_id)
        if current is None:
            raise ValueError(f"no variant with id {variant_id}")
        merged = {field: current.get(field) for field in VARIANT_FIELDS} | changes
        return self.add_variant(current["name"], parent_id=variant_id, **merged)

    def duplicate_variant(self, variant_id: int, new_name: str) -> int:
        """Copy a variant version under a new name (version 1); return the new id."""
        current = self.get_variant(variant_id)
        if current is None:
            raise ValueError(f"no variant with id {variant_id}")
        if self.store.scalar("SELECT 1 FROM variants WHERE name = ?", [new_name]):
            raise ValueError(f"a variant named '{new_name}' already exists")
        fields = {field: current.get(field) for field in VARIANT_FIELDS}
        return self.add_variant(new_name, parent_id=variant_id, **fields)

    def archive_variant(self, name: str, archived: bool = True) -> None:
        """Hide (or show again) every version of a variant; answers keep pointing at it."""
        with self.store.write() as db:
            db.execute("UPDATE variants SET archived = ? WHERE name = ?", [int(archived), name])

    def variant_by_label(self, name: str, version: int | None = None) -> dict[str, Any] | None:
        """A variant by name (latest version unless one is given)."""
        if version is None:
            row = self.store.one(
                "SELECT * FROM variants WHERE name = ? ORDER BY version DESC LIMIT 1", [name]
            )
        else:
            row = self.store.one(
                "SELECT * FROM variants WHERE name = ? AND version = ?", [name, version]
            )
        return _decode_variant(row) if row else None

    # -- question sets ----------------------------------------------------------

    def create_question_set(
        self,
        name: str,
        items: list[dict[str, Any]],
        *,
        description: str | None = None,
        origin: str | None = None,
    ) -> int:
        """Store a named list of questions (with optional reference answers and categories)."""
        if not name.strip():
            raise ValueError("a question set needs a name")
        if not items:
            raise ValueError("a question set needs at least one question")
        with self.store.write() as db:
            set_id = inserted_id(db.execute(
                "INSERT INTO question_sets (name, description, origin, created_at)"
                " VALUES (?, ?, ?, ?)",
                [name.strip(), description, origin, now_iso()],
            ))
            db.conn.executemany(
                "INSERT INTO question_set_items (set_id, position, question, reference_answer,"
                " category) VALUES (?, ?, ?, ?, ?)",
                [
                    (
                        set_id,
                        position,
                        item["question"],
                        item.get("reference_answer") or None,
                        item.get("category") or None,
                    )
                    for position, item in enumerate(items, 1)
                ],
            )
            return set_id

    def list_question_sets(self) -> list[dict[str, Any]]:
        """Question sets with their sizes, newest first."""
        return self.store.rows(
            "SELECT s.*, (SELECT COUNT(*) FROM question_set_items i WHERE i.set_id = s.id)"
            " AS size FROM question_sets s ORDER BY s.id DESC"
        )

    def question_set_items(self, set_id: int) -> list[dict[str, Any]]:
        """The questions of a set, in order."""
        return self.store.rows(
            "SELECT * FROM question_set_items WHERE set_id = ? ORDER BY position", [set_id]
        )

    def questions_matching(self, filters: Filters, limit: int = 500) -> list[dict[str, Any]]:
        """Distinct questions of the interactions a filter selects (newest first)."""
        where, params = where_clause(filters, "i")
        return self.store.rows(
            f"SELECT i.question, MAX(i.created_at) AS last_seen FROM interactions i"
            f" WHERE {where} GROUP BY i.question ORDER BY last_seen DESC LIMIT ?",
            [*params, limit],
        )

    def latest_interaction_date(self) -> date | None:
        """The UTC day of the newest interaction, or None when there is none."""
        value = self.store.scalar("SELECT MAX(created_at) FROM interactions")
        return date.fromisoformat(value[:10]) if value else None

    # -- experiments ------------------------------------------------------------

    def create_experiment(
        self,
        name: str,
        question_set_id: int,
        variant_ids: list[int],
        *,
        judge_model: str | None = None,
        judge_backend: str | None = None,
        rubric: str | None = None,
    ) -> int:
        """An experiment runs every question of a set through two or more variant versions."""
        if len(set(variant_ids)) < 2:
            raise ValueError("an experiment compares at least two different variants")
        with self.store.write() as db:
            experiment_id = inserted_id(db.execute(
                "INSERT INTO experiments (name, question_set_id, judge_model, judge_backend,"
                " rubric, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                [name, question_set_id, judge_model, judge_backend, rubric, now_iso()],
            ))
            db.conn.executemany(
                "INSERT INTO experiment_variants (experiment_id, variant_id, position)"
                " VALUES (?, ?, ?)",
                [(experiment_id, vid, pos) for pos, vid in enumerate(dict.fromkeys(variant_ids))],
            )
            return experiment_id

    def get_experiment(self, experiment_id: int) -> dict[str, Any] | None:
        """An experiment with its variants (in order) and its question set's name."""
        row = self.store.one(
            "SELECT e.*, s.name AS question_set FROM experiments e"
            " JOIN question_sets s ON s.id = e.question_set_id WHERE e.id = ?",
            [experiment_id],
        )
        if row is None:
            return None
        row["variants"] = [
            _decode_variant(v)
            for v in self.store.rows(
                "SELECT v.* FROM experiment_variants ev JOIN variants v ON v.id = ev.variant_id"
                " WHERE ev.experiment_id = ? ORDER BY ev.position",
                [experiment_id],
            )
        ]
        return row

    def list_experiments(self) -> list[dict[str, Any]]:
        """Experiments, newest first, with how many answers are due, done and failed."""
        return self.store.rows(
            "SELECT e.id, e.name, e.created_at, s.name AS question_set,"
            " (SELECT COUNT(*) FROM question_set_items i WHERE i.set_id = e.question_set_id)"
            "   * (SELECT COUNT(*) FROM experiment_variants ev WHERE ev.experiment_id = e.id)"
            "   AS due,"
            " (SELECT COUNT(DISTINCT item_id || ':' || variant_id) FROM interactions x"
            "   WHERE x.experiment_id = e.id) AS done,"
            " (SELECT COUNT(*) FROM interactions x WHERE x.experiment_id = e.id"
            "   AND x.error IS NOT NULL AND x.id = (SELECT MAX(y.id) FROM interactions y"
            "   WHERE y.experiment_id = e.id AND y.item_id = x.item_id"
            "   AND y.variant_id = x.variant_id)) AS failed,"
            " (SELECT COUNT(*) FROM comparisons c WHERE c.experiment_id = e.id) AS votes"
            " FROM experiments e JOIN question_sets s ON s.id = e.question_set_id"
            " ORDER BY e.id DESC"
        )

    def experiment_runs_due(self, experiment_id: int, retry_failed: bool = False) -> list[dict]:
        """(item, variant) pairs still to answer: never tried, or (on request) last try failed."""
        failed_clause = (
            " OR (SELECT x.error FROM interactions x WHERE x.experiment_id = e.id"
            " AND x.item_id = i.id AND x.variant_id = ev.variant_id"
            " ORDER BY x.id DESC LIMIT 1) IS NOT NULL"
            if retry_failed
            else ""
        )
        return self.store.rows(
            "SELECT i.id AS item_id, i.question, i.position, ev.variant_id FROM experiments e"
            " JOIN question_set_items i ON i.set_id = e.question_set_id"
            " JOIN experiment_variants ev ON ev.experiment_id = e.id"
            " WHERE e.id = ? AND (NOT EXISTS (SELECT 1 FROM interactions x"
            " WHERE x.experiment_id = e.id AND x.item_id = i.id"
            f" AND x.variant_id = ev.variant_id){failed_clause})"
            " ORDER BY i.position, ev.position",
            [experiment_id],
        )

    def record_experiment_answer(
        self, experiment_id: int, item_id: int, variant_id: int, question: str, **fields: Any
    ) -> int:
        """Store one experiment answer (or its failure) at once; return the interaction id."""
        allowed = {
            "answer", "model", "backend", "latency_ms", "ttft_ms", "prompt_tokens",
            "completion_tokens", "error", "system_prompt", "params",
        }
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"unknown interaction fields: {sorted(unknown)}")
        if isinstance(fields.get("params"), dict):
            fields["params"] = json.dumps(fields["params"])
        columns = ["experiment_id", "item_id", "variant_id", "question", "source", "created_at"]
        values = [experiment_id, item_id, variant_id, question, "experiment", now_iso()]
        columns += list(fields)
        values += list(fields.values())
        with self.store.write() as db:
            cursor = db.execute(
                f"INSERT INTO interactions ({', '.join(columns)})"
                f" VALUES ({', '.join('?' for _ in columns)})",
                values,
            )
            return inserted_id(cursor)

    def experiment_answers(self, experiment_id: int) -> list[dict[str, Any]]:
        """The latest answer of each variant to each question, with the item's reference."""
        return self.store.rows(
            "SELECT x.id AS interaction_id, x.item_id, x.variant_id, x.answer, x.error,"
            " x.latency_ms, x.completion_tokens, x.model, x.backend, i.position, i.question,"
            " i.reference_answer, i.category, v.name AS variant_name, v.version AS variant_version"
            " FROM interactions x JOIN question_set_items i ON i.id = x.item_id"
            " JOIN variants v ON v.id = x.variant_id"
            " WHERE x.experiment_id = ? AND x.id = (SELECT MAX(y.id) FROM interactions y"
            " WHERE y.experiment_id = x.experiment_id AND y.item_id = x.item_id"
            " AND y.variant_id = x.variant_id) ORDER BY i.position, x.variant_id",
            [experiment_id],
        )

    # -- blind votes ------------------------------------------------------------

    def record_vote(
        self,
        *,
        question: str,
        interaction_a: int | None,
        interaction_b: int | None,
        variant_a: str,
        variant_b: str,
        winner: str,
        left_side: str | None = None,
        reason: str | None = None,
        reviewer: str | None = None,
        experiment_id: int | None = None,
        item_id: int | None = None,
        length_a: int | None = None,
        length_b: int | None = None,
        source: str = "vote",
        external_id: str | None = None,
        created_at: str | None = None,
    ) -> int:
        """Store one pairwise vote (with the side shown on the left); return its id."""
        if winner not in ("a", "b", "tie", "both_bad"):
            raise ValueError(f"a vote's winner is a, b, tie or both_bad, not {winner!r}")
        with self.store.write() as db:
            cursor = db.execute(
                "INSERT INTO comparisons (question, interaction_a, interaction_b, variant_a,"
                " variant_b, left_side, winner, reason, reviewer, source, created_at,"
                " experiment_id, item_id, length_a, length_b, external_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [question, interaction_a, interaction_b, variant_a, variant_b, left_side,
                 winner, reason or None, reviewer, source, created_at or now_iso(),
                 experiment_id, item_id, length_a, length_b, external_id],
            )
            return inserted_id(cursor)

    def voted_pairs(self, experiment_id: int, reviewer: str) -> set[tuple[int, int]]:
        """(interaction_a, interaction_b) pairs this reviewer already voted on, both orders."""
        rows = self.store.rows(
            "SELECT interaction_a, interaction_b FROM comparisons"
            " WHERE experiment_id = ? AND reviewer = ?",
            [experiment_id, reviewer],
        )
        pairs = set()
        for row in rows:
            pairs.add((row["interaction_a"], row["interaction_b"]))
            pairs.add((row["interaction_b"], row["interaction_a"]))
        return pairs

    def votes(
        self, experiment_id: int | None = None, sources: tuple[str, ...] = ()
    ) -> list[dict[str, Any]]:
        """Every pairwise vote (optionally of one experiment or some sources), oldest first."""
        clauses: list[str] = []
        params: list[Any] = []
        if experiment_id is not None:
            clauses.append("experiment_id = ?")
            params.append(experiment_id)
        if sources:
            clauses.append(f"source IN ({', '.join('?' for _ in sources)})")
            params.extend(sources)
        where = " WHERE " + " AND ".join(clauses) if clauses else ""
        return self.store.rows(f"SELECT * FROM comparisons{where} ORDER BY id", params)

    def vote_sources(self) -> list[str]:
        """The sources that pairwise votes came from (vote, import...)."""
        return [r["source"] for r in self.store.rows("SELECT DISTINCT source FROM comparisons")]

    def insert_pairwise(self, records: list[dict[str, Any]]) -> tuple[int, int]:
        """Store imported votes (both answers as interactions) in one transaction, skipping
        votes already present (same external id); return (inserted, already present)."""
        inserted = already = 0
        stamp = now_iso()
        with self.store.write() as db:
            variant_ids: dict[str, int] = {}

            def variant_id(name: str) -> int:
                if name not in variant_ids:
                    row = db.execute(
                        "SELECT id FROM variants WHERE name = ? ORDER BY version DESC LIMIT 1",
                        [name],
                    ).fetchone()
                    if row is None:
                        row = [db.execute(
                            "INSERT INTO variants (name, version, created_at) VALUES (?, 1, ?)",
                            [name, stamp],
                        ).lastrowid]
                    variant_ids[name] = row[0]
                return variant_ids[name]

            for record in records:
                if db.execute("SELECT 1 FROM comparisons WHERE external_id = ?",
                              [record["external_id"]]).fetchone():
                    already += 1
                    continue
                when = record.get("created_at") or stamp
                ids = []
                for side in ("a", "b"):
                    ids.append(db.execute(
                        "INSERT INTO interactions (question, answer, variant_id, source, created_at)"
                        " VALUES (?, ?, ?, 'import', ?)",
                        [record["question"], record[f"answer_{side}"],
                         variant_id(record[f"variant_{side}"]), when],
                    ).lastrowid)
                db.execute(
                    "INSERT INTO comparisons (question, interaction_a, interaction_b, variant_a,"
                    " variant_b, winner, reason, reviewer, source, created_at, length_a, length_b,"
                    " external_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'import', ?, ?, ?, ?)",
                    [record["question"], ids[0], ids[1], record["variant_a"], record["variant_b"],
                     record["winner"], record.get("reason"), record.get("reviewer"), when,
                     len(record["answer_a"]), len(record["answer_b"]), record["external_id"]],
                )
                inserted += 1
        return inserted, already

    # -- judge verdicts ---------------------------------------------------------

    def record_judgment(self, **fields: Any) -> int:
        """Store (or replace) an LLM judge's verdict on a pair of answers."""
        fields.setdefault("created_at", now_iso())
        columns = list(fields)
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns)
        with self.store.write() as db:
            db.execute(
                f"INSERT INTO judgments ({', '.join(columns)})"
                f" VALUES ({', '.join('?' for _ in columns)})"
                f" ON CONFLICT (interaction_a, interaction_b, judge_model) DO UPDATE SET {updates}",
                list(fields.values()),
            )
            return int(
                db.execute(
                    "SELECT id FROM judgments WHERE interaction_a = ? AND interaction_b = ?"
                    " AND judge_model = ?",
                    [fields["interaction_a"], fields["interaction_b"], fields["judge_model"]],
                ).fetchone()[0]
            )

    def judgments(self, experiment_id: int) -> list[dict[str, Any]]:
        """Judge verdicts of an experiment, each with its question."""
        return self.store.rows(
            "SELECT j.*, i.question FROM judgments j"
            " LEFT JOIN question_set_items i ON i.id = j.item_id"
            " WHERE j.experiment_id = ? ORDER BY j.id",
            [experiment_id],
        )


def _decode_variant(row: dict[str, Any]) -> dict[str, Any]:
    row = dict(row)
    if isinstance(row.get("params"), str):
        row["params"] = json.loads(row["params"] or "{}")
    return row
