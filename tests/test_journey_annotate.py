"""An annotator's day in a real Chromium: rating in Annotate by mouse, by keyboard and by both
(the stored row must equal what the screen showed each time), rating in Review, and a product
manager reading the Review table with each reading of the stars filter."""

from __future__ import annotations

import re
import time

import pytest

from store import Store
from tests.browser import screenshot, streamlit_app, wait_for_run
from tests.factories import add_interaction, many_interactions, review_store

pytestmark = pytest.mark.browser
playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

REVIEWER = "zoe"


@pytest.fixture(scope="module")
def annotate_app(tmp_path_factory):
    """The review data set plus ten plain answers; nobody named zoe has rated anything."""
    db_path = tmp_path_factory.mktemp("annotate") / "loupe.db"
    with Store(db_path) as store:
        review_store(store)
        many_interactions(store, 10)
    with streamlit_app(db_path) as url:
        yield url, db_path


# item -> every reviewer's stars; the means are 3.0, 3.7, 2.0, 1.5, 4.5 and 2.3
KNOWN = {
    "split": {"ana": 1, "ben": 5},
    "good": {"ana": 3, "ben": 4, "chen": 4},
    "two": {"ana": 2},
    "low": {"ana": 1, "ben": 2},
    "high": {"ben": 4, "chen": 5},
    "near": {"ana": 2, "ben": 2, "chen": 3},
}


@pytest.fixture(scope="module")
def review_app(tmp_path_factory):
    db_path = tmp_path_factory.mktemp("review") / "loupe.db"
    ids = {}
    with Store(db_path) as store:
        for day, (name, ratings) in enumerate(KNOWN.items(), start=1):
            ids[name] = add_interaction(store, f"Question about {name}",
                                        created_at=f"2026-02-{day:02d}T09:00:00.000Z")
            for reviewer, stars in ratings.items():
                store.review.save_rating(ids[name], reviewer, stars=stars)
    with streamlit_app(db_path) as url:
        yield url, db_path, ids


# -- helpers ---------------------------------------------------------------------------------


def _open(browser, url: str, path: str, *, height: int = 1100):
    page = browser.new_page(viewport={"width": 1400, "height": height})
    page.goto(f"{url}/{path}")
    name = page.get_by_label("Your name", exact=True)
    name.fill(REVIEWER)
    name.press("Enter")
    wait_for_run(page, timeout=20_000)
    return page


def _rating(db_path, item: int) -> tuple | None:
    with Store(db_path) as store:
        rating = store.review.get_rating(item, REVIEWER)
    if rating is None:
        return None
    return rating["stars"], rating["thumbs"], rating["comment"]


def _eventually(read, expected, seconds: float = 30):
    """What ``read()`` gives once it equals ``expected``, or at the deadline (the page and the
    server work asynchronously: this waits for them, it measures nothing)."""
    deadline = time.monotonic() + seconds
    value = read()
    while value != expected and time.monotonic() < deadline:
        time.sleep(0.1)
        value = read()
    return value


def _stored(db_path, item: int, expected: tuple | None) -> tuple | None:
    return _eventually(lambda: _rating(db_path, item), expected)


def _rating_count(db_path) -> int:
    with Store(db_path) as store:
        return int(store.db.execute(
            "SELECT COUNT(*) FROM ratings WHERE reviewer = ?", [REVIEWER]).fetchone()[0])


def _shown(page) -> tuple:
    """(stars, thumbs, comment) as the screen shows them now."""
    active = page.locator("[data-testid=stFeedbackButtonActive]").evaluate_all(
        "els => els.map(e => e.getAttribute('aria-label'))")
    stars = sum(1 for label in active if label.endswith("out of 5 stars")) or None
    thumbs = 1 if "Thumbs up" in active else -1 if "Thumbs down" in active else None
    comment = page.get_by_role("textbox", name="Comment").input_value()
    return stars, thumbs, comment or None


def _shows(page, expected: tuple) -> tuple:
    return _eventually(lambda: _shown(page), expected)


