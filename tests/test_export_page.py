"""The Export page in AppTest: preview, leave an item out, build, download, rebuild."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.safe_text import inert_markdown
from store import Store
from tests.pages import open_app


def _open(monkeypatch, db_path, rated: list[tuple[str, str, int]]) -> AppTest:
    """The Export page over a database of (question, answer, stars) rated by ana."""
    with Store(db_path) as store:
        for question, answer, stars in rated:
            iid = store.ingest.add_question(store.ingest.start_conversation(), question)
            store.ingest.record_answer(iid, answer=answer)
            store.review.save_rating(iid, "ana", stars=stars)
    return open_app(monkeypatch, db_path, "export", reviewer="ana")


@pytest.fixture
def page(monkeypatch, db_path):
    return _open(monkeypatch, db_path, [(f"question {n}", f"answer {n}", stars)
                                        for n, stars in enumerate([5, 4, 1])])


def test_build_writes_the_approved_rows_and_records_the_export(page, db_path):
    [build] = [b for b in page.button if b.label == "Build the file"]
    build.click().run()
    assert not page.exception, page.exception
    assert [m.value for m in page.metric][0] == "2"
    with Store(db_path) as store:
        [export] = store.exports.list_exports()
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
    with Store(db_path) as store:
        assert store.exports.list_exports() == []


def _build(at: AppTest) -> None:
    [build] = [b for b in at.button if b.label == "Build the file"]
    build.click().run()
    assert not at.exception, at.exception


def _exported_lines(db_path) -> list[dict]:
    with Store(db_path) as store:
        export = store.exports.list_exports()[0]
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


def test_a_one_label_kto_file_waits_for_confirmation_with_the_reason(page, db_path):
    page.segmented_control(key="export.format").set_value("kto").run()
    page.selectbox(key="export.min_stars.kto").set_value(4.0).run()
    _build(page)
    [warning] = page.warning
    assert warning.value.startswith("Every one of the 2 rows is labelled true")
    assert "set “Approve answers rated at least” to “any rating”" in warning.value
    assert page.get("download_button") == []
    with Store(db_path) as store:
        assert store.exports.list_exports() == []
    page.button(key="export.build_anyway").click().run()
    assert not page.exception, page.exception
    assert [b.label for b in page.get("download_button")][:1] == ["Download"]
    assert [row["label"] for row in _exported_lines(db_path)] == [True, True]
    assert [w.value for w in page.warning] == [warning.value]  # still said beside the file


def test_previews_read_like_the_file(page):
    # sft: a conversation of role-labelled messages, not a Python list
    messages = page.chat_message
    assert [m.name for m in messages][:2] == ["user", "assistant"]
    assert [m.markdown[0].value for m in messages][:2] == ["question 0", "answer 0"]
    assert not any("'role'" in m.value for m in page.markdown)
    # kto: each row with its label
    page.segmented_control(key="export.format").set_value("kto").run()
    badges = [m.value for m in page.markdown if "-badge[" in m.value]
    assert [b.split("[")[0] for b in badges] == [":green-badge", ":green-badge", ":red-badge"]


def test_a_dpo_preview_shows_chosen_and_rejected_side_by_side(monkeypatch, db_path):
    page = _open(monkeypatch, db_path, [("Can I pay by card?", "Yes, any card.", 5),
                                        ("Can I pay by card?", "No.", 1)])
    page.segmented_control(key="export.format").set_value("dpo").run()
    assert not page.exception, page.exception
    assert [m.markdown[-1].value for m in page.chat_message] == [
        "Can I pay by card?", "Yes, any card.", "No."]
    badges = [m.value.split("[")[0] for m in page.markdown if "-badge[" in m.value]
    assert badges == [":green-badge", ":red-badge"]
    chosen, rejected = page.columns[-2:]
    assert chosen.chat_message[0].markdown[-1].value == "Yes, any card."
    assert rejected.chat_message[0].markdown[-1].value == "No."


def test_leaving_an_item_out_removes_it_from_preview_and_file(page, db_path):
    [first] = [c for c in page.checkbox if c.key and c.key.startswith("export.leave_out.sft.")][:1]
    first.check().run()
    assert not page.exception, page.exception
    assert [m.markdown[-1].value for m in page.chat_message] == ["question 1", "answer 1"]
    assert any(c.value.startswith("Left out by hand: #") for c in page.caption)
    _build(page)
    assert [r["messages"][-1]["content"] for r in _exported_lines(db_path)] == ["answer 1"]


def test_text_in_previews_is_shown_as_written(monkeypatch, db_path):
    with Store(db_path) as store:
        iid = store.ingest.add_question(store.ingest.start_conversation(), "![x](https://evil.example/p.png) <b>hi</b>")
        store.ingest.record_answer(iid, answer="$x$ <script>alert(1)</script>")
        store.review.save_rating(iid, "ana", stars=5)
    at = open_app(monkeypatch, db_path, "export")
    question, answer = (m.markdown[-1].value for m in at.chat_message)
    # the previews go through the one inert renderer (its browser tests check what it shows)
    assert question == inert_markdown("![x](https://evil.example/p.png) <b>hi</b>")
    assert answer == inert_markdown("$x$ <script>alert(1)</script>")
    assert "![" not in question and "\\<" in answer


def test_the_preview_shows_ten_rows_and_more_on_demand(monkeypatch, db_path):
    page = _open(monkeypatch, db_path, [(f"question {n}", f"answer {n}", 5) for n in range(12)])
    assert len(page.chat_message) == 2 * 10
    page.button(key="export.preview_more").click().run()
    assert not page.exception, page.exception
    assert len(page.chat_message) == 2 * 12
    assert [b.key for b in page.button if b.key == "export.preview_more"] == []


def test_an_openai_preference_preview_shows_preferred_and_non_preferred_side_by_side(
        monkeypatch, db_path):
    page = _open(monkeypatch, db_path, [("Can I pay by card?", "Yes, any card.", 5),
                                        ("Can I pay by card?", "No.", 1)])
    page.segmented_control(key="export.format").set_value("openai-preference").run()
    assert not page.exception, page.exception
    assert [m.markdown[-1].value for m in page.chat_message] == [
        "Can I pay by card?", "Yes, any card.", "No."]
    badges = [m.value for m in page.markdown if "-badge[" in m.value]
    assert [b.split("]")[0] for b in badges] == [
        ":green-badge[:material/thumb_up: preferred_output",
        ":red-badge[:material/thumb_down: non_preferred_output"]
