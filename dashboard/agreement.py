"""What the Agreement page shows: readable tables and a heatmap built from dashboard.stats."""

from __future__ import annotations

import math
from typing import Any, cast

import pandas as pd

from dashboard.pages import REVIEW_PAGE, url_path
from dashboard.review import ITEM_PARAM, preview
from dashboard.stats import MIN_SHARED_ITEMS

PAIR_COLUMNS = {
    "reviewer_a": "Reviewer A",
    "reviewer_b": "Reviewer B",
    "stars_shared": "Shared items (stars)",
    "stars_kappa": "Stars κ (exact)",
    "stars_weighted_kappa": "Stars κ (quadratic-weighted)",
    "thumbs_shared": "Shared items (thumbs)",
    "thumbs_kappa": "Thumbs κ",
}
READING_COLUMN = "Stars κ (quadratic-weighted), in words"
PAIR_HELP = {
    "Stars κ (exact)": "Cohen's kappa on the stars, counting only identical stars as agreement.",
    "Stars κ (quadratic-weighted)": (
        "Cohen's kappa on the stars with quadratic weights: a 4 against a 5 costs less than a "
        "1 against a 5. 1 is perfect agreement, 0 what chance alone would give."),
    "Thumbs κ": "Cohen's kappa on thumbs up and down.",
    READING_COLUMN: (
        "The quadratic-weighted stars κ in Landis and Koch's words: poor (0 or less), slight "
        "(to 0.2), fair (to 0.4), moderate (to 0.6), substantial (to 0.8), almost perfect."),
}


def kappa_reading(value: float | None) -> str:
    """Landis and Koch's words for a kappa or alpha: 'poor' to 'almost perfect'; '' for none."""
    if value is None or math.isnan(value):
        return ""
    for limit, word in ((0.0, "poor"), (0.2, "slight"), (0.4, "fair"), (0.6, "moderate"),
                        (0.8, "substantial")):
        if value <= limit:
            return word
    return "almost perfect"


def number_text(value: float | None, digits: int = 2) -> str:
    """'0.73' or '—' when there is no number."""
    return "—" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def pairs_table(pairs: pd.DataFrame) -> pd.DataFrame:
    """The pairwise kappas as text ('—' where there is no number), most shared items first,
    with readable column names and a reading of the quadratic-weighted stars kappa."""
    table = pairs.sort_values(["stars_shared", "thumbs_shared"], ascending=False, kind="stable")
    reading = [kappa_reading(v) for v in table["stars_weighted_kappa"]]
    for column in ("stars_kappa", "stars_weighted_kappa", "thumbs_kappa"):
        table[column] = [number_text(v) for v in table[column]]
    table = table.rename(columns=PAIR_COLUMNS)
    table[READING_COLUMN] = reading
    return table.reset_index(drop=True)


def missing_numbers_note(pairs: pd.DataFrame) -> str:
    """A sentence explaining empty kappa cells, or '' when every pair has its numbers."""
    empty = pairs[["stars_kappa", "thumbs_kappa"]].isna().any(axis=1).sum() if len(pairs) else 0
    if not empty:
        return ""
    return (
        f"An empty kappa means fewer than {MIN_SHARED_ITEMS} shared items, or a reviewer who "
        "always gave the same value: not enough to tell agreement from chance."
    )


def alpha_note(summary: dict[str, Any]) -> str:
    """A sentence for each alpha that could not be computed, or ''."""
    notes = []
    for name in ("stars", "thumbs"):
        key = "stars_alpha_ordinal" if name == "stars" else "thumbs_alpha_nominal"
        if math.isnan(summary[key]):
            items = summary[f"{name}_items"]
            notes.append(
                f"Not enough overlap for alpha on {name}: {items} item{'s' if items != 1 else ''} "
                f"rated by two or more reviewers (at least {MIN_SHARED_ITEMS} needed, with some "
                "variety in the ratings)."
            )
    return " ".join(notes)


def disagreement_table(worst: pd.DataFrame, briefs: list[dict[str, Any]]) -> pd.DataFrame:
    """The most disputed items with their question, for a lead to open and settle."""
    questions = {b["id"]: b for b in briefs}
    return pd.DataFrame(
        [
            {
                "Open": f"{url_path(REVIEW_PAGE)}?{ITEM_PARAM}={row.interaction_id}",
                "#": int(row.interaction_id),
                "Question": preview(questions.get(row.interaction_id, {}).get("question"), 100),
                "Stars given": row.stars,
                "Spread": int(row.stars_spread),
                "Thumbs split": bool(row.thumbs_split),
                "Reviewers": int(row.reviewers),
            }
            for row in cast(Any, worst.itertuples())  # pandas types row fields loosely
        ],
        columns=["Open", "#", "Question", "Stars given", "Spread", "Thumbs split", "Reviewers"],
    )
