"""Migration m005_experiments: question sets, experiments, blind votes and judge verdicts."""

from __future__ import annotations

from sqlite_utils import Database

from store.migration_sql import run_script


def m005_experiments(db: Database) -> None:
    run_script(
        db,
        """
        ALTER TABLE variants ADD COLUMN description TEXT;
        ALTER TABLE variants ADD COLUMN parent_id INTEGER REFERENCES variants(id);

        CREATE TABLE question_sets (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            description TEXT,
            origin TEXT,
            created_at TEXT NOT NULL
        );
        CREATE TABLE question_set_items (
            id INTEGER PRIMARY KEY,
            set_id INTEGER NOT NULL REFERENCES question_sets(id),
            position INTEGER NOT NULL,
            question TEXT NOT NULL,
            reference_answer TEXT,
            category TEXT,
            UNIQUE (set_id, position)
        );

        CREATE TABLE experiments (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            question_set_id INTEGER NOT NULL REFERENCES question_sets(id),
            judge_model TEXT,
            judge_backend TEXT,
            rubric TEXT,
            created_at TEXT NOT NULL
        );
        CREATE TABLE experiment_variants (
            experiment_id INTEGER NOT NULL REFERENCES experiments(id),
            variant_id INTEGER NOT NULL REFERENCES variants(id),
            position INTEGER NOT NULL,
            PRIMARY KEY (experiment_id, variant_id)
        );

        ALTER TABLE interactions ADD COLUMN experiment_id INTEGER REFERENCES experiments(id);
        ALTER TABLE interactions ADD COLUMN item_id INTEGER REFERENCES question_set_items(id);
        CREATE INDEX idx_interactions_experiment ON interactions(experiment_id, item_id, variant_id)
            WHERE experiment_id IS NOT NULL;

        ALTER TABLE comparisons ADD COLUMN experiment_id INTEGER REFERENCES experiments(id);
        ALTER TABLE comparisons ADD COLUMN item_id INTEGER REFERENCES question_set_items(id);
        ALTER TABLE comparisons ADD COLUMN length_a INTEGER;
        ALTER TABLE comparisons ADD COLUMN length_b INTEGER;
        ALTER TABLE comparisons ADD COLUMN external_id TEXT;
        CREATE INDEX idx_comparisons_experiment ON comparisons(experiment_id, reviewer);
        CREATE INDEX idx_comparisons_pair ON comparisons(variant_a, variant_b);
        CREATE INDEX idx_comparisons_external ON comparisons(external_id)
            WHERE external_id IS NOT NULL;

        CREATE TABLE judgments (
            id INTEGER PRIMARY KEY,
            experiment_id INTEGER REFERENCES experiments(id),
            item_id INTEGER REFERENCES question_set_items(id),
            interaction_a INTEGER NOT NULL REFERENCES interactions(id),
            interaction_b INTEGER NOT NULL REFERENCES interactions(id),
            variant_a TEXT NOT NULL,
            variant_b TEXT NOT NULL,
            judge_model TEXT NOT NULL,
            judge_backend TEXT,
            criteria TEXT,
            verdict TEXT CHECK (verdict IN ('a', 'b', 'tie')),
            verdict_a_first TEXT,
            verdict_b_first TEXT,
            rationale TEXT,
            error TEXT,
            created_at TEXT NOT NULL,
            UNIQUE (interaction_a, interaction_b, judge_model)
        );
        """,
    )
