"""Migration m003_review: schema for the review queries. Append-only like every migration.

Filtering a million interactions by their ratings with EXISTS subqueries is too slow to count,
so each interaction keeps a summary of its ratings (count, stars count/mean/min/max, thumbs up
and down, ideal answers), kept exact by triggers on `ratings` and backfilled here in one
statement. One covering index holds everything the Review filters test, in time order, so a
filtered page or count never reads the wide rows. A small partial index finds the questions
still without an answer, which the annotation queue leaves out.
"""

from __future__ import annotations

from sqlite_utils import Database

from store.migration_sql import run_script

_COLUMNS = (
    "(rating_count, stars_count, stars_mean, stars_min, stars_max, thumbs_up, thumbs_down,"
    " ideal_count)"
)
# The summary of the ratings of the interaction being updated, as a row value.
_SUMMARY = """
    (SELECT COUNT(*), COUNT(r.stars), AVG(r.stars), MIN(r.stars), MAX(r.stars),
            TOTAL(r.thumbs = 1), TOTAL(r.thumbs = -1), TOTAL(r.ideal_answer IS NOT NULL)
     FROM ratings r WHERE r.interaction_id = interactions.id)
"""


def m003_review(db: Database) -> None:
    run_script(
        db,
        f"""
        ALTER TABLE interactions ADD COLUMN rating_count INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE interactions ADD COLUMN stars_count INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE interactions ADD COLUMN stars_mean REAL;
        ALTER TABLE interactions ADD COLUMN stars_min INTEGER;
        ALTER TABLE interactions ADD COLUMN stars_max INTEGER;
        ALTER TABLE interactions ADD COLUMN thumbs_up INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE interactions ADD COLUMN thumbs_down INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE interactions ADD COLUMN ideal_count INTEGER NOT NULL DEFAULT 0;

        UPDATE interactions
        SET {_COLUMNS} = (s.n, s.n_stars, s.mean, s.lo, s.hi, s.up, s.down, s.ideal)
        FROM (
            SELECT interaction_id, COUNT(*) AS n, COUNT(stars) AS n_stars, AVG(stars) AS mean,
                   MIN(stars) AS lo, MAX(stars) AS hi, TOTAL(thumbs = 1) AS up,
                   TOTAL(thumbs = -1) AS down, TOTAL(ideal_answer IS NOT NULL) AS ideal
            FROM ratings GROUP BY interaction_id
        ) AS s
        WHERE interactions.id = s.interaction_id;

        -- A new rating adds to the summary (the fast path of bulk imports) ...
        CREATE TRIGGER ratings_summary_ai AFTER INSERT ON ratings BEGIN
            UPDATE interactions SET
                rating_count = rating_count + 1,
                stars_count = stars_count + (new.stars IS NOT NULL),
                stars_mean = CASE WHEN new.stars IS NULL THEN stars_mean
                    ELSE (COALESCE(stars_mean, 0) * stars_count + new.stars) / (stars_count + 1)
                    END,
                stars_min = CASE WHEN new.stars IS NULL THEN stars_min
                    ELSE MIN(COALESCE(stars_min, new.stars), new.stars) END,
                stars_max = CASE WHEN new.stars IS NULL THEN stars_max
                    ELSE MAX(COALESCE(stars_max, new.stars), new.stars) END,
                thumbs_up = thumbs_up + (new.thumbs IS 1),
                thumbs_down = thumbs_down + (new.thumbs IS -1),
                ideal_count = ideal_count + (new.ideal_answer IS NOT NULL)
            WHERE id = new.interaction_id;
        END;
        -- ... a changed or deleted one has it computed again from every rating.
        CREATE TRIGGER ratings_summary_au
        AFTER UPDATE OF interaction_id, stars, thumbs, ideal_answer ON ratings BEGIN
            UPDATE interactions SET {_COLUMNS} = {_SUMMARY}
            WHERE id IN (old.interaction_id, new.interaction_id);
        END;
        CREATE TRIGGER ratings_summary_ad AFTER DELETE ON ratings BEGIN
            UPDATE interactions SET {_COLUMNS} = {_SUMMARY} WHERE id = old.interaction_id;
        END;

        CREATE INDEX idx_interactions_review ON interactions(
            created_at, id, rating_count, stars_min, stars_max, thumbs_up, thumbs_down,
            ideal_count, model, source, variant_id
        );
        CREATE INDEX idx_interactions_overlap ON interactions(rating_count)
            WHERE rating_count >= 2;
        CREATE INDEX idx_interactions_unanswered ON interactions(id) WHERE answer IS NULL;
        CREATE INDEX idx_ratings_reviewer_item ON ratings(reviewer, interaction_id);
        """,
    )
