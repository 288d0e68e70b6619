"""Coverage and width of the Results page's 95% intervals, simulated from known strengths.

Run: .venv/bin/python -m bench.compare_coverage [--replicates 2000]
For each setting it prints, per number of votes per pair, how often the intervals held the
true value (the worst variant or pair) and their mean width; then the leaderboard's width at
40 votes per pair.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from dashboard.pairwise_coverage import (
    elo_strengths,
    leaderboard_coverage,
    side_effect_coverage,
    win_rate_coverage,
)

SIZES = (3, 5, 10, 20, 40, 100, 200)
STRENGTHS = {"60-400 apart": [-200, -70, 70, 200], "800 apart": [-400, -100, 100, 400],
             "all equal": [0, 0, 0]}
TIES = {"no ties": 0.0, "ties": 0.6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    header = " ".join(f"{n:>12}" for n in SIZES)
    print(f"votes per pair{'':26}{header}")
    at_40 = {}
    for strengths, points in STRENGTHS.items():
        theta = elo_strengths(points)
        for ties, rate in TIES.items():
            rows = {
                "leaderboard": [leaderboard_coverage(theta, rate, n, args.replicates, rng)
                                for n in SIZES],
                "win rate": [win_rate_coverage(theta, rate, n, args.replicates, rng)
                             for n in SIZES],
                "position/length": [side_effect_coverage(theta, rate, 0.4, n, args.replicates, rng)
                                    for n in SIZES],
            }
            for name, results in rows.items():
                unit = "" if name == "leaderboard" else "%"
                cells = " ".join(
                    f"{r.coverage:6.1%} {r.width * (100 if unit else 1):4.0f}{unit}".rjust(12)
                    for r in results
                )
                print(f"{strengths + ', ' + ties:22} {name:16} {cells}")
            at_40[f"{strengths}, {ties}"] = rows["leaderboard"][SIZES.index(40)].width
    print("\ncells: coverage of the 95% intervals (worst variant or pair), mean width "
          "(Elo points for the leaderboard, points of share otherwise)")
    print("leaderboard width at 40 votes per pair: "
          + "; ".join(f"{k} {v:.0f} Elo" for k, v in at_40.items()))
    print(f"{len(STRENGTHS) * len(TIES) * 3 * len(SIZES) * args.replicates} tables "
          f"in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
