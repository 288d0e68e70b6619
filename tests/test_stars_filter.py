"""The stars filter's three readings (any rating, every rating, the mean) agree with the Stars
column of the Review table, in the store, in the URL, in exports and in the queue."""

from __future__ import annotations

import pytest

from dashboard.filters import STARS_MODES, Filters
from dashboard.review import stars_cell, table_frame
from tests.factories import add_interaction

# item -> every reviewer's stars (None: a rating with a thumb only)
RATINGS = {
    "split": {"ana": 1, "ben": 5},  # mean 3.0, the case: one low rating, one high
    "good": {"ana": 3, "ben": 4, "chen": 4},  # mean 3.67, shown 3.7
    "two": {"ana": 2},
    "low": {"ana": 1, "ben": 2},  # mean 1.5
    "high": {"ben": 4, "chen": 5},  # 4.5
    "near": {"ana": 2, "ben": 2, "chen": 3},  # 2.33
    "thumb": {"ana": None},  # no stars at all
    "unrated": {},
}


@pytest.fixture
def ids(store):
    out = {}
    for day, (name, ratings) in enumerate(RATINGS.items(), start=1):
        out[name] = add_interaction(store, f"Question {name}",
                                    created_at=f"2026-02-{day:02d}T09:00:00.000Z")
        for reviewer, stars in ratings.items():
            store.review.save_rating(out[name], reviewer, stars=stars, thumbs=1 if stars is None else None)
    return out


def _names(store, ids, filters: Filters) -> set[str]:
    found = {row["id"] for row in store.review.review_rows(filters, limit=100)}
    count, exact = store.review.count_interactions(filters)
    assert exact and count == len(found)
    return {name for name, iid in ids.items() if iid in found}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        # any rating: someone gave stars in the range
        (Filters(stars_max=2), {"split", "two", "low", "near"}),
        (Filters(stars_min=3, stars_max=3), {"good", "near"}),  # split's 1 and 5 hold no 3
        (Filters(stars_min=2, stars_max=4), {"good", "two", "low", "high", "near"}),
        # every rating
        (Filters(stars_max=2, stars_mode="every"), {"two", "low"}),
        (Filters(stars_min=3, stars_mode="every"), {"good", "high"}),
        (Filters(stars_min=2, stars_max=3, stars_mode="every"), {"two", "near"}),
        # the mean, as shown
        (Filters(stars_max=2, stars_mode="mean"), {"two", "low"}),
        (Filters(stars_min=3, stars_max=3, stars_mode="mean"), {"split"}),
        (Filters(stars_min=2, stars_max=3, stars_mode="mean"), {"split", "two", "near"}),
        (Filters(stars_min=4, stars_mode="mean"), {"high"}),
    ],
)
def test_each_reading_of_the_stars_range(store, ids, filters, expected):
    assert _names(store, ids, filters) == expected


def test_stars_one_to_two_no_longer_lists_an_item_whose_mean_is_three(store, ids):
    """The Stars column shows the mean: with the mean reading, what is listed fits it."""
    rows = store.review.review_rows(Filters(stars_max=2, stars_mode="mean"), limit=100)
    assert ids["split"] not in {row["id"] for row in rows}
    shown = table_frame(rows)["Stars"]
    assert all(1.0 <= float(text.split(" ")[0]) <= 2.0 for text in shown)


@pytest.mark.parametrize("mode", STARS_MODES)
def test_every_listed_item_fits_what_the_stars_column_shows(store, ids, mode):
    """For every range and reading, each listed row's Stars cell agrees with the filter."""
    for low in range(1, 6):
        for high in range(low, 6):
            filters = Filters(stars_min=low if low > 1 else None,
                              stars_max=high if high < 5 else None, stars_mode=mode)
            if not filters.has_stars_range():
                continue
            for row in store.review.review_rows(filters, limit=100):
                cell = stars_cell(row["stars_mean"], row["stars_min"], row["stars_max"])
                mean = float(cell.split(" ")[0])
                lowest, highest = row["stars_min"], row["stars_max"]
                if mode == "mean":
                    assert low <= mean <= high, (filters, cell)
                elif mode == "every":
                    assert low <= lowest and highest <= high, (filters, cell)
                else:
                    assert lowest <= high and highest >= low, (filters, cell)


