"""The migrations: one ordered list, complete, and a database made before a migration upgrades."""

import re
import sqlite3
from pathlib import Path

import sqlite_utils

from store import Store
from store.migrations import ORDER, migrations

SHIPPED = [
    "m001_initial", "m002_ingest", "m003_review", "m004_insights", "m005_experiments",
    "m006_export", "m007_clusters", "m008_users", "m009_sessions", "m010_review_stars_mean",
    "m011_token_scopes", "m012_sign_in_attempts", "m013_judge_replies", "m015_usage_prices",
    "m016_saved_themes",
]
STORE_DIR = Path(__file__).resolve().parent.parent / "store"


def test_the_list_keeps_every_shipped_migration_in_order():
    names = [step.__name__ for step in ORDER]
    assert names[: len(SHIPPED)] == SHIPPED
    numbers = [int(re.match(r"m(\d+)_", name).group(1)) for name in names]
    assert numbers == sorted(set(numbers))


def test_every_migration_defined_in_store_is_in_the_list():
    defined = {
        name
        for path in STORE_DIR.glob("migration*.py")
        for name in re.findall(r"^def (m\d+_\w+)\(", path.read_text(), re.M)
    }
    assert defined == {step.__name__ for step in ORDER}


def test_a_fresh_database_applies_the_list_in_its_order(tmp_path):
    with Store(tmp_path / "new.db") as store:
        assert store.applied_migrations() == [step.__name__ for step in ORDER]


def test_a_database_stopped_at_each_migration_upgrades_to_the_same_schema(tmp_path):
    with Store(":memory:") as fresh:
        expected = fresh.rows("SELECT type, name, sql FROM sqlite_master ORDER BY name")
    for step in ORDER[1:]:
        path = tmp_path / f"{step.__name__}.db"
        conn = sqlite3.connect(path, isolation_level=None)
        migrations.apply(sqlite_utils.Database(conn), stop_before=step.__name__)
        conn.close()
        with Store(path) as store:
            assert store.applied_migrations() == [s.__name__ for s in ORDER]
            assert store.rows("SELECT type, name, sql FROM sqlite_master ORDER BY name") == expected
