"""The Failure themes page in AppTest: themes table, a theme's examples, and its actions."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.filters import Filters
from store import Store
from tests.fake_ollama import DEFAULT_MODEL, FakeOllama
from tests.pages import open_app
from tests.paths import ROOT
from tests.test_clustering import fill, separated


def _open(monkeypatch, db_path, ollama_url: str = "http://127.0.0.1:9") -> AppTest:
    monkeypatch.setenv("OLLAMA_HOST", ollama_url)
    return open_app(monkeypatch, db_path, "clusters", timeout=120)


@pytest.fixture
def themed_db(db_path):
    with Store(db_path) as store:
        texts, _ = separated(3, 20)
        ids = fill(store, texts, variant="baseline")
        fill(store, ["A question everyone liked"], stars=5, thumbs=1)
    return db_path, ids


def _theme_rows(at: AppTest):
    [table] = [df for df in at.dataframe if "Items" in df.value.columns]
    return table.value


def test_page_shows_the_themes_table_and_a_themes_examples(monkeypatch, themed_db):
    db_path, ids = themed_db
    at = _open(monkeypatch, db_path)
    assert at.title[0].value == "Failure themes"
    assert any("2 stars or fewer" in c.value for c in at.caption)
    assert any("60 low-rated items in 3 themes" in m.value for m in at.markdown)
    table = _theme_rows(at)
    assert len(table) == 3 and table["Items"].sum() == 60
    assert list(table["Items"]) == sorted(table["Items"], reverse=True)
    # The first theme's most typical questions are shown, each linking to it in Review.
    questions = set(separated(3, 20)[0])
    examples = [m.value for m in at.markdown
                if m.value.split("  \n")[0].replace("\\:", ":") in questions]
    assert len(examples) == 5 and all("1.0 ★" in e for e in examples)
    links = at.get("page_link")
    assert len(links) == 5 and {link.proto.page for link in links} == {"review"}
    linked = [int(link.proto.query_string.removeprefix("item=")) for link in links]
    assert set(linked) <= set(ids) and [link.proto.label for link in links] == [f"#{i}" for i in linked]
    # Another theme up close; a second run comes from the cache without trouble.
    theme_box = at.selectbox(key="clusters.theme")
    theme_box.set_value(1).run()
    assert not at.exception and at.selectbox(key="clusters.theme").value == 1
    at.run()
    assert not at.exception and len(_theme_rows(at)) == 3


def test_fixed_number_of_themes_and_worst_first(monkeypatch, themed_db):
    db_path, _ = themed_db
    at = _open(monkeypatch, db_path)
    at.selectbox(key="clusters.k").set_value(4).run()
    assert not at.exception
    assert len(_theme_rows(at)) >= 3  # 4 k-means clusters; a tiny one may fold into "other"
    assert at.query_params.get("themes") in (["4"], "4")


def test_nothing_low_rated_says_so(monkeypatch, db_path):
    with Store(db_path) as store:
        fill(store, ["A question everyone liked"], stars=5)
    at = _open(monkeypatch, db_path)
    assert any("No low-rated answer matches" in i.value for i in at.info)
    assert not [df for df in at.dataframe]


def test_a_theme_goes_to_the_annotation_queue(monkeypatch, themed_db):
    db_path, ids = themed_db
    at = _open(monkeypatch, db_path)
    at.text_input(key="app.reviewer").set_value("ben").run()
    first_theme_size = int(_theme_rows(at)["Items"].iloc[0])
    [send] = [b for b in at.button if b.label.startswith("Annotate these")]
    send.click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Annotate"
    sent = Filters.from_query_params({"ids": at.query_params["ids"]}).ids
    assert len(sent) == first_theme_size and set(sent) <= set(ids)
    # The queue shows one of the theme's items, and counts exactly the theme's items.
    assert any(f"Limited to {first_theme_size} chosen items" in c.value for c in at.caption)
    shown = [c.value for c in at.caption if c.value.startswith("#")]
    assert shown and int(shown[0].split()[0][1:]) in sent


def test_queue_opened_with_a_themes_ids_in_the_url(monkeypatch, themed_db):
    db_path, ids = themed_db
    at = open_app(monkeypatch, db_path, script=ROOT / "views" / "queue.py", reviewer="ben",
                  params=Filters(ids=tuple(ids[5:8])).to_query_params())
    shown = [c.value for c in at.caption if c.value.startswith("#")]
    assert shown and int(shown[0].split()[0][1:]) in ids[5:8]
    assert any("Limited to 3 chosen items" in c.value for c in at.caption)


def test_a_theme_becomes_a_question_set(monkeypatch, themed_db):
    db_path, _ = themed_db
    at = _open(monkeypatch, db_path)
    size = int(_theme_rows(at)["Items"].iloc[0])
    theme = at.selectbox(key="clusters.theme").value
    at.text_input(key=f"clusters.set_name.{theme}").set_value("Refund failures")
    [make] = [b for b in at.button if b.label.startswith("Make a question set")]
    make.click().run()
    assert not at.exception, at.exception
    assert any("Refund failures" in s.value for s in at.success)
    with Store(db_path) as store:
        [made] = store.experiments.list_question_sets()
        assert made["name"] == "Refund failures" and made["origin"] == "theme"
        assert 0 < made["size"] <= size


def test_a_chat_model_names_a_theme(monkeypatch, themed_db):
    db_path, _ = themed_db
    with FakeOllama(reply=lambda messages: {"name": "Refund troubles"}) as server:
        at = _open(monkeypatch, db_path, server.url)
        assert at.selectbox(key="clusters.namer").value == ("ollama", DEFAULT_MODEL)
        [name] = [b for b in at.button if b.label == "Name this theme"]
        name.click().run()
        assert not at.exception, at.exception
    assert "Refund troubles" in list(_theme_rows(at)["Theme"])


def test_an_embedding_model_on_the_server_is_offered_as_vectorizer(monkeypatch, themed_db):
    db_path, _ = themed_db
    with FakeOllama(models=(DEFAULT_MODEL, "nomic-embed-text:latest")) as server:
        at = _open(monkeypatch, db_path, server.url)
        box = at.selectbox(key="clusters.vectorizer")
        assert box.options == ["Embedded model (WordLlama, no server)", "Embedded model + TF-IDF",
                               "TF-IDF (words and characters)", "Ollama · nomic-embed-text:latest"]
        assert box.value == "wordllama"  # the embedded model is the default
        assert "nomic-embed-text:latest (ollama)" not in at.selectbox(key="clusters.namer").options
        box.set_value("ollama:nomic-embed-text:latest").run()
        assert not at.exception, at.exception
        assert any(r["path"] == "/api/embed" for r in server.requests)
        assert _theme_rows(at)["Items"].sum() == 60
        at.selectbox(key="clusters.k").set_value(3).run()  # later changes stay as chosen
        at.number_input(key="clusters.seed").set_value(5).run()
        assert at.selectbox(key="clusters.k").value == 3 and at.number_input(key="clusters.seed").value == 5
        assert at.selectbox(key="clusters.vectorizer").value == "ollama:nomic-embed-text:latest"
        assert any("60 low-rated items in 3 themes (k = 3, fixed)" in m.value for m in at.markdown)


def test_saving_a_run_follows_its_themes_week_by_week(monkeypatch, themed_db):
    db_path, ids = themed_db
    at = _open(monkeypatch, db_path)
    assert any("No run is saved yet" in c.value for c in at.caption)
    at.text_input(key="app.reviewer").set_value("ana").run()
    names = list(_theme_rows(at)["Theme"])
    [save] = [b for b in at.button if b.label == "Save these 3 themes"]
    save.click().run()  # no name yet
    assert any("Give the run a name" in e.value for e in at.error)
    at.text_input(key="clusters.run_name").set_value("Week 9")
    [save] = [b for b in at.button if b.label == "Save these 3 themes"]
    save.click().run()
    assert not at.exception, at.exception
    assert any("Saved run #1 “Week 9” with 3 themes" in s.value for s in at.success)
    assert at.text_input(key="clusters.run_name").value == ""
    with Store(db_path) as store:
        [run] = store.themes.theme_runs()
        assert run["name"] == "Week 9" and run["created_by"] == "ana" and run["themes"] == 3
        assert [t["name"] for t in store.themes.saved_themes(run["id"])] == names
        assert sorted(store.themes.saved_theme_members(run["id"])) == ids
    # The run is followed at the top: each saved theme week by week, and the themes table says
    # which saved theme each current theme continues.
    assert at.selectbox(key="clusters.run").value == 1
    followed = next(df.value for df in at.dataframe if "Last week" in df.value.columns)
    assert set(names) <= set(followed["Theme"])
    assert list(_theme_rows(at)["Saved theme"]) == names
    charts = at.get("plotly_chart")
    assert len(charts) == 2  # the weekly chart and the map
