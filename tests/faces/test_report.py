"""The KPI report in a real browser (Debian's chromium, headless, with the network cut off): what
the browser renders — every KPI drawn with its values, the unit filter, the values on hover, the
flywheel — read back from its DOM (`--dump-dom`), and the numbers compared with the marts."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from dataclasses import replace
from datetime import date
from pathlib import Path

import duckdb
import pytest
from PIL import Image

from thoth.cli import main
from thoth.faces.report import flywheel, scorecard
from thoth.faces.report.kpi_charts import CHARTS, WEEKLY
from transforms.catalogue import load_catalogue
from transforms.project import discover

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync",
                  # Offline: any request that leaves the machine fails, so a page that needed
                  # a CDN would not draw.
                  "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
                  "--host-resolver-rules=MAP * ~NOTFOUND",
                  # Let the page's scripts (Vega draws asynchronously) finish before the dump.
                  "--virtual-time-budget=30000"]

# For the hover test only: moves the pointer over the first mark of every chart, the way a
# mouse does (Vega's own event handling, vega-tooltip's own element), and writes down what the
# tooltip then says.
HOVER = """<script>(function () {
  function hover() {
    if (document.body.getAttribute('data-status') !== 'ok') { return setTimeout(hover, 50); }
    document.querySelectorAll('figure[data-chart]').forEach(function (f) {
      var mark = f.querySelector('svg [role="graphics-symbol"][aria-roledescription="bar"],' +
                                 'svg [role="graphics-symbol"][aria-roledescription="point"]');
      var box = mark.getBoundingClientRect();
      ['pointermove', 'mousemove'].forEach(function (type) {
        mark.dispatchEvent(new MouseEvent(type, {bubbles: true, clientX: box.left + box.width / 2,
                                                 clientY: box.top + box.height / 2}));
      });
      var tip = document.getElementById('vg-tooltip-element');
      f.setAttribute('data-hover', tip && tip.classList.contains('visible') ?
                     tip.innerText.replace(/\\n/g, ' | ').replace(/\\t/g, ': ') : '');
    });
    document.body.setAttribute('data-hovered', 'yes');
  }
  hover();
})();</script>"""


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        reason = "no chromium: `apt-get install -y chromium` (.ci/run installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def browse(url: str, tmp_path: Path, *args: str) -> str:
    done = subprocess.run([chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'prof'}",
                           *args, url], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def figures(dom: str) -> dict[str, str]:
    """Each KPI's <figure> as the browser left it, by KPI name."""
    return {m.group(1): m.group(0) for m in re.finditer(
        r'<figure [^>]*data-kpi="(kpi_\w+)".*?</figure>', dom, re.S)}


def labels(figure: str) -> list[str]:
    """The values of each mark, as Vega labels them for screen readers (axes aside)."""
    return [html.unescape(m.group(1)) for m in re.finditer(
        r'<path aria-label="([^"]*)" role="graphics-symbol" aria-roledescription="(?:bar|point)"',
        figure)]


@pytest.fixture
def report(demo_warehouse: Path, tmp_path: Path) -> Path:
    assert main(["report", "--out", str(tmp_path / "report")]) == 0
    return tmp_path / "report" / "index.html"


