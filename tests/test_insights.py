"""Insights aggregates on small hand-built stores: exact numbers, percentiles, re-asks, refresh."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest

from dashboard.filters import Filters
from dashboard.insights import (
    INSIGHT_QUERIES,
    PERCENTILE_ERROR,
    REASK_THRESHOLD,
    Headline,
    bucket_bounds,
    bucket_value,
    data_span,
    failure_rate,
    headline,
    histogram_percentile,
    is_reask,
    needs_refresh,
    normalize_question,
    period_for,
    previous_period,
    question_similarity,
    ratings_over_time,
    reask_rate,
    refresh_insights,
    star_distribution,
    timing_percentiles,
    top_tags,
    view_filters,
    volume,
)
from store import Store
from tests.factories import add_day_interaction, conversation, fill_sample, small_sample

D1, D2 = "2026-03-09", "2026-03-10"
BOTH_DAYS = Filters(date_from=date(2026, 3, 9), date_to=date(2026, 3, 10))


@pytest.fixture
def small(store: Store) -> Store:
    """Two days, two models, one failed call, four ratings by two reviewers."""
    small_sample(store)
    refresh_insights(store)
    return store


def _values(items: list[Headline]) -> dict[str, float | None]:
    return {h.key: h.value for h in items}


def test_headline_numbers_of_a_small_store(small):
    values = _values(headline(small, BOTH_DAYS))
    assert values["interactions"] == 4
    assert values["ratings"] == 4
    assert values["rated_share"] == pytest.approx(3 / 4)
    assert values["mean_stars"] == pytest.approx((5 + 3 + 4 + 1) / 4)
    assert values["thumbs_up_share"] == pytest.approx(1 / 3)
    assert values["failure_rate"] == pytest.approx(1 / 4)
    assert values["reask_rate"] == 0
    # answered calls only: 100, 200, 400 ms; the failed call's 60 s does not count
    assert values["p95_latency"] == pytest.approx(400, rel=PERCENTILE_ERROR)


def test_headline_text_and_change_versus_previous_period(store):
    for _ in range(4):
        add_day_interaction(store, day="2026-03-01")  # previous period of Mar 8-14 (Mar 1-7)
    for _ in range(5):
        add_day_interaction(store, day="2026-03-10")
    add_day_interaction(store, day="2026-03-11", error="boom")
    refresh_insights(store)
    week = Filters(date_from=date(2026, 3, 8), date_to=date(2026, 3, 14))
    items = {h.key: h for h in headline(store, week)}
    assert items["interactions"].value_text() == "6"
    assert items["interactions"].delta_text() == "+50.0%"
    assert items["failure_rate"].value_text() == "16.7%"
    assert items["failure_rate"].delta_text() == "+16.7 pp"
    assert items["failure_rate"].delta_color == "inverse"
    assert items["reask_rate"].delta_text() == "0.0 pp"
    assert items["reask_rate"].delta_color == "off" and items["reask_rate"].delta_arrow == "off"
    assert items["mean_stars"].value_text() == "—" and items["mean_stars"].delta_text() is None
    # nothing before the first day: no change to show
    first = Filters(date_from=date(2026, 3, 1), date_to=date(2026, 3, 7))
    assert all(h.delta_text() is None for h in headline(store, first))


def test_mean_stars_and_thumbs_per_day_and_model(small):
    frame = ratings_over_time(small, BOTH_DAYS)
    got = {(r.period.date().isoformat(), r.group): (r.mean_stars, r.thumbs_up_share, r.ratings)
           for r in frame.itertuples()}
    assert got[(D1, "m1")] == (4.0, 1.0, 2)
    assert got[(D2, "m1")] == (4.0, 0.0, 1)
    assert got[(D2, "m2")] == (1.0, 0.0, 1)
    assert len(got) == 3


def test_ratings_grouped_by_variant_name_across_versions(store):
    v1 = store.experiments.add_variant("concise")
    v2 = store.experiments.add_variant("concise")  # version 2, same name
    other = store.experiments.add_variant("baseline")
    for variant, stars in ((v1, 2), (v2, 4), (other, 5)):
        iid = add_day_interaction(store, day=D1, variant_id=variant)
        store.review.save_rating(iid, "ana", stars=stars)
    add_day_interaction(store, day=D1)  # no variant
    refresh_insights(store)
    frame = ratings_over_time(store, BOTH_DAYS, by="variant")
    assert dict(zip(frame["group"], frame["mean_stars"])) == {"concise": 3.0, "baseline": 5.0}
    only = BOTH_DAYS.with_(variants=("concise",))
    assert _values(headline(store, only))["interactions"] == 2
    assert _values(headline(store, BOTH_DAYS))["interactions"] == 4


def test_star_distribution_per_model_and_overall(small):
    per_model = star_distribution(small, BOTH_DAYS)
    m1 = per_model[per_model["group"] == "m1"].set_index("stars")
    assert m1["count"].tolist() == [0, 0, 1, 1, 1]
    assert m1.loc[5, "share"] == pytest.approx(1 / 3)
    overall = star_distribution(small, BOTH_DAYS, by_model=False)
    assert overall["count"].tolist() == [1, 0, 1, 1, 1]
    assert set(overall["group"]) == {"All models"}


def test_failure_rate_per_day_and_model(small):
    frame = failure_rate(small, BOTH_DAYS)
    got = {(r.period.date().isoformat(), r.model): (r.failures, r.interactions, r.rate)
           for r in frame.itertuples()}
    assert got == {
        (D1, "m1"): (0, 1, 0.0),
        (D2, "m1"): (1, 2, 0.5),
        (D2, "m2"): (0, 1, 0.0),
    }


def test_volume_stacked_by_source_or_model(small):
    by_source = volume(small, BOTH_DAYS)
    assert by_source.groupby("group")[["interactions", "ratings"]].sum().to_dict("index") == {
        "chat": {"interactions": 3, "ratings": 3},
        "import": {"interactions": 1, "ratings": 1},
    }
    by_model = volume(small, BOTH_DAYS, stack="model")
    assert by_model.groupby("group")["interactions"].sum().to_dict() == {"m1": 3, "m2": 1}


def test_top_tags_count_items_once_and_share_of_rated(small):
    iid = add_day_interaction(small, day=D2, model="m2")
    small.review.save_rating(iid, "ana", stars=2, tags=["wrong"])
    small.review.save_rating(iid, "ben", stars=2, tags=["wrong"])  # same item, second reviewer
    refresh_insights(small)
    tags = top_tags(small, BOTH_DAYS).set_index("tag")
    assert tags["items"].to_dict() == {"wrong": 2, "formatting": 1, "too long": 1}
    assert list(tags.index)[0] == "wrong"
    assert tags.loc["wrong", "share"] == pytest.approx(2 / 4)  # 4 rated interactions
    per_model = top_tags(small, BOTH_DAYS, by_model=True)
    row = per_model[(per_model["tag"] == "wrong") & (per_model["group"] == "m2")].iloc[0]
    assert (row["items"], row["share"]) == (2, 1.0)  # m2 has 2 rated items, both tagged
    assert len(top_tags(small, BOTH_DAYS, limit=1)) == 1


# -- percentiles -------------------------------------------------------------------


def test_buckets_are_log_spaced_and_the_error_is_half_a_bucket():
    low, high = bucket_bounds(60)
    assert (low, high) == pytest.approx((1000, 1000 * 10 ** (1 / 20)))
    middle = bucket_value(60)
    assert middle / low - 1 == pytest.approx(PERCENTILE_ERROR)
    assert 1 - high / middle == pytest.approx(-PERCENTILE_ERROR, rel=1e-9)
    assert 0.05 < PERCENTILE_ERROR < 0.06
    assert histogram_percentile([], [], 0.5) is None


def test_percentiles_match_numpy_within_the_stated_error(store):
    rng = np.random.default_rng(4)
    fast = rng.lognormal(math.log(300), 0.5, 400).round(1)
    slow = rng.lognormal(math.log(2000), 0.8, 300).round(1)
    for value in fast:
        add_day_interaction(store, day=D1, model="fast", latency_ms=value, ttft_ms=value / 7)
    for value in slow:
        add_day_interaction(store, day=D2, model="slow", latency_ms=value, ttft_ms=value / 5)
    refresh_insights(store)
    frame = timing_percentiles(store, BOTH_DAYS).set_index(["model", "metric"])
    for model, values, ttft_div in (("fast", fast, 7), ("slow", slow, 5)):
        for metric, data in (("latency", values), ("ttft", values / ttft_div)):
            row = frame.loc[(model, metric)]
            assert row["calls"] == len(values)
            for q, column in ((50, "p50_ms"), (95, "p95_ms")):
                exact = np.percentile(data, q, method="inverted_cdf")
                assert abs(row[column] / exact - 1) <= PERCENTILE_ERROR + 1e-9
                assert abs(row[column] / np.percentile(data, q) - 1) <= 1.5 * PERCENTILE_ERROR
    # the Python reading of the raw histogram agrees with the store's
    hist = pd.DataFrame(store.insights.timing(BOTH_DAYS, by=["model"]))
    fast_latency = hist[(hist["model"] == "fast") & (hist["metric"] == "latency")]
    assert histogram_percentile(fast_latency["bucket"], fast_latency["n"], 0.95) == \
        frame.loc[("fast", "latency"), "p95_ms"]


# -- re-asks -------------------------------------------------------------------------


def test_question_similarity_and_the_threshold():
    assert normalize_question("  How do I RESET my password?? ") == "how do i reset my password"
    assert question_similarity("How do I reset my password?", "how do i reset my password") == 1
    assert is_reask("What is the refund policy?", "What's the refund policy")
    assert is_reask("How can I reset my password?", "How do I reset my password?")
    assert not is_reask("Tell me a joke", "Tell me a joke about cats and dogs")
    assert not is_reask("How do I reset my password?", "What is the refund policy?")
    assert not is_reask("", "")
    assert REASK_THRESHOLD == 0.8


def test_reasks_are_found_in_crafted_conversations(store):
    first = conversation(store, [
        "How do I reset my password?",
        "how do i reset my password??",  # re-ask of turn 1
        "What is the refund policy?",
        "What's the refund policy",  # re-ask of turn 3
    ], day=D1, model="m1")
    second = conversation(store, [
        "How do I reset my password?",  # same text, but a new conversation
        "Tell me a joke about cats and dogs",
    ], day=D2, model="m2")
    lone = add_day_interaction(store, "What's the refund policy", day=D2, model="m2")
    report = refresh_insights(store)
    assert report.reasks == 2
    flags = {iid: (store.insights.turn(iid) or {}).get("reask") for iid in [*first, *second, lone]}
    assert flags == {first[0]: None, first[1]: 1, first[2]: 0, first[3]: 1,
                     second[0]: None, second[1]: 0, lone: None}
    assert store.insights.turn(first[1])["previous_id"] == first[0]
    rates = reask_rate(store, BOTH_DAYS).set_index("model")
    assert rates.loc["m1", "reasks"] == 2 and rates.loc["m1", "rate"] == 0.5
    assert rates.loc["m2", "reasks"] == 0
    assert _values(headline(store, BOTH_DAYS))["reask_rate"] == pytest.approx(2 / 7)


# -- refresh ---------------------------------------------------------------------------


def test_refresh_adds_new_rows_and_recounts_changed_ones(small):
    assert not needs_refresh(small)
    assert not refresh_insights(small).did_work
    # new rows
    e = add_day_interaction(small, "q e", day=D2, model="m2", latency_ms=800)
    small.review.save_rating(e, "ana", stars=5, thumbs=1, tags=["formatting"])
    # ratings changed later (stars, thumbs, a tag removed), and a call that failed after all
    a, b = 1, 2  # the fixture's first two interactions
    small.review.save_rating(a, "ben", stars=1, thumbs=-1)
    small.review.save_rating(a, "ana", stars=5, thumbs=1, tags=[])
    small.ingest.record_answer(b, error="server gone")
    assert needs_refresh(small)
    report = refresh_insights(small)
    # rating changes are applied in place; only the failed answer's day is recounted
    assert report.interactions == 1 and report.ratings == 1 and report.recounts == 1
    values = _values(headline(small, BOTH_DAYS))
    assert values["interactions"] == 5
    assert values["ratings"] == 5
    assert values["mean_stars"] == pytest.approx((5 + 1 + 4 + 1 + 5) / 5)
    assert values["thumbs_up_share"] == pytest.approx(2 / 5)
    assert values["failure_rate"] == pytest.approx(2 / 5)
    tags = top_tags(small, BOTH_DAYS).set_index("tag")["items"].to_dict()
    assert tags == {"formatting": 1, "wrong": 1, "too long": 1}
    assert not needs_refresh(small)


def test_each_kind_of_later_change_is_recounted_on_its_day(store):
    days = ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04"]
    ids = [add_day_interaction(store, day=day) for day in days]
    for iid in ids:
        store.review.save_rating(iid, "ana", stars=3, thumbs=1, tags=["wrong"] if iid == ids[1] else [])
    refresh_insights(store)
    store.review.save_rating(ids[0], "ana", stars=5, thumbs=-1)  # stars and thumbs changed
    store.review.save_rating(ids[1], "ana", stars=3, thumbs=1, tags=["too long"])  # tags changed
    store.ingest.record_answer(ids[2], error="failed after all")  # the answer turned into a failure
    store.review.save_rating(ids[3], "ben", stars=1)  # a second reviewer on an old interaction
    report = refresh_insights(store)
    assert report.recounts == 1 and report.ratings == 1
    week = Filters(date_from=date(2026, 3, 1), date_to=date(2026, 3, 4))
    trend = ratings_over_time(store, week).set_index(ratings_over_time(store, week)["period"]
                                                     .dt.date.astype(str))
    assert trend.loc[days[0], "mean_stars"] == 5 and trend.loc[days[0], "thumbs_up_share"] == 0
    assert trend.loc[days[3], "mean_stars"] == 2 and trend.loc[days[3], "ratings"] == 2
    assert top_tags(store, week)["tag"].tolist() == ["too long"]
    failures = failure_rate(store, week)
    assert failures["failures"].tolist() == [0, 0, 1, 0]
    assert _values(headline(store, week))["rated_share"] == 1


def test_tags_edited_on_counted_ratings_count_each_item_once(store):
    iid = add_day_interaction(store, day=D1)
    store.review.save_rating(iid, "ana", stars=2)
    store.review.save_rating(iid, "ben", stars=2)
    refresh_insights(store)

    def items() -> dict[str, int]:
        assert not refresh_insights(store).recounts  # applied in place, no recount
        return top_tags(store, BOTH_DAYS).set_index("tag")["items"].to_dict()

    store.review.save_rating(iid, "ana", stars=2, tags=["wrong"])
    assert items() == {"wrong": 1}
    store.review.save_rating(iid, "ben", stars=2, tags=["wrong", "too long"])
    assert items() == {"wrong": 1, "too long": 1}
    store.review.save_rating(iid, "ana", stars=2, tags=[])
    assert items() == {"wrong": 1, "too long": 1}
    store.review.save_rating(iid, "ben", stars=2, tags=["too long"])
    assert items() == {"too long": 1}
    store.review.save_rating(iid, "ben", stars=2, tags=[])
    assert items() == {}


def _all(store: Store, filters: Filters) -> dict[str, object]:
    out = {}
    for name, query in INSIGHT_QUERIES.items():
        value = query(store, filters)
        out[name] = value.reset_index(drop=True) if isinstance(value, pd.DataFrame) else value
    return out


def _assert_same(left: dict[str, object], right: dict[str, object]) -> None:
    for name in left:
        if isinstance(left[name], pd.DataFrame):
            pd.testing.assert_frame_equal(left[name], right[name], check_dtype=False)
        else:
            assert left[name] == right[name], name


def _later_changes(store: Store) -> None:
    ids = list(range(1, store.ingest.max_interaction_id() + 1))
    for iid in ids[::7]:
        store.review.save_rating(iid, "dara", stars=2, thumbs=-1, tags=["wrong"])
    for iid in ids[::11]:
        store.review.save_rating(iid, "ana", stars=5, thumbs=1, tags=["formatting"])
    for iid in ids[1::5]:
        for reviewer in ("ben", "chen"):
            store.review.save_rating(iid, reviewer, stars=None, thumbs=-1, tags=["wrong", "too long"])
    for iid in ids[1::10]:
        store.review.save_rating(iid, "ben", stars=3, tags=["too long"])
    for iid in ids[3::13]:
        store.ingest.record_answer(iid, error="late failure")
    conversation(store, ["Where is my parcel?", "where is my parcel"], day="2026-03-20",
                 model="qwen2.5:7b")


def test_incremental_refresh_equals_a_refresh_from_scratch(tmp_path):
    with Store(tmp_path / "a.db") as incremental, Store(tmp_path / "b.db") as scratch:
        for s in (incremental, scratch):
            fill_sample(s, days=12, per_day=9)
        refresh_insights(incremental, batch=50)
        for s in (incremental, scratch):
            _later_changes(s)
        report = refresh_insights(incremental, batch=50)
        assert report.recounts > 0 and report.interactions == 2
        refresh_insights(scratch)
        span = data_span(scratch)
        for filters in (view_filters(Filters(), span[1]),
                        Filters(date_from=span[0], date_to=span[1], sources=("chat",))):
            _assert_same(_all(incremental, filters), _all(scratch, filters))


def test_refresh_reports_progress_and_resumes_after_an_interruption(store):
    fill_sample(store, days=3, per_day=9)
    seen: list[tuple[float, str]] = []

    def stop_midway(done: float, text: str) -> None:
        seen.append((done, text))
        if len(seen) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        refresh_insights(store, stop_midway, batch=10)
    assert needs_refresh(store)
    refresh_insights(store, lambda done, text: seen.append((done, text)), batch=10)
    assert not needs_refresh(store)
    assert all(0 <= done <= 1 for done, _ in seen)
    assert any("re-asked" in text for _, text in seen)
    span = data_span(store)
    assert _values(headline(store, Filters(date_from=span[0], date_to=span[1])))[
        "interactions"] == 27


def test_a_batch_analysed_by_another_session_is_not_counted_twice(store):
    conversation(store, ["a question", "a question!"], day=D1)
    batch = store.insights.next_turns(100)
    assert store.insights.save_turns(batch["after"], batch["upto"], [])
    assert not store.insights.save_turns(batch["after"], batch["upto"], [(2, 1, 1.0, True)])
    assert store.insights.turn(2) is None


# -- the view's dates -------------------------------------------------------------------


def test_default_range_is_the_last_30_days_of_data_and_long_ranges_go_weekly(store):
    add_day_interaction(store, day="2025-06-01")
    add_day_interaction(store, day="2025-12-31")
    refresh_insights(store)
    span = data_span(store)
    assert span == (date(2025, 6, 1), date(2025, 12, 31))
    view = view_filters(Filters(models=("m1",), stars_min=2), span[1])
    assert (view.date_from, view.date_to) == (date(2025, 12, 2), date(2025, 12, 31))
    assert view.models == ("m1",) and view.stars_min is None
    assert period_for(view) == "day"
    ending = view_filters(Filters(date_to=date(2025, 7, 30)), span[1])
    assert (ending.date_from, ending.date_to) == (date(2025, 7, 1), date(2025, 7, 30))
    starting = view_filters(Filters(date_from=date(2025, 12, 20)), span[1])
    assert (starting.date_from, starting.date_to) == (date(2025, 12, 20), date(2025, 12, 31))
    before = previous_period(view)
    assert (before.date_from, before.date_to) == (date(2025, 11, 2), date(2025, 12, 1))
    everything = view_filters(Filters(date_from=span[0]), span[1])
    assert period_for(everything) == "week"
    weekly = volume(store, everything)
    assert [d.date() for d in weekly["period"]] == [date(2025, 5, 26), date(2025, 12, 29)]
    assert all(d.weekday() == 0 for d in weekly["period"])


def test_an_empty_store_gives_empty_answers(store):
    refresh_insights(store)
    assert data_span(store) is None
    view = view_filters(Filters(), None)
    assert _values(headline(store, view))["interactions"] is None
    for name in ("ratings_over_time", "star_distribution", "timing_percentiles",
                 "failure_rate", "reask_rate", "volume", "top_tags"):
        assert INSIGHT_QUERIES[name](store, view).empty, name
