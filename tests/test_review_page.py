"""The Review page in AppTest: filter, search, page through, open an item, re-rate it."""

from __future__ import annotations

import csv
import io

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.filters import Filters
from dashboard.review import empty_review_text, rows_csv
from dashboard.safe_text import inert_markdown
from store import Store
from tests.factories import add_interaction, many_interactions, review_store
from tests.paths import ROOT


@pytest.fixture
def review_page(open_page, db_path):
    """Fill the database, then open the Review page (optionally with URL parameters)."""

    def run(fill=review_store, params: dict | None = None, reviewer: str = "") -> tuple[AppTest, dict]:
        with Store(db_path) as store:
            ids = fill(store) if fill else {}
        return open_page(script=ROOT / "views" / "review.py", params=params, reviewer=reviewer), ids

    return run


def _table(at: AppTest):
    return at.dataframe[0].value


def _captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


def _open_row(at: AppTest, row: int) -> AppTest:
    table = at.dataframe[0]
    at.session_state[table.key] = {"selection": {"rows": [row], "columns": []}}
    at.run()
    assert not at.exception, at.exception
    return at


def _markdown(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown]


def test_the_table_lists_every_answer_newest_first(review_page):
    at, ids = review_page()
    assert at.title[0].value == "Review"
    table = _table(at)
    assert "8 matches" in _captions(at)
    assert list(table.columns) == ["Time", "Question", "Answer", "Stars", "Up", "Down", "Ratings",
                                   "Tags", "Model", "Variant", "Error"]
    charged = table.loc[ids["charged"]]
    assert charged["Stars"] == "1.5 ★ (1–2)"  # the mean, then the lowest and highest stars
    assert charged["Down"] == 2 and charged["Ratings"] == 2
    assert charged["Tags"] == "hallucination, wrong" and charged["Variant"] == "concise v1"
    assert bool(table.loc[ids["failed"]]["Error"]) is True
    times = table["Time"].tolist()
    assert times == sorted(times, reverse=True)


def test_filters_narrow_the_table_and_go_into_the_url(review_page):
    at, ids = review_page()
    at.slider(key="review.filter.stars").set_value((1, 2)).run()
    assert list(_table(at).index) == [ids["charged"]]
    assert at.query_params["stars_max"] == "2"
    at.slider(key="review.filter.stars").set_value((1, 5)).run()
    at.multiselect(key="review.filter.models").select("llama3.2:3b").run()
    at.toggle(key="review.filter.unrated").set_value(True).run()
    assert set(_table(at).index) == {ids["trip"][0], ids["trip"][2]}
    assert Filters.from_query_params(at.query_params) == Filters(models=("llama3.2:3b",), unrated=True)


def _split_ratings(store: Store) -> dict:
    """review_store, plus a third rating that spreads the password answer over 1 to 5 stars."""
    ids = review_store(store)
    store.review.save_rating(ids["password"], "chen", stars=1)  # 5, 4, 1: mean 3.3
    return ids


def test_the_stars_reading_is_chosen_and_the_column_agrees(review_page):
    at, ids = review_page(fill=_split_ratings)
    assert at.selectbox(key="review.filter.stars_mode").value == "any"
    at.slider(key="review.filter.stars").set_value((1, 2)).run()
    table = _table(at)
    assert set(table.index) == {ids["password"], ids["charged"]}  # someone gave 1-2 stars
    assert table.loc[ids["password"]]["Stars"] == "3.3 ★ (1–5)"  # the range says why
    at.selectbox(key="review.filter.stars_mode").set_value("mean").run()
    assert list(_table(at).index) == [ids["charged"]]  # 1.5: the mean shown is in 1-2
    assert at.query_params["stars_mode"] == "mean" and at.query_params["stars_max"] == "2"
    at.selectbox(key="review.filter.stars_mode").set_value("every").run()
    assert list(_table(at).index) == [ids["charged"]]
    assert at.query_params["stars_mode"] == "every"


def test_a_link_with_a_stars_reading_opens_it(review_page):
    at, ids = review_page(fill=_split_ratings, params={"stars_max": "2", "stars_mode": "mean"})
    assert at.selectbox(key="review.filter.stars_mode").value == "mean"
    assert list(_table(at).index) == [ids["charged"]]


def test_a_late_echo_of_the_url_does_not_undo_the_latest_step(review_page):
    """Keyboard steps on the slider rerun faster than the browser's address bar follows: a
    run may arrive with the parameters of an earlier step. The latest step must win."""
    at, ids = review_page()
    slider = "review.filter.stars"
    at.slider(key=slider).set_value((1, 4)).run()
    at.slider(key=slider).set_value((1, 3)).run()
    at.query_params["stars_max"] = "4"  # the address bar still shows the step before
    at.slider(key=slider).set_value((1, 2)).run()
    assert not at.exception, at.exception
    assert at.slider(key=slider).value == (1, 2)
    assert list(_table(at).index) == [ids["charged"]]
    assert at.query_params["stars_max"] == "2"


