"""Filters: the URL round trip, and every field narrowing a small store the way its name says."""

from __future__ import annotations

from datetime import date

import pytest

from dashboard.filters import Filters
from dashboard.review import ReviewView
from store.filtering import where_clause
from tests.factories import add_interaction, many_interactions, review_store


@pytest.fixture
def ids(store):
    return review_store(store)


def _matching(store, filters: Filters) -> set[int]:
    where, params = where_clause(filters, "i")
    return {row[0] for row in store.db.execute(f"SELECT i.id FROM interactions i WHERE {where}", params)}


FULL = Filters(
    stars_min=2, stars_max=4, thumbs="down", models=("qwen2.5:7b", "mistral:7b"),
    variants=("concise",), reviewers=("ana",), tags=("too long", "wrong"), sources=("import",),
    date_from=date(2026, 1, 2), date_to=date(2026, 1, 31), has_ideal=False, unrated=True,
    unrated_by="ben", errors=False, search='refund "policy" OR x*', ids=(3, 1, 2),
)


@pytest.mark.parametrize("filters", [Filters(), FULL, Filters(has_ideal=True, errors=True),
                                     Filters(thumbs="up", unrated=True)])
def test_filters_survive_the_url_round_trip(filters):
    params = filters.to_query_params()
    assert all(isinstance(v, (str, list)) for v in params.values())
    assert Filters.from_query_params(params) == filters


def test_only_filtering_fields_go_into_the_url():
    assert Filters().to_query_params() == {}
    assert Filters(stars_max=2, tags=("wrong",)).to_query_params() == {
        "stars_max": "2", "tags": ["wrong"]
    }


def test_bad_url_values_are_ignored_not_fatal():
    params = {"stars_min": "9", "thumbs": "sideways", "date_from": "yesterday", "ids": ["x"],
              "models": ["qwen2.5:7b"]}
    assert Filters.from_query_params(params) == Filters(models=("qwen2.5:7b",))


def test_the_review_view_keeps_page_and_open_item():
    view = ReviewView(Filters(search="refund"), page=3, item=42)
    params = view.to_query_params()
    assert params["page"] == "3" and params["item"] == "42"
    assert ReviewView.from_query_params(params) == view
    assert ReviewView.from_query_params({"page": "-2", "item": "abc"}) == ReviewView()


def test_no_filter_matches_everything(store, ids):
    assert len(_matching(store, Filters())) == 8


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (Filters(stars_max=2), {"charged"}),
        (Filters(stars_min=4), {"password", "trip1"}),
        (Filters(stars_min=3, stars_max=3), {"parcel"}),
        (Filters(thumbs="down"), {"charged"}),
        (Filters(thumbs="up"), {"password", "trip1"}),
        (Filters(models=("mistral:7b", "qwen2.5:7b")), {"charged", "failed", "policy"}),
        (Filters(variants=("concise",)), {"charged", "policy"}),
        (Filters(reviewers=("chen",)), {"parcel"}),
        (Filters(tags=("wrong",)), {"charged"}),
        (Filters(tags=("incomplete", "hallucination")), {"charged", "parcel"}),
        (Filters(sources=("import",)), {"charged", "parcel"}),
        (Filters(date_from=date(2026, 1, 15), date_to=date(2026, 1, 20)), {"parcel", "failed"}),
        (Filters(has_ideal=True), {"charged"}),
        (Filters(has_ideal=False, models=("qwen2.5:7b",)), {"failed"}),
        (Filters(unrated=True), {"failed", "policy", "trip0", "trip2"}),
        (Filters(unrated_by="ana", models=("llama3.2:3b",)), {"parcel", "trip0", "trip2"}),
        (Filters(errors=True), {"failed"}),
        (Filters(errors=False, models=("qwen2.5:7b",)), {"charged"}),
        (Filters(search="refund"), {"charged", "policy"}),  # answer and question
        (Filters(search="REFUND policy"), {"policy"}),  # every word, any case
        (Filters(search="pasteis"), {"trip2"}),  # accents do not matter
        (Filters(ids=(1, 3, 3)), {"password", "parcel"}),
        (Filters(models=("llama3.2:3b",), stars_min=4, thumbs="up"), {"password", "trip1"}),
    ],
)
def test_each_field_narrows_the_list(store, ids, filters, expected):
    names = {v: k for k, v in ids.items() if isinstance(v, int)}
    names.update({iid: f"trip{n}" for n, iid in enumerate(ids["trip"])})
    assert {names[i] for i in _matching(store, filters)} == expected
    # the Review queries agree with where_clause, whichever plan they pick
    count, exact = store.review.count_interactions(filters)
    assert exact and count == len(expected)
    assert {names[r["id"]] for r in store.review.review_rows(filters)} == expected


