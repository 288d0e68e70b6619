"""The Export page in AppTest: preview, leave an item out, build, download, rebuild."""

from __future__ import annotations

import json

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from store import Store
from tests.conftest import ROOT


@pytest.fixture
def page(monkeypatch, db_path):
    store = Store(db_path)
    for n, stars in enumerate([5, 4, 1]):
        iid = store.add_question(store.start_conversation(), f"question {n}")
        store.record_answer(iid, answer=f"answer {n}")
        store.save_rating(iid, "ana", stars=stars)
    store.close()
    monkeypatch.setenv("LOUPE_DB", str(db_path))
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["app.reviewer"] = "ana"
    at.run()
    at.switch_page("views/export.py").run()
    assert not at.exception, at.exception
    return at


def test_build_writes_the_approved_rows_and_records_the_export(page, db_path):
    [build] = [b for b in page.button if b.label == "Build the file"]
    build.click().run()
    assert not page.exception, page.exception
    assert [m.value for m in page.metric][0] == "2"
    store = Store(db_path)
    [export] = store.list_exports()
    store.close()
    lines = open(export["path"], encoding="utf-8").read().splitlines()
    assert [json.loads(line)["messages"][-1]["content"] for line in lines] == ["answer 0", "answer 1"]
    assert export["who"] == "ana" and export["format"] == "sft"


def test_rebuilding_a_past_export_gives_the_same_file(page):
    [b for b in page.button if b.label == "Build the file"][0].click().run()
    page.button(key="export.rerun").click().run()
    assert not page.exception
    assert any("byte for byte" in s.value for s in page.success)


def test_counts_before_writing(page, db_path):
    page.button(key="export.count").click().run()
    assert not page.exception
    assert any("**2 rows** would be written" in m.value for m in page.markdown)
    store = Store(db_path)
    assert store.list_exports() == []
    store.close()


def _build(at: AppTest) -> None:
    [build] = [b for b in at.button if b.label == "Build the file"]
    build.click().run()
    assert not at.exception, at.exception


def _exported_lines(db_path) -> list[dict]:
    store = Store(db_path)
    export = store.list_exports()[0]
    store.close()
    return [json.loads(line) for line in open(export["path"], encoding="utf-8")]


def test_switching_to_kto_after_sft_keeps_the_bad_answers_as_false(page, db_path):
    # SFT starts with the 4-star threshold; KTO must not inherit it (it would drop every false)
    page.segmented_control(key="export.format").set_value("kto").run()
    assert not page.exception, page.exception
    _build(page)
    labels = sorted(row["label"] for row in _exported_lines(db_path))
    assert labels == [False, True, True]


def test_switching_format_hides_the_previous_download(page):
    _build(page)
    assert [b.label for b in page.get("download_button")][:1] == ["Download"]
    page.segmented_control(key="export.format").set_value("alpaca").run()
    assert not page.exception, page.exception
    assert page.get("download_button") == []
