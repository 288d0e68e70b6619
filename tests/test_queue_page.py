"""The Annotate page in AppTest: the next unrated answer, save and next, skip, progress, filters."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.filters import Filters
from store import Store
from tests.factories import review_store
from tests.paths import ROOT
from tests.shown import shown

# review_store's ids: 1 password, 2 charged, 3 parcel, 4 failed call, 5 policy, 6-8 the trip
# conversation. ana rated 1, 2 and 7; ben rated 1 and 2; chen rated 3.


@pytest.fixture
def queue(open_page, db_path):
    def run(reviewer: str = "ana", params: dict | None = None) -> AppTest:
        with Store(db_path) as store:
            review_store(store)
        return open_page(script=ROOT / "views" / "queue.py", params=params, reviewer=reviewer)

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
    with Store(db_path) as store:
        return store.review.get_rating(item, reviewer)


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
    assert _button(at, "Save and next").proto.shortcut == "s"  # keyboard shortcuts are set
    assert _button(at, "Skip").proto.shortcut == "k"


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
    store.review.save_rating(ids["failed"], "ana", stars=1)  # e.g. imported with a rating, no answer
    assert store.review.queue_progress("ana") == (3, 4)
    assert store.review.queue_progress("ana", Filters(models=("qwen2.5:7b",))) == (1, 0)
    assert store.review.queue_progress("zoe", Filters(search="refund")) == (0, 2)
    assert store.review.queue_progress("ben", Filters(ids=(1, 3, 4, 999))) == (1, 1)


def _key(at: AppTest, key: str):
    """The hidden button that a rating key 'clicks'."""
    return at.button(key=f"queue.{_current(at)}.key.{key.upper()}")


def test_every_shortcut_is_a_plain_key_that_cannot_click_a_focused_button(queue):
    """Enter and Space activate the button that has the focus (a star, a thumb): a shortcut
    using them saved a rating other than the one shown. Modifiers are not needed either."""
    at = queue()
    shortcuts = {b.proto.shortcut for b in at.button if b.proto.shortcut}
    assert shortcuts == {"1", "2", "3", "4", "5", "u", "d", "0", "s", "k"}
    legend = " ".join(m.value for m in at.markdown)
    assert "**1**–**5** stars" in legend and "**S** save and next" in legend
    assert "**U** thumbs up" in legend and "**D** thumbs down" in legend and "**K** skip" in legend


def test_rating_keys_set_what_is_shown_and_save_saves_it(queue, db_path):
    at = queue()
    _key(at, "4").click().run()
    assert at.feedback(key="queue.3.ana.stars").value == 3  # four stars shown
    _key(at, "d").click().run()
    assert at.feedback(key="queue.3.ana.thumbs").value == 0  # thumbs down shown
    _key(at, "2").click().run()
    assert at.feedback(key="queue.3.ana.stars").value == 1
    _button(at, "Save and next").click().run()
    rating = _rating(db_path, 3, "ana")
    assert (rating["stars"], rating["thumbs"]) == (2, -1)
    assert [t.value for t in at.toast] == ["Saved #3: ★★☆☆☆ 2 stars · thumbs down"]
    assert _current(at) == 5


def test_zero_clears_the_stars_and_the_thumb(queue, db_path):
    at = queue()
    _key(at, "5").click().run()
    _key(at, "u").click().run()
    _key(at, "0").click().run()
    assert at.feedback(key="queue.3.ana.stars").value is None
    assert at.feedback(key="queue.3.ana.thumbs").value is None
    _button(at, "Save and next").click().run()
    assert _rating(db_path, 3, "ana") is None and _current(at) == 3


def test_a_key_and_the_save_in_the_same_run_save_the_key(queue, db_path):
    """A key pressed just before S can reach the server in the same run as the save."""
    at = queue()
    _key(at, "4").click()
    _button(at, "Save and next").click().run()
    assert _rating(db_path, 3, "ana")["stars"] == 4
    assert _current(at) == 5


def test_the_toast_says_what_was_saved(queue):
    at = queue()
    at.multiselect(key="queue.3.ana.tags").select("incomplete")
    at.text_input(key="queue.3.ana.comment").input("No tracking link.")
    _rate(at, stars=1, thumbs=1)
    assert [t.value for t in at.toast] == [
        "Saved #3: ★☆☆☆☆ 1 star · thumbs up · 1 tag · a comment"]


def test_the_queue_filter_reads_the_stars_as_chosen(queue):
    at = queue(reviewer="dara", params={"stars_max": "2", "stars_mode": "mean"})
    [popover] = [b for b in at.main.children.values() if b.type == "popover"]
    assert shown(popover.proto.popover.label) == "Queue: mean stars 1-2"
    assert _current(at) == 2  # charged, 1.5 stars; password (4.5) is not in the queue
    assert _progress(at) == "0 done · 1 left"


def test_a_key_the_browser_has_not_drawn_yet_is_not_undone_by_its_older_value(queue, db_path):
    """'4' then 'S' typed quickly: the save reaches the server before the browser has drawn
    the four stars, so it still sends the stars it had (none). The key came first: it counts."""
    at = queue()
    drawn = at.text_input(key="queue.seen").value  # the last run the browser received
    _key(at, "4").click().run()
    at.feedback(key="queue.3.ana.stars").set_value(None)  # the browser's older value
    at.text_input(key="queue.seen").input(drawn)  # it had not received the run with 4 stars
    _button(at, "Save and next").click().run()
    assert _rating(db_path, 3, "ana")["stars"] == 4
    assert [t.value for t in at.toast] == ["Saved #3: ★★★★☆ 4 stars"]


def test_a_key_counts_though_the_save_reaches_the_server_while_its_callback_runs(
        queue, db_path, monkeypatch):
    """'4' then 'S' typed quickly: the save's request arrives while the key's callback is
    running. Streamlit stopped the callback at its first read of the session state, so the
    four stars were never set and the save stored nothing."""
    from streamlit.runtime.scriptrunner import RerunData, get_script_run_ctx

    import dashboard.ui.review as review_ui

    at = queue()
    shown_before = review_ui.queue_shown
    arrived = []

    def the_save_arrives(interaction_id: int) -> bool:
        if not arrived:  # the browser's next request reaches the server right now
            ctx = get_script_run_ctx()
            arrived.append(ctx.script_requests.request_rerun(RerunData(
                query_string=ctx.query_string, page_script_hash=ctx.page_script_hash)))
        return shown_before(interaction_id)

    monkeypatch.setattr(review_ui, "queue_shown", the_save_arrives)
    _key(at, "4").click().run()
    assert arrived == [True]
    assert at.feedback(key="queue.3.ana.stars").value == 3  # four stars shown
    _button(at, "Save and next").click().run()
    assert _rating(db_path, 3, "ana")["stars"] == 4
    assert [t.value for t in at.toast] == ["Saved #3: ★★★★☆ 4 stars"]


def test_once_the_browser_has_drawn_a_key_the_mouse_decides(queue, db_path):
    at = queue()
    _key(at, "4").click().run()  # the browser receives this run: four stars on screen
    at.feedback(key="queue.3.ana.stars").set_value(None)  # then the reviewer unpicks them
    _button(at, "Save and next").click().run()
    assert _rating(db_path, 3, "ana") is None and _current(at) == 3
