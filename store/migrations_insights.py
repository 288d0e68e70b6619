"""Migration m004_insights: schema for the insights queries. Append-only like every migration.

The Insights page reads small rollup tables instead of the raw rows:

- ``insight_daily``: one row per (UTC day, model, variant version, source) with counts and sums
  (interactions, failures, re-asks, rated interactions, ratings, stars, star histogram, thumbs);
- ``insight_timing``: latency and time-to-first-token histograms on fixed log-spaced buckets
  for the same keys;
- ``insight_tags``: how many interactions carry each tag, for the same keys;
- ``insight_turns``: re-ask analysis of follow-up turns (similarity to the previous question).

They are filled by an incremental refresh (store/insights.py) that processes rows newer than
the watermarks in ``insight_state``, in set-based chunks. Rows already counted that change later
are kept exact by the triggers below, which only act on rows at or below a watermark (so a bulk
import of new rows pays one cheap WHEN test per row):
- a rating whose stars or thumbs change adjusts its rollup row in place;
- a tag added to or removed from a counted rating adjusts ``insight_tags`` in place;
- rarer changes (an answer recorded or failed after it was counted, a rating moved or deleted,
  an interaction deleted or inserted below the watermark) mark their (UTC day, model) in
  ``insight_dirty``, and the next refresh recounts those from the raw rows.
Nothing is backfilled here: the watermarks start at 0 and the first refresh (shown with progress
on the page) rolls up an existing database.
"""

from __future__ import annotations

from sqlite_utils import Database

from store.migration_sql import run_script

_KEY = """
    day TEXT NOT NULL,
    model TEXT NOT NULL,
    variant_id INTEGER NOT NULL,
    source TEXT NOT NULL,"""

# Triggers cannot rely on INSERT OR IGNORE: an upsert that fires them overrides that policy.
_DAY_OF_INTERACTION = (
    "INSERT INTO insight_dirty (day, model)"
    " SELECT substr(created_at, 1, 10), COALESCE(model, '') FROM interactions"
    " WHERE id = {which}.interaction_id AND (substr(created_at, 1, 10), COALESCE(model, ''))"
    " NOT IN (SELECT day, model FROM insight_dirty);"
)
# The rollup key of the interaction a rating (`new` or `old`) belongs to, as a row value test.
_GROUP_OF = (
    "(day, model, variant_id, source) = (SELECT substr(created_at, 1, 10), COALESCE(model, ''),"
    " COALESCE(variant_id, 0), source FROM interactions WHERE id = {which}.interaction_id)"
)
_STAR_DELTAS = ",\n                ".join(
    f"stars_{n} = stars_{n} + (new.stars IS {n}) - (old.stars IS {n})" for n in range(1, 6)
)
_DAY = (
    "INSERT INTO insight_dirty (day, model)"
    " SELECT substr({which}.created_at, 1, 10), COALESCE({which}.model, '')"
    " WHERE (substr({which}.created_at, 1, 10), COALESCE({which}.model, ''))"
    " NOT IN (SELECT day, model FROM insight_dirty);"
)


def m004_insights(db: Database) -> None:
    run_script(
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

        CREATE TABLE insight_dirty (
            day TEXT NOT NULL,
            model TEXT NOT NULL,
            PRIMARY KEY (day, model)
        ) WITHOUT ROWID;

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
        CREATE TRIGGER insight_ratings_au AFTER UPDATE OF stars, thumbs ON ratings
        WHEN old.id <= (SELECT ratings_done FROM insight_state WHERE id = 1)
            AND old.interaction_id = new.interaction_id
            AND (old.stars IS NOT new.stars OR old.thumbs IS NOT new.thumbs)
        BEGIN
            UPDATE insight_daily SET
                starred = starred + (new.stars IS NOT NULL) - (old.stars IS NOT NULL),
                stars_sum = stars_sum + COALESCE(new.stars, 0) - COALESCE(old.stars, 0),
                {_STAR_DELTAS},
                thumbs_up = thumbs_up + (new.thumbs IS 1) - (old.thumbs IS 1),
                thumbs_down = thumbs_down + (new.thumbs IS -1) - (old.thumbs IS -1)
            WHERE {_GROUP_OF.format(which="new")};
        END;
        CREATE TRIGGER insight_ratings_moved AFTER UPDATE OF interaction_id ON ratings
        WHEN old.id <= (SELECT ratings_done FROM insight_state WHERE id = 1)
            AND old.interaction_id IS NOT new.interaction_id
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
            AND NOT EXISTS (SELECT 1 FROM rating_tags o
                WHERE o.tag = new.tag AND o.interaction_id = new.interaction_id
                AND o.rating_id != new.rating_id
                AND o.rating_id <= (SELECT ratings_done FROM insight_state WHERE id = 1))
        BEGIN
            UPDATE insight_tags SET items = items + 1
            WHERE {_GROUP_OF.format(which="new")} AND tag = new.tag;
            INSERT INTO insight_tags (day, model, variant_id, source, tag, items)
            SELECT substr(created_at, 1, 10), COALESCE(model, ''), COALESCE(variant_id, 0),
                   source, new.tag, 1
            FROM interactions WHERE id = new.interaction_id
            AND NOT EXISTS (SELECT 1 FROM insight_tags
                WHERE {_GROUP_OF.format(which="new")} AND tag = new.tag);
        END;
        CREATE TRIGGER insight_rating_tags_ad AFTER DELETE ON rating_tags
        WHEN old.rating_id <= (SELECT ratings_done FROM insight_state WHERE id = 1)
            AND NOT EXISTS (SELECT 1 FROM rating_tags o
                WHERE o.tag = old.tag AND o.interaction_id = old.interaction_id
                AND o.rating_id <= (SELECT ratings_done FROM insight_state WHERE id = 1))
        BEGIN
            UPDATE insight_tags SET items = items - 1
            WHERE {_GROUP_OF.format(which="old")} AND tag = old.tag;
        END;
        """,
    )