def _item(page) -> int:
    """The id of the answer on screen, from its '#N · time · model' caption."""
    caption = page.get_by_text(re.compile(r"^#\d+ · ")).first.inner_text()
    return int(caption[1:].split(" ")[0])


def _star(page, n: int):
    return page.get_by_role("radio", name=f"{n} out of 5 stars")


def _thumb(page, which: str):
    return page.get_by_role("radio", name=f"Thumbs {which}")


def _press(page, key: str) -> None:
    page.keyboard.press(key)
    wait_for_run(page, timeout=20_000)


def _toast(page, text: str):
    """The toast saying ``text`` (expect waits for it)."""
    return page.get_by_test_id("stToast").filter(has_text=text)


def _focused(page) -> str:
    return page.evaluate("document.activeElement.getAttribute('aria-label') || "
                         "document.activeElement.tagName")


# -- Annotate ---------------------------------------------------------------------------------


def _moved_on(page, item: int) -> int:
    """The next item, once the page has left ``item``."""
    expect(page.get_by_text(re.compile(rf"^#{item} · "))).to_have_count(0)
    return _item(page)


def test_annotate_by_mouse_by_keyboard_and_both(browser, annotate_app):
    url, db_path = annotate_app
    page = _open(browser, url, "queue")
    expect(page.locator("p", has_text="Keys:")).to_contain_text("1–5 stars · U thumbs up")

    # mouse only
    item = _item(page)
    _star(page, 2).click()
    _thumb(page, "down").click()
    shown = _shows(page, (2, -1, None))
    assert shown == (2, -1, None)
    wait_for_run(page, timeout=20_000)
    page.get_by_role("button", name=re.compile("Save and next")).click()
    expect(_toast(page, f"Saved #{item}: ★★☆☆☆ 2 stars · thumbs down")).to_be_visible()
    assert _stored(db_path, item, shown) == shown
    item = _moved_on(page, item)

    # mouse, then the save key with the focus left on the thumb just clicked
    _star(page, 2).click()
    _thumb(page, "down").click()
    shown = _shows(page, (2, -1, None))
    assert shown == (2, -1, None) and _focused(page) == "Thumbs down"
    wait_for_run(page, timeout=20_000)
    _press(page, "s")
    assert _stored(db_path, item, shown) == shown  # it used to store the thumb unpicked
    item = _moved_on(page, item)

    # keyboard on the stars themselves: arrows move, Space picks, then S saves what is shown
    _star(page, 1).focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    _press(page, "Space")
    shown = _shows(page, (3, None, None))
    assert shown == (3, None, None) and _focused(page) == "3 out of 5 stars"
    _press(page, "s")
    assert _stored(db_path, item, shown) == shown  # it used to clear the stars
    screenshot(page, "journey_annotate_saved_by_key")
    item = _moved_on(page, item)

    # the focus on the 1-star button, nothing picked: S saves nothing (it used to save 1 star)
    _star(page, 1).focus()
    _press(page, "s")
    expect(_toast(page, "Pick stars or a thumb first")).to_be_visible()
    assert _rating(db_path, item) is None and _item(page) == item
    assert _shown(page) == (None, None, None)
    _press(page, "4")  # the focus still on the first star
    assert _shows(page, (4, None, None)) == (4, None, None)
    _press(page, "s")
    assert _stored(db_path, item, (4, None, None)) == (4, None, None)
    item = _moved_on(page, item)

    # keyboard only: digits and letters
    _press(page, "3")
    _press(page, "u")
    shown = _shows(page, (3, 1, None))
    assert shown == (3, 1, None)
    _press(page, "s")
    assert _stored(db_path, item, shown) == shown
    item = _moved_on(page, item)

    # typing in the comment never rates nor saves; once out of the box the keys work again
    comment = page.get_by_role("textbox", name="Comment")
    comment.click()
    page.keyboard.type("Too short")
    page.keyboard.press("5")
    page.keyboard.press("s")
    wait_for_run(page, timeout=20_000)
    assert comment.input_value() == "Too short5s"
    assert _shown(page) == (None, None, "Too short5s")
    assert _rating(db_path, item) is None and _item(page) == item
    _press(page, "Tab")  # leaves the box (its text is taken)
    _press(page, "5")
    shown = _shows(page, (5, None, "Too short5s"))
    assert shown == (5, None, "Too short5s")
    screenshot(page, "journey_annotate_comment_then_keys")
    _press(page, "s")
    assert _stored(db_path, item, shown) == shown
    item = _moved_on(page, item)
    wait_for_run(page, timeout=20_000)  # the new item is drawn whole (its own keys included)

    # a key pressed right before S counts, though the page had no time to show it;
    # S pressed twice saves once
    before = _rating_count(db_path)
    page.keyboard.press("2")
    page.keyboard.press("s")
    page.keyboard.press("s")
    assert _stored(db_path, item, (2, None, None)) == (2, None, None)
    following = _moved_on(page, item)
    wait_for_run(page, timeout=20_000)
    assert _rating_count(db_path) == before + 1
    assert _rating(db_path, following) is None  # the next answer was not touched
    assert _shown(page) == (None, None, None)
    item = following

    # K skips: nothing is stored
    _press(page, "k")
    _moved_on(page, item)
    assert _rating(db_path, item) is None
    page.close()