def test_every_kpi_is_drawn_with_its_values(report, demo_warehouse, tmp_path):
    page = report.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing fetched
    kpis = load_catalogue()
    assert len(kpis) == len(CHARTS) == 19 and {c.kpi for c in CHARTS} == {k.name for k in kpis}

    dom = browse(report.as_uri(), tmp_path, "--dump-dom")
    assert 'data-status="ok"' in dom and 'data-charts="19"' in dom
    assert "<title>Thoth KPI report: 19 of 19 charts (ok)</title>" in dom
    drawn = figures(dom)
    assert set(drawn) == {k.name for k in kpis}
    for name, figure in drawn.items():
        marks = int(re.search(r'data-marks="(\d+)"', figure).group(1))
        assert marks > 0 and labels(figure), name
        assert all(re.search(r"\d", label) for label in labels(figure)), name

    # The numbers are the marts': each unit's submission rate, recomputed from its parts.
    con = duckdb.connect(str(demo_warehouse), read_only=True)
    rates = con.execute(
        "SELECT unit_code || ' ' || teaching_period, sum(submitted) / sum(expected), "
        "sum(submitted) FROM marts.kpi_task_submission GROUP BY ALL HAVING sum(expected) > 0"
    ).fetchall()
    # Complete weeks only: the week still running is left out, never drawn as a drop.
    active = con.execute("SELECT unit_code || ' ' || teaching_period, week_start, "
                         "active_students FROM marts.kpi_student_activity "
                         "WHERE week_start + 7 <= current_date").fetchall()
    con.close()
    shown = labels(drawn["kpi_task_submission"])
    assert len(shown) == len(rates) > 0
    for unit, rate, submitted in rates:
        # A unit whose teaching period still runs is drawn pale and says so.
        assert re.search(rf"unit: {unit}; submission rate: {rate:.1%}; running: (true|false); "
                         f"submitted: {submitted:,}", "\n".join(shown)), (unit, shown)
    shown = "\n".join(labels(drawn["kpi_student_activity"]))
    assert len(labels(drawn["kpi_student_activity"])) == len(active)
    for unit, week, students in active:
        assert (f"week of: {week.day} {week:%b %Y}; active students: {students:,}; "
                f"unit: {unit};") in shown


def scorecard_rows(dom: str) -> dict[str, dict]:
    """The scorecard's rows as the browser shows them, by KPI."""
    table = re.search(r'<table class="scorecard">.*?</table>', dom, re.S).group(0)
    rows = {}
    for m in re.finditer(r'<tr data-kpi="(kpi_\w+)" data-status="(\w+)" data-value="([^"]*)" '
                         r'data-target="([^"]*)" data-good="(\w*)">(.*?)</tr>', table, re.S):
        cells = [re.sub(r"<[^>]+>", " ", c) for c in re.findall(r"<td[^>]*>(.*?)</td>",
                                                                m.group(6), re.S)]
        rows[m.group(1)] = {"status": m.group(2), "value": m.group(3), "target": m.group(4),
                            "good": m.group(5), "cells": [html.unescape(" ".join(c.split()))
                                                          for c in cells]}
    return rows


# Each a KPI's latest complete period, computed here from the marts without the report's code.
_ENDED_TERM = """
    SELECT {value} FROM marts.{kpi} JOIN staging.stg_ontrack__teaching_periods AS tp
    USING (teaching_period) WHERE tp.end_date < current_date
    GROUP BY tp.start_date ORDER BY tp.start_date DESC LIMIT 1"""
EXPECTED = {
    "kpi_task_submission": _ENDED_TERM.format(
        value="sum(submitted) / sum(expected)", kpi="kpi_task_submission"),
    "kpi_enrolment": _ENDED_TERM.format(
        value="sum(withdrawn) / sum(enrolled + withdrawn)", kpi="kpi_enrolment"),
    "kpi_resubmission": _ENDED_TERM.format(
        value="sum(sent_back) / sum(assessed)", kpi="kpi_resubmission"),
    "kpi_api_health": """SELECT sum(server_errors) / sum(requests) FROM marts.kpi_api_health
        WHERE day < current_date GROUP BY day ORDER BY day DESC LIMIT 1""",
    "kpi_feedback_turnaround": """SELECT max(median_hours) FROM marts.kpi_feedback_turnaround
        WHERE week_start + 7 <= current_date GROUP BY week_start ORDER BY week_start DESC
        LIMIT 1""",
    "kpi_feedback_backlog": """SELECT max(oldest_waiting_days) FROM marts.kpi_feedback_backlog
        JOIN staging.stg_ontrack__teaching_periods AS tp USING (teaching_period)
        WHERE as_of::DATE BETWEEN tp.start_date AND tp.end_date""",
}


