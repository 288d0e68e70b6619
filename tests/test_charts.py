"""Insights chart functions: the traces, titles, axis titles and colours a reader sees."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import pytest

from dashboard import charts

DAYS = pd.to_datetime(["2026-03-09", "2026-03-10"])


def _trend() -> pd.DataFrame:
    return pd.DataFrame({
        "period": [*DAYS, *DAYS],
        "group": ["m1", "m1", "m2", "m2"],
        "mean_stars": [4.0, 3.5, 2.0, 2.5],
        "thumbs_up_share": [1.0, 0.5, 0.0, 0.25],
    })


def _titles(fig: go.Figure) -> tuple[str, str, str]:
    layout = fig.layout
    return layout.title.text, layout.xaxis.title.text, layout.yaxis.title.text


def test_trend_chart_has_one_line_per_group_with_titles_and_units():
    fig = charts.trend_chart(_trend(), y="mean_stars", title="Mean stars",
                             y_title="Mean stars (1–5)", y_range=(1, 5))
    assert isinstance(fig, go.Figure)
    assert [t.name for t in fig.data] == ["m1", "m2"]
    assert list(fig.data[0].y) == [4.0, 3.5]
    assert _titles(fig) == ("Mean stars", "Day (UTC)", "Mean stars (1–5)")
    assert tuple(fig.layout.yaxis.range) == (1, 5)
    share = charts.trend_chart(_trend(), y="thumbs_up_share", title="Thumbs up",
                               y_title="Thumbs up (% of thumbs)", percent=True, period="week")
    assert share.layout.yaxis.tickformat == ".0%"
    assert share.layout.xaxis.title.text == "Week (UTC, starting Monday)"


def test_a_name_keeps_its_colour_across_charts_and_names_are_shown_as_text():
    colors = charts.color_map(["m2", "(no model)", "m1"])
    assert colors == {"m1": charts.PALETTE[0], "m2": charts.PALETTE[1],
                      "(no model)": charts.PALETTE[2]}
    trend = charts.trend_chart(_trend(), y="mean_stars", title="t", y_title="y", colors=colors)
    rates = charts.rate_chart(
        pd.DataFrame({"period": DAYS, "model": ["m2", "m2"], "interactions": [4, 2],
                      "failures": [1, 0], "rate": [0.25, 0.0]}),
        count="failures", title="Failure rate", y_title="Failed calls (%)", colors=colors)
    assert trend.data[1].line.color == rates.data[0].line.color == charts.PALETTE[1]
    hostile = _trend().assign(group=["<b>x</b>"] * 2 + ["m2"] * 2)
    fig = charts.trend_chart(hostile, y="mean_stars", title="t", y_title="y")
    assert "&lt;b&gt;x&lt;/b&gt;" in [t.name for t in fig.data]


def test_star_distribution_chart_bars_per_model_or_coloured_by_stars():
    frame = pd.DataFrame({"group": ["m1"] * 5 + ["m2"] * 5, "stars": [1, 2, 3, 4, 5] * 2,
                          "count": [0, 1, 1, 2, 0, 3, 0, 0, 0, 1],
                          "share": [0, .25, .25, .5, 0, .75, 0, 0, 0, .25]})
    fig = charts.star_distribution_chart(frame)
    assert [t.name for t in fig.data] == ["m1", "m2"] and fig.layout.barmode == "group"
    assert _titles(fig) == ("Star ratings", "Stars given", "Share of star ratings (%)")
    overall = charts.star_distribution_chart(frame[frame["group"] == "m1"])
    assert list(overall.data[0].marker.color) == [charts.STAR_COLORS[s] for s in range(1, 6)]
    assert overall.layout.showlegend is False


def test_timing_chart_shows_p95_solid_and_p50_dotted_on_a_log_axis():
    frame = pd.DataFrame({"period": [*DAYS, *DAYS], "model": ["m1"] * 4,
                          "metric": ["latency", "latency", "ttft", "ttft"],
                          "calls": [3, 3, 3, 3], "p50_ms": [100.0, 110, 10, 11],
                          "p95_ms": [400.0, 420, 40, 41]})
    fig = charts.timing_chart(frame, metric="latency", title="Latency")
    assert [(t.name, t.line.dash) for t in fig.data] == [("m1 · p95", "solid"),
                                                        ("m1 · p50", "dot")]
    assert list(fig.data[0].y) == [400.0, 420.0]
    assert fig.layout.yaxis.type == "log"
    assert _titles(fig) == ("Latency", "Day (UTC)", "Milliseconds (log scale)")


def test_rate_chart_has_lines_per_period_and_bars_for_the_whole_period():
    frame = pd.DataFrame({"period": [*DAYS, *DAYS], "model": ["m1", "m1", "m2", "m2"],
                          "interactions": [2, 2, 1, 3], "failures": [0, 1, 1, 0],
                          "rate": [0, .5, 1, 0]})
    fig = charts.rate_chart(frame, count="failures", title="Failure rate",
                            y_title="Failed calls (% of interactions)")
    lines = [t for t in fig.data if t.type == "scatter"]
    bars = [t for t in fig.data if t.type == "bar"]
    assert [t.name for t in lines] == ["m1", "m2"]
    assert [(b.x[0], b.y[0]) for b in bars] == [("m1", 0.25), ("m2", 0.25)]
    assert fig.layout.title.text == "Failure rate"
    assert fig.layout.yaxis.title.text == "Failed calls (% of interactions)"
    assert fig.layout.xaxis.title.text == "Day (UTC)"


def test_volume_chart_stacks_interactions_and_ratings():
    frame = pd.DataFrame({"period": [*DAYS, *DAYS], "group": ["chat", "chat", "import", "import"],
                          "interactions": [3, 1, 2, 2], "ratings": [1, 1, 0, 2]})
    fig = charts.volume_chart(frame, group_title="Source")
    assert fig.layout.barmode == "stack"
    assert [(t.name, t.showlegend) for t in fig.data] == [
        ("chat", True), ("chat", False), ("import", True), ("import", False)]
    assert fig.layout.yaxis.title.text == "Interactions per day"
    assert fig.layout.yaxis2.title.text == "Ratings per day"
    assert fig.layout.title.text == "Interactions and ratings per day"


def test_tags_chart_orders_tags_by_use():
    frame = pd.DataFrame({"tag": ["wrong", "too long"], "group": ["All models"] * 2,
                          "items": [5, 2], "share": [0.5, 0.2]})
    fig = charts.tags_chart(frame)
    assert list(fig.data[0].y) == ["wrong", "too long"]
    assert list(fig.layout.yaxis.categoryarray) == ["too long", "wrong"]  # top row first
    assert _titles(fig) == ("Top tags", "Share of rated interactions (%)", "Tag")
    assert fig.layout.showlegend is False


def test_pairwise_figures_escape_labels_and_draw_intervals():
    from dashboard.charts import leaderboard_figure, win_rate_figure

    pairs = [{"variant_a": "<b>a</b>", "variant_b": "b v1", "b_win_rate": 0.6, "ci_low": 0.5,
              "ci_high": 0.7, "n": 40, "p_value": 0.2}]
    figure = win_rate_figure(pairs)
    trace = figure.data[0]
    assert trace.y[0] == "b v1  vs  &lt;b&gt;a&lt;/b&gt;"
    assert list(trace.error_x.array) == pytest.approx([0.1]) and list(trace.error_x.arrayminus) == pytest.approx([0.1])
    board = leaderboard_figure([{"variant": "x", "score": 1100, "ci_low": 1000, "ci_high": 1150}])
    assert list(board.data[0].error_x.array) == [50] and list(board.data[0].error_x.arrayminus) == [100]


def test_every_theme_on_the_map_has_its_own_colour_and_shape_past_the_palette():
    """Themes outnumber the palette's colours: a theme that takes a colour again takes another
    marker shape, so no two themes look alike; "other" stays grey."""
    from dashboard.charts import OTHER_COLOR, PALETTE, map_figure
    from dashboard.clustering import OTHER_LABEL

    names = [f"Theme {i}" for i in range(2 * len(PALETTE) + 5)] + [OTHER_LABEL]
    frame = pd.DataFrame({
        "x": range(len(names)), "y": range(len(names)), "theme": names,
        "id": range(len(names)), "question": "Where is my parcel?", "rating": "1 star",
    })
    looks = {trace.name: (trace.marker.color, trace.marker.symbol)
             for trace in map_figure(frame).data}
    assert set(looks) == set(names)
    themed = [looks[name] for name in names if name != OTHER_LABEL]
    assert len(set(themed)) == len(themed)
    assert {colour for colour, _ in themed} <= set(PALETTE)
    assert looks[OTHER_LABEL][0] == OTHER_COLOR