def test_a_url_the_page_did_not_write_still_decides(review_page):
    at, ids = review_page()
    at.slider(key="review.filter.stars").set_value((1, 2)).run()
    at.query_params.clear()
    at.query_params["thumbs"] = "up"  # e.g. a link followed from another page
    at.run()
    assert at.slider(key="review.filter.stars").value == (1, 5)
    assert set(_table(at).index) == {ids["password"], ids["trip"][1]}


def test_search_finds_words_in_questions_and_answers(review_page):
    at, ids = review_page()
    at.text_input(key="review.filter.search").input("refund").run()
    assert set(_table(at).index) == {ids["charged"], ids["policy"]}
    assert "2 matches" in _captions(at)
    at.text_input(key="review.filter.search").input("<script> OR *").run()
    assert any("Nothing matches these filters" in i.value for i in at.info)
    clear = next(b for b in at.button if b.label == "Clear filters")
    clear.click().run()
    assert at.text_input(key="review.filter.search").value == ""
    assert len(_table(at)) == 8


def test_pages_of_fifty_with_a_page_selector(review_page):
    at, _ = review_page(fill=lambda store: many_interactions(store, 120))
    assert len(_table(at)) == 50
    assert "120 matches · newest first · page 1 of 3" in _captions(at)
    first_page = list(_table(at).index)
    at.pagination(key="review.page").set_value(3).run()
    assert len(_table(at)) == 20
    assert at.query_params["page"] == "3"
    assert not set(first_page) & set(_table(at).index)
    # changing a filter goes back to page 1
    at.text_input(key="review.filter.search").input("number").run()
    assert "page 1 of 3" in _captions(at)


def test_opening_an_item_shows_its_conversation_and_ratings(review_page):
    at, ids = review_page()
    row = list(_table(at).index).index(ids["trip"][1])
    _open_row(at, row)
    assert at.query_params["item"] == str(ids["trip"][1])
    assert any(s.value == f"Interaction #{ids['trip'][1]}" for s in at.subheader)
    text = _markdown(at)
    for turn in ("Plan a weekend in Lisbon", "Add a museum", "And food?"):
        assert turn in text  # every turn of the conversation
    assert any("the selected answer" in c for c in _captions(at).splitlines())
    ratings = at.dataframe[1].value
    assert ratings["Reviewer"].tolist() == ["ana"] and ratings["Stars"].tolist() == ["★★★★☆"]
    # clearing the selection closes the item
    at.session_state[at.dataframe[0].key] = {"selection": {"rows": [], "columns": []}}
    at.run()
    assert "item" not in at.query_params
    assert not any(s.value.startswith("Interaction #") for s in at.subheader)


def test_a_shared_url_restores_filters_page_and_item(review_page):
    at, ids = review_page(params={"stars_max": "2", "item": "2", "search": "charged"})
    assert at.slider(key="review.filter.stars").value == (1, 2)
    assert at.text_input(key="review.filter.search").value == "charged"
    assert list(_table(at).index) == [ids["charged"]]
    assert any(s.value == f"Interaction #{ids['charged']}" for s in at.subheader)
    ratings = at.dataframe[1].value
    assert ratings["Reviewer"].tolist() == ["ana", "ben"]
    assert "Sorry about that: a double charge is refunded within a day." in ratings["Ideal answer"].tolist()
    assert at.dataframe[0].proto.selection_mode  # the open item's row is selected in the table
    assert at.session_state[at.dataframe[0].key]["selection"]["rows"] == [0]


CHARGED = 2  # review_store's "Why was I charged twice?": ana gave 2 stars, ben 1


def test_re_rating_through_the_widget_updates_the_store_and_the_table(review_page, db_path):
    at, ids = review_page(params={"item": str(CHARGED)}, reviewer="ana")
    assert ids["charged"] == CHARGED
    assert at.feedback(key=f"review.{CHARGED}.ana.stars").value == 1  # her 2 stars
    at.feedback(key=f"review.{CHARGED}.ana.stars").set_value(4).run()  # five stars
    assert not at.exception
    at.text_area(key=f"review.{CHARGED}.ana.ideal").input("Refunded within a day.").run()
    with Store(db_path) as store:
        rating = store.review.get_rating(CHARGED, "ana")
    assert rating["stars"] == 5 and rating["ideal_answer"] == "Refunded within a day."
    assert _table(at).loc[CHARGED]["Stars"] == "3.0 ★ (1–5)"  # (5 + 1) / 2: nothing stale
    ratings = at.dataframe[1].value
    assert ratings.set_index("Reviewer").loc["ana", "Stars"] == "★★★★★"