def test_the_scorecard_holds_the_marts_values_and_the_catalogues_targets(
        report, demo_warehouse, tmp_path):
    dom = browse(report.as_uri(), tmp_path, "--dump-dom")
    assert 'data-status="ok"' in dom
    # At the top: the first section after the header.
    assert re.findall(r"<h2[^>]*>([^<]*)</h2>", dom)[0] == "Scorecard"
    rows = scorecard_rows(dom)
    kpis = {k.name: k for k in load_catalogue()}
    assert set(rows) == set(kpis)  # every KPI, each once

    # Its targets are the catalogue's (the KPI's YAML), the good side with them.
    for name, kpi in kpis.items():
        row, target = rows[name], kpi.target
        if target is None:
            assert (row["target"], row["good"], row["status"]) == ("", "", "none"), name
            assert row["cells"][3] == "none stated"
            continue
        assert row["target"] == ("up" if target.value is None else repr(target.value)), name
        assert row["good"] == target.good, name
        arrow = "▲ higher is better" if target.good == "higher" else "▼ lower is better"
        assert row["cells"][4] == arrow, name
        if target.value is not None:
            fmt = scorecard.BY_KPI[name].fmt
            assert row["cells"][3] == f"{'≥' if target.good == 'higher' else '≤'} " \
                                      f"{flywheel.fmt(target.value, fmt)}", name
            if row["value"]:
                met = target.met(float(row["value"]))
                assert row["status"] == ("on" if met else "off"), name
                assert row["cells"][5] == ("on target" if met else "off target"), name

    # Its values are the marts': the latest complete period, as written on the page.
    con = duckdb.connect(str(demo_warehouse), read_only=True)
    for name, sql in EXPECTED.items():
        (value,) = con.execute(sql).fetchone()
        assert float(rows[name]["value"]) == pytest.approx(value, rel=1e-9), name
        assert rows[name]["cells"][2] == flywheel.fmt(value, scorecard.BY_KPI[name].fmt), name
    con.close()
    # A teaching period still running is left out and named.
    assert "left out, not ended yet:" in rows["kpi_task_submission"]["cells"][1]
    # Freshness: every KPI drawn with data is as of a load, none "never loaded" (the OTLP data
    # points of kpi_background_waits land with their feed).
    fresh = dict(re.findall(r"<tr><td><code>(kpi_\w+)</code></td><td>\w+</td><td>[^<]*</td>"
                            r"<td[^>]*>([^<]*)", dom))
    assert set(fresh) == set(kpis)
    assert all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", v) for v in fresh.values()), fresh


def test_a_running_period_is_never_judged_and_the_trend_is_from_the_one_before():
    con = duckdb.connect()
    con.execute("CREATE SCHEMA marts")
    con.execute("CREATE TABLE marts.kpi_splashkit_usage AS SELECT * FROM (VALUES "
                "(DATE '2026-11-16', 'total', 30), (DATE '2026-11-23', 'total', 40), "
                "(DATE '2026-11-30', 'total', 2)) AS t(week_start, dimension, active_installs)")
    kpi = next(k for k in load_catalogue() if k.name == "kpi_splashkit_usage")
    # Saturday 5 Dec: the week from 30 Nov runs (its 2 installs are no drop); 23 Nov is judged.
    (score,) = scorecard.scores(con, [kpi], {kpi.model}, date(2026, 12, 5))
    assert (score.period, score.value, score.previous) == ("week of 23 Nov 2026", 40.0, 30.0)
    assert score.running == "week of 30 Nov 2026" and score.status == "on"  # up on 30
    (score,) = scorecard.scores(con, [kpi], {kpi.model}, date(2026, 12, 7))
    assert (score.value, score.previous, score.running, score.status) == (2.0, 40.0, None, "off")


