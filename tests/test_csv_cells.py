"""CSV downloads: no cell a spreadsheet would run as a formula, even behind blanks or control
characters; ordinary text is left alone."""

from __future__ import annotations

import csv
import io

import pytest

from dashboard.review import csv_cell, rows_csv


@pytest.mark.parametrize("text", [
    " =HYPERLINK(\"http://x\")", "   +1+1", "\n-2+3", "\u00a0@SUM(A1)", "\x00=1", "\x1b=cmd",
    "\u200b=1", "\ufeff+1", "\u3000-1", "\uff1dSUM(A1)", "\t\t=1", " \r\n@x",
])
def test_a_formula_behind_blanks_or_control_characters_is_quoted(text):
    assert csv_cell(text) == "'" + text
    [header, line] = list(csv.reader(io.StringIO(rows_csv([{"question": text}], ("question",)).decode())))
    assert line == ["'" + text]


@pytest.mark.parametrize("text", ["plain", "  indented text", "a=b", "e-mail", "", "4.5", "\u00e9=1"])
def test_ordinary_text_is_left_alone(text):
    assert csv_cell(text) == text


def test_the_csv_mean_is_the_mean_the_table_shows_and_the_filter_reads():
    rows = [{"id": 1, "stars_mean": 11 / 3, "stars_min": 3, "stars_max": 4},
            {"id": 2, "stars_mean": 2.25, "stars_min": 2, "stars_max": 3},
            {"id": 3, "stars_mean": None}]
    [header, *lines] = list(csv.reader(io.StringIO(rows_csv(rows).decode())))
    means = [line[header.index("stars_mean")] for line in lines]
    assert means == ["3.7", "2.3", ""]  # the table: 3.7 ★ (3–4), 2.3 ★ (2–3); half up
