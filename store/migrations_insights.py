"""Migration m004_insights: schema for the insights queries. Append-only like every migration.

The Insights page reads small rollup tables instead of the raw rows:

- ``insight_daily``: one row per (UTC day, model, variant version, source) with counts and sums
  (interactions, failures, re-asks, rated interactions, ratings, stars, star histogram, thumbs);
- ``insight_timing``: latency and time-to-first-token histograms on fixed log-spaced buckets
  for the same keys;
- ``insight_tags``: how many interactions carry each tag, for the same keys;
- ``insight_turns``: re-ask analysis of follow-up turns (similarity to the previous question).

They are filled by an incremental refresh (store/insights.py) that processes rows newer than
the watermarks in ``insight_state``. Rows already counted that change later (a rating updated
or deleted, an answer recorded after the question, tags edited) mark their day in
``insight_dirty_days`` through the triggers below, and the refresh rebuilds those days. The
triggers only act on rows at or below a watermark, so bulk imports of new rows pay for one
cheap WHEN test per row. Nothing is backfilled here: the watermarks start at 0 and the first
refresh (shown with progress on the page) rolls up an existing database in set-based chunks.
"""

from __future__ import annotations

from sqlite_utils import Database

from store.migrations import _run_script, migrations

_KEY = """
    day TEXT NOT NULL,
    model TEXT NOT NULL,
    variant_id INTEGER NOT NULL,
    source TEXT NOT NULL,"""

# Triggers cannot rely on INSERT OR IGNORE: an upsert that fires them overrides that policy.
_DAY_OF_INTERACTION = (
    "INSERT INTO insight_dirty_days (day)"
    " SELECT substr(created_at, 1, 10) FROM interactions WHERE id = {which}.interaction_id"
    " AND substr(created_at, 1, 10) NOT IN (SELECT day FROM insight_dirty_days);"
)
_DAY = (
    "INSERT INTO insight_dirty_days (day) SELECT substr({which}.created_at, 1, 10)"
    " WHERE substr({which}.created_at, 1, 10) NOT IN (SELECT day FROM insight_dirty_days);"
)


@migrations()
def m004_insights(db: Database) -> None:
    _run_script(
        db,
        f"""
        CREATE TABLE insight_state (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            turns_done INTEGER NOT NULL DEFAULT 0,
            interactions_done INTEGER NOT NULL DEFAULT 0,
            ratings_done INTEGER NOT NULL DEFAULT 0
        );
        INSERT INTO insight_state (id) VALUES (1);

        CREATE TABLE insight_turns (
            interaction_id INTEGER PRIMARY KEY,
            previous_id INTEGER NOT NULL,
            similarity REAL NOT NULL,
            reask INTEGER NOT NULL CHECK (reask IN (0, 1))
        );

        CREATE TABLE insight_daily ({_KEY}
            interactions INTEGER NOT NULL DEFAULT 0,
            failures INTEGER NOT NULL DEFAULT 0,
            reasks INTEGER NOT NULL DEFAULT 0,
            rated INTEGER NOT NULL DEFAULT 0,
            ratings INTEGER NOT NULL DEFAULT 0,
            starred INTEGER NOT NULL DEFAULT 0,
            stars_sum INTEGER NOT NULL DEFAULT 0,
            stars_1 INTEGER NOT NULL DEFAULT 0,
            stars_2 INTEGER NOT NULL DEFAULT 0,
            stars_3 INTEGER NOT NULL DEFAULT 0,
            stars_4 INTEGER NOT NULL DEFAULT 0,
            stars_5 INTEGER NOT NULL DEFAULT 0,
            thumbs_up INTEGER NOT NULL DEFAULT 0,
            thumbs_down INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (day, model, variant_id, source)
        ) WITHOUT ROWID;

        CREATE TABLE insight_timing ({_KEY}
            metric TEXT NOT NULL CHECK (metric IN ('latency', 'ttft')),
            bucket INTEGER NOT NULL,
            n INTEGER NOT NULL,
            -- in this order, per-day/model percentiles read the table without sorting
            PRIMARY KEY (day, model, metric, bucket, variant_id, source)
        ) WITHOUT ROWID;

        CREATE TABLE insight_tags ({_KEY}
            tag TEXT NOT NULL,
            items INTEGER NOT NULL,
            PRIMARY KEY (day, model, variant_id, source, tag)
        ) WITHOUT ROWID;

        CREATE TABLE insight_dirty_days (day TEXT PRIMARY KEY) WITHOUT ROWID;

        CREATE TRIGGER insight_interactions_ai AFTER INSERT ON interactions
        WHEN new.id <= (SELECT interactions_done FROM insight_state WHERE id = 1)
        BEGIN
            {_DAY.format(which="new")}
        END;
        CREATE TRIGGER insight_interactions_au
        AFTER UPDATE OF created_at, model, variant_id, source, error, latency_ms, ttft_ms
        ON interactions
        WHEN old.id <= (SELECT interactions_done FROM insight_state WHERE id = 1)
            OR EXISTS (SELECT 1 FROM ratings WHERE interaction_id = old.id
                       AND id <= (SELECT ratings_done FROM insight_state WHERE id = 1))
        BEGIN
            {_DAY.format(which="old")}
            {_DAY.format(which="new")}
        END;
        CREATE TRIGGER insight_interactions_ad AFTER DELETE ON interactions
        WHEN old.id <= (SELECT interactions_done FROM insight_state WHERE id = 1)
        BEGIN
            {_DAY.format(which="old")}
        END;

        CREATE TRIGGER insight_ratings_ai AFTER INSERT ON ratings
        WHEN new.id <= (SELECT ratings_done FROM insight_state WHERE id = 1)
        BEGIN
            {_DAY_OF_INTERACTION.format(which="new")}
        END;
        CREATE TRIGGER insight_ratings_au AFTER UPDATE OF interaction_id, stars, thumbs ON ratings
        WHEN old.id <= (SELECT ratings_done FROM insight_state WHERE id = 1)
            AND (old.stars IS NOT new.stars OR old.thumbs IS NOT new.thumbs
                 OR old.interaction_id IS NOT new.interaction_id)
        BEGIN
            {_DAY_OF_INTERACTION.format(which="old")}
            {_DAY_OF_INTERACTION.format(which="new")}
        END;
        CREATE TRIGGER insight_ratings_ad AFTER DELETE ON ratings
        WHEN old.id <= (SELECT ratings_done FROM insight_state WHERE id = 1)
        BEGIN
            {_DAY_OF_INTERACTION.format(which="old")}
        END;

        CREATE TRIGGER insight_rating_tags_ai AFTER INSERT ON rating_tags
        WHEN new.rating_id <= (SELECT ratings_done FROM insight_state WHERE id = 1)
        BEGIN
            {_DAY_OF_INTERACTION.format(which="new")}
        END;
        CREATE TRIGGER insight_rating_tags_ad AFTER DELETE ON rating_tags
        WHEN old.rating_id <= (SELECT ratings_done FROM insight_state WHERE id = 1)
        BEGIN
            {_DAY_OF_INTERACTION.format(which="old")}
        END;
        """,
    )