def test_the_unit_filter_keeps_one_unit_in_every_per_unit_chart(report, demo_warehouse,
                                                                 tmp_path):
    con = duckdb.connect(str(demo_warehouse), read_only=True)
    unit_id, unit, weeks = con.execute(
        "SELECT unit_id, unit_code || ' ' || teaching_period, count(*) "
        "FROM marts.kpi_student_activity WHERE week_start + 7 <= current_date "
        "GROUP BY ALL ORDER BY 3 DESC LIMIT 1").fetchone()
    con.close()
    everything = figures(browse(report.as_uri(), tmp_path, "--dump-dom"))
    dom = browse(f"{report.as_uri()}#unit={unit_id}", tmp_path, "--dump-dom")
    assert f'data-unit="{unit_id}"' in dom and 'data-status="ok"' in dom
    assert re.search(rf'<option value="{unit_id}" selected', dom) or \
        f'<option value="{unit_id}"' in dom
    narrowed = figures(dom)
    per_unit = [k for k, f in narrowed.items() if 'data-per-unit="true"' in f]
    assert len(per_unit) == 13
    for name, figure in narrowed.items():
        shown = labels(figure)
        if name in per_unit:
            # Only the chosen unit's values; fewer than for all units where there are others.
            assert all(f"unit: {unit};" in label for label in shown), (name, shown)
            assert len(shown) <= len(labels(everything[name]))
        else:
            assert shown == labels(everything[name]), name  # not per unit: untouched
    assert len(labels(narrowed["kpi_student_activity"])) == weeks
    assert len(labels(everything["kpi_student_activity"])) > weeks

    # A unit with no rows in a chart: no marks there, and the figure says so.
    con = duckdb.connect(str(demo_warehouse), read_only=True)
    idle = con.execute("SELECT unit_id FROM marts.kpi_enrolment WHERE unit_id NOT IN "
                       "(SELECT unit_id FROM marts.kpi_student_activity)").fetchone()[0]
    con.close()
    figure = figures(browse(f"{report.as_uri()}#unit={idle}", tmp_path,
                            "--dump-dom"))["kpi_student_activity"]
    assert 'data-marks="0"' in figure
    assert '<p class="empty">No values for this unit.</p>' in figure  # no longer hidden

    dom = browse(f"{report.as_uri()}#unit=no-such-unit", tmp_path, "--dump-dom")
    assert 'data-unit="all"' in dom  # an unknown unit falls back to all of them


def test_hovering_a_mark_shows_its_values(report, tmp_path):
    page = report.read_text()
    end = page.rindex("</body>")
    hovered = report.with_name("hover.html")
    hovered.write_text(page[:end] + HOVER + page[end:])
    dom = browse(hovered.as_uri(), tmp_path, "--dump-dom")
    assert 'data-hovered="yes"' in dom
    tips = {name: html.unescape(re.search(r'data-hover="([^"]*)"', f).group(1))
            for name, f in figures(dom).items() if "data-chart" in f}
    assert len(tips) == 19
    for chart in CHARTS:
        tip = tips[chart.kpi]
        assert f"{chart.measure}: " in tip and re.search(r"\d", tip), (chart.kpi, tip)
        for hover in chart.hover:
            assert f"{hover.title}: " in tip, (chart.kpi, tip)


def test_the_flywheel_shows_each_stage_and_its_last_four_weeks(report, demo_warehouse,
                                                               tmp_path):
    dom = browse(report.as_uri(), tmp_path, "--dump-dom")
    loop = re.search(r'<div id="flywheel-loop".*?</svg>', dom, re.S).group(0)
    nodes = re.findall(r'aria-label="stage (\w+): ', loop)
    assert sorted(nodes) == sorted(flywheel.STAGES)
    kpis, models = load_catalogue(), discover()
    stage_of = {k.name: flywheel.stage_of(k, models) for k in kpis}
    for stage in flywheel.STAGES:
        card = re.search(rf'<section class="stage" data-stage="{stage}">.*?</section>', dom,
                         re.S).group(0)
        mine = [k for k, s in stage_of.items() if s == stage]
        if not mine:
            assert "No source yet" in card, stage  # says so instead of nothing
            continue
        assert f"KPIs ({len(mine)})" in card
        headline = next((w for w in WEEKLY if w.kpi in mine), None)
        if headline is None:
            continue
        con = duckdb.connect(str(demo_warehouse), read_only=True)
        weeks = con.execute(f"SELECT week_start, value FROM ({headline.sql}) WHERE value IS "
                            "NOT NULL AND week_start + 7 <= current_date "
                            "ORDER BY week_start DESC LIMIT 4").fetchall()[::-1]
        con.close()
        assert f"<b data-headline=\"\">{flywheel.fmt(weeks[-1][1], headline.fmt)}" in card
        assert f"weeks of {weeks[0][0]} to {weeks[-1][0]}" in card
        # The sparkline: one point a week, each with its value.
        points = re.findall(r'aria-roledescription="point"', card)
        assert len(points) == len(weeks)


