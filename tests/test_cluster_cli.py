"""`cluster` on the command line: the embedded vectors, phrase names, saving a run, and the
saved run week by week with new items placed in its themes."""

from __future__ import annotations

import json

from store import Store
from tests.test_cli_import import cli
from tests.test_clustering import fill, separated


def test_cluster_json_saves_a_run_and_follows_it(tmp_path):
    db = str(tmp_path / "l.db")
    with Store(db) as store:
        texts, _ = separated(3, 20)
        ids = fill(store, texts, day=2)
    done = cli("cluster", "--json", "--save", "  First   run ", "--db", db)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["saved_run"]["name"] == "First run" and report["saved_run"]["themes"] == 3
    assert all(c["name"] == c["label"] and c["name"][0].isupper() for c in report["clusters"])
    with Store(db) as store:
        [run] = store.themes.theme_runs()
        assert sorted(store.themes.saved_theme_members(run["id"])) == ids
        assert [t["name"] for t in store.themes.saved_themes(run["id"])] == [c["name"] for c in report["clusters"]]
        # New questions a week later: the next run continues the saved themes and counts them weekly.
        fill(store, separated(3, 2, seed=9)[0], day=23)  # 23-28 February: the last week
    again = json.loads(cli("cluster", "--json", "--db", db).stdout)
    assert "saved_run" not in again
    assert {c["saved_theme"]["name"] for c in again["clusters"] if c["id"] >= 0} == {
        c["name"] for c in report["clusters"]}
    followed = again["followed"]
    assert followed["run"]["name"] == "First run"
    weeks = {w["week"] for t in followed["themes"] for w in t["weeks"]}
    assert sum(w["items"] for t in followed["themes"] for w in t["weeks"]) == 66 and len(weeks) == 4
    last = [w for t in followed["themes"][:-1] for w in t["weeks"] if w["week"] == "2026-02-23"]
    assert sum(w["items"] for w in last) == 6 and abs(sum(w["share"] for w in last) - 1) < 1e-3


def test_cluster_refuses_an_unknown_vectorizer_with_a_sentence(tmp_path):
    db = str(tmp_path / "l.db")
    with Store(db) as store:
        fill(store, ["Where is my refund?", "I cannot log in", "Parcel is late"])
    done = cli("cluster", "--vectorizer", "bogus", "--db", db)
    assert done.returncode == 1 and "Unknown vectorizer 'bogus'" in done.stderr
    assert "Traceback" not in done.stderr
    tfidf = cli("cluster", "--json", "--vectorizer", "tfidf", "--db", db)
    assert tfidf.returncode == 0 and json.loads(tfidf.stdout)["n_items"] == 3