def test_review_rating_widget_by_keyboard_and_by_mouse(browser, annotate_app):
    url, db_path = annotate_app
    with Store(db_path) as store:
        item = store.ingest.max_interaction_id()  # the last plain answer: far from the queue's walk
    assert _rating(db_path, item) is None
    page = _open(browser, url, f"review?item={item}")
    page.get_by_text(f"Interaction #{item}").wait_for()

    # keyboard only: focus the stars (as Tab does), arrows, Space: saved at once
    _star(page, 1).focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    _press(page, "Space")
    expect(_toast(page, "Rating saved: ★★★★☆ 4 stars")).to_be_visible()
    assert _stored(db_path, item, (4, None, None)) == (4, None, None)
    _thumb(page, "up").focus()
    page.keyboard.press("ArrowRight")
    _press(page, "Space")
    assert _stored(db_path, item, (4, -1, None)) == (4, -1, None)

    # mouse
    _star(page, 2).click()
    assert _stored(db_path, item, (2, -1, None)) == (2, -1, None)
    expect(page.locator("[data-testid=stFeedbackButtonActive]")).to_have_count(3)  # ★★ and 👎
    active = page.locator("[data-testid=stFeedbackButtonActive]").evaluate_all(
        "els => els.map(e => e.getAttribute('aria-label'))")
    assert sorted(active) == ["1 out of 5 stars", "2 out of 5 stars", "Thumbs down"]
    screenshot(page, "journey_review_rated")
    page.close()


# -- Review: the stars filter and its column -----------------------------------------------------


def _table(page) -> dict[int, str]:
    """Rows of the Review table on screen: id -> the text of the Stars cell."""
    grid = page.get_by_test_id("stDataFrame").first  # its hidden table, kept for screen readers
    expect(grid.locator("[role=columnheader]").filter(has_text="Stars")).to_have_count(1)
    headers = grid.locator("[role=columnheader]").all_inner_texts()
    stars_at, id_at = headers.index("Stars"), headers.index("#")
    rows = {}
    for row in grid.locator("[role=row]").all()[1:]:
        cells = row.locator("[role=gridcell]").all_inner_texts()
        if cells:
            rows[int(cells[id_at])] = cells[stars_at]
    return rows


def _matches(page) -> int:
    text = page.get_by_text(re.compile(r"^\d+ match")).first.inner_text()
    return int(text.split(" ")[0])


def _slider_thumbs(page):
    return page.get_by_role("slider")


def _mean(cell: str) -> float:
    return float(cell.split(" ")[0])


def _span(cell: str) -> tuple[int, int]:
    found = re.search(r"\((\d)–(\d)\)", cell)
    mean = _mean(cell)
    return (int(found[1]), int(found[2])) if found else (round(mean), round(mean))


