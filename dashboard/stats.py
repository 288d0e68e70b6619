"""Statistics over ratings, as pure functions of plain Python and pandas data.

Agreement between reviewers: Cohen's kappa for two reviewers (plain, linear or quadratic
weights) and Krippendorff's alpha for any number of reviewers with missing values
(nominal, ordinal or interval metric), computed from their definitions. The statistics of
blind votes between variants (win rates, the leaderboard, bias checks, the Results report) live
beside these in ``dashboard/pairwise.py``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from itertools import combinations
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

STAR_VALUES = (1, 2, 3, 4, 5)
THUMB_VALUES = (-1, 1)
MIN_SHARED_ITEMS = 5  # fewer items rated by both reviewers give no number, only a sentence


def cohen_kappa(
    a: Sequence[Any], b: Sequence[Any], *, labels: Sequence[Any] | None = None,
    weights: str | None = None,
) -> float:
    """Cohen's kappa of two raters' labels on the same items (nan when it is undefined).

    ``weights`` is None (every disagreement counts the same), "linear" or "quadratic"
    (disagreements weigh by the distance between label positions in ``labels``).
    """
    if len(a) != len(b):
        raise ValueError("both raters must label the same items")
    if not len(a):
        return math.nan
    labels = list(labels) if labels is not None else sorted(set(a) | set(b))
    index = {label: k for k, label in enumerate(labels)}
    size = len(labels)
    observed = np.zeros((size, size))
    np.add.at(observed, (_positions(a, index), _positions(b, index)), 1)
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / observed.sum()
    distance = np.abs(np.subtract.outer(np.arange(size), np.arange(size))).astype(float)
    if weights is None:
        weight = (distance > 0).astype(float)
    elif weights == "linear":
        weight = distance
    elif weights == "quadratic":
        weight = distance**2
    else:
        raise ValueError(f"unknown weights: {weights!r}")
    disagreement_expected = float((weight * expected).sum())
    if disagreement_expected == 0:
        return math.nan
    return 1.0 - float((weight * observed).sum()) / disagreement_expected


def _positions(labels: Sequence[Any], index: dict[Any, int]) -> np.ndarray:
    return np.fromiter((index[label] for label in labels), dtype=np.intp, count=len(labels))


def krippendorff_alpha(
    units: Iterable[Iterable[Any]], *, metric: str = "nominal", values: Sequence[Any] | None = None
) -> float:
    """Krippendorff's alpha over units (items), each the values its raters gave (nan when
    undefined). Missing ratings are simply absent; units with fewer than two values are not
    pairable and are left out. ``metric`` is "nominal", "ordinal" or "interval"."""
    units = [[v for v in unit if not _missing(v)] for unit in units]
    values = list(values) if values is not None else sorted({v for unit in units for v in unit})
    index = {value: k for k, value in enumerate(values)}
    counts = np.zeros((len(units), len(values)))
    for u, unit in enumerate(units):
        for value in unit:
            counts[u, index[value]] += 1
    return alpha_from_counts(counts, values, metric=metric)


def alpha_from_counts(
    counts: np.ndarray, values: Sequence[Any], *, metric: str = "nominal"
) -> float:
    """Krippendorff's alpha from per-unit value counts (units × values; nan when undefined)."""
    counts = np.asarray(counts, dtype=float)
    counts = counts[counts.sum(axis=1) >= 2] if counts.size else counts
    if not len(counts):
        return math.nan
    coincidence = coincidence_matrix(counts)
    marginals = coincidence.sum(axis=1)
    total = marginals.sum()
    delta = _distance_squared(metric, np.asarray(values, dtype=float), marginals)
    expected = float((np.outer(marginals, marginals) * delta).sum())
    if expected == 0:
        return math.nan
    return 1.0 - (total - 1) * float((coincidence * delta).sum()) / expected


def coincidence_matrix(counts: np.ndarray) -> np.ndarray:
    """o[c, k] = Σ_u n_uc (n_uk − [c = k]) / (m_u − 1) from per-unit value counts n_uc."""
    pairable = counts.sum(axis=1)
    weight = 1.0 / (pairable - 1)
    weighted = counts * weight[:, None]
    return counts.T @ weighted - np.diag(weighted.sum(axis=0))


