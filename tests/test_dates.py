"""Dates: only 1970-01-01 to one day after now are accepted, refused lines say FILE:LINE, and
dates stored before the rule (9999-12-31, year 1, text that is no date) break no page."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.clustering import cluster_report
from dashboard.filters import Filters
from dashboard.importing import import_file
from dashboard.insights import data_span, refresh_insights
from store import Store
from store.dates import stored_day, utc_moment
from tests.pages import open_app
from tests.test_cli_import import cli
from tests.test_clustering import fill, separated

FAR_FUTURE = "9999-12-31T23:59:59-14:00"
OUT_OF_RANGE = [
    ("9999-12-31", "is in the future"),
    (FAR_FUTURE, "is in the future"),
    ("0001-01-01T00:00:00+14:00", "is before 1970-01-01"),
    ("1969-12-31T23:59:59Z", "is before 1970-01-01"),
]


def _soon(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def test_the_accepted_range_runs_from_1970_to_one_day_after_now():
    assert utc_moment("1970-01-01T00:00:00Z") == datetime(1970, 1, 1, tzinfo=UTC)
    assert utc_moment(_soon(0.9)) is not None
    with pytest.raises(ValueError, match="in the future"):
        utc_moment(_soon(1.1))
    with pytest.raises(ValueError, match="before 1970-01-01"):
        utc_moment("1969-12-31T23:59:59.999Z")


@pytest.mark.parametrize(("created_at", "says"), OUT_OF_RANGE)
@pytest.mark.parametrize("kind", ["jsonl", "csv"])
def test_an_import_refuses_a_date_out_of_range_with_file_and_line(tmp_path, kind, created_at, says):
    db = tmp_path / "l.db"
    if kind == "jsonl":
        path = tmp_path / "dates.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in [
            {"question": "fine", "created_at": "2026-01-31T12:00:00Z"},
            {"question": "odd", "created_at": created_at}]), encoding="utf-8")
    else:
        path = tmp_path / "dates.csv"
        path.write_text(f"question,created_at\nfine,2026-01-31\nodd,{created_at}\n", encoding="utf-8")
    done = cli("import", str(path), "--db", str(db))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    line = 2 if kind == "jsonl" else 3  # a CSV's header is line 1
    assert f"{path}:{line}: created_at '{created_at}' {says}" in done.stderr
    assert Store(db).summary()["interactions"] == 0


@pytest.mark.parametrize(("created_at", "says"), OUT_OF_RANGE)
def test_a_pairwise_import_refuses_a_date_out_of_range_with_file_and_line(tmp_path, created_at, says):
    db = tmp_path / "l.db"
    path = tmp_path / "votes.jsonl"
    vote = {"question": "q", "answer_a": "a", "answer_b": "b", "winner": "a"}
    path.write_text(json.dumps(vote) + "\n" + json.dumps(vote | {"created_at": created_at}) + "\n",
                    encoding="utf-8")
    done = cli("import", str(path), "--db", str(db))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert f"{path}:2: created_at '{created_at}' {says}" in done.stderr
    assert Store(db).summary()["comparisons"] == 0


def test_today_and_a_time_zone_a_day_ahead_are_accepted(store, tmp_path):
    path = tmp_path / "now.jsonl"
    ahead = datetime.now(timezone(timedelta(hours=14))).replace(tzinfo=None).isoformat() + "+14:00"
    path.write_text(json.dumps({"question": "now", "created_at": ahead}) + "\n", encoding="utf-8")
    report = import_file(store, path)
    assert report.committed and report.imported == 1


# -- what is already stored -----------------------------------------------------------------------

ABSURD = ["9999-12-31T23:59:59.999Z", "0001-01-01T00:00:00.000Z", "not a date",
          "2026-02-30T00:00:00.000Z", ""]


@pytest.fixture
def absurd_db(db_path):
    """Sixty low-rated items in three themes; five of them carry dates no import would accept."""
    with Store(db_path) as store:
        texts, _ = separated(3, 20)
        ids = fill(store, texts)
        with store.write() as db:
            for n, stamp in enumerate(ABSURD):
                db.execute("UPDATE interactions SET created_at = ? WHERE id = ?", [stamp, ids[n * 7]])
    return db_path


def test_stored_day_reads_only_dates_that_could_have_been_accepted():
    assert [stored_day(s) for s in ABSURD] == [None] * len(ABSURD)
    assert stored_day("2026-02-01T10:00:00.000Z").isoformat() == "2026-02-01"


def test_cluster_json_survives_absurd_stored_dates(absurd_db):
    done = cli("cluster", "--json", "--db", str(absurd_db))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["n_items"] == 60 and sum(c["size"] for c in report["clusters"]) == 60
    periods = {p["period"] for c in report["clusters"] for p in c["trend"]}
    assert min(periods) >= "2026-02-01" and max(periods) <= "2026-02-20"
    # the trend counts every item whose date is real, and only those
    assert sum(p["count"] for c in report["clusters"] for p in c["trend"]) == 60 - len(ABSURD)


def test_themes_of_absurd_dates_keep_a_day_trend(absurd_db):
    with Store(absurd_db) as store:
        report = cluster_report(store, Filters(), seed=0)
    assert report["trend_period"] == "day"


def _page(monkeypatch, db_path, page: str) -> AppTest:
    return open_app(monkeypatch, db_path, page, timeout=120, check=False)


@pytest.mark.parametrize("page", ["clusters", "insights", "review"])
def test_pages_open_on_absurd_stored_dates(monkeypatch, absurd_db, page):
    at = _page(monkeypatch, absurd_db, page)
    assert not at.exception, at.exception


def test_insights_opens_on_the_real_data_not_on_the_year_9999(monkeypatch, absurd_db):
    with Store(absurd_db) as store:
        refresh_insights(store)
        first, last = data_span(store)
    assert (first.isoformat(), last.isoformat()) == ("2026-02-01", "2026-02-20")
    at = _page(monkeypatch, absurd_db, "insights")
    assert not at.exception
    counted = {m.label: m.value for m in at.metric}
    assert counted["Interactions"] == str(60 - len(ABSURD))
