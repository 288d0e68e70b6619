"""Usage and estimated cost on Insights: rollups, prices by date, and the page, against totals
computed by hand."""

from __future__ import annotations

from datetime import date

import pytest
from sqlite_utils import Database
from streamlit.testing.v1 import AppTest

from dashboard.filters import Filters
from dashboard.insights import (
    format_cost,
    refresh_insights,
    usage_breakdown,
    usage_summary,
)
from store import Store
from store.migrations import migrations
from tests.factories import stamp
from tests.paths import ROOT

PAGE = str(ROOT / "views" / "insights.py")
D1, D2 = "2026-03-09", "2026-03-10"
ALL = Filters(date_from=date(2026, 3, 1), date_to=date(2026, 3, 31))

# (day, model, backend, source, prompt tokens, completion tokens, error)
CALLS = [
    (D1, "m1", "ollama", "chat", 1000, 200, None),
    (D1, "m1", "openai:local", "chat", 3000, 1000, None),
    (D2, "m1", "ollama", "chat", 2000, 500, None),
    (D2, "m1", "ollama", "chat", None, None, "timeout"),
    (D2, "m2", "openai:local", "import", 500, 100, None),
    (D2, "m2", "openai:local", "import", None, None, None),
]


def _rows(first_id: int = 1) -> list[dict]:
    return [{
        "id": first_id + n, "question": f"q{n}", "answer": None if error else f"a{n}",
        "model": model, "backend": backend, "source": source, "prompt_tokens": pin,
        "completion_tokens": pout, "error": error, "latency_ms": 100.0,
        "created_at": stamp(day),
    } for n, (day, model, backend, source, pin, pout, error) in enumerate(CALLS)]


def fill(store: Store, prices: bool = True) -> None:
    """The calls above; ratings: call 1 thumbs up, call 2 thumbs down and up, call 3 stars."""
    store.ingest.insert_interactions_bulk(_rows())
    store.review.save_rating(1, "ana", thumbs=1)
    store.review.save_rating(2, "ana", thumbs=-1)
    store.review.save_rating(2, "ben", thumbs=1)
    store.review.save_rating(3, "ana", stars=4)
    if prices:
        store.insights.set_model_price("m1", "2026-03-01", 1.0, 2.0, created_by="ana")
        store.insights.set_model_price("m1", D2, 3.0, 4.0, created_by="ana")
    refresh_insights(store)


# By hand: D1 m1 = (1000 + 3000) * $1/M + (200 + 1000) * $2/M = $0.0064;
# D2 m1 = 2000 * $3/M + 500 * $4/M = $0.008 (the price from D2 on); m2 has no price.
COST = 0.0064 + 0.008


def test_totals_and_cost_match_the_hand_computed_ones(store):
    fill(store)
    usage = usage_summary(store, ALL)
    assert (usage.calls, usage.counted, usage.uncounted) == (6, 4, 2)
    assert (usage.prompt_tokens, usage.completion_tokens) == (6500, 1800)
    assert usage.cost == pytest.approx(COST)
    assert (usage.rated, usage.thumbs_up) == (3, 2)
    assert usage.cost_per_rated == pytest.approx(COST / 3)
    assert usage.cost_per_thumbs_up == pytest.approx(COST / 2)
    assert usage.unpriced_models == ("m2",)
    assert usage.gaps()[0].startswith("2 of 6 answers carry no token counts")


def test_breakdown_by_backend_and_by_model(store):
    fill(store)
    by_backend = usage_breakdown(store, ALL, by="backend").set_index("group")
    assert by_backend.loc["Ollama", ["calls", "uncounted", "prompt_tokens",
                                     "completion_tokens"]].tolist() == [3, 1, 3000, 700]
    assert by_backend.loc["Ollama", "cost"] == pytest.approx(0.001 + 0.0004 + 0.008)
    local = by_backend.loc["OpenAI-compatible (local)"]
    assert [local["calls"], local["prompt_tokens"], local["completion_tokens"]] == [3, 3500, 1100]
    assert local["cost"] == pytest.approx(0.003 + 0.002)  # m2's tokens are not priced
    by_model = usage_breakdown(store, ALL, by="model").set_index("group")
    assert by_model.loc["m2", "cost"] != by_model.loc["m2", "cost"]  # NaN: no price at all
    per_day = store.insights.usage(ALL, period="day", by=["model"])
    assert [(r["period"], r["model"], r["prompt_tokens"]) for r in per_day] == [
        (D1, "m1", 4000), (D2, "m1", 2000), (D2, "m2", 500)]


def test_a_price_applies_from_its_day_on(store):
    fill(store, prices=False)
    store.insights.set_model_price("m1", D2, 3.0, 4.0)
    usage = usage_summary(store, ALL)
    assert usage.cost == pytest.approx(0.008)  # D1 has no price yet
    assert usage.unpriced_models == ("m1", "m2")
    store.insights.set_model_price("m1", "2026-03-09", 1.0, 2.0)
    assert usage_summary(store, ALL).cost == pytest.approx(COST)
    store.insights.set_model_price("m1", D2, 0.0, 0.0)  # same day again: replaces that price
    assert usage_summary(store, ALL).cost == pytest.approx(0.0064)
    assert [(p["model"], p["effective_from"]) for p in store.insights.model_prices()] == [
        ("m1", D1), ("m1", D2)]
    with pytest.raises(ValueError, match="at least 0"):
        store.insights.set_model_price("m1", D2, -1, 0)
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        store.insights.set_model_price("m1", "10 March", 1, 1)


