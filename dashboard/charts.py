"""Every figure of the dashboard: pure functions DataFrame -> plotly figure (no Streamlit here).

Every figure has a title, axis titles with units and colours from a colour-blind-safe palette
(Okabe-Ito); a model keeps its colour across the charts of a page. Names that come from data
(models, variants, sources, tags) are escaped, since plotly reads a little HTML in labels.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable
from typing import Any, cast

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.agreement import number_text
from dashboard.clustering import OTHER_LABEL

PALETTE = (
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#555555",
    "#882255", "#117733", "#AA4499", "#332288", "#999933",
)
MS_TICKS = [m * 10**e for e in range(7) for m in (1, 2, 5)]
OTHER_COLOR = "#b8b8b8"  # the items of no theme on the theme map
# Themes outnumber the palette's colours: after each round of colours, another shape or dash.
MAP_SYMBOLS = ("circle", "square", "diamond", "cross", "x", "triangle-up")
LINE_DASHES = ("solid", "dash", "dot", "dashdot")
STAR_COLORS = {1: "#B2182B", 2: "#EF8A62", 3: "#A6A6A6", 4: "#67A9CF", 5: "#2166AC"}
PERIOD_TITLES = {"day": "Day (UTC)", "week": "Week (UTC, starting Monday)"}
_LAYOUT = dict(
    margin=dict(l=10, r=10, t=50, b=90),
    legend=dict(orientation="h", yref="container", yanchor="bottom", y=0, xanchor="left", x=0),
    hovermode="x unified",
    height=380,
)


def label(text: object) -> str:
    """A data value made safe to show as a plotly label (shown as written, never as HTML)."""
    return html.escape(str(text), quote=False)


def color_map(names: Iterable[str]) -> dict[str, str]:
    """A stable colour per name: sorted names take the palette in order, '(none)' kinds last."""
    unique = sorted({str(n) for n in names}, key=lambda n: (n.startswith("("), n))
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(unique)}


def _date_axis(fig: go.Figure, periods: pd.Series, period: str, **where: int) -> None:
    """Few periods: one tick per day (or week) instead of plotly's hours in between."""
    periods = pd.to_datetime(pd.Series(periods)).dropna()
    if 0 < periods.nunique() <= 16:
        step = 86_400_000 * (1 if period == "day" else 7)
        fig.update_xaxes(tick0=periods.min(), dtick=step, tickformat="%b %d", **where)


def _figure(title: str, x_title: str, y_title: str) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(title=dict(text=title), xaxis_title=x_title, yaxis_title=y_title, **_LAYOUT)
    return fig


def trend_chart(
    frame: pd.DataFrame,
    *,
    y: str,
    title: str,
    y_title: str,
    group_title: str = "Model",
    period: str = "day",
    percent: bool = False,
    y_range: tuple[float, float] | None = None,
    colors: dict[str, str] | None = None,
) -> go.Figure:
    """One line per `group` of `y` over `period` (a frame with period, group and y)."""
    fig = _figure(title, PERIOD_TITLES[period], y_title)
    colors = colors or color_map(frame["group"])
    value = "%{y:.1%}" if percent else "%{y:.2f}"
    for group, part in frame.sort_values("period").groupby("group", sort=True):
        fig.add_trace(go.Scatter(
            x=part["period"], y=part[y], name=label(group), mode="lines+markers",
            line=dict(color=colors.get(str(group)), width=2), marker=dict(size=5),
            hovertemplate=f"{value}<extra>%{{fullData.name}}</extra>",
        ))
    fig.update_layout(legend_title_text=group_title, showlegend=True)
    _date_axis(fig, frame["period"], period)
    if percent:
        fig.update_yaxes(tickformat=".0%")
    if y_range:
        fig.update_yaxes(range=list(y_range))
    return fig


