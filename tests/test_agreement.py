"""Reviewer agreement: kappas checked against scikit-learn, alphas against hand computations,
and the Agreement page on a small database."""

from __future__ import annotations

import math
import random

import pytest
from sklearn.metrics import cohen_kappa_score
from streamlit.testing.v1 import AppTest

from dashboard.agreement import kappa_reading
from dashboard.stats import (
    STAR_VALUES,
    alpha_summary,
    cohen_kappa,
    disagreements,
    krippendorff_alpha,
    pairwise_agreement,
    ratings_frame,
)
from tests.factories import add_interaction
from tests.paths import ROOT

N = None


def _two_raters(seed: int, n: int = 60) -> tuple[list[int], list[int]]:
    rng = random.Random(seed)
    a = [rng.randint(1, 5) for _ in range(n)]
    b = [min(5, max(1, x + rng.choice([-2, -1, 0, 0, 0, 1]))) for x in a]
    return a, b


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_cohen_kappa_matches_scikit_learn(seed, weights):
    a, b = _two_raters(seed)
    # labels fixed to the 1-5 scale so that weights follow star distances
    expected = cohen_kappa_score(a, b, labels=list(STAR_VALUES), weights=weights)
    assert cohen_kappa(a, b, labels=STAR_VALUES, weights=weights) == pytest.approx(expected)


def test_cohen_kappa_on_thumbs_and_its_limits():
    a = [1, 1, -1, -1, 1, -1, 1, 1]
    b = [1, -1, -1, -1, 1, 1, 1, 1]
    assert cohen_kappa(a, b, labels=(-1, 1)) == pytest.approx(cohen_kappa_score(a, b))
    assert cohen_kappa([1, 1, 1], [1, 1, 1]) != cohen_kappa([1, 1, 1], [1, 1, 1])  # nan: no variation
    assert cohen_kappa([1, 2, 3], [1, 2, 3]) == 1.0


def test_krippendorff_alpha_nominal_by_hand():
    # thumbs, u = up (1), d = down (-1); three reviewers, missing values allowed
    #   item 1: u u u    item 2: u d    item 3: d d d    item 4: u (alone)    item 5: d u
    # Coincidences, each ordered pair of values from two reviewers weighing 1/(m_u - 1):
    #   item 1: 6 pairs (u,u) x 1/2 -> o_uu += 3
    #   item 2: (u,d) and (d,u) x 1 -> o_ud += 1, o_du += 1
    #   item 3: o_dd += 3;  item 4: one value, not pairable;  item 5: o_ud += 1, o_du += 1
    #   o = [[3, 2], [2, 3]], n_d = n_u = 5, n = 10
    # alpha = 1 - (n - 1) * sum_{c!=k} o_ck / sum_{c!=k} n_c n_k = 1 - 9 * 4 / (2 * 25) = 0.28
    units = [[1, 1, 1], [1, -1], [-1, -1, -1], [1], [-1, 1]]
    assert krippendorff_alpha(units, metric="nominal") == pytest.approx(0.28)


def test_krippendorff_alpha_interval_by_hand_with_missing_values():
    # stars from ana, ben, chen (None = not rated)
    #   item 1: 1 2 -     item 2: 4 4 5     item 3: - 5 5
    # Coincidences:
    #   item 1 (m=2): o_12 += 1, o_21 += 1
    #   item 2 (m=3, weight 1/2): (4,4) twice -> o_44 += 1; (4,5) twice -> o_45 += 1, o_54 += 1
    #   item 3 (m=2): (5,5) twice -> o_55 += 2
    #   n_1 = 1, n_2 = 1, n_4 = 2, n_5 = 3, n = 7
    # interval distance (c - k)^2:
    #   sum o_ck d_ck = o_12 + o_21 + o_45 + o_54 = 4
    #   sum n_c n_k d_ck over ordered pairs = 2 * (1*1*1 + 1*2*9 + 1*3*16 + 1*2*4 + 1*3*9 + 2*3*1)
    #                                       = 2 * 108 = 216
    # alpha = 1 - (n - 1) * 4 / 216 = 1 - 24 / 216 = 8 / 9
    units = [[1, 2, N], [4, 4, 5], [N, 5, 5]]
    assert krippendorff_alpha(units, metric="interval") == pytest.approx(8 / 9)