def test_a_named_reviewer_makes_rating_filters_apply_to_their_own_rating(store, ids):
    # ana gave "charged" 2 stars, ben gave it 1: only ben's rating is at most 1 star
    assert _matching(store, Filters(reviewers=("ana",), stars_max=1)) == set()
    assert _matching(store, Filters(reviewers=("ben",), stars_max=1)) == {ids["charged"]}
    assert _matching(store, Filters(reviewers=("ana",), tags=("hallucination",))) == set()
    assert _matching(store, Filters(reviewers=("ben",), has_ideal=True)) == {ids["charged"]}
    assert _matching(store, Filters(reviewers=("ana", "chen"), thumbs="up")) == {
        ids["password"], ids["trip"][1]
    }


def test_search_text_is_never_read_as_fts_syntax(store, ids):
    for text in ['"', "password*", "NEAR(a b)", "a OR b", "-x", "col:val", "(", "^"]:
        assert _matching(store, Filters(search=text)) <= set(range(1, 9))
    assert _matching(store, Filters(search="reset OR nothing")) == set()


def test_rating_summary_follows_new_changed_and_deleted_ratings(store):
    iid = add_interaction(store, "Q", "A")
    store.review.save_rating(iid, "ana", stars=2, thumbs=-1, ideal_answer="Better.")
    store.review.save_rating(iid, "ben", stars=5, thumbs=1)
    row = store.ingest.get_interaction(iid)
    assert (row["rating_count"], row["stars_min"], row["stars_max"], row["stars_mean"]) == (2, 2, 5, 3.5)
    assert (row["thumbs_up"], row["thumbs_down"], row["ideal_count"]) == (1, 1, 1)
    store.review.save_rating(iid, "ana", stars=4, thumbs=1)  # ana changes her mind
    row = store.ingest.get_interaction(iid)
    assert (row["stars_min"], row["thumbs_up"], row["thumbs_down"], row["ideal_count"]) == (4, 2, 0, 0)
    with store.write() as db:
        db.execute("DELETE FROM ratings WHERE interaction_id = ?", [iid])
    row = store.ingest.get_interaction(iid)
    assert (row["rating_count"], row["stars_mean"], row["thumbs_up"]) == (0, None, 0)


def test_counts_beyond_the_cap_say_more_than(store):
    many_interactions(store, 30)
    both = Filters(search="question", models=("llama3.2:3b",))
    assert store.review.count_interactions(both, cap=10) == (10, False)
    assert store.review.count_interactions(both, cap=30) == (30, True)
    assert store.review.count_interactions(Filters(search="question"), cap=10) == (30, True)  # index count
    assert store.review.count_interactions(Filters(), cap=10) == (30, True)  # no subquery: exact
    assert store.review.count_interactions(Filters(ids=(1, 2, 999))) == (2, True)  # 999 does not exist


def test_pages_walk_the_matches_newest_first_without_gaps(store):
    ids = many_interactions(store, 120)
    seen = []
    for offset in (0, 50, 100):
        seen += [r["id"] for r in store.review.review_rows(Filters(search="question"), offset=offset)]
    assert seen == list(reversed(ids))
    scan = [r["id"] for r in store.review.review_rows(Filters(search="question"), limit=120, matches=10**6)]
    assert scan == seen  # the time-ordered scan gives the same order as the sorted plan


def test_filter_options_come_from_the_data(store, ids):
    options = store.review.filter_options()
    assert options["models"] == ["llama3.2:3b", "mistral:7b", "qwen2.5:7b"]
    assert options["variants"] == ["baseline", "concise"]
    assert options["reviewers"] == ["ana", "ben", "chen"]
    assert options["tags"] == ["hallucination", "incomplete", "wrong"]
    assert options["sources"] == ["chat", "import"]


def test_describe_names_each_active_filter():
    text = Filters(stars_max=2, thumbs="down", models=("qwen2.5:7b",), search="refund").describe()
    assert text == (
        "any rating 1-2 stars · thumbs down · model qwen2.5:7b · containing “refund”")
    assert Filters(stars_min=4, stars_mode="every").describe() == "every rating 4-5 stars"
    assert Filters(stars_max=2, stars_mode="mean").describe() == "mean stars 1-2"
    assert Filters().describe() == "everything"
    assert Filters(stars_mode="mean").describe() == "everything"  # a mode alone filters nothing
