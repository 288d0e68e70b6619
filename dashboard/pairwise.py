"""Honest statistics for blind pairwise votes between prompt variants.

A vote says which of two answers was better: ``a``, ``b``, ``tie`` or ``both_bad``. Win rates count
ties and both-bad votes as half a win for each side; intervals are exact (Clopper-Pearson) 95%
intervals; the sign test uses decisive votes only; the leaderboard is a Bradley-Terry fit with ties
(Davidson) under a weak prior, with 95% intervals from its posterior.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
from scipy.stats import beta

WINNERS = ("a", "b", "tie", "both_bad")
Z95 = NormalDist().inv_cdf(0.975)


@dataclass(frozen=True)
class Vote:
    """One blind vote between the answers of variant_a and variant_b."""

    variant_a: str
    variant_b: str
    winner: str  # a, b, tie, both_bad
    left_side: str | None = None  # which answer was shown on the left: a or b
    length_a: int | None = None
    length_b: int | None = None

    def flipped(self) -> Vote:
        """The same vote seen from the other side (a and b swapped)."""
        swap = {"a": "b", "b": "a"}
        return Vote(
            self.variant_b,
            self.variant_a,
            swap.get(self.winner, self.winner),
            swap.get(self.left_side or ""),
            self.length_b,
            self.length_a,
        )


@dataclass(frozen=True)
class PairStats:
    """The tally and statistics of one pair of variants."""

    variant_a: str
    variant_b: str
    n: int
    a_wins: int
    b_wins: int
    ties: int
    both_bad: int
    a_win_rate: float
    b_win_rate: float
    ci_low: float  # bounds of b_win_rate
    ci_high: float
    p_value: float  # two-sided sign test on decisive votes

    def as_dict(self) -> dict[str, object]:
        """Plain dict, as `stats pairwise --json` prints it."""
        return asdict(self)


def exact_interval(successes: float, n: float, level: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson interval of a proportion, the inversion of the exact binomial test.

    ``successes`` may be fractional (ties count half). Unlike the Wilson interval it never
    covers less than its level: with 4 votes out of 4, Wilson's 95% interval leaves out 50%
    although the sign test's p is 0.125.
    """
    if n <= 0:
        return (0.0, 1.0)
    low, high = exact_bounds(np.asarray(successes, dtype=float), np.asarray(n, dtype=float), level)
    return (float(low), float(high))


