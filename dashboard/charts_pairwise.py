"""Figures for pairwise results: win rates with their intervals, and the leaderboard."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go


def win_rate_figure(pairs: list[dict[str, Any]]) -> go.Figure:
    """One bar per pair: the win rate of variant_b against variant_a with its 95% interval."""
    labels = [f"{p['variant_b']}  vs  {p['variant_a']}" for p in pairs]
    rates = [p["b_win_rate"] for p in pairs]
    figure = go.Figure(
        go.Scatter(
            x=rates,
            y=labels,
            mode="markers",
            marker={"size": 12, "color": "#3b6e8f"},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": [p["ci_high"] - p["b_win_rate"] for p in pairs],
                "arrayminus": [p["b_win_rate"] - p["ci_low"] for p in pairs],
                "thickness": 2,
            },
            customdata=[[p["n"], p["p_value"]] for p in pairs],
            hovertemplate="%{y}<br>win rate %{x:.0%}<br>%{customdata[0]} votes, "
            "sign test p = %{customdata[1]:.3f}<extra></extra>",
        )
    )
    figure.add_vline(x=0.5, line_dash="dash", line_color="#8a8a8a")
    figure.update_layout(
        xaxis={"title": "win rate of the first-named variant (ties count half)", "range": [0, 1],
               "tickformat": ".0%"},
        yaxis={"title": None, "automargin": True},
        height=120 + 50 * len(pairs),
        margin={"l": 10, "r": 10, "t": 10, "b": 40},
    )
    return figure


def leaderboard_figure(rows: list[dict[str, Any]]) -> go.Figure:
    """Bradley-Terry scores (Elo scale) with bootstrap 95% intervals, best at the top."""
    rows = list(reversed(rows))
    figure = go.Figure(
        go.Scatter(
            x=[r["score"] for r in rows],
            y=[r["variant"] for r in rows],
            mode="markers",
            marker={"size": 12, "color": "#6b8f3b"},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": [r["ci_high"] - r["score"] for r in rows],
                "arrayminus": [r["score"] - r["ci_low"] for r in rows],
                "thickness": 2,
            },
            hovertemplate="%{y}: %{x:.0f}<extra></extra>",
        )
    )
    figure.add_vline(x=1000, line_dash="dash", line_color="#8a8a8a")
    figure.update_layout(
        xaxis={"title": "Bradley-Terry score (Elo scale, 1000 = average)"},
        yaxis={"title": None, "automargin": True},
        height=120 + 45 * len(rows),
        margin={"l": 10, "r": 10, "t": 10, "b": 40},
    )
    return figure