def test_the_mean_filter_and_the_column_round_alike_at_the_edges(store):
    """Means that fall on a rounding edge (x.x5) land on the side the column shows."""
    edges = {}
    for number, stars in enumerate([[2] * 19 + [3], [1] * 19 + [2], [2] * 7 + [3],
                                    [4] * 19 + [5], [2, 2, 3], [4, 5, 5]]):
        iid = add_interaction(store, f"Edge {number}")
        for k, value in enumerate(stars):
            store.review.save_rating(iid, f"r{k}", stars=value)
        edges[iid] = stars
    rows = {row["id"]: row for row in store.review.review_rows(Filters(), limit=100)}
    for low in range(1, 6):
        for high in range(low, 6):
            filters = Filters(stars_min=low, stars_max=high, stars_mode="mean")
            kept = {row["id"] for row in store.review.review_rows(filters, limit=100)}
            for iid in edges:
                shown = float(stars_cell(rows[iid]["stars_mean"], None, None).split(" ")[0])
                assert (iid in kept) == (low <= shown <= high), (edges[iid], shown, low, high)


def test_with_reviewers_only_their_ratings_count(store, ids):
    both = ("ana", "ben")
    assert _names(store, ids, Filters(reviewers=both, stars_max=2)) == {
        "split", "two", "low", "near"}
    assert _names(store, ids, Filters(reviewers=both, stars_max=2, stars_mode="every")) == {
        "two", "low", "near"}  # near: ana 2 and ben 2 (chen's 3 is not theirs)
    # the mean of ana's and ben's stars: split 3.0, good 3.5, high 4.0 (ben alone)
    assert _names(store, ids, Filters(reviewers=both, stars_min=3, stars_max=4,
                                      stars_mode="mean")) == {"split", "good", "high"}
    assert _names(store, ids, Filters(reviewers=both, stars_min=3, stars_max=3,
                                      stars_mode="mean")) == {"split"}
    # one reviewer: the three readings agree
    alone = {mode: _names(store, ids, Filters(reviewers=("ben",), stars_min=4, stars_mode=mode))
             for mode in STARS_MODES}
    assert alone == {mode: {"good", "high", "split"} for mode in STARS_MODES}


def test_with_reviewers_the_other_rating_filters_hold_on_one_of_their_ratings(store, ids):
    store.review.save_rating(ids["low"], "ana", stars=1, thumbs=-1)
    found = _names(store, ids, Filters(reviewers=("ana", "ben"), stars_max=2,
                                       stars_mode="every", thumbs="down"))
    assert found == {"low"}


def test_the_reading_goes_into_the_url_and_back():
    filters = Filters(stars_max=2, stars_mode="mean")
    params = filters.to_query_params()
    assert params == {"stars_max": "2", "stars_mode": "mean"}
    assert Filters.from_query_params(params) == filters
    assert Filters.from_query_params({"stars_max": "2"}).stars_mode == "any"  # old links
    assert Filters.from_query_params({"stars_mode": "median"}) == Filters()
    with pytest.raises(ValueError):
        Filters(stars_mode="median")


def test_a_reading_without_a_range_filters_nothing(store, ids):
    assert Filters(stars_mode="every").is_empty()
    assert Filters(stars_mode="every").active_fields() == []
    assert _names(store, ids, Filters(stars_mode="mean")) == set(RATINGS)


def test_exports_read_the_stars_range_the_same_way(store, ids):
    def exported(filters: Filters) -> set[int]:
        return {item["id"] for item in store.exports.iter_export_items(filters)}

    assert exported(Filters(stars_max=2)) == {ids[n] for n in ("split", "two", "low", "near")}
    assert exported(Filters(stars_max=2, stars_mode="mean")) == {ids["two"], ids["low"]}


def test_the_queue_reads_the_stars_range_the_same_way(store, ids):
    assert store.review.queue_progress("zoe", Filters(stars_max=2, stars_mode="every")) == (0, 2)
    assert store.review.queue_progress("zoe", Filters(stars_max=2)) == (0, 4)


def test_the_stars_cell_shows_the_range_when_ratings_differ():
    assert stars_cell(3.0, 1, 5) == "3.0 ★ (1–5)"
    assert stars_cell(4.0, 4, 4) == "4.0 ★"
    assert stars_cell(None, None, None) == ""