def _distance_squared(metric: str, values: np.ndarray, marginals: np.ndarray) -> np.ndarray:
    size = len(values)
    if metric == "nominal":
        return 1.0 - np.eye(size)
    if metric == "interval":
        return np.subtract.outer(values, values) ** 2
    if metric == "ordinal":
        cumulative = np.concatenate([[0.0], np.cumsum(marginals)])
        delta = np.zeros((size, size))
        for c in range(size):
            for k in range(size):
                lo, hi = min(c, k), max(c, k)
                between = cumulative[hi + 1] - cumulative[lo]  # n_lo + ... + n_hi
                delta[c, k] = (between - (marginals[c] + marginals[k]) / 2) ** 2
        return delta
    raise ValueError(f"unknown metric: {metric!r}")


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


# -- reviewer agreement over stored ratings ---------------------------------------


def ratings_frame(ratings: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """Ratings (interaction_id, reviewer, stars, thumbs) as a DataFrame with those columns."""
    return pd.DataFrame(list(ratings), columns=["interaction_id", "reviewer", "stars", "thumbs"])


def rating_matrix(ratings: pd.DataFrame, field: str) -> pd.DataFrame:
    """Items × reviewers table of one field (stars or thumbs); NaN where a reviewer gave none."""
    present = ratings.dropna(subset=[field])
    if present.empty:
        return pd.DataFrame()
    items, item_index = pd.factorize(present["interaction_id"], sort=True)
    people, people_index = pd.factorize(present["reviewer"], sort=True)
    matrix = np.full((len(item_index), len(people_index)), np.nan)
    matrix[items, people] = present[field].to_numpy(dtype=float)
    return pd.DataFrame(matrix, index=item_index, columns=people_index)


def _value_counts(ratings: pd.DataFrame, field: str, values: Sequence[Any]) -> np.ndarray:
    """Units × values counts of one field: how many reviewers gave each value to each item."""
    present = ratings.dropna(subset=[field])
    items, item_index = pd.factorize(present["interaction_id"])
    position = {value: k for k, value in enumerate(values)}
    counts = np.zeros((len(item_index), len(values)))
    np.add.at(counts, (items, _positions(present[field].astype(int).tolist(), position)), 1)
    return counts


def pairwise_agreement(
    ratings: pd.DataFrame, *, min_shared: int = MIN_SHARED_ITEMS
) -> pd.DataFrame:
    """One row per pair of reviewers who rated the same items: shared counts and kappas.

    Columns: reviewer_a, reviewer_b, stars_shared, stars_kappa, stars_weighted_kappa
    (quadratic), thumbs_shared, thumbs_kappa. A kappa is NaN when fewer than ``min_shared``
    items are shared or when neither reviewer varies.
    """
    stars = rating_matrix(ratings, "stars")
    thumbs = rating_matrix(ratings, "thumbs")
    reviewers = sorted(set(stars.columns) | set(thumbs.columns))
    rows = []
    for a, b in combinations(reviewers, 2):
        row: dict[str, Any] = {"reviewer_a": a, "reviewer_b": b}
        for name, matrix, labels in (
            ("stars", stars, STAR_VALUES), ("thumbs", thumbs, THUMB_VALUES)
        ):
            x, y = _shared(matrix, a, b)
            row[f"{name}_shared"] = len(x)
            enough = len(x) >= min_shared
            row[f"{name}_kappa"] = cohen_kappa(x, y, labels=labels) if enough else math.nan
            if name == "stars":
                row["stars_weighted_kappa"] = (
                    cohen_kappa(x, y, labels=labels, weights="quadratic") if enough else math.nan
                )
        if row["stars_shared"] or row["thumbs_shared"]:
            rows.append(row)
    return pd.DataFrame(
        rows,
        columns=["reviewer_a", "reviewer_b", "stars_shared", "stars_kappa", "stars_weighted_kappa",
                 "thumbs_shared", "thumbs_kappa"],
    )


def _shared(matrix: pd.DataFrame, a: str, b: str) -> tuple[list[int], list[int]]:
    if a not in matrix.columns or b not in matrix.columns:
        return [], []
    x, y = matrix[a].to_numpy(), matrix[b].to_numpy()
    both = ~np.isnan(x) & ~np.isnan(y)
    return x[both].astype(int).tolist(), y[both].astype(int).tolist()


def alpha_summary(ratings: pd.DataFrame, *, min_items: int = MIN_SHARED_ITEMS) -> dict[str, Any]:
    """Krippendorff's alpha across all reviewers: stars (ordinal and interval) and thumbs
    (nominal), with the number of items rated by two or more. Alphas are NaN below ``min_items``."""
    result: dict[str, Any] = {}
    for name, values in (("stars", STAR_VALUES), ("thumbs", THUMB_VALUES)):
        matrix = _value_counts(ratings, name, values)
        pairable = int((matrix.sum(axis=1) >= 2).sum()) if matrix.size else 0
        result[f"{name}_items"] = pairable
        for metric in ("ordinal", "interval") if name == "stars" else ("nominal",):
            result[f"{name}_alpha_{metric}"] = (
                alpha_from_counts(matrix, values, metric=metric) if pairable >= min_items
                else math.nan
            )
    return result


def disagreements(ratings: pd.DataFrame, top: int = 20) -> pd.DataFrame:
    """The items reviewers disagree on most: widest spread of stars first, then split thumbs.

    Columns: interaction_id, reviewers, stars (e.g. '1, 5'), stars_spread, thumbs_split.
    Only items with some disagreement appear.
    """
    columns = ["interaction_id", "reviewers", "stars", "stars_spread", "thumbs_split"]
    if ratings.empty:
        return pd.DataFrame(columns=columns)
    grouped = ratings.groupby("interaction_id")
    table = pd.DataFrame({
        "reviewers": grouped["reviewer"].nunique(),
        "stars_spread": (grouped["stars"].max() - grouped["stars"].min()).fillna(0).astype(int),
        "thumbs_split": (grouped["thumbs"].max() == 1) & (grouped["thumbs"].min() == -1),
    })
    table = table[(table["reviewers"] >= 2) & ((table["stars_spread"] > 0) | table["thumbs_split"])]
    table = table.sort_values(
        ["stars_spread", "thumbs_split", "reviewers"], ascending=False, kind="stable"
    ).head(top)
    given = ratings[ratings["interaction_id"].isin(table.index)].dropna(subset=["stars"])
    stars = given.groupby("interaction_id")["stars"].agg(
        lambda s: ", ".join(str(int(v)) for v in sorted(s))
    )
    table["stars"] = stars.reindex(table.index).fillna("")
    return table.reset_index()[columns]


def kappa_interval(
    a: Sequence[Any], b: Sequence[Any], *, labels: Sequence[Any] | None = None,
    level: float = 0.95,
) -> tuple[float, float]:
    """An interval for Cohen's (unweighted) kappa that stays honest on few items.

    The union of two intervals: the large-sample one (Fleiss, Cohen and Everitt's standard
    error) and the exact Clopper-Pearson interval of the observed agreement mapped through
    the chance agreement. The first alone shrinks to a point when two raters always agree;
    the second alone ignores that the chance agreement is estimated too.
    """
    from dashboard.pairwise import exact_interval

    if len(a) != len(b):
        raise ValueError("both raters must label the same items")
    kappa = cohen_kappa(a, b, labels=labels)
    if not len(a) or math.isnan(kappa):
        return (math.nan, math.nan)
    labels = list(labels) if labels is not None else sorted(set(a) | set(b))
    index = {label: k for k, label in enumerate(labels)}
    table = np.zeros((len(labels), len(labels)))
    np.add.at(table, (_positions(a, index), _positions(b, index)), 1)
    n = table.sum()
    p = table / n
    rows, columns = p.sum(axis=1), p.sum(axis=0)
    chance = float(rows @ columns)
    observed = float(np.trace(p))
    diagonal = float((np.diag(p) * (1 - (rows + columns) * (1 - kappa)) ** 2).sum())
    spread = np.add.outer(columns, rows)  # p_.i + p_j. at [i, j]
    off = p * (1 - np.eye(len(labels)))
    variance = (diagonal + (1 - kappa) ** 2 * float((off * spread**2).sum())
                - (kappa - chance * (1 - kappa)) ** 2) / (n * (1 - chance) ** 2)
    z = NormalDist().inv_cdf(0.5 + level / 2)
    half = z * math.sqrt(max(variance, 0.0))
    low, high = exact_interval(observed * n, n, level)
    mapped = ((low - chance) / (1 - chance), (high - chance) / (1 - chance))
    return (max(-1.0, min(kappa - half, mapped[0])), min(1.0, max(kappa + half, mapped[1])))
