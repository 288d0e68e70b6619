"""Migration m015_usage_prices: token usage in the Insights rollups, and a price table.

- ``insight_usage``: one row per (UTC day, model, variant version, source, backend) with the
  number of calls, how many of them carry both token counts, and the sums of those counts.
  It is filled by the same incremental refresh as the other rollups (store/insights.py) and
  recounted with them when a counted (day, model) changes. The trigger below marks a (day,
  model) to recount when a counted interaction's backend or token counts change (the other
  columns are watched by m004's trigger). Rows counted before this migration are added here
  once, so an existing rollup needs no rebuild.
- ``model_prices``: what a model costs per million input and output tokens from a UTC day on;
  a price applies until the next one of the same model.
"""

from __future__ import annotations

from sqlite_utils import Database

from store.migration_sql import run_script

_DAY = (
    "INSERT INTO insight_dirty (day, model)"
    " SELECT substr({which}.created_at, 1, 10), COALESCE({which}.model, '')"
    " WHERE (substr({which}.created_at, 1, 10), COALESCE({which}.model, ''))"
    " NOT IN (SELECT day, model FROM insight_dirty);"
)


def m015_usage_prices(db: Database) -> None:
    run_script(
        db,
        f"""
        CREATE TABLE insight_usage (
            day TEXT NOT NULL,
            model TEXT NOT NULL,
            variant_id INTEGER NOT NULL,
            source TEXT NOT NULL,
            backend TEXT NOT NULL,
            calls INTEGER NOT NULL DEFAULT 0,
            counted INTEGER NOT NULL DEFAULT 0,
            prompt_tokens INTEGER NOT NULL DEFAULT 0,
            completion_tokens INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (day, model, variant_id, source, backend)
        ) WITHOUT ROWID;

        CREATE TABLE model_prices (
            id INTEGER PRIMARY KEY,
            model TEXT NOT NULL CHECK (model != ''),
            effective_from TEXT NOT NULL CHECK (date(effective_from) = effective_from),
            input_per_million REAL NOT NULL CHECK (input_per_million >= 0),
            output_per_million REAL NOT NULL CHECK (output_per_million >= 0),
            created_by TEXT,
            created_at TEXT NOT NULL,
            UNIQUE (model, effective_from)
        );

        CREATE TRIGGER insight_usage_au
        AFTER UPDATE OF backend, prompt_tokens, completion_tokens ON interactions
        WHEN old.id <= (SELECT interactions_done FROM insight_state WHERE id = 1)
            AND (old.backend IS NOT new.backend OR old.prompt_tokens IS NOT new.prompt_tokens
                 OR old.completion_tokens IS NOT new.completion_tokens)
        BEGIN
            {_DAY.format(which="old")}
            {_DAY.format(which="new")}
        END;

        INSERT INTO insight_usage (day, model, variant_id, source, backend, calls, counted,
                                   prompt_tokens, completion_tokens)
        SELECT substr(i.created_at, 1, 10), COALESCE(i.model, ''), COALESCE(i.variant_id, 0),
               i.source, COALESCE(i.backend, ''), COUNT(*),
               SUM(i.prompt_tokens IS NOT NULL AND i.completion_tokens IS NOT NULL),
               COALESCE(SUM(CASE WHEN i.completion_tokens IS NOT NULL THEN i.prompt_tokens END), 0),
               COALESCE(SUM(CASE WHEN i.prompt_tokens IS NOT NULL THEN i.completion_tokens END), 0)
        FROM interactions i
        WHERE i.id <= (SELECT interactions_done FROM insight_state WHERE id = 1)
        GROUP BY 1, 2, 3, 4, 5;
        """,
    )
