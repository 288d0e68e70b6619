"""Saved theme runs: what a save keeps, new items placed in the nearest saved theme or left
unassigned, the weekly figures of each saved theme, and the mapping of a new run to a saved one."""

from __future__ import annotations

from dashboard.clustering import OTHER_ID, ThemeOptions, find_themes
from dashboard.filters import Filters
from dashboard.theme_runs import (
    UNASSIGNED,
    UNASSIGNED_ID,
    assign,
    from_blob,
    latest_week,
    placed,
    propose_mapping,
    run_to_save,
    weekly,
)
from tests.test_clustering import TOPICS, fill, separated


def _themes(store, **options):
    rows = store.themes.cluster_items(Filters())
    return rows, find_themes(rows, ThemeOptions(seed=0, **options), total=len(rows))


def _save(store, report, names=None):
    run, themes = run_to_save(report, names, name="March", created_by="ana", vectorizer="wordllama",
                              settings={"k": None})
    return store.themes.save_theme_run(run, themes)


def test_a_saved_run_keeps_its_themes_names_and_members(store):
    texts, topics = separated(3, 20)
    ids = fill(store, texts, day=2)
    rows, report = _themes(store)
    first = report.clusters[0]
    run_id = _save(store, report, names={first["id"]: "Refund trouble"})
    [run] = store.themes.theme_runs()
    assert run["id"] == run_id and run["name"] == "March" and run["created_by"] == "ana"
    assert run["n_items"] == 60 and run["themes"] == 3 and run["vectorizer"] == "wordllama"
    saved = store.themes.saved_themes(run_id)
    assert [t["name"] for t in saved] == ["Refund trouble"] + [c["label"] for c in report.clusters[1:]]
    assert [t["terms"] for t in saved] == [c["top_terms"] for c in report.clusters]
    members = store.themes.saved_theme_members(run_id)
    assert sorted(members) == ids
    for theme, cluster in zip(saved, report.clusters):
        assert sorted(i for i, t in members.items() if t == theme["id"]) == sorted(cluster["members"])
        assert theme["size"] == cluster["size"] and len(from_blob(theme["centre"])) == 256
        assert 0.5 <= theme["threshold"] <= 1


def test_new_items_join_the_nearest_saved_theme_or_stay_unassigned(store):
    texts, topics = separated(3, 20)
    fill(store, texts, day=2)
    rows, report = _themes(store)
    run_id = _save(store, report)
    saved = store.themes.saved_themes(run_id)
    by_topic = {}
    for theme, cluster in zip(saved, report.clusters):
        words = " ".join(cluster["top_terms"])
        by_topic[next(t for t in TOPICS if any(w in words for w in TOPICS[t]))] = theme["id"]
    new = ["Why is my refund money not working with the reimbursement?",
           "How do I fix the password, login and locked screen?",
           "Giraffes at the zoo eat acacia leaves in the afternoon sun"]
    joined, similarity = assign(new, saved)
    assert joined.tolist() == [by_topic["refund"], by_topic["login"], UNASSIGNED_ID], similarity


def test_weekly_counts_share_and_mean_stars_of_each_saved_theme(store):
    texts, topics = separated(2, 20)
    fill(store, texts, day=2)  # 2026-02-02 .. 2026-02-21
    rows, report = _themes(store)
    run_id = _save(store, report)
    saved = store.themes.saved_themes(run_id)
    refund = next(t for t in saved if "refund" in " ".join(t["terms"]) or "money" in " ".join(t["terms"]))
    # A week later: two refund questions rated 2 stars and one question about giraffes.
    fill(store, ["Refund money back please, reimbursement returned payment"] * 2, stars=2, day=23)
    fill(store, ["Giraffes at the zoo eat acacia leaves in the afternoon sun"], stars=1, day=23)
    rows = store.themes.cluster_items(Filters())
    themes = placed(rows, saved, store.themes.saved_theme_members(run_id))
    frame = weekly(rows, themes, saved)
    last = frame[frame["week"] == frame["week"].max()].set_index("theme")
    assert last.loc[refund["name"], "items"] == 2 and last.loc[UNASSIGNED, "items"] == 1
    assert abs(last.loc[refund["name"], "share"] - 2 / 3) < 1e-9
    assert last.loc[refund["name"], "mean_stars"] == 2.0
    assert frame["items"].sum() == 43
    table = latest_week(frame, saved).set_index("Theme")
    assert table.loc[refund["name"], "Last week"] == 2 and table.loc[UNASSIGNED, "Last week"] == 1
    assert sum(table.loc[refund["name"], "All weeks"]) == 2 + refund["size"]


def test_re_clustering_proposes_which_saved_theme_each_new_theme_continues(store):
    texts, topics = separated(3, 20)
    fill(store, texts, day=2)
    rows, report = _themes(store)
    run_id = _save(store, report)
    saved = store.themes.saved_themes(run_id)
    members = store.themes.saved_theme_members(run_id)
    more, _ = separated(3, 10, seed=5)
    fill(store, more, day=25)
    rows, again = _themes(store)
    mapping = propose_mapping(again, saved, members)
    for theme in again.clusters:
        if theme["id"] == OTHER_ID:
            continue
        proposed = mapping[theme["id"]]
        held = [members[i] for i in theme["members"] if i in members]
        assert proposed["how"] == "items" and proposed["saved_id"] == max(set(held), key=held.count)
    # Themes found only among the new items map by their centre.
    only_new = find_themes([r for r in rows if r["id"] not in members], ThemeOptions(k=3))
    by_centre = propose_mapping(only_new, saved, members)
    assert {m["how"] for m in by_centre.values()} == {"centre"} and len(by_centre) == 3
    assert len({m["saved_id"] for m in by_centre.values()}) == 3
