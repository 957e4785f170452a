"""`thoth report`: one static HTML page for people who do not open Looker — the flywheel (each
stage's headline KPI and its last four weeks), a chart of every KPI with its values on hover and
one unit filter for all of them, and each KPI's freshness. Charts are Vega-Lite (built with
Altair, kpi_charts.py says what each draws); Vega's JavaScript is inlined, so the page opens
offline and loads nothing from anywhere. page.js draws the charts, applies the filter and says in
the title and `data-status` whether every chart rendered, which the Chromium test reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from html import escape
from pathlib import Path

import duckdb

from thoth.core import platform
from thoth.core.duck import age, open_warehouse, utc_now
from thoth.core.platform import load_state
from thoth.faces.report import flywheel, vega
from thoth.faces.report.kpi_charts import CHARTS, KpiChart
from transforms.catalogue import Kpi, freshness, load_catalogue
from transforms.project import discover

HERE = Path(__file__).parent


def _figure(kpi: Kpi, chart: KpiChart | None, records: list[dict] | None,
            specs: dict[str, dict], stage: str) -> str:
    """One KPI: its chart (its spec added to `specs`) or one line saying why there is none."""
    title = (chart.measure if chart else kpi.name.removeprefix("kpi_").replace("_", " "))
    note = f" ({chart.note})" if chart and chart.note else ""
    caption = (f"<figcaption><b>{escape(title[0].upper() + title[1:])}</b>{escape(note)} — "
               f"{escape(kpi.key_result)} — <code>marts.{kpi.name}</code></figcaption>")
    attrs = f'id="{kpi.name}" data-kpi="{kpi.name}" data-stage="{stage}"'
    if chart is None:
        return (f"<figure {attrs}>{caption}<p class=missing>No chart is defined for this KPI "
                "yet (thoth/faces/report/kpi_charts.py).</p></figure>")
    if records is None:
        return (f"<figure {attrs}>{caption}<p class=missing>Not built: the warehouse has no "
                f"<code>marts.{kpi.name}</code> (its source is not loaded).</p></figure>")
    if not records:
        return (f"<figure {attrs}>{caption}<p class=missing>No rows yet in "
                f"<code>marts.{kpi.name}</code>.</p></figure>")
    box = f"chart-{kpi.name}"
    specs[box] = vega.kpi_chart(chart, records)
    per_unit = "unit_id" in records[0]
    return (f'<figure {attrs} data-chart data-per-unit="{str(per_unit).lower()}">{caption}'
            f'<div id="{box}" data-per-unit="{str(per_unit).lower()}"></div>'
            f"<p class=empty hidden>No values for this unit.</p></figure>")


def _records(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    cursor = con.execute(sql)
    return vega.values(cursor.fetchall(), [d[0] for d in cursor.description])


def _stage_card(stage: flywheel.Stage, specs: dict[str, dict]) -> str:
    kpis = ", ".join(f'<a href="#{k}">{k.removeprefix("kpi_")}</a>' for k in stage.kpis)
    head = f'<section class=stage data-stage="{stage.name}"><h3>{stage.name}</h3>'
    if not stage.kpis:
        return (f"{head}<p class=none>No source yet: no KPI measures this stage, so there is "
                "nothing to show until one does.</p></section>")
    if stage.headline is None:
        body = "<p class=none>None of its KPIs has a weekly series to follow.</p>"
    elif not stage.weeks:
        body = (f"<p>{escape(stage.headline.measure)}</p><p class=none>No weeks of "
                f"<code>marts.{stage.headline.kpi}</code> yet.</p>")
    else:
        box = f"spark-{stage.name}"
        specs[box] = vega.sparkline(stage.headline, stage.weeks)
        body = (f"<p>{escape(stage.headline.measure)}: <b data-headline>{escape(stage.summary)}"
                f"</b> (weeks of {stage.weeks[0]['week_start']} to "
                f"{stage.weeks[-1]['week_start']})</p><div id={box}></div>")
    return f"{head}{body}<p>KPIs ({len(stage.kpis)}): {kpis}</p></section>"


def render(warehouse: Path, now: datetime | None = None) -> str:
    """The page; `now` (default: the clock) is when the report is as of, aware or naive UTC."""
    if now is None:
        now = utc_now()
    elif now.utcoffset() is not None:
        now = now.astimezone(UTC).replace(tzinfo=None)  # the warehouse keeps naive UTC
    kpis, models = load_catalogue(), discover()
    charts = {c.kpi: c for c in CHARTS}
    con = open_warehouse(warehouse, read_only=True)
    try:
        built = platform.relations(con)
        records = {k.name: _records(con, charts[k.name].sql) for k in kpis
                   if k.name in charts and k.model in built}
        found = flywheel.stages(con, kpis, models, built, now.date())
        loads = {f"{x.source}_raw.{x.table}": x.loaded_at for x in load_state.read_all(con)}
    finally:
        con.close()
    specs: dict[str, dict] = {"flywheel-loop": vega.loop(*flywheel.drawing(found))}
    cards = "".join(_stage_card(s, specs) for s in found)
    sections = "".join(
        f'<h2 id="stage-{s.name}">{s.name.capitalize()} ({len(s.kpis)} KPIs)</h2>' + "".join(
            _figure(k, charts.get(k.name), records.get(k.name), specs, s.name)
            for k in kpis if k.name in s.kpis)
        for s in found if s.kpis)
    units = sorted({(r["unit_id"], r["unit"]) for rows in records.values() for r in rows
                    if "unit_id" in r}, key=lambda u: (u[1], u[0]))
    options = "".join(f'<option value="{escape(i)}">{escape(label)}</option>'
                      for i, label in units)
    unassigned = next((len(s.kpis) for s in found if s.name == flywheel.UNASSIGNED), 0)
    # "</" would end the script element early; JSON allows the escaped slash.
    spec_json = json.dumps(specs, separators=(",", ":")).replace("</", "<\\/")
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        "<title>Thoth KPI report (loading)</title>"
        f"<style>{(HERE / 'page.css').read_text()}</style></head><body data-status=loading>"
        f"<header><h1>Thoth Tech KPIs</h1><label>Unit: <select id=unit>"
        f"<option value=all>all units</option>{options}</select></label> "
        "<small>(narrows every chart drawn per OnTrack unit; hover a mark for its values)"
        "</small></header>"
        f"<p>Built {now:%Y-%m-%d %H:%M} UTC from <code>{escape(str(warehouse))}</code>: "
        f"{len(kpis)} KPIs. Every number comes from the warehouse's <code>marts.kpi_*</code> "
        "tables (the same ones published to Looker); the data catalog (<code>thoth docs</code>) "
        "explains each column.</p>"
        "<h2 id=flywheel>The flywheel</h2><p>More and happier users → more data → more insights "
        "→ more and better features → more and happier users; in the open-core loop, features "
        "→ contributions → features. Each stage's headline KPI and its last four complete weeks"
        + (f"; {unassigned} KPIs name no stage yet (unassigned)" if unassigned else "")
        + ".</p><div class=flywheel><div id=flywheel-loop></div>"
        f"<div class=stages>{cards}</div></div>{sections}"
        f"{_freshness(kpis, found, loads, now)}"
        f"<script type=application/json id=vega-specs>{spec_json}</script>"
        f"<script>{vega.javascript()}</script>"
        f"<script>{(HERE / 'page.js').read_text()}</script></body></html>"
    )


def _freshness(kpis: list[Kpi], found: list[flywheel.Stage], loads: dict[str, datetime],
               now: datetime) -> str:
    stage_of = {k: s.name for s in found for k in s.kpis}
    rows = []
    for kpi in kpis:
        fresh = freshness(kpi, loads)
        stale = fresh is None or (now - fresh).total_seconds() > 2 * 3600
        when = f"{fresh:%Y-%m-%d %H:%M} UTC ({age(now - fresh)} ago)" if fresh else "never loaded"
        rows.append(f"<tr><td><code>{kpi.name}</code></td><td>{stage_of[kpi.name]}</td>"
                    f"<td>{escape(kpi.key_result)}</td>"
                    f"<td{' class=stale' if stale else ''}>{when}</td></tr>")
    return ("<h2>Freshness</h2><p>The oldest last load among the raw tables each KPI is built "
            "from (red: more than two hours old, or never loaded).</p><table><tr><th>KPI</th>"
            f"<th>stage</th><th>key result</th><th>data as of</th></tr>{''.join(rows)}</table>")


def write_report(warehouse: Path, out: Path, now: datetime | None = None) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    page = out / "index.html"
    page.write_text(render(warehouse, now))
    return page
