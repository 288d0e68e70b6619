"""Migration m003_review: schema for the review queries. Append-only like every migration.

Filtering a million interactions by their ratings with EXISTS subqueries is too slow to count,
so each interaction keeps a summary of its ratings (count, mean/min/max stars, thumbs up and
down, ideal answers), kept exact by triggers on `ratings` and backfilled here in one statement.
Two virtual columns flag failed and answered calls. One covering index holds everything the
Review filters test, in time order, so a filtered page or count never reads the wide rows.
"""

from __future__ import annotations

from sqlite_utils import Database

from store.migrations import _run_script, migrations

# The summary of one interaction's ratings, as a row value; `{id}` is the interaction id.
_SUMMARY = """
    (SELECT COUNT(*), AVG(r.stars), MIN(r.stars), MAX(r.stars), TOTAL(r.thumbs = 1),
            TOTAL(r.thumbs = -1), TOTAL(r.ideal_answer IS NOT NULL)
     FROM ratings r WHERE r.interaction_id = {id})
"""
_COLUMNS = "(rating_count, stars_mean, stars_min, stars_max, thumbs_up, thumbs_down, ideal_count)"


def _trigger(name: str, event: str, ids: str) -> str:
    summary = _SUMMARY.format(id="interactions.id")
    return f"""
        CREATE TRIGGER {name} AFTER {event} ON ratings BEGIN
            UPDATE interactions SET {_COLUMNS} = {summary} WHERE id IN ({ids});
        END;
    """


@migrations()
def m003_review(db: Database) -> None:
    _run_script(
        db,
        f"""
        ALTER TABLE interactions ADD COLUMN rating_count INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE interactions ADD COLUMN stars_mean REAL;
        ALTER TABLE interactions ADD COLUMN stars_min INTEGER;
        ALTER TABLE interactions ADD COLUMN stars_max INTEGER;
        ALTER TABLE interactions ADD COLUMN thumbs_up INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE interactions ADD COLUMN thumbs_down INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE interactions ADD COLUMN ideal_count INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE interactions ADD COLUMN failed INTEGER
            GENERATED ALWAYS AS (error IS NOT NULL) VIRTUAL;
        ALTER TABLE interactions ADD COLUMN answered INTEGER
            GENERATED ALWAYS AS (answer IS NOT NULL) VIRTUAL;

        UPDATE interactions SET {_COLUMNS} = (s.n, s.mean, s.lo, s.hi, s.up, s.down, s.ideal)
        FROM (
            SELECT interaction_id, COUNT(*) AS n, AVG(stars) AS mean, MIN(stars) AS lo,
                   MAX(stars) AS hi, TOTAL(thumbs = 1) AS up, TOTAL(thumbs = -1) AS down,
                   TOTAL(ideal_answer IS NOT NULL) AS ideal
            FROM ratings GROUP BY interaction_id
        ) AS s
        WHERE interactions.id = s.interaction_id;

        {_trigger("ratings_summary_ai", "INSERT", "new.interaction_id")}
        {_trigger("ratings_summary_ad", "DELETE", "old.interaction_id")}
        {_trigger("ratings_summary_au",
                  "UPDATE OF interaction_id, stars, thumbs, ideal_answer",
                  "old.interaction_id, new.interaction_id")}

        CREATE INDEX idx_interactions_review ON interactions(
            created_at, id, rating_count, stars_min, stars_max, thumbs_up, thumbs_down,
            ideal_count, failed, answered, model, source, variant_id
        );
        CREATE INDEX idx_interactions_overlap ON interactions(rating_count)
            WHERE rating_count >= 2;
        CREATE INDEX idx_ratings_reviewer_item ON ratings(reviewer, interaction_id);
        """,
    )