def test_tokens_recorded_after_the_rollup_are_counted(store):
    fill(store)
    store.ingest.record_answer(6, prompt_tokens=100, completion_tokens=50)  # counted already, no counts
    refresh_insights(store)
    usage = usage_summary(store, ALL)
    assert (usage.counted, usage.prompt_tokens, usage.completion_tokens) == (5, 6600, 1850)


def test_no_counts_at_all_shows_no_tokens_rather_than_zero(store):
    store.ingest.insert_interactions_bulk([
        {**row, "prompt_tokens": None, "completion_tokens": None} for row in _rows()])
    refresh_insights(store)
    usage = usage_summary(store, ALL)
    assert (usage.calls, usage.counted, usage.cost) == (6, 0, None)
    assert usage.tokens_text("prompt_tokens") == "—"
    assert format_cost(usage.cost) == "—"


def test_migration_adds_rows_counted_before_it(db_path):
    db = Database(db_path)
    migrations.apply(db, stop_before="m015_usage_prices")
    db["interactions"].insert_all(_rows())
    db.execute("UPDATE insight_state SET turns_done = 6, interactions_done = 6")
    db.conn.commit()
    db.close()
    with Store(db_path) as store:
        usage = usage_summary(store, ALL)
        assert (usage.calls, usage.counted, usage.prompt_tokens) == (6, 4, 6500)


@pytest.fixture
def page(open_page, db_path):
    with Store(db_path) as store:
        fill(store)
    return open_page(script=PAGE)


def test_page_shows_the_hand_computed_usage_and_cost(page):
    metrics = {m.label: m.value for m in page.metric}
    assert metrics["Calls"] == "6"
    assert metrics["Input tokens"] == "6,500"
    assert metrics["Output tokens"] == "1,800"
    assert metrics["Estimated cost"] == "$0.0144"
    assert metrics["Cost per rated answer"] == "$0.0048"
    assert metrics["Cost per thumbs-up"] == "$0.0072"
    shown = " ".join(c.value for c in page.caption) + " ".join(w.value for w in page.warning)
    assert "2 of 6 answers carry no token counts" in shown
    assert "No price is set for m2" in shown
    [table] = [d.value for d in page.dataframe if "uncounted" in d.value.columns]
    rows = table.set_index("group")
    assert rows.loc["m1", ["calls", "uncounted", "prompt_tokens", "cost"]].tolist() == [
        4, 1, 6000, "$0.0144"]
    assert rows.loc["m2", ["calls", "uncounted", "prompt_tokens", "cost"]].tolist() == [
        2, 1, 500, "—"]


def test_admin_sets_a_price_on_the_page(page, db_path):
    form = page.expander[-1]
    form.text_input(key="insights.price_model").input("m2")
    form.date_input(key="insights.price_from").set_value(date(2026, 3, 1))
    form.number_input(key="insights.price_in").set_value(10.0)
    form.number_input(key="insights.price_out").set_value(20.0)
    form.button[0].click()
    page.run()
    assert not page.exception, page.exception
    metrics = {m.label: m.value for m in page.metric}
    # m2 adds 500 * $10/M + 100 * $20/M = $0.007
    assert metrics["Estimated cost"] == "$0.0214"
    with Store(db_path) as store:
        assert [(p["model"], p["input_per_million"]) for p in store.insights.model_prices()
                if p["model"] == "m2"] == [("m2", 10.0)]


def test_only_admins_change_prices(open_page, db_path):
    import time as clock

    from dashboard.auth import Session, hash_password
    from dashboard.ui.auth import SESSION_KEY

    with Store(db_path) as store:
        fill(store, prices=False)
        for name, role in (("vic", "viewer"), ("ada", "admin"), ("abe", "admin")):
            store.users.add_user(name, role, hash_password(f"{name}-password"))

    def as_(name: str, role: str) -> AppTest:
        return open_page("insights", state={SESSION_KEY: Session(name, role, clock.time())},
                         timeout=120)

    viewer = as_("vic", "viewer")
    assert "Only admins can change prices." in [c.value for c in viewer.caption]
    assert not [b for b in viewer.button if b.label == "Save price"]

    admin = as_("ada", "admin")
    admin.text_input(key="insights.price_model").input("m1")
    admin.number_input(key="insights.price_in").set_value(5.0)
    with Store(db_path) as changed:
        changed.users.set_user("ada", role="viewer")  # demoted while the form is on screen
    [save] = [b for b in admin.button if b.label == "Save price"]
    save.click().run()
    assert not admin.exception, admin.exception
    with Store(db_path) as after:
        assert after.insights.model_prices() == []