def star_distribution_chart(frame: pd.DataFrame, colors: dict[str, str] | None = None) -> go.Figure:
    """Share of ratings giving 1 to 5 stars: grouped bars, one colour per model (or overall)."""
    fig = _figure("Star ratings", "Stars given", "Share of star ratings (%)")
    groups = sorted(frame["group"].unique())
    colors = colors or color_map(groups)
    overall = len(groups) == 1
    for group in groups:
        part = frame[frame["group"] == group].sort_values("stars")
        fig.add_trace(go.Bar(
            x=part["stars"], y=part["share"], name=label(group), customdata=part["count"],
            marker_color=[STAR_COLORS[s] for s in part["stars"]] if overall
            else colors.get(str(group)),
            hovertemplate="%{y:.1%} (%{customdata:,} ratings)<extra>%{fullData.name}</extra>",
        ))
    fig.update_layout(barmode="group", showlegend=not overall, legend_title_text="Model",
                      hovermode="closest")
    fig.update_xaxes(tickmode="array", tickvals=[1, 2, 3, 4, 5],
                     ticktext=["1 ★", "2 ★", "3 ★", "4 ★", "5 ★"])
    fig.update_yaxes(tickformat=".0%")
    return fig


def timing_chart(
    frame: pd.DataFrame,
    *,
    metric: str,
    title: str,
    period: str = "day",
    colors: dict[str, str] | None = None,
) -> go.Figure:
    """p95 (solid) and p50 (dotted) of one timing metric per period, one colour per model."""
    part = frame[frame["metric"] == metric].sort_values("period")
    fig = _figure(title, PERIOD_TITLES[period], "Milliseconds (log scale)")
    colors = colors or color_map(part["model"])
    for model, rows in part.groupby("model", sort=True):
        for column, name, dash in (("p95_ms", "p95", "solid"), ("p50_ms", "p50", "dot")):
            fig.add_trace(go.Scatter(
                x=rows["period"], y=rows[column], name=f"{label(model)} · {name}",
                legendgroup=label(model), mode="lines+markers", marker=dict(size=4),
                line=dict(color=colors.get(str(model)), dash=dash, width=2),
                hovertemplate="%{y:,.0f} ms<extra>%{fullData.name}</extra>",
            ))
    fig.update_yaxes(type="log", tickvals=MS_TICKS, ticktext=[f"{v:,}" for v in MS_TICKS])
    fig.update_layout(legend_title_text="Model · percentile", showlegend=True)
    _date_axis(fig, part["period"], period)
    return fig


