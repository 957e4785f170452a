"""The report's charts as Vega-Lite specifications, built with Altair, and the one JavaScript
bundle (Vega, Vega-Lite, Vega-Embed, from vl-convert) that draws them in the page: no CDN,
nothing fetched when the page opens."""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal

import altair as alt
import vl_convert

from thoth.faces.report.kpi_charts import KpiChart, Weekly

WIDTH, HEIGHT = 420, 200
TARGET_COLOUR = "#d62728"
# Every per-unit chart declares this parameter and filters on it; the page sets it.
UNIT_PARAM = "unit"
ALL_UNITS = "all"
DATE = "%-d %b %Y"  # d3-time-format: 7 Sep 2025


def javascript() -> str:
    """Vega + Vega-Lite + Vega-Embed in one script, the Vega-Lite version Altair writes."""
    major, minor = alt.SCHEMA_VERSION.lstrip("v").split(".")[:2]
    return vl_convert.javascript_bundle(vl_version=f"{major}.{minor}")


def values(rows: list[tuple], columns: list[str]) -> list[dict]:
    """Rows as JSON-ready records: dates as ISO text, decimals as floats, NaN as null."""
    def cell(v: object) -> object:
        if isinstance(v, datetime | date):
            return v.isoformat()
        if isinstance(v, Decimal):
            return float(v)
        if isinstance(v, float) and math.isnan(v):
            return None
        return v
    return [{c: cell(v) for c, v in zip(columns, row, strict=True)} for row in rows]


def kpi_chart(chart: KpiChart, records: list[dict]) -> dict:
    """The KPI's chart: bars per unit, lines over weeks or days, or bars per category."""
    per_unit, series = "unit_id" in records[0], "series" in records[0]
    timed = chart.over in ("week", "day")
    # Each title is also the channel's, so a mark's label (its aria-label) names a field once.
    x_title = "week of" if chart.over == "week" else chart.over
    tooltip = [alt.Tooltip("unit:N", title="unit")] if per_unit else []
    if chart.over != "unit":
        tooltip.append(alt.Tooltip("x:T", title=x_title, format=DATE) if timed else
                       alt.Tooltip("x:N", title=x_title))
    if series:
        tooltip.append(alt.Tooltip("series:N", title="series"))
    tooltip.append(alt.Tooltip("value:Q", title=chart.measure, format=chart.fmt))
    tooltip += [alt.Tooltip(f"{h.column}:Q", title=h.title, format=h.fmt) for h in chart.hover]
    measure = {"shorthand": "value:Q", "title": chart.measure,
               "axis": alt.Axis(format=chart.fmt)}
    base = alt.Chart(alt.Data(values=records))
    if per_unit:
        base = base.transform_filter(f"{UNIT_PARAM} == '{ALL_UNITS}' || "
                                     f"datum.unit_id == {UNIT_PARAM}")
    colour = ([alt.Color("unit:N", title="unit")] if per_unit and chart.over != "unit" else
              [alt.Color("series:N", title=None)] if series else [])
    if chart.over == "unit":
        marks = base.mark_bar().encode(alt.X("unit:N", title=None), alt.Y(**measure), *colour,
                                       tooltip=tooltip)
    elif timed:
        marks = base.mark_line(point=True).encode(
            alt.X("x:T", title=x_title,
                  axis=alt.Axis(title=chart.over, format=DATE, labelOverlap=True)),
            alt.Y(**measure),
            *colour, tooltip=tooltip)
    else:
        marks = base.mark_bar().encode(alt.Y("x:N", title=x_title, sort="-x"),
                                       alt.X(**measure), tooltip=tooltip)
    layers = [marks]
    if chart.target is not None:
        rule = alt.Chart(alt.Data(values=[{"target": chart.target}])).mark_rule(
            color=TARGET_COLOUR, strokeDash=[4, 3], aria=False)
        horizontal = chart.over not in ("unit", "week", "day")
        layers.append(rule.encode(**{"x" if horizontal else "y": "target:Q"}))
    layered = alt.layer(*layers).properties(width=WIDTH, height=HEIGHT)
    if per_unit:
        layered = layered.add_params(alt.param(name=UNIT_PARAM, value=ALL_UNITS))
    return layered.to_dict()


def sparkline(weekly: Weekly, records: list[dict]) -> dict:
    """The last weeks of a stage's headline, small, each week's value on hover."""
    return alt.Chart(alt.Data(values=records)).mark_line(point=True).encode(
        alt.X("week_start:T", title=None, axis=alt.Axis(format="%d %b", tickCount="week")),
        alt.Y("value:Q", title=None, axis=alt.Axis(format=weekly.fmt, tickCount=3)),
        tooltip=[alt.Tooltip("week_start:T", title="week of"),
                 alt.Tooltip("value:Q", title=weekly.measure, format=weekly.fmt)],
    ).properties(width=190, height=70).to_dict()


def loop(nodes: list[dict], edges: list[tuple[str, str, float]]) -> dict:
    """The flywheel drawn: `nodes` (stage, x, y, line1, line2, live), `edges` (from, to, offset
    sideways) as arrows between them. x and y span equal lengths per pixel."""
    at = {n["stage"]: (n["x"], n["y"]) for n in nodes}
    shafts, heads = [], []
    for a, b, offset in edges:
        (x1, y1), (x2, y2) = at[a], at[b]
        length = math.hypot(x2 - x1, y2 - y1)
        ux, uy = (x2 - x1) / length, (y2 - y1) / length
        ox, oy = -uy * offset, ux * offset  # shift sideways so two-way arrows don't overlap
        gap = 0.42  # the node's radius and a little, in data units
        sx, sy = x1 + ux * gap + ox, y1 + uy * gap + oy
        ex, ey = x2 - ux * gap + ox, y2 - uy * gap + oy
        shafts.append({"x": sx, "y": sy, "x2": ex, "y2": ey})
        # A triangle points up; Vega turns it clockwise by `angle` degrees.
        heads.append({"x": ex, "y": ey, "angle": math.degrees(math.atan2(ux, uy))})
    xs = alt.Scale(domain=[-2.9, 1.5], nice=False)
    ys = alt.Scale(domain=[-1.4, 1.4], nice=False)
    x, y = alt.X("x:Q", scale=xs, axis=None), alt.Y("y:Q", scale=ys, axis=None)
    arrows = alt.Chart(alt.Data(values=shafts)).mark_rule(
        color="#888", strokeWidth=2, aria=False).encode(x, y, x2="x2:Q", y2="y2:Q")
    tips = alt.Chart(alt.Data(values=heads)).mark_point(
        shape="triangle", filled=True, color="#888", size=120, aria=False, opacity=1,
    ).encode(x, y, alt.Angle("angle:Q", scale=None))
    data = alt.Chart(alt.Data(values=nodes))
    circles = data.mark_circle(size=7000, opacity=1, stroke="#555").encode(
        x, y, alt.Color("live:N", scale=alt.Scale(domain=["yes", "no"], range=["#cfe3f5",
                                                                              "#eeeeee"]),
                        legend=None),
        alt.Description("label:N"),
        tooltip=[alt.Tooltip("stage:N"), alt.Tooltip("line1:N", title="headline"),
                 alt.Tooltip("line2:N", title="last four weeks")])
    names = data.mark_text(fontWeight="bold", fontSize=13, dy=-8, aria=False).encode(
        x, y, text="stage:N")
    details = data.mark_text(fontSize=10, dy=8, aria=False).encode(x, y, text="line2:N")
    return alt.layer(arrows, circles, tips, names, details).properties(
        width=550, height=350).configure_view(stroke=None).to_dict()
