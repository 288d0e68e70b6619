"""The upload box in AppTest: pick a file, import it, read what landed or what was refused."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from store import Store
from tests.paths import ROOT
from tests.shown import shown

APP = ROOT / "tests" / "data" / "upload_app.py"
GOOD = b'{"question": "Where is my parcel?", "response": "It ships today.", "rating": 4}\n'


@pytest.fixture
def app(open_page):
    return open_page(script=APP)


def upload(at: AppTest, name: str, content: bytes, *, skip: bool = False) -> AppTest:
    at.file_uploader(key="upload.file").set_value((name, content, "application/octet-stream")).run()
    if skip:
        at.checkbox(key="upload.skip_invalid").check().run()
    at.button(key="upload.import").click().run()
    assert not at.exception, at.exception
    return at


def interactions(db_path) -> list[dict]:
    with Store(db_path) as store:
        return store.rows("SELECT question, source FROM interactions ORDER BY id")


def test_import_button_waits_for_a_file(app):
    assert app.button(key="upload.import").disabled
    assert not app.error and not app.success


def test_a_good_file_lands_and_says_how_much(app, db_path):
    at = upload(app, "feedback.jsonl", GOOD + b'{"question": "Can I pay later?", "answer": "No."}\n')
    assert [shown(s.value) for s in at.success] == ["feedback.jsonl: 2 imported, 0 already present."]
    assert any("2 interactions, 1 rating" in c.value for c in at.caption)
    assert interactions(db_path) == [
        {"question": "Where is my parcel?", "source": "import"},
        {"question": "Can I pay later?", "source": "import"},
    ]
    at.button(key="upload.import").click().run()
    assert [shown(s.value) for s in at.success] == ["feedback.jsonl: 0 imported, 2 already present."]
    assert len(interactions(db_path)) == 2


def test_refused_lines_are_listed_and_nothing_lands(app, db_path):
    content = GOOD + b'{"question": "q", "rating": "five"}\n' + b"{oops\n"
    at = upload(app, "bad.jsonl", content)
    [error] = at.error
    assert error.value.startswith("Nothing was imported: 2 of 3 lines were refused.")
    assert "Skip invalid lines" in error.value
    assert at.code[0].value.splitlines() == [
        "bad.jsonl:2: rating must be a whole number from 1 to 5, not 'five'",
        "bad.jsonl:3: not valid JSON (Expecting property name enclosed in double quotes at column 2)"]
    assert interactions(db_path) == []
    [download] = at.get("download_button")
    assert download.proto.label == "Download the refused lines (JSONL)"


def test_skip_invalid_lands_the_valid_lines(app, db_path):
    content = GOOD + b'{"question": 5}\n' + b"question-less line\n"
    at = upload(app, "mixed.jsonl", content, skip=True)
    assert [shown(s.value) for s in at.success] == ["mixed.jsonl: 1 imported, 0 already present."]
    assert at.warning[0].value.startswith("2 refused lines were left out: the list says why")
    assert [line.split(": ")[0] for line in at.code[0].value.splitlines()] == [
        "mixed.jsonl:2", "mixed.jsonl:3"]
    assert len(interactions(db_path)) == 1


def test_csv_upload(app, db_path):
    at = upload(app, "f.csv", b"question,answer,rating\nq1,a1,5\nq2,a2,1\n")
    assert [shown(s.value) for s in at.success] == ["f.csv: 2 imported, 0 already present."]


def test_an_empty_file_gets_one_sentence(app, db_path):
    at = upload(app, "empty.jsonl", b"")
    assert [shown(e.value) for e in at.error] == [
        "empty.jsonl: the file is empty: there is nothing to import. Nothing was imported."]


def test_a_pairwise_file_lands_as_votes(app, db_path):
    votes = (b'{"prompt": "Where is my parcel?", "chosen": "Tracking says today.", "rejected": "No idea."}\n'
             b'{"question": "Refund?", "answer_a": "Yes, within 30 days.", "answer_b": "No.",'
             b' "variant_a": "kind", "variant_b": "terse", "winner": "a"}\n')
    at = upload(app, "votes.jsonl", votes)
    assert any("2 votes imported, 0 already present" in s.value for s in at.success)
    with Store(db_path) as store:
        assert [v["winner"] for v in store.experiments.votes()] == ["a", "a"]


def test_a_pairwise_file_with_a_bad_line_lands_nothing(app, db_path):
    votes = b'{"prompt": "p", "chosen": "c", "rejected": "r"}\n{"prompt": "p2", "chosen": 1, "rejected": "r"}\n'
    at = upload(app, "votes.jsonl", votes)
    assert any("Nothing was imported" in e.value for e in at.error)
    with Store(db_path) as store:
        assert store.experiments.votes() == []