def rate_chart(
    frame: pd.DataFrame,
    *,
    count: str,
    title: str,
    y_title: str,
    period: str = "day",
    colors: dict[str, str] | None = None,
) -> go.Figure:
    """A rate (count / interactions) per period, one line per model, beside its period total."""
    fig = make_subplots(rows=1, cols=2, column_widths=[0.72, 0.28], horizontal_spacing=0.1,
                        subplot_titles=("Per " + period, "Whole period"))
    colors = colors or color_map(frame["model"])
    totals = frame.groupby("model", sort=True)[["interactions", count]].sum()
    for model, rows in frame.sort_values("period").groupby("model", sort=True):
        fig.add_trace(go.Scatter(
            x=rows["period"], y=rows["rate"], name=label(model), legendgroup=label(model),
            mode="lines+markers", marker=dict(size=5),
            line=dict(color=colors.get(str(model)), width=2),
            hovertemplate="%{y:.2%}<extra>%{fullData.name}</extra>",
        ), row=1, col=1)
        total = cast(pd.Series, totals.loc[model])
        rate = total[count] / total["interactions"] if total["interactions"] else 0.0
        fig.add_trace(go.Bar(
            x=[label(model)], y=[rate], name=label(model), legendgroup=label(model),
            showlegend=False, marker_color=colors.get(str(model)),
            customdata=[[int(total[count]), int(total["interactions"])]],
            hovertemplate="%{y:.2%} (%{customdata[0]:,} of %{customdata[1]:,})<extra></extra>",
        ), row=1, col=2)
    fig.update_layout(title=dict(text=title), legend_title_text="Model", **_LAYOUT)
    fig.update_layout(hovermode="closest", showlegend=True)
    fig.update_xaxes(title_text=PERIOD_TITLES[period], row=1, col=1)
    _date_axis(fig, frame["period"], period, row=1, col=1)
    fig.update_xaxes(title_text="Model", showticklabels=False, row=1, col=2)
    fig.update_yaxes(title_text=y_title, tickformat=".1%", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(tickformat=".1%", rangemode="tozero", row=1, col=2)
    return fig


def volume_chart(
    frame: pd.DataFrame,
    *,
    group_title: str = "Source",
    period: str = "day",
    colors: dict[str, str] | None = None,
) -> go.Figure:
    """Interactions and ratings per period, stacked by source (or model)."""
    per = "day" if period == "day" else "week"
    return _stacked_pair(
        frame, ("interactions", "ratings"),
        ("Interactions", "Ratings (on the day of the rated answer)"),
        (f"Interactions per {per}", f"Ratings per {per}"),
        title=f"Interactions and ratings per {per}", unit="", group_title=group_title,
        period=period, colors=colors,
    )


def _stacked_pair(
    frame: pd.DataFrame,
    columns: tuple[str, str],
    titles: tuple[str, str],
    axis_titles: tuple[str, str],
    *,
    title: str,
    unit: str,
    group_title: str,
    period: str,
    colors: dict[str, str] | None,
) -> go.Figure:
    """Two stacked bar charts over one period axis, one bar colour per group, one legend."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.12,
                        subplot_titles=titles)
    colors = colors or color_map(frame["group"])
    for group, rows in frame.sort_values("period").groupby("group", sort=True):
        for row, column in ((1, columns[0]), (2, columns[1])):
            fig.add_trace(go.Bar(
                x=rows["period"], y=rows[column], name=label(group), legendgroup=label(group),
                showlegend=row == 1, marker_color=colors.get(str(group)),
                hovertemplate=f"%{{y:,}}{unit}<extra>%{{fullData.name}}</extra>",
            ), row=row, col=1)
    fig.update_layout(title=dict(text=title), barmode="stack", legend_title_text=group_title,
                      showlegend=True, **{**_LAYOUT, "height": 460})
    fig.update_xaxes(title_text=PERIOD_TITLES[period], row=2, col=1)
    _date_axis(fig, frame["period"], period)
    fig.update_yaxes(title_text=axis_titles[0], row=1, col=1)
    fig.update_yaxes(title_text=axis_titles[1], row=2, col=1)
    return fig


def tags_chart(frame: pd.DataFrame, colors: dict[str, str] | None = None) -> go.Figure:
    """Top tags as horizontal bars: share of rated items carrying each, per model or overall."""
    fig = _figure("Top tags", "Share of rated interactions (%)", "Tag")
    groups = sorted(frame["group"].unique())
    colors = colors or color_map(groups)
    order = list(dict.fromkeys(frame["tag"]))
    for group in groups:
        part = frame[frame["group"] == group]
        fig.add_trace(go.Bar(
            y=[label(t) for t in part["tag"]], x=part["share"], orientation="h",
            name=label(group), marker_color=colors.get(str(group)) if len(groups) > 1
            else PALETTE[0], customdata=part["items"],
            hovertemplate="%{x:.1%} (%{customdata:,} items)<extra>%{fullData.name}</extra>",
        ))
    fig.update_layout(barmode="group", showlegend=len(groups) > 1, legend_title_text="Model",
                      hovermode="closest", height=max(300, 60 + 28 * len(order) * len(groups)))
    fig.update_yaxes(categoryorder="array", categoryarray=[label(t) for t in reversed(order)])
    fig.update_xaxes(tickformat=".0%")
    return fig


# -- pairwise votes --------------------------------------------------------------------


def win_rate_figure(pairs: list[dict[str, Any]]) -> go.Figure:
    """One bar per pair: the win rate of variant_b against variant_a with its 95% interval."""
    labels = [f"{label(p['variant_b'])}  vs  {label(p['variant_a'])}" for p in pairs]
    rates = [p["b_win_rate"] for p in pairs]
    figure = go.Figure(
        _interval_trace(
            rates, labels, [p["ci_low"] for p in pairs], [p["ci_high"] for p in pairs], "#3b6e8f",
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
    """Leaderboard scores (Elo scale) with their 95% intervals, best at the top."""
    rows = list(reversed(rows))
    figure = go.Figure(
        _interval_trace(
            [r["score"] for r in rows], [label(r["variant"]) for r in rows],
            [r["ci_low"] for r in rows], [r["ci_high"] for r in rows], "#6b8f3b",
            customdata=[[r["ci_low"], r["ci_high"], rank_range(r)] for r in rows],
            hovertemplate="%{y}: %{x:.0f} (95% %{customdata[0]:.0f}–%{customdata[1]:.0f}), "
                          "rank %{customdata[2]}<extra></extra>",
        )
    )
    figure.add_vline(x=1000, line_dash="dash", line_color="#8a8a8a")
    figure.update_layout(
        xaxis={"title": "score (Elo scale, 1000 = the average variant)"},
        yaxis={"title": None, "automargin": True},
        height=120 + 45 * len(rows),
        margin={"l": 10, "r": 10, "t": 10, "b": 40},
    )
    return figure


def rank_range(row: dict[str, Any]) -> str:
    """'1' when the votes fix a variant's rank, '1–3' when they allow several."""
    best, worst = row.get("rank_best"), row.get("rank_worst")
    if best is None or worst is None:
        return ""
    return str(best) if best == worst else f"{best}–{worst}"


def leaderboard_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The leaderboard as the page lists it: rank range, variant, score, interval, votes."""
    return pd.DataFrame({
        "rank": [rank_range(r) for r in rows],
        "variant": [str(r["variant"]) for r in rows],
        "score": [round(r["score"]) for r in rows],
        "95% interval": [f"{r['ci_low']:.0f} – {r['ci_high']:.0f}" for r in rows],
        "votes": [r["votes"] for r in rows],
    }, columns=["rank", "variant", "score", "95% interval", "votes"])


def _interval_trace(
    x: list[float], y: list[str], low: list[float], high: list[float], color: str, **extra: Any
) -> go.Scatter:
    """Points with asymmetric horizontal error bars from low to high."""
    return go.Scatter(
        x=x, y=y, mode="markers", marker={"size": 12, "color": color},
        error_x={"type": "data", "symmetric": False, "thickness": 2,
                 "array": [h - v for h, v in zip(high, x)],
                 "arrayminus": [v - lo for v, lo in zip(x, low)]},
        **extra,
    )


def usage_chart(
    frame: pd.DataFrame,
    *,
    group_title: str = "Model",
    period: str = "day",
    colors: dict[str, str] | None = None,
) -> go.Figure:
    """Input and output tokens per period, stacked by model (variant, backend)."""
    per = "day" if period == "day" else "week"
    return _stacked_pair(
        frame, ("prompt_tokens", "completion_tokens"), ("Input tokens", "Output tokens"),
        (f"Tokens per {per}", f"Tokens per {per}"), title=f"Tokens per {per}", unit=" tokens",
        group_title=group_title, period=period, colors=colors,
    )


def cost_chart(
    frame: pd.DataFrame,
    *,
    group_title: str = "Model",
    period: str = "day",
    colors: dict[str, str] | None = None,
) -> go.Figure:
    """Estimated cost per period in dollars, stacked by model (variant, backend); groups
    without a price are left out."""
    per = "day" if period == "day" else "week"
    fig = _figure(f"Estimated cost per {per}", PERIOD_TITLES[period], f"Dollars per {per}")
    priced = frame.dropna(subset=["cost"])
    colors = colors or color_map(frame["group"])
    for group, rows in priced.sort_values("period").groupby("group", sort=True):
        fig.add_trace(go.Bar(
            x=rows["period"], y=rows["cost"], name=label(group), marker_color=colors.get(str(group)),
            hovertemplate="$%{y:,.4f}<extra>%{fullData.name}</extra>",
        ))
    fig.update_layout(barmode="stack", legend_title_text=group_title)
    fig.update_yaxes(tickprefix="$", tickformat=",.4~f", rangemode="tozero")
    _date_axis(fig, frame["period"], period)
    return fig


def kappa_heatmap(pairs: pd.DataFrame, column: str = "stars_weighted_kappa") -> go.Figure | None:
    """A symmetric reviewers × reviewers heatmap of one kappa column (None if no number)."""
    known = pairs.dropna(subset=[column])
    if known.empty:
        return None
    reviewers = sorted(set(known["reviewer_a"]) | set(known["reviewer_b"]))
    matrix = pd.DataFrame(math.nan, index=reviewers, columns=reviewers)
    for row in known.itertuples():
        value = getattr(row, column)
        matrix.loc[row.reviewer_a, row.reviewer_b] = value
        matrix.loc[row.reviewer_b, row.reviewer_a] = value
    for name in reviewers:
        matrix.loc[name, name] = 1.0
    text = [[number_text(v) for v in row] for row in matrix.to_numpy()]
    figure = go.Figure(
        go.Heatmap(
            z=matrix.to_numpy(), x=[label(r) for r in reviewers], y=[label(r) for r in reviewers],
            text=text, texttemplate="%{text}",
            zmin=-1, zmax=1, colorscale="RdBu", colorbar={"title": "kappa"},
            hovertemplate="%{y} and %{x}: %{text}<extra></extra>",
        )
    )
    figure.update_layout(
        height=120 + 45 * len(reviewers), margin={"l": 10, "r": 10, "t": 10, "b": 10},
        yaxis={"autorange": "reversed"},
    )
    return figure


def map_figure(frame: pd.DataFrame) -> go.Figure:
    """A scatter of the themed items, coloured by theme ("other" in grey), question and rating on
    hover; ``frame`` is ``clustering.map_frame``'s, its names already escaped."""
    named = [t for t in dict.fromkeys(frame["theme"]) if t != OTHER_LABEL]
    colours = {t: PALETTE[i % len(PALETTE)] for i, t in enumerate(named)}
    colours[OTHER_LABEL] = OTHER_COLOR
    # past the palette's last colour, the next themes take it again with another marker shape
    symbols = {t: MAP_SYMBOLS[i // len(PALETTE) % len(MAP_SYMBOLS)] for i, t in enumerate(named)}
    symbols[OTHER_LABEL] = MAP_SYMBOLS[0]
    figure = px.scatter(
        frame, x="x", y="y", color="theme", symbol="theme", custom_data=["id", "question", "rating"],
        labels={"theme": "Theme"}, render_mode="webgl", color_discrete_map=colours,
        symbol_map=symbols,
    )
    figure.update_traces(
        marker={"size": 6, "opacity": 0.75},
        hovertemplate=(
            "#%{customdata[0]} · %{customdata[2]}<br>%{customdata[1]}<extra>%{fullData.name}</extra>"
        ),
    )
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False, scaleanchor="x", scaleratio=1)
    figure.update_layout(height=460, margin={"l": 0, "r": 0, "t": 10, "b": 0},
                         legend={"itemsizing": "constant", "title": None})
    return figure


def weekly_figure(frame: pd.DataFrame) -> go.Figure:
    """Weekly items per saved theme (lines), with share and mean stars on hover; theme names are
    HTML-escaped, as plotly reads tags in legend and hover text."""
    data = frame.copy()
    data["theme"] = data["theme"].map(html.escape)
    order = list(dict.fromkeys(data["theme"]))
    data["share_text"] = (data["share"] * 100).round(1).astype(str) + " %"
    data["stars_text"] = data["mean_stars"].map(lambda v: "—" if v != v or v is None else f"{v:.2f} ★")
    figure = px.line(data, x="week", y="items", color="theme", markers=True,
                     custom_data=["share_text", "stars_text"], category_orders={"theme": order},
                     color_discrete_map={t: PALETTE[i % len(PALETTE)] for i, t in enumerate(order)},
                     line_dash="theme", line_dash_map={
                         t: LINE_DASHES[i // len(PALETTE) % len(LINE_DASHES)]
                         for i, t in enumerate(order)},
                     labels={"week": "Week", "items": "Low-rated items", "theme": "Saved theme"})
    figure.update_traces(hovertemplate="%{x|%d %b %Y}: %{y} items · %{customdata[0]} of the week"
                                       " · mean %{customdata[1]}<extra>%{fullData.name}</extra>")
    figure.update_layout(height=360, margin={"l": 0, "r": 0, "t": 10, "b": 0},
                         legend={"title": None})
    return figure
