"""An admin imports feedback from the tools the team runs, in a real Chromium (local single-user
mode): Open WebUI's feedback export and a Hugging Face preference file written by `datasets`
land through the upload box with the counts the page shows; a bad file is refused line by line
as FILE:LINE and nothing lands. After each step the database holds exactly what was shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from store import Store
from tests.browser import screenshot, streamlit_app, wait_for_run
from tests.paths import ROOT

pytestmark = pytest.mark.browser
playwright_api = pytest.importorskip("playwright.sync_api")
datasets = pytest.importorskip("datasets")

OPEN_WEBUI = ROOT / "tests" / "data" / "openwebui_feedback_export.json"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    db_path = tmp_path_factory.mktemp("journey-import") / "loupe.db"
    Store(db_path).close()
    with streamlit_app(db_path) as url:
        yield url, db_path


def _open_import(browser, url: str):
    page = browser.new_page(viewport={"width": 1400, "height": 1300})
    page.goto(f"{url}/review")
    page.get_by_text("Import feedback").first.wait_for(timeout=60_000)
    wait_for_run(page)
    page.get_by_text("Import feedback").first.click()
    wait_for_run(page)
    return page


def _upload(page, path: Path) -> None:
    button = page.get_by_role("button", name="Import", exact=True)
    remove = page.get_by_test_id("stFileUploaderDeleteBtn")
    if remove.count():  # take the previous file away first
        remove.first.locator("button").click()
        playwright_api.expect(button).to_be_disabled(timeout=30_000)
        wait_for_run(page)
    page.locator("input[type=file]").set_input_files(str(path))
    wait_for_run(page)
    playwright_api.expect(button).to_be_enabled(timeout=30_000)  # the file is picked
    button.click()
    wait_for_run(page)


def _counts(db_path: Path) -> dict:
    with Store(db_path) as store:
        return {table: store.scalar(f"SELECT COUNT(*) FROM {table}")
                for table in ("interactions", "ratings", "comparisons", "conversations")}


def test_tool_exports_land_and_a_bad_file_is_refused_by_line(browser, app, tmp_path):
    url, db_path = app
    page = _open_import(browser, url)
    screenshot(page, "journey_import_box")

    # 1. Open WebUI's feedback export
    _upload(page, OPEN_WEBUI)
    success = page.get_by_test_id("stAlertContentSuccess")
    success.wait_for(timeout=60_000)
    assert success.inner_text().splitlines()[-1] == (  # (after the icon's name)
        "openwebui_feedback_export.json: 3 imported, 0 already present.")
    caption = page.get_by_text("Read as Open WebUI feedback export.")
    assert caption.inner_text() == (
        "Read as Open WebUI feedback export. New rows: 5 interactions, 2 ratings,"
        " 2 conversations, 1 vote, 2 new variants.")
    screenshot(page, "journey_import_openwebui")
    # 3 rated turns and 1 unrated earlier turn, plus the arena vote's two answers
    assert _counts(db_path) == {"interactions": 5, "ratings": 2, "comparisons": 1,
                                "conversations": 2}
    with Store(db_path) as store:
        thumbs = sorted(r["thumbs"] for r in store.rows("SELECT thumbs FROM ratings"))
    assert thumbs == [-1, 1]

    # 2. a Hugging Face preference file, written by the datasets library
    preference = tmp_path / "preference.jsonl"
    datasets.Dataset.from_list([
        {"prompt": [{"role": "user", "content": "What color is the sky?"}],
         "chosen": [{"role": "assistant", "content": "It is blue."}],
         "rejected": [{"role": "assistant", "content": "It is green."}]},
        {"prompt": [{"role": "user", "content": "Where is my parcel?"}],
         "chosen": [{"role": "assistant", "content": "It ships today."}],
         "rejected": [{"role": "assistant", "content": "No idea."}]},
    ]).to_json(str(preference))
    _upload(page, preference)
    page.get_by_text("preference.jsonl: 2 votes imported, 0 already present.").wait_for(
        timeout=60_000)
    assert page.get_by_text("Read as Hugging Face / TRL dataset.").count() == 1
    screenshot(page, "journey_import_preference")
    assert _counts(db_path) == {"interactions": 9, "ratings": 2, "comparisons": 3,
                                "conversations": 2}
    with Store(db_path) as store:
        votes = store.rows("SELECT question, winner FROM comparisons ORDER BY id")
    assert votes[1:] == [{"question": "What color is the sky?", "winner": "a"},
                         {"question": "Where is my parcel?", "winner": "a"}]

    # 3. a bad file: the export with a feedback whose answer is missing from the snapshot
    feedbacks = json.loads(OPEN_WEBUI.read_text())
    feedbacks[0]["meta"]["message_id"] = "gone"
    for feedback in feedbacks:
        feedback["id"] += "-2"
    bad = tmp_path / "feedback-history-export-bad.json"
    bad.write_text(json.dumps(feedbacks, indent=1), encoding="utf-8")
    before = _counts(db_path)
    _upload(page, bad)
    error = page.get_by_test_id("stAlertContentError")
    error.wait_for(timeout=60_000)
    assert error.inner_text().splitlines()[-1].startswith(
        "Nothing was imported: 1 of 3 lines was refused.")
    listed = page.get_by_test_id("stExpander").get_by_test_id("stCode")
    listed.wait_for()
    screenshot(page, "journey_import_refused")
    assert listed.inner_text().strip() == (
        "feedback-history-export-bad.json:2: item 1: the snapshot does not hold the rated message"
        " 'gone'")
    assert _counts(db_path) == before
    page.close()
