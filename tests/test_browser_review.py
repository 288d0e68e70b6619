"""The Review page in a real Chromium: filter, search, open an item, re-rate it, share the URL."""

from __future__ import annotations

import pytest

from store import Store
from tests.browser import screenshot, streamlit_app, wait_for_run
from tests.factories import review_store

pytestmark = pytest.mark.browser
playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect


def _thumbs_down(page):
    return page.get_by_test_id("stButtonGroup").get_by_role("radio", name="Down")


def _click_first_row(page) -> None:
    """Tick the selection box of the table's first row (the grid draws on a canvas)."""
    grid = page.get_by_test_id("stDataFrame").first
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 16, box["y"] + 35 + 18)  # header row, then the first row


def test_filter_search_open_rate_and_share(browser, tmp_path):
    db_path = tmp_path / "loupe.db"
    with Store(db_path) as store:
        ids = review_store(store)

    with streamlit_app(db_path) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        page.goto(url)
        name = page.get_by_label("Your name", exact=True)
        name.fill("ana")
        name.press("Enter")
        wait_for_run(page, timeout=20_000)
        page.get_by_role("link", name="Review").click()
        page.get_by_text("8 matches").wait_for()

        # filter: thumbs down only
        _thumbs_down(page).click()
        page.get_by_text("1 match ·").wait_for()
        # search: a word of the question
        search = page.get_by_role("textbox", name="Search", exact=True)
        search.fill("parcel")
        search.press("Enter")
        page.get_by_text("Nothing matches these filters.").wait_for()
        search.fill("charged")
        search.press("Enter")
        page.get_by_text("1 match ·").wait_for()
        wait_for_run(page, timeout=20_000)

        # open the item and re-rate it
        _click_first_row(page)
        page.get_by_text(f"Interaction #{ids['charged']}").wait_for()
        page.get_by_test_id("stChatMessage").get_by_text("Why was I charged twice?").wait_for()
        page.get_by_role("radio", name="5 out of 5 stars").click()
        page.get_by_text("Rated by ana").wait_for()
        wait_for_run(page, timeout=20_000)
        screenshot(page, "review_item_rated")

        with Store(db_path) as check:
            rating = check.review.get_rating(ids["charged"], "ana")
        assert rating["stars"] == 5 and rating["tags"] == ["wrong"]  # the rest of her rating stays

        shared = page.url
        assert "thumbs=down" in shared and "search=charged" in shared
        assert f"item={ids['charged']}" in shared

        # someone else opens the shared link: same filters, same open item
        other = browser.new_page(viewport={"width": 1400, "height": 1800})
        other.goto(shared)
        other.get_by_text(f"Interaction #{ids['charged']}").wait_for()
        other.get_by_text("1 match ·").wait_for()
        expect(other.get_by_role("textbox", name="Search", exact=True)).to_have_value("charged")
        other.get_by_test_id("stChatMessage").get_by_text("Why was I charged twice?").wait_for()
        expect(_thumbs_down(other)).to_have_attribute("aria-checked", "true")
        wait_for_run(other, timeout=20_000)
        screenshot(other, "review_shared_link")
        other.close()
        page.close()