def test_krippendorff_alpha_reproduces_the_published_example():
    # Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability": 4 coders, 12 units
    coders = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
        [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N],
    ]
    units = list(zip(*coders))
    assert krippendorff_alpha(units, metric="nominal") == pytest.approx(0.743, abs=5e-4)
    assert krippendorff_alpha(units, metric="ordinal") == pytest.approx(0.815, abs=5e-4)
    assert krippendorff_alpha(units, metric="interval") == pytest.approx(0.849, abs=5e-4)


def _ratings(seed: int = 5) -> list[dict]:
    """ana and ben rate items 1-40, chen rates items 1-3 only; dara rates alone."""
    a, b = _two_raters(seed, 40)
    rows = []
    for item, (x, y) in enumerate(zip(a, b), start=1):
        rows.append({"interaction_id": item, "reviewer": "ana", "stars": x, "thumbs": 1 if x >= 3 else -1})
        rows.append({"interaction_id": item, "reviewer": "ben", "stars": y, "thumbs": 1 if y >= 4 else -1})
    for item in (1, 2, 3):
        rows.append({"interaction_id": item, "reviewer": "chen", "stars": 3, "thumbs": None})
    rows.append({"interaction_id": 99, "reviewer": "dara", "stars": 1, "thumbs": -1})
    return rows


def test_pairwise_agreement_gives_each_pair_its_kappas_and_shared_items():
    frame = ratings_frame(_ratings())
    table = pairwise_agreement(frame).set_index(["reviewer_a", "reviewer_b"])
    a, b = _two_raters(5, 40)
    ana_ben = table.loc[("ana", "ben")]
    assert ana_ben["stars_shared"] == 40 and ana_ben["thumbs_shared"] == 40
    assert ana_ben["stars_kappa"] == pytest.approx(cohen_kappa_score(a, b, labels=list(STAR_VALUES)))
    assert ana_ben["stars_weighted_kappa"] == pytest.approx(
        cohen_kappa_score(a, b, labels=list(STAR_VALUES), weights="quadratic")
    )
    ta = [1 if x >= 3 else -1 for x in a]
    tb = [1 if y >= 4 else -1 for y in b]
    assert ana_ben["thumbs_kappa"] == pytest.approx(cohen_kappa_score(ta, tb))
    # chen shares 3 items with each: too few for a number
    ana_chen = table.loc[("ana", "chen")]
    assert ana_chen["stars_shared"] == 3 and math.isnan(ana_chen["stars_kappa"])
    assert ana_chen["thumbs_shared"] == 0
    assert ("ana", "dara") not in table.index  # nothing shared, no row


def test_alpha_summary_counts_pairable_items_and_says_nan_when_too_few():
    summary = alpha_summary(ratings_frame(_ratings()))
    assert summary["stars_items"] == 40 and summary["thumbs_items"] == 40
    assert -1 <= summary["stars_alpha_ordinal"] <= 1 and -1 <= summary["thumbs_alpha_nominal"] <= 1
    few = alpha_summary(ratings_frame(_ratings()[:6]))
    assert few["stars_items"] == 3 and math.isnan(few["stars_alpha_interval"])