def test_stars_filter_modes_match_the_column_and_keyboard_steps_follow_in_the_url(
    browser, review_app
):
    url, _, ids = review_app
    page = _open(browser, url, "review", height=800)
    expect(page.get_by_text("6 matches")).to_be_visible()

    # the slider by keyboard: every step goes into the URL and the table
    high = _slider_thumbs(page).nth(1)
    high.focus()
    for expected in (4, 3, 2):
        _press(page, "ArrowLeft")
        expect(page).to_have_url(re.compile(f"stars_max={expected}$"))
        expect(high).to_have_value(str(expected))
    # quick steps, faster than the page runs: the last one wins everywhere
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    wait_for_run(page, timeout=20_000)
    time.sleep(1)
    wait_for_run(page, timeout=20_000)
    expect(high).to_have_value("1")
    expect(page).to_have_url(re.compile("stars_max=1$"))
    expect(page.get_by_text("2 matches ·")).to_be_visible()  # split and low hold a 1
    _press(page, "ArrowRight")
    expect(high).to_have_value("2")
    expect(page).to_have_url(re.compile("stars_max=2$"))
    expect(page.get_by_text("4 matches ·")).to_be_visible()

    # any rating (the default): someone gave 1-2 stars, and the range in the cell shows it
    rows = _table(page)
    assert set(rows) == {ids[n] for n in ("split", "two", "low", "near")}
    assert _matches(page) == 4
    assert all(_span(cell)[0] <= 2 for cell in rows.values())
    assert rows[ids["split"]] == "3.0 ★ (1–5)"
    screenshot(page, "journey_review_stars_any")

    for mode, label, names in (("every", "Every rating", {"two", "low"}),
                               ("mean", "The mean", {"two", "low"})):
        page.get_by_test_id("stSelectbox").filter(has_text="Stars of").click()
        page.get_by_role("option", name=label).click()
        expect(page).to_have_url(re.compile(f"stars_mode={mode}"))
        expect(page.get_by_text(f"{len(names)} matches ·")).to_be_visible()
        wait_for_run(page, timeout=20_000)
        rows = _table(page)
        assert set(rows) == {ids[n] for n in names} and _matches(page) == len(names)
        for cell in rows.values():
            if mode == "every":
                assert _span(cell)[1] <= 2, cell
            else:
                assert 1.0 <= _mean(cell) <= 2.0, cell
    screenshot(page, "journey_review_stars_mean")

    # the mean of 3-3 lists the split item (3.0) and not 'near' (2.3)
    low = _slider_thumbs(page).nth(0)
    low.focus()
    _press(page, "ArrowRight")
    expect(page).to_have_url(re.compile("stars_min=2&stars_max=2"))
    high.focus()
    _press(page, "ArrowRight")
    expect(page).to_have_url(re.compile("stars_min=2&stars_max=3"))
    low.focus()
    _press(page, "ArrowRight")
    expect(page).to_have_url(re.compile("stars_min=3&stars_max=3"))
    expect(page.get_by_text("1 match ·")).to_be_visible()
    wait_for_run(page, timeout=20_000)
    assert set(_table(page)) == {ids["split"]}

    # a colleague opens the link: same reading, same rows
    other = browser.new_page(viewport={"width": 1400, "height": 800})
    other.goto(page.url)
    expect(other.get_by_text("1 match")).to_be_visible()
    wait_for_run(other, timeout=20_000)
    assert set(_table(other)) == {ids["split"]}
    other.close()
    page.close()


def test_opening_an_item_brings_it_into_view(browser, review_app):
    url, _, ids = review_app
    page = _open(browser, url, "review", height=700)
    expect(page.get_by_text("6 matches")).to_be_visible()
    grid = page.get_by_test_id("stDataFrame").first
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 16, box["y"] + 35 + 18)  # the first row's selection box
    heading = page.get_by_text(re.compile(r"^Interaction #\d+$"))
    heading.wait_for()
    expect(heading).to_be_in_viewport()
    expect(page.get_by_text("Your rating")).to_be_in_viewport()
    screenshot(page, "journey_review_item_in_view")
    page.close()
