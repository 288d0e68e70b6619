"""Migration m010_review_stars_mean: the Review scan index also holds the mean of stars.

The stars filter can read the mean of an item's ratings (as the Review table shows it), not
only its lowest and highest stars; for that test to stay inside the covering index, the
index gains `stars_mean` and replaces the one of m003. Append-only like every migration.
"""

from __future__ import annotations

from sqlite_utils import Database

from store.migration_sql import run_script


def m010_review_stars_mean(db: Database) -> None:
    run_script(
        db,
        """
        CREATE INDEX idx_interactions_review_mean ON interactions(
            created_at, id, rating_count, stars_min, stars_max, stars_mean, thumbs_up,
            thumbs_down, ideal_count, model, source, variant_id
        );
        DROP INDEX idx_interactions_review;
        """,
    )