def test_without_a_name_the_item_asks_for_one(review_page):
    at, ids = review_page(params={"item": "1"})
    assert any("Type your name in the sidebar" in c for c in _captions(at).splitlines())
    assert not at.feedback


def test_a_failed_call_shows_its_error_and_nothing_to_rate(review_page):
    at, ids = review_page(params={"item": "4"}, reviewer="ana")
    assert any("Cannot reach the Ollama server." in e.value for e in at.error)
    assert "A failed call has no answer to rate." in _captions(at)


def test_model_text_is_shown_inert(review_page):
    def fill(store):
        add_interaction(store, "Hi <script>alert(1)</script>", "![x](http://203.0.113.9/p.png) $x$")

    at, _ = review_page(fill=fill, params={"item": "1"})
    text = _markdown(at)
    assert "Hi \\<script>alert(1)\\</script>" in text
    assert inert_markdown("![x](http://203.0.113.9/p.png) $x$") in text
    assert "![x]" not in " ".join(text) and "\\$x\\$" in " ".join(text)


def test_an_empty_database_says_how_to_fill_it(review_page):
    at, _ = review_page(fill=None)
    info = " ".join(i.value for i in at.info)
    # the Import box is right above: the page points to it, not to the command line
    assert "**Import feedback** above" in info and "python -m dashboard import" not in info
    assert "**Chat** page" in info and "python -m dashboard demo" in info
    assert [e.label for e in at.expander] == ["Import feedback"]
    assert not at.dataframe


@pytest.mark.parametrize(
    ("can_import", "can_chat", "named", "not_named"),
    [
        (True, True, ["**Import feedback** above", "**Chat** page"], []),
        (False, True, ["**Chat** page"], ["Import feedback"]),  # an annotator
        (False, False, ["an admin imports feedback"], ["Import feedback", "Chat"]),  # a viewer
    ],
)
def test_the_empty_state_names_what_this_user_can_do(can_import, can_chat, named, not_named):
    text = empty_review_text(can_import=can_import, can_chat=can_chat)
    assert all(part in text for part in named), text
    assert not any(part in text for part in not_named), text
    assert "`python -m dashboard demo`" in text


def test_an_unknown_item_in_the_url_says_so(review_page):
    at, _ = review_page(params={"item": "999"})
    assert any("There is no interaction #999" in w.value for w in at.warning)


def test_csv_of_a_page_escapes_formulas():
    rows = [{"id": 1, "question": "=HYPERLINK(\"http://x\")", "answer": "+1", "model": "@m",
             "tags": "-x", "error": "\tboom", "created_at": "2026", "source": "\rchat"}]
    [header, line] = list(csv.reader(io.StringIO(rows_csv(rows).decode())))
    cells = dict(zip(header, line))
    assert cells["question"] == "'=HYPERLINK(\"http://x\")"
    assert cells["answer"] == "'+1" and cells["model"] == "'@m" and cells["tags"] == "'-x"
    assert cells["error"] == "'\tboom" and cells["source"] == "'\rchat"
    assert cells["id"] == "1"


def test_filters_and_page_survive_a_visit_to_another_page(open_page, db_path):
    with Store(db_path) as store:
        many_interactions(store, 120)
    at = open_page("review", check=False)
    at.text_input(key="review.filter.search").input("number").run()
    at.pagination(key="review.page").set_value(2).run()
    at.query_params.clear()  # the sidebar links carry no parameters
    at.switch_page("views/agreement.py").run()
    assert at.title[0].value == "Agreement"
    at.query_params.clear()
    at.switch_page("views/review.py").run()
    assert not at.exception, at.exception
    assert at.text_input(key="review.filter.search").value == "number"
    assert "page 2 of 3" in _captions(at)
    assert at.query_params["search"] == "number" and at.query_params["page"] == "2"


def test_a_new_answer_arriving_does_not_change_the_open_item(review_page, db_path):
    at, ids = review_page()
    newest = list(_table(at).index)[0]
    _open_row(at, 0)
    with Store(db_path) as store:
        add_interaction(store, "A brand new question", "A brand new answer", created_at="2027-01-01T00:00:00.000Z")
    at.run()
    assert list(_table(at).index)[1] == newest  # the table moved down one row
    assert any(s.value == f"Interaction #{newest}" for s in at.subheader)
    assert at.session_state[at.dataframe[0].key]["selection"]["rows"] == [1]
