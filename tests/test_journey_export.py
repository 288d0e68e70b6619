"""An admin's export journey in a real Chromium (local single-user mode, no accounts), on the
demo data: every format from its default settings is built, downloaded and checked against
what the page announced and what the database recorded; a changed format takes the old file
off the screen; a file with one KTO label waits for confirmation with the reason."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from dashboard.demo import load_demo
from dashboard.exporting import FORMATS
from store import Store
from tests.browser import screenshot, streamlit_app, wait_for_run

pytestmark = pytest.mark.browser
playwright_api = pytest.importorskip("playwright.sync_api")
datasets = pytest.importorskip("datasets")

COLUMNS = {"sft": ["messages"], "alpaca": ["input", "instruction", "output"],
           "input-output": ["input", "output"], "dpo": ["chosen", "prompt", "rejected"],
           "kto": ["completion", "label", "prompt"],
           "openai-preference": ["input", "non_preferred_output", "preferred_output"]}


def _open_export(browser, url: str):
    page = browser.new_page(viewport={"width": 1400, "height": 1600}, accept_downloads=True)
    page.goto(f"{url}/export")
    page.get_by_role("heading", name="Preview").wait_for(timeout=60_000)
    wait_for_run(page)
    name = page.get_by_label("Your name", exact=True)
    name.fill("ana")
    name.press("Enter")
    wait_for_run(page)
    return page


def _choose_format(page, fmt: str) -> None:
    page.get_by_test_id("stButtonGroup").first.get_by_role("radio", name=fmt, exact=True).click()
    wait_for_run(page)


def _download_buttons(page):
    return page.get_by_test_id("stDownloadButton").filter(has_text="Download")


def _build(page) -> None:
    page.get_by_role("button", name="Build the file").click()
    wait_for_run(page)


def _announced_rows(page) -> int:
    metric = page.get_by_test_id("stMetric").filter(has_text="Rows written")
    return int(metric.get_by_test_id("stMetricValue").inner_text().replace(",", ""))


def _download(page, tmp_path: Path, fmt: str) -> Path:
    with page.expect_download() as info:
        _download_buttons(page).get_by_role("button").click()
    target = tmp_path / f"downloaded-{fmt}.jsonl"
    info.value.save_as(target)
    return target


def _latest_export(db_path: Path) -> dict:
    with Store(db_path) as store:
        return store.exports.list_exports()[0]


def _export_count(db_path: Path) -> int:
    with Store(db_path) as store:
        return len(store.exports.list_exports())


def test_every_format_from_default_settings_downloads_as_documented(browser, tmp_path):
    db_path = tmp_path / "demo.db"
    with Store(db_path) as store:
        load_demo(store)

    with streamlit_app(db_path) as url:
        page = _open_export(browser, url)
        screenshot(page, "journey_export_options")
        for number, fmt in enumerate(FORMATS):
            _choose_format(page, fmt)
            # the file built for the previous format left the screen with it
            playwright_api.expect(_download_buttons(page)).to_have_count(0, timeout=30_000)
            page.get_by_role("heading", name="Preview").scroll_into_view_if_needed()
            screenshot(page, f"journey_export_{fmt}_preview")
            _build(page)
            _download_buttons(page).wait_for()
            announced = _announced_rows(page)
            downloaded = _download(page, tmp_path, fmt)
            _download_buttons(page).scroll_into_view_if_needed()
            screenshot(page, f"journey_export_{fmt}_built")

            rows = [json.loads(line) for line in downloaded.read_text(encoding="utf-8").splitlines()]
            assert len(rows) == announced > 0
            # the database recorded exactly the file the page handed over
            recorded = _latest_export(db_path)
            assert _export_count(db_path) == number + 1
            assert (recorded["format"], recorded["rows"], recorded["who"]) == (fmt, announced, "ana")
            assert recorded["sha256"] == hashlib.sha256(downloaded.read_bytes()).hexdigest()
            assert Path(recorded["path"]).read_bytes() == downloaded.read_bytes()
            # a trainer's loader reads it with the documented columns
            data = datasets.load_dataset("json", data_files=str(downloaded), split="train")
            assert sorted(data.column_names) == COLUMNS[fmt] and len(data) == announced

            if fmt == "sft":
                for row in rows:
                    roles = [m["role"] for m in row["messages"]]
                    assert set(roles) <= {"system", "user", "assistant"}
                    assert roles[-2:] == ["user", "assistant"]
                    assert "system" not in roles[1:]
                    assert all(m["content"] for m in row["messages"])
            elif fmt == "kto":
                labels = [row["label"] for row in rows]
                assert labels.count(True) and labels.count(False)
                assert all(isinstance(label, bool) for label in labels)
                split = page.get_by_test_id("stMetric").filter(has_text="Labelled true / false")
                assert split.get_by_test_id("stMetricValue").inner_text() == (
                    f"{labels.count(True):,} / {labels.count(False):,}")
            elif fmt == "dpo":
                assert all(row["chosen"] != row["rejected"] for row in rows)
                assert all(isinstance(row[k], str) and row[k]
                           for row in rows for k in ("prompt", "chosen", "rejected"))
            elif fmt == "openai-preference":
                assert all(row["preferred_output"] != row["non_preferred_output"] for row in rows)
                assert all(row["input"]["messages"][-1]["role"] == "user" for row in rows)
            else:
                assert all(row["output"] for row in rows)

        # a changed option takes the file off the screen too
        page.get_by_text("Remove near-duplicate questions").click()
        wait_for_run(page)
        playwright_api.expect(_download_buttons(page)).to_have_count(0, timeout=30_000)
        page.close()


def test_a_one_label_kto_file_is_announced_before_it_is_written(browser, tmp_path):
    db_path = tmp_path / "five.db"
    with Store(db_path) as store:
        for n in range(3):
            iid = store.ingest.add_question(store.ingest.start_conversation(), f"How do I do thing {n}?")
            store.ingest.record_answer(iid, answer=f"Like this, step {n}.")
            store.review.save_rating(iid, "ben", stars=5)

    with streamlit_app(db_path) as url:
        page = _open_export(browser, url)
        _choose_format(page, "kto")
        _build(page)
        warning = page.get_by_test_id("stAlertContentWarning")
        warning.get_by_text("Every one of the 3 rows is labelled true").wait_for()
        assert "None of the selected answers is rated 1–2 stars or thumbs down" in warning.inner_text().replace("\n", " ")
        screenshot(page, "journey_export_kto_one_label")
        # nothing was written or recorded, nothing to download
        assert _download_buttons(page).count() == 0
        assert _export_count(db_path) == 0
        assert not list((tmp_path / "exports").glob("*.jsonl"))

        page.get_by_role("button", name="Build it anyway").click()
        wait_for_run(page)
        _download_buttons(page).wait_for()
        downloaded = _download(page, tmp_path, "kto")
        rows = [json.loads(line) for line in downloaded.read_text(encoding="utf-8").splitlines()]
        assert [row["label"] for row in rows] == [True, True, True] and _announced_rows(page) == 3
        assert _export_count(db_path) == 1
        # the reason stays beside the file that was written anyway
        assert page.get_by_test_id("stAlertContentWarning").count() == 1
        page.close()