def exact_bounds(
    successes: np.ndarray, n: np.ndarray, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """``exact_interval`` for arrays of counts at once (n > 0)."""
    tail = (1 - level) / 2
    with np.errstate(invalid="ignore"):
        low = np.where(successes > 0, beta.ppf(tail, successes, n - successes + 1), 0.0)
        high = np.where(successes < n, beta.ppf(1 - tail, successes + 1, n - successes), 1.0)
    return low, high


def sign_test(wins: int, losses: int) -> float:
    """Two-sided exact sign test p-value of wins against losses (ties left out)."""
    n = wins + losses
    if n == 0:
        return 1.0
    k = min(wins, losses)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


def votes_needed(rate: float, margin: float, n_now: int = 0, z: float = Z95) -> int:
    """About how many more votes bring the 95% interval's half-width down to ``margin``."""
    if not 0 < margin < 1:
        raise ValueError("the margin must be between 0 and 1, e.g. 0.05 for ±5 points")
    p = min(max(rate, 0.05), 0.95)  # never promise certainty from a lopsided start
    total = math.ceil(z * z * p * (1 - p) / (margin * margin))
    return max(0, total - n_now)


def pair_stats(votes: Iterable[Vote]) -> list[PairStats]:
    """Statistics per pair of variants; each pair appears once, names in sorted order."""
    tallies: dict[tuple[str, str], list[int]] = {}
    for vote in votes:
        if vote.winner not in WINNERS:
            raise ValueError(f"unknown winner {vote.winner!r}: expected one of {WINNERS}")
        if vote.variant_a == vote.variant_b:
            continue
        if vote.variant_a > vote.variant_b:
            vote = vote.flipped()
        tally = tallies.setdefault((vote.variant_a, vote.variant_b), [0, 0, 0, 0])
        tally[WINNERS.index(vote.winner)] += 1
    result = []
    for (a, b), (a_wins, b_wins, ties, both_bad) in sorted(tallies.items()):
        n = a_wins + b_wins + ties + both_bad
        half = 0.5 * (ties + both_bad)
        low, high = exact_interval(b_wins + half, n)
        result.append(
            PairStats(
                variant_a=a,
                variant_b=b,
                n=n,
                a_wins=a_wins,
                b_wins=b_wins,
                ties=ties,
                both_bad=both_bad,
                a_win_rate=(a_wins + half) / n,
                b_win_rate=(b_wins + half) / n,
                ci_low=low,
                ci_high=high,
                p_value=sign_test(b_wins, a_wins),
            )
        )
    return result


# -- leaderboard: Bradley-Terry with ties (Davidson), a Gaussian prior, Laplace intervals ----

ELO = 400 / math.log(10)  # Elo points per unit of log-strength
PRIOR_SD = 2.0  # prior sd of a variant's log-strength: about 350 Elo points, weak
TIE_PRIOR = (math.log(0.5), 1.5)  # prior mean and sd of log(nu), Davidson's tie parameter
METHOD = (
    "Bradley–Terry with ties (Davidson's model) fitted to every vote, with a weak Gaussian "
    "prior on each variant's log-strength (sd 2, about 350 Elo points) so unanimous or tiny "
    "samples stay finite; 95% intervals come from the posterior (Laplace approximation)."
)


@dataclass(frozen=True)
class PairCounts:
    """Votes of a set of tables, one row per replicate: outcomes per pair of variants (i < j)."""

    first: np.ndarray  # (pairs,) index of variant i
    second: np.ndarray  # (pairs,) index of variant j
    wins: np.ndarray  # (replicates, pairs): i won
    losses: np.ndarray  # (replicates, pairs): j won
    ties: np.ndarray  # (replicates, pairs): tie or both bad


def fit_strengths(
    counts: PairCounts, size: int, prior_sd: float = PRIOR_SD, iterations: int = 60
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior mode of the log-strengths and their centred covariance, for many tables at once.

    Davidson's model: P(i beats j) = s_i / D, P(tie) = nu * sqrt(s_i s_j) / D, with
    D = s_i + s_j + nu * sqrt(s_i s_j); log s ~ N(0, prior_sd^2), log nu ~ N(TIE_PRIOR).
    Newton's method on the log posterior (concave); the covariance is the inverse of its
    negative Hessian at the mode (Laplace), centred so that scores average zero.
    Returns (replicates, size) modes and (replicates, size, size) covariances.
    """
    first, second = counts.first, counts.second
    wins, losses, ties = (np.asarray(a, dtype=float) for a in (counts.wins, counts.losses,
                                                                counts.ties))
    replicates = wins.shape[0]
    n = wins + losses + ties
    tie_mean, tie_sd = TIE_PRIOR
    x = np.zeros((replicates, size + 1))
    x[:, size] = tie_mean
    diagonal = np.arange(size)
    for _ in range(iterations):
        theta, log_nu = x[:, :size], x[:, size]
        half = (theta[:, first] - theta[:, second]) / 2
        logits = np.stack([half, -half, np.broadcast_to(log_nu[:, None], half.shape)], axis=-1)
        logits -= logits.max(axis=-1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=-1, keepdims=True)
        p_win, p_loss, p_tie = p[..., 0], p[..., 1], p[..., 2]
        lead = p_win - p_loss
        grad_half = (wins - losses) - n * lead
        gradient = np.zeros((replicates, size + 1))
        np.add.at(gradient.T, first, 0.5 * grad_half.T)
        np.add.at(gradient.T, second, -0.5 * grad_half.T)
        gradient[:, :size] -= theta / prior_sd**2
        gradient[:, size] = (ties - n * p_tie).sum(axis=1) - (log_nu - tie_mean) / tie_sd**2
        # negative Hessian: n times the covariance of the outcome's sufficient statistics
        var_half = n * (p_win + p_loss - lead**2) / 4
        cross = -n * lead * p_tie / 2
        hessian = np.zeros((replicates, size + 1, size + 1))
        for k, (i, j) in enumerate(zip(first, second)):
            hessian[:, i, i] += var_half[:, k]
            hessian[:, j, j] += var_half[:, k]
            hessian[:, i, j] -= var_half[:, k]
            hessian[:, j, i] -= var_half[:, k]
            hessian[:, i, size] += cross[:, k]
            hessian[:, size, i] += cross[:, k]
            hessian[:, j, size] -= cross[:, k]
            hessian[:, size, j] -= cross[:, k]
        hessian[:, size, size] += (n * p_tie * (1 - p_tie)).sum(axis=1) + 1 / tie_sd**2
        hessian[:, diagonal, diagonal] += 1 / prior_sd**2
        step = np.clip(np.linalg.solve(hessian, gradient[..., None])[..., 0], -2.0, 2.0)
        x += step
        if np.abs(step).max() < 1e-10:
            break
    covariance = np.linalg.inv(hessian)[:, :size, :size]
    centre = np.eye(size) - 1.0 / size
    theta = x[:, :size] - x[:, :size].mean(axis=1, keepdims=True)
    return theta, centre @ covariance @ centre


@dataclass(frozen=True)
class LeaderboardRow:
    """One variant's score (Elo scale, 1000 = the average variant) with its 95% interval.

    ``rank_best``..``rank_worst`` are the ranks the votes allow: another variant counts as
    above (or below) only when the difference between the two is shown (see ``Ranking``).
    """

    variant: str
    score: float
    ci_low: float
    ci_high: float
    votes: int
    rank_best: int
    rank_worst: int

    def as_dict(self) -> dict[str, object]:
        """Plain dict, as `stats pairwise --json` prints it."""
        return asdict(self)


@dataclass(frozen=True)
class Ranking:
    """The leaderboard, the differences it shows, and whether the votes rank anything yet."""

    rows: list[LeaderboardRow]
    shown: list[tuple[str, str]]  # (better, worse) pairs the votes support
    decisive: int

    @property
    def enough(self) -> bool:
        """Whether at least one variant is shown to be better than another."""
        return bool(self.shown)

    def sentence(self) -> str:
        """What the leaderboard can and cannot say, in one sentence."""
        if not self.rows:
            return "No votes yet."
        if not self.enough:
            return (f"Not enough votes to rank: after {self.decisive} decisive votes no variant "
                    "is ahead of another by more than the uncertainty.")
        pairs = "; ".join(f"{better} above {worse}" for better, worse in self.shown)
        return f"The votes show: {pairs}. Variants sharing a rank range are not told apart yet."

    def as_dict(self) -> dict[str, object]:
        """Plain data for pages and the command line."""
        return {"rows": [row.as_dict() for row in self.rows], "shown": self.shown,
                "decisive": self.decisive, "enough": self.enough, "sentence": self.sentence(),
                "method": METHOD}


def leaderboard(votes: Sequence[Vote]) -> list[LeaderboardRow]:
    """Variants ranked by score, with 95% posterior intervals."""
    return ranking(votes).rows


def ranking(votes: Sequence[Vote]) -> Ranking:
    """The leaderboard of these votes and the differences between variants it can show.

    A variant is shown above another when the 95% interval of their difference excludes zero
    and, where the two met directly, their own votes agree (two-sided sign test p < 0.05, the
    test the pairwise table shows), so the leaderboard never claims what that table does not.
    """
    votes = [v for v in votes if v.variant_a != v.variant_b]
    names = sorted({v.variant_a for v in votes} | {v.variant_b for v in votes})
    if not names:
        return Ranking([], [], 0)
    index = {name: k for k, name in enumerate(names)}
    first, second = np.triu_indices(len(names), 1)
    slot = {(int(i), int(j)): k for k, (i, j) in enumerate(zip(first, second))}
    tally = np.zeros((3, len(first)))
    played = {name: 0 for name in names}
    for vote in votes:
        i, j = index[vote.variant_a], index[vote.variant_b]
        winner = vote.winner
        if i > j:
            i, j = j, i
            winner = {"a": "b", "b": "a"}.get(winner, winner)
        tally[{"a": 0, "b": 1}.get(winner, 2), slot[(i, j)]] += 1
        played[vote.variant_a] += 1
        played[vote.variant_b] += 1
    counts = PairCounts(first, second, tally[0][None], tally[1][None], tally[2][None])
    theta, covariance = fit_strengths(counts, len(names))
    theta, covariance = theta[0], covariance[0]
    spread = np.sqrt(np.diag(covariance))
    shown = []
    for i in range(len(names)):
        for j in range(len(names)):
            if i == j:
                continue
            sd = math.sqrt(max(covariance[i, i] + covariance[j, j] - 2 * covariance[i, j], 0.0))
            if theta[i] - theta[j] <= Z95 * sd:
                continue
            k = slot[(min(i, j), max(i, j))]
            own_wins, own_losses = (tally[0, k], tally[1, k]) if i < j else (tally[1, k],
                                                                               tally[0, k])
            if own_wins + own_losses and (own_wins <= own_losses
                                          or sign_test(int(own_wins), int(own_losses)) >= 0.05):
                continue
            shown.append((i, j))
    above = {k: sum(1 for _, worse in shown if worse == k) for k in range(len(names))}
    below = {k: sum(1 for better, _ in shown if better == k) for k in range(len(names))}
    rows = [
        LeaderboardRow(
            variant=name,
            score=1000 + ELO * float(theta[k]),
            ci_low=1000 + ELO * float(theta[k] - Z95 * spread[k]),
            ci_high=1000 + ELO * float(theta[k] + Z95 * spread[k]),
            votes=played[name],
            rank_best=1 + above[k],
            rank_worst=len(names) - below[k],
        )
        for k, name in enumerate(names)
    ]
    rows.sort(key=lambda row: row.score, reverse=True)
    order = {row.variant: n for n, row in enumerate(rows)}
    pairs = sorted(((names[i], names[j]) for i, j in shown),
                   key=lambda pair: (order[pair[0]], order[pair[1]]))
    return Ranking(rows, pairs, int(tally[0].sum() + tally[1].sum()))


# -- biases -----------------------------------------------------------------------


@dataclass(frozen=True)
class BiasCheck:
    """How often one kind of answer won among the decisive votes where the check applies."""

    n: int
    share: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None

    def as_dict(self) -> dict[str, object]:
        """Plain dict."""
        return asdict(self)


def _bias(hits: int, n: int) -> BiasCheck:
    if n == 0:
        return BiasCheck(0, None, None, None, None)
    low, high = exact_interval(hits, n)
    return BiasCheck(n, hits / n, low, high, sign_test(hits, n - hits))


def position_bias(votes: Iterable[Vote]) -> BiasCheck:
    """Share of decisive votes won by the answer shown on the left (0.5 means no bias)."""
    decisive = [v for v in votes if v.winner in ("a", "b") and v.left_side in ("a", "b")]
    return _bias(sum(v.winner == v.left_side for v in decisive), len(decisive))


def length_bias(votes: Iterable[Vote]) -> BiasCheck:
    """Share of decisive votes won by the longer answer (lengths equal or unknown left out)."""
    usable = [  # for each vote between answers of different lengths: whether the longer won
        (v.length_a > v.length_b) == (v.winner == "a")
        for v in votes
        if v.winner in ("a", "b")
        and v.length_a is not None
        and v.length_b is not None
        and v.length_a != v.length_b
    ]
    longer_won = sum(usable)
    return _bias(longer_won, len(usable))


# -- the report ---------------------------------------------------------------------


def votes_from_rows(rows: Iterable[dict[str, Any]]) -> list[Vote]:
    """Stored comparison rows as Vote objects for the statistics."""
    return [
        Vote(
            variant_a=row["variant_a"],
            variant_b=row["variant_b"],
            winner=row["winner"],
            left_side=row.get("left_side"),
            length_a=row.get("length_a"),
            length_b=row.get("length_b"),
        )
        for row in rows
        if row.get("variant_a") and row.get("variant_b")
    ]


def vote_report(votes: Sequence[Vote]) -> dict[str, Any]:
    """Pair statistics, the leaderboard (with what it can show) and the bias checks, as plain data."""
    board = ranking(votes).as_dict()
    return {
        "pairs": [p.as_dict() for p in pair_stats(votes)],
        "leaderboard": board.pop("rows"),
        "ranking": board,
        "position_bias": position_bias(votes).as_dict(),
        "length_bias": length_bias(votes).as_dict(),
        "n_votes": len(votes),
    }
