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
from transforms.catalogue import Target

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


def kpi_chart(chart: KpiChart, records: list[dict], target: Target | None = None) -> dict:
    """The KPI's chart: bars per unit, lines over weeks or days, or bars per category; each
    value written beside its mark (the hover adds the rest), the KPI's target as a dashed line
    where the chart draws what the target judges, a panel per series when `chart.panels`."""
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
    # Bars keep room above the longest for the value written on it (and the target line).
    top = max([r["value"] for r in records if r["value"] is not None] +
              [target.value if target and target.value is not None else 0] or [0])
    room = ({"scale": alt.Scale(domainMax=top * 1.18)}
            if chart.over not in ("week", "day") and top > 0 and not series else {})
    measure = {"shorthand": "value:Q", "title": chart.measure,
               "axis": alt.Axis(format=chart.fmt), **room}
    base = alt.Chart(alt.Data(values=records))
    if per_unit:
        base = base.transform_filter(f"{UNIT_PARAM} == '{ALL_UNITS}' || "
                                     f"datum.unit_id == {UNIT_PARAM}")
    legend = alt.Legend(labelLimit=0)  # whole names, never cut
    # Series in their own order (grades Pass → High Distinction), not alphabetical.
    order = (sorted({r["series"] for r in records}, key=lambda v: next(
        r["series_order"] for r in records if r["series"] == v))
        if series and "series_order" in records[0] else None)
    series_colour = alt.Color("series:N", title=None, legend=legend,
                              **({"sort": order, "scale": alt.Scale(domain=order)}
                                 if order else {}))
    colour = ([alt.Color("unit:N", title="unit", legend=legend)]
              if per_unit and chart.over != "unit" else
              [series_colour] if series and not chart.panels else [])
    label = {"text": alt.Text("value:Q", format=chart.fmt)}
    if chart.over == "unit":
        stacked = [alt.Order("series_order:Q")] if order else []
        pale = ([alt.Opacity("running:N", legend=None,
                             scale=alt.Scale(domain=[False, True], range=[1, 0.4]))]
                if "running" in records[0] else [])
        marks = base.mark_bar().encode(alt.X("unit:N", title=None), alt.Y(**measure), *colour,
                                       *stacked, *pale, tooltip=tooltip)
        if pale and not series:  # a running unit's value is so far, and says so
            base = base.transform_calculate(
                label=f"(datum.running ? 'so far|' : '') + format(datum.value, '{chart.fmt}')")
            label = {"text": alt.Text("label:N")}
        texts = (base.mark_text(baseline="top", dy=2, fontSize=9, color="white", aria=False)
                 .encode(alt.X("unit:N"), alt.Y("value:Q").stack("zero"), *stacked, **label)
                 if series else
                 base.mark_text(baseline="bottom", dy=-2, fontSize=10, lineBreak="|",
                                aria=False)
                 .encode(alt.X("unit:N"), alt.Y("value:Q"), **label))
    elif timed:
        marks = base.mark_line(point=True).encode(
            alt.X("x:T", title=x_title,
                  axis=alt.Axis(title=chart.over, format=DATE, labelOverlap=True)),
            alt.Y(**measure),
            *colour, tooltip=tooltip)
        # Each line's latest value written at its end, for the lines still going in the
        # chart's last two weeks (a unit long over would only crowd the labels at zero).
        group = ["unit"] if per_unit else ["series"] if series else []
        texts = (base.transform_calculate(t="time(datum.x)")
                 .transform_joinaggregate(last="max(t)", groupby=group)
                 .transform_joinaggregate(newest="max(t)", groupby=[])
                 .transform_filter("datum.t == datum.last && "
                                   "datum.last >= datum.newest - 14 * 864e5")
                 .mark_text(align="left", dx=5, fontSize=10, fontWeight="bold", aria=False)
                 .encode(alt.X("x:T"), alt.Y("value:Q"), **label))
    else:
        marks = base.mark_bar().encode(alt.Y("x:N", title=x_title, sort="-x"),
                                       alt.X(**measure), tooltip=tooltip)
        texts = base.mark_text(align="left", dx=3, fontSize=10, aria=False).encode(
            alt.Y("x:N", sort="-x"), alt.X("value:Q"), **label)
    layers = [marks, texts]
    if chart.judged and target is not None and target.value is not None:
        rule = alt.Chart(alt.Data(values=[{"target": target.value}])).mark_rule(
            color=TARGET_COLOUR, strokeDash=[4, 3], strokeWidth=2, aria=False)
        horizontal = chart.over not in ("unit", "week", "day")
        layers.append(rule.encode(**{"x" if horizontal else "y": "target:Q"}))
        words = f"target {target.words(chart.fmt)}"
        # Written beside the plot, where no mark or value label is.
        tag = alt.Chart(alt.Data(values=[{"target": target.value, "words": words}])).mark_text(
            color=TARGET_COLOUR, align="left", baseline="middle" if not horizontal else "bottom",
            dx=4, dy=0 if not horizontal else -2, fontSize=10, aria=False)
        layers.append(tag.encode(**({"x": alt.X("target:Q"), "y": alt.value(0)} if horizontal
                                    else {"y": alt.Y("target:Q"), "x": alt.value("width")}),
                                 text="words:N"))
    if chart.panels:
        # One panel per series: each its own unit of measure and axis; the panel's header is
        # the series' whole name.
        layers[0] = layers[0].encode(alt.Y("value:Q", title=None,
                                           axis=alt.Axis(format=chart.fmt)))
        panel = alt.layer(*layers).properties(width=WIDTH // 2 - 20, height=HEIGHT // 2)
        return panel.facet(facet=alt.Facet("series:N", title=None,
                                           header=alt.Header(labelLimit=0, labelFontSize=11)),
                           columns=2).resolve_scale(y="independent").to_dict()
    # A bar per unit keeps its width when the filter leaves one unit: the plot narrows.
    width = alt.Step(40) if chart.over == "unit" else WIDTH
    layered = alt.layer(*layers).properties(width=width, height=HEIGHT)
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