def test_a_stage_nobody_names_is_empty_and_a_kpi_without_one_is_unassigned(demo_warehouse):
    kpis, models = load_catalogue(), discover()
    for model in models.values():
        model.meta.pop("flywheel", None)
    con = duckdb.connect(str(demo_warehouse), read_only=True)
    built = {f"marts.{k.name}" for k in kpis}
    # Whether or not the catalogue carries the stage itself, none here names one.
    bare = [replace(k, flywheel=None) if hasattr(k, "flywheel") else k for k in kpis]
    found = {s.name: s for s in flywheel.stages(con, bare, models, built, date.today())}
    con.close()
    assert found[flywheel.UNASSIGNED].kpis == [k.name for k in bare]
    assert all(found[s].kpis == [] and found[s].summary == "no source yet"
               for s in flywheel.STAGES)


def test_trends_are_written_as_the_charts_write_them():
    weeks = [{"value": v} for v in (200.0, 210.0, 190.0, 250.0)]
    assert flywheel.change(weeks, ",.0f") == "▲ 25%"
    assert flywheel.change([{"value": 0.9}, {"value": 0.85}], ".1%") == "▼ 5.0 pts"
    assert flywheel.change([{"value": 0.0}, {"value": 3.0}], ",.0f") == "▲ from 0"
    assert flywheel.fmt(0.0312, ".2%") == "3.12%" and flywheel.fmt(1234.5, ",.0f") == "1,234"


def test_a_kpi_whose_mart_is_missing_says_so(demo_warehouse, tmp_path):
    con = duckdb.connect(str(demo_warehouse))
    con.execute("DROP TABLE marts.kpi_web_traffic")
    con.close()
    assert main(["report", "--out", str(tmp_path / "report")]) == 0
    page = tmp_path / "report" / "index.html"
    dom = browse(page.as_uri(), tmp_path, "--dump-dom")
    assert "<title>Thoth KPI report: 18 of 18 charts (ok)</title>" in dom
    assert "Not built: the warehouse has no <code>marts.kpi_web_traffic</code>" in \
        figures(dom)["kpi_web_traffic"]


def test_the_screenshot_is_a_page_of_charts(report, tmp_path):
    shot = tmp_path / "report.png"
    browse(report.as_uri(), tmp_path, f"--screenshot={shot}", "--window-size=1280,2000")
    image = Image.open(shot).convert("RGB")
    assert image.size == (1280, 2000)
    data = image.resize((320, 500)).tobytes()
    pixels = zip(data[0::3], data[1::3], data[2::3], strict=True)
    coloured = sum(1 for r, g, b in pixels if max(r, g, b) - min(r, g, b) > 60)
    assert coloured > 2000, coloured  # bars and lines in colour, not a blank or text-only page


def test_demo_points_at_the_report_and_the_docs(demo_dir):
    log = (demo_dir / "demo.log").read_text()
    assert f"KPI report:   {demo_dir / 'report' / 'index.html'}" in log
    assert f"data catalog: {demo_dir / 'docs' / 'index.html'}" in log
    assert (demo_dir / "report" / "index.html").exists()
