"""The Annotate page in AppTest: the next unrated answer, save and next, skip, progress, filters."""

from __future__ import annotations

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard.filters import Filters
from store import Store
from tests.conftest import ROOT
from tests.factories import review_store

# review_store's ids: 1 password, 2 charged, 3 parcel, 4 failed call, 5 policy, 6-8 the trip
# conversation. ana rated 1, 2 and 7; ben rated 1 and 2; chen rated 3.


@pytest.fixture
def queue(monkeypatch, db_path):
    def run(reviewer: str = "ana", params: dict | None = None) -> AppTest:
        store = Store(db_path)
        review_store(store)
        store.close()
        monkeypatch.setenv("LOUPE_DB", str(db_path))
        st.cache_data.clear()
        st.cache_resource.clear()
        at = AppTest.from_file(str(ROOT / "views" / "queue.py"), default_timeout=60)
        at.query_params.update(params or {})
        if reviewer:
            at.session_state["app.reviewer"] = reviewer
        at.run()
        assert not at.exception, at.exception
        return at

    return run


def _current(at: AppTest) -> int | None:
    """The id of the item on screen, from its '#N · time · model' caption."""
    for caption in at.caption:
        if caption.value.startswith("#"):
            return int(caption.value[1:].split(" ")[0])
    return None


def _progress(at: AppTest) -> str:
    return at.get("progress")[0].proto.text


def _button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def _rate(at: AppTest, stars: int | None = None, thumbs: int | None = None) -> AppTest:
    item = _current(at)
    if stars is not None:
        at.feedback(key=f"queue.{item}.ana.stars").set_value(stars - 1)
    if thumbs is not None:
        at.feedback(key=f"queue.{item}.ana.thumbs").set_value(1 if thumbs > 0 else 0)
    _button(at, "Save and next").click().run()
    assert not at.exception, at.exception
    return at


def _rating(db_path, item: int, reviewer: str):
    store = Store(db_path)
    try:
        return store.get_rating(item, reviewer)
    finally:
        store.close()


def test_without_a_name_the_page_asks_for_one(queue):
    at = queue(reviewer="")
    assert at.title[0].value == "Annotate"
    assert "Type your name in the sidebar" in at.info[0].value
    assert not at.button and not at.feedback


def test_the_next_item_is_the_oldest_answer_i_have_not_rated(queue):
    at = queue()
    assert _current(at) == 3
    assert [m.value for m in at.markdown][:2] == ["Where is my parcel?", "It is on its way."]
    assert _progress(at) == "3 done · 4 left"  # the failed call is not in the queue
    assert _button(at, "Save and next").proto.shortcut  # keyboard shortcuts are set
    assert _button(at, "Skip").proto.shortcut


def test_save_and_next_stores_the_rating_and_moves_on(queue, db_path):
    at = queue()
    at.multiselect(key="queue.3.ana.tags").select("incomplete")
    at.text_input(key="queue.3.ana.comment").input("No tracking link.")
    _rate(at, stars=2, thumbs=-1)
    rating = _rating(db_path, 3, "ana")
    assert (rating["stars"], rating["thumbs"], rating["tags"], rating["comment"]) == (
        2, -1, ["incomplete"], "No tracking link."
    )
    assert _current(at) == 5
    assert _progress(at) == "4 done · 3 left"


def test_saving_nothing_keeps_the_item(queue, db_path):
    at = queue()
    _button(at, "Save and next").click().run()
    assert _current(at) == 3
    assert _rating(db_path, 3, "ana") is None
    assert any("Pick stars or a thumb first" in t.value for t in at.toast)


def test_skipped_items_come_back_only_when_the_rest_is_done(queue, db_path):
    at = queue()
    _button(at, "Skip").click().run()  # 3
    assert _current(at) == 5
    _button(at, "Skip").click().run()  # 5
    assert _current(at) == 6
    _rate(at, stars=5)  # 6
    assert _current(at) == 8
    _rate(at, thumbs=1)  # 8
    assert _current(at) == 3  # only skipped ones are left: they come back, in order
    assert any("Only the 2 items you skipped are left" in i.value for i in at.info)
    assert _progress(at) == "5 done · 2 left"
    _rate(at, stars=3)
    assert _current(at) == 5
    _rate(at, stars=4)
    assert _current(at) is None
    assert "All done, ana" in at.success[0].value


def test_earlier_turns_of_the_conversation_are_collapsed_above(queue):
    at = queue(reviewer="ben")
    _button(at, "Skip").click().run()  # 3
    _button(at, "Skip").click().run()  # 5
    _button(at, "Skip").click().run()  # 6, first turn
    assert _current(at) == 7
    [expander] = [e for e in at.expander if e.label.startswith("Earlier in this conversation")]
    assert expander.label == "Earlier in this conversation (1 turn)"
    assert "Plan a weekend in Lisbon" in [m.value for m in expander.markdown]


def test_a_filter_limits_the_queue(queue):
    at = queue(reviewer="chen")
    at.segmented_control(key="queue.filter.thumbs").set_value("down").run()
    assert _current(at) == 2  # the only answer with a thumbs down
    assert _progress(at) == "0 done · 1 left"
    assert at.query_params["thumbs"] == "down"
    [popover] = [b for b in at.main.children.values() if b.type == "popover"]
    assert popover.proto.popover.label == "Queue: thumbs down"


def test_a_filter_from_the_url_limits_the_queue(queue):
    at = queue(reviewer="ben", params={"models": "llama3.2:3b"})
    assert _current(at) == 3
    assert _progress(at) == "1 done · 4 left"  # ben rated the password answer


def test_a_queue_of_chosen_ids_from_the_url(queue, db_path):
    at = queue(params={"ids": ["8", "5"]})
    assert _current(at) == 5
    assert _progress(at) == "0 done · 2 left"
    _rate(at, stars=4)
    assert _current(at) == 8
    _rate(at, stars=4)
    assert "All done" in at.success[0].value
    assert _rating(db_path, 3, "ana") is None  # nothing outside the chosen items was touched


def test_two_reviewers_walk_the_same_order(queue):
    at = queue(reviewer="dara")
    seen = []
    while _current(at) is not None and len(seen) < 10:
        seen.append(_current(at))
        _button(at, "Skip").click().run()
        if seen.count(seen[0]) > 1:
            break
    assert seen[:7] == [1, 2, 3, 5, 6, 7, 8]


def test_progress_leaves_out_questions_without_an_answer(store):
    ids = review_store(store)
    store.save_rating(ids["failed"], "ana", stars=1)  # e.g. imported with a rating, no answer
    assert store.queue_progress("ana") == (3, 4)
    assert store.queue_progress("ana", Filters(models=("qwen2.5:7b",))) == (1, 0)
    assert store.queue_progress("zoe", Filters(search="refund")) == (0, 2)
    assert store.queue_progress("ben", Filters(ids=(1, 3, 4, 999))) == (1, 1)
