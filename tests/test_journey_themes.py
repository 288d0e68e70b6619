"""A product manager's Failure themes journey in a real Chromium, on the demo data: themes with
readable names, saving the run, and the saved themes followed week by week; the database holds
exactly what the page showed."""

from __future__ import annotations

import re

import pytest

from dashboard.demo import load_demo
from dashboard.filters import Filters
from store import Store
from tests.browser import screenshot, streamlit_app, wait_for_run

pytestmark = pytest.mark.browser
playwright_api = pytest.importorskip("playwright.sync_api")


def _picker_titles(page) -> list[str]:
    """The theme picker's first options as the page lists them ('Name (size)'); the list draws
    only the options in view."""
    picker = page.get_by_role("combobox", name="Theme", exact=True)
    picker.scroll_into_view_if_needed()
    options = page.get_by_role("option")
    for _ in range(5):  # a click landing while the page still settles may not open the list
        picker.click()
        try:
            options.first.wait_for(timeout=5_000)
            break
        except playwright_api.TimeoutError:
            page.keyboard.press("Escape")
    titles = options.all_inner_texts()
    page.keyboard.press("Escape")
    return [t.strip() for t in titles]


def test_themes_are_named_saved_and_followed_week_by_week(browser, tmp_path):
    db_path = tmp_path / "demo.db"
    with Store(db_path) as store:
        load_demo(store)
        low_rated = len(store.themes.cluster_items(Filters()))

    with streamlit_app(db_path, env={"OLLAMA_HOST": "http://127.0.0.1:9"}, timeout=90) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        page.goto(f"{url}/clusters")
        page.get_by_role("heading", name="A theme up close").wait_for(timeout=120_000)
        wait_for_run(page, timeout=120_000)
        name = page.get_by_label("Your name", exact=True)
        name.fill("ana")
        name.press("Enter")
        wait_for_run(page, timeout=120_000)
        assert page.get_by_text("No run is saved yet").is_visible()
        summary = page.get_by_text(re.compile(r"low-rated items in \d+ themes")).first.inner_text()
        found = re.search(r"(\d+) low-rated items in (\d+) themes", summary.replace(",", ""))
        items, themes = int(found.group(1)), int(found.group(2))
        assert items == low_rated and themes >= 10
        screenshot(page, "journey_themes_first")

        # Readable names: phrases of real words from the questions, not word lists.
        titles = _picker_titles(page)
        names = [re.sub(r" \([\d,]+\)$", "", t) for t in titles if not t.startswith("other ")]
        assert len(names) >= 8 and len(set(names)) == len(names)
        for shown in names:
            assert "·" not in shown or shown.count("·") == 1, shown
            assert shown[0].isupper() and not re.search(r"\b(doesn|didn|does)\b", shown.lower()), shown

        # Save the run under a name.
        page.get_by_label("Run name").fill("Week 9")
        page.get_by_role("button", name=f"Save these {themes} themes").click()
        wait_for_run(page, timeout=120_000)
        page.get_by_text("Saved run #1 “Week 9”").wait_for(timeout=60_000)
        with Store(db_path) as store:
            [run] = store.themes.theme_runs()
            saved = store.themes.saved_themes(run["id"])
            members = store.themes.saved_theme_members(run["id"])
        assert (run["name"], run["created_by"], run["themes"], run["n_items"]) == ("Week 9", "ana", themes, items)
        assert [t["name"] for t in saved][: len(names)] == names  # what the page listed, in its order
        assert sum(t["size"] for t in saved) == len(members) <= items

        # The saved run is followed at the top: a weekly chart and a table per saved theme.
        heading = page.get_by_role("heading", name="Saved themes, week by week")
        heading.scroll_into_view_if_needed()
        chosen = page.get_by_role("combobox", name="Saved run", exact=True).input_value()
        assert chosen == f"Week 9 · {run['created_at'][:10]} · {themes} themes of {items:,} items"
        chart = page.get_by_test_id("stPlotlyChart").first
        chart.wait_for()
        legend = chart.locator(".legendtext").evaluate_all("all => all.map(e => e.textContent)")
        # The six saved themes with most items lately are drawn, by the names they were saved with.
        assert len(legend) == 6 and set(legend) <= {t["name"] for t in saved}
        screenshot(page, "journey_themes_saved")
        page.get_by_role("heading", name="Themes", exact=True).scroll_into_view_if_needed()
        screenshot(page, "journey_themes_table")
        page.get_by_role("heading", name="A theme up close").scroll_into_view_if_needed()
        screenshot(page, "journey_themes_detail")
        page.close()