def test_disagreements_put_the_widest_spread_first():
    rows = [
        {"interaction_id": 1, "reviewer": "ana", "stars": 4, "thumbs": 1},
        {"interaction_id": 1, "reviewer": "ben", "stars": 4, "thumbs": 1},  # agree
        {"interaction_id": 2, "reviewer": "ana", "stars": 1, "thumbs": -1},
        {"interaction_id": 2, "reviewer": "ben", "stars": 5, "thumbs": 1},  # spread 4, split
        {"interaction_id": 3, "reviewer": "ana", "stars": 3, "thumbs": 1},
        {"interaction_id": 3, "reviewer": "ben", "stars": 3, "thumbs": -1},  # split only
        {"interaction_id": 4, "reviewer": "ana", "stars": 2, "thumbs": None},
        {"interaction_id": 4, "reviewer": "chen", "stars": 4, "thumbs": None},  # spread 2
    ]
    table = disagreements(ratings_frame(rows))
    assert table["interaction_id"].tolist() == [2, 4, 3]
    assert table.iloc[0]["stars"] == "1, 5" and bool(table.iloc[0]["thumbs_split"])


# -- the page -----------------------------------------------------------------


@pytest.fixture
def page(open_page, db_path):
    def run(fill=None) -> AppTest:
        from store import Store

        with Store(db_path) as store:
            if fill:
                fill(store)
        return open_page(script=ROOT / "views" / "agreement.py")

    return run


def _fill(store) -> None:
    for row in _ratings():
        if row["interaction_id"] > store.ingest.max_interaction_id():
            for iid in range(store.ingest.max_interaction_id() + 1, row["interaction_id"] + 1):
                add_interaction(store, f"Question {iid}", f"Answer {iid}")
        store.review.save_rating(row["interaction_id"], row["reviewer"], stars=row["stars"], thumbs=row["thumbs"])


def _text(at: AppTest) -> str:
    parts = [m.value for m in (*at.markdown, *at.caption, *at.info, *at.warning)]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    return "\n".join(parts)


def test_page_without_overlap_says_so(page):
    def fill(store):
        iid = add_interaction(store, "Q", "A")
        store.review.save_rating(iid, "ana", stars=3)

    at = page(fill)
    assert at.title[0].value == "Agreement"
    assert "No item has been rated by two reviewers yet" in _text(at)
    assert not at.dataframe


def test_page_shows_kappas_alpha_and_the_disagreements(page):
    at = page(_fill)
    a, b = _two_raters(5, 40)
    text = _text(at)
    kappa = cohen_kappa_score(a, b, labels=list(STAR_VALUES), weights="quadratic")
    pairs = at.dataframe[0].value
    row = pairs[(pairs["Reviewer A"] == "ana") & (pairs["Reviewer B"] == "ben")].iloc[0]
    assert row["Shared items (stars)"] == 40
    assert row["Stars κ (quadratic-weighted)"] == f"{kappa:.2f}"
    # the words read the quadratic-weighted stars κ, and the column says so
    assert row["Stars κ (quadratic-weighted), in words"] == kappa_reading(kappa)
    assert "Agreement" not in pairs.columns
    assert pairs.iloc[0]["Reviewer B"] == "ben"  # the pair sharing most items comes first
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Items rated by two or more"] == "40"  # dara rated item 99 alone
    assert metrics["Reviewers involved"] == "3"
    chen = pairs[(pairs["Reviewer A"] == "ana") & (pairs["Reviewer B"] == "chen")].iloc[0]
    assert chen["Stars κ (exact)"] == "—" and chen["Shared items (stars)"] == 3
    assert "fewer than 5 shared items" in text
    worst = at.dataframe[1].value
    assert len(worst) > 0
    assert worst.iloc[0]["Open"].startswith("review?item=")


def test_heatmap_shows_reviewer_names_as_text_not_html():
    import pandas as pd

    from dashboard.charts import kappa_heatmap

    figure = kappa_heatmap(pd.DataFrame([{"reviewer_a": "<a href='http://x'>ana</a>",
                                          "reviewer_b": "ben", "stars_weighted_kappa": 0.5}]))
    assert "&lt;a href='http://x'&gt;ana&lt;/a&gt;" in figure.data[0].x
