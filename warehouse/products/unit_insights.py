"""OnTrack unit insights: `ontrack/v1/units/<unit_id>.json`, one per unit of the current and
previous teaching periods, and `ontrack/v1/units/index.json`.

Aggregates only: each weekly value comes from `marts.product_unit_weeks` (which restates the KPI
marts per unit and week, with the students behind each value), the backlog from
`marts.kpi_feedback_backlog`; a value from fewer than 5 students is withheld (cells.py).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import duckdb

from warehouse.products import cells

VERSION = 1
PREFIX = f"ontrack/v{VERSION}/units"
INDEX = f"{PREFIX}/index.json"

# metric → (value column, students column, label, unit, which way is better)
WEEKLY = {
    "submission_rate": ("submission_rate", "submission_students",
                        "Share of the tasks due this week that are submitted", "ratio", "higher"),
    "on_time_rate": ("on_time_rate", "on_time_students",
                     "Share of the submitted tasks due this week submitted on time", "ratio",
                     "higher"),
    "feedback_turnaround_median_hours": (
        "turnaround_median_hours", "turnaround_students",
        "Median hours from a submission made this week to its assessment", "hours", "lower"),
    "feedback_turnaround_p90_hours": (
        "turnaround_p90_hours", "turnaround_students",
        "90th percentile hours from a submission made this week to its assessment", "hours",
        "lower"),
    "inactive_share": ("inactive_share", "enrolled_students",
                       "Share of enrolled students with no activity in the 14 days to the "
                       "week's end", "ratio", "lower"),
    "extension_response_median_hours": (
        "extension_median_response_hours", "extension_students",
        "Median hours to answer an extension request made this week", "hours", "lower"),
    "comments_read_rate": ("read_rate", "read_students",
                           "Share of staff comments written this week read by their student",
                           "ratio", "higher"),
}
# The backlog is a state, measured when the marts were built: one value per unit, not a series.
BACKLOG = {
    "awaiting_feedback": ("Tasks in Ready for Feedback now", "tasks", "lower"),
    "oldest_waiting_days": ("Whole days the oldest of them has waited", "days", "lower"),
}
SOURCES = {"weekly": "marts.product_unit_weeks", "backlog": "marts.kpi_feedback_backlog"}


@dataclass(frozen=True)
class Unit:
    unit_id: int
    unit_code: str
    teaching_period_id: int | None
    teaching_period: str | None
    period: str  # current | previous


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def select_units(con: duckdb.DuckDBPyConnection, as_of: datetime) -> list[Unit]:
    """Units of the current teaching periods (running on `as_of`) and of the previous one (the
    period that ended last before it); a unit with no teaching period counts as current while its
    own dates cover `as_of`."""
    today = as_of.date()
    rows = con.execute(
        "SELECT u.unit_id, u.unit_code, u.teaching_period_id, tp.teaching_period, "
        "tp.start_date, tp.end_date, u.start_date, u.end_date "
        "FROM staging.stg_ontrack__units AS u LEFT JOIN staging.stg_ontrack__teaching_periods "
        "AS tp ON tp.teaching_period_id = u.teaching_period_id ORDER BY u.unit_id").fetchall()
    ended = [r[5] for r in rows if r[3] is not None and r[5] is not None and r[5] < today]
    last_end = max(ended) if ended else None
    units = []
    for unit_id, code, tp_id, tp, tp_start, tp_end, u_start, u_end in rows:
        if tp is not None:
            if tp_start is not None and tp_end is not None and tp_start <= today <= tp_end:
                period = "current"
            elif last_end is not None and tp_end == last_end:
                period = "previous"
            else:
                continue
        elif u_start is not None and u_end is not None and u_start <= today <= u_end:
            period = "current"
        else:
            continue
        units.append(Unit(unit_id, code, tp_id if tp is not None else None, tp, period))
    return units


def _weekly(con: duckdb.DuckDBPyConnection, as_of: datetime) -> dict[int, list[dict]]:
    cursor = con.execute(f"SELECT * FROM {SOURCES['weekly']} WHERE week_start <= ? "
                         "ORDER BY unit_id, week_start", [_monday(as_of.date())])
    names = [d[0] for d in cursor.description]
    out: dict[int, list[dict]] = defaultdict(list)
    for row in cursor.fetchall():
        record = dict(zip(names, row, strict=True))
        out[record["unit_id"]].append(record)
    return out


def _backlog(con: duckdb.DuckDBPyConnection) -> dict[int, tuple[int, float | None]]:
    return {unit_id: (int(tasks), oldest) for unit_id, tasks, oldest in con.execute(
        f"SELECT unit_id, sum(awaiting_feedback), max(oldest_waiting_days) "
        f"FROM {SOURCES['backlog']} GROUP BY unit_id").fetchall()}


def _enrolled(con: duckdb.DuckDBPyConnection) -> dict[int, int]:
    return dict(con.execute("SELECT unit_id, count(*) FROM intermediate.int_enrolled_projects "
                            "GROUP BY unit_id").fetchall())


def build(con: duckdb.DuckDBPyConnection, as_of: datetime,
          freshness: dict[str, str | None]) -> tuple[list[Unit], dict[str, dict]]:
    """The units chosen and every file: path → document. `freshness`: source mart → the oldest
    last load among the raw tables behind it (ISO 8601, UTC)."""
    units = select_units(con, as_of)
    weekly, backlog, enrolled = _weekly(con, as_of), _backlog(con), _enrolled(con)
    by_period: dict[int | None, list[Unit]] = defaultdict(list)
    for unit in units:
        by_period[unit.teaching_period_id].append(unit)

    # Every unit's published (not withheld) values, per period: for the peer statistics.
    cells_of: dict[int, dict] = {}
    for unit in units:
        students = enrolled.get(unit.unit_id, 0)
        tasks, oldest = backlog.get(unit.unit_id, (0, None))
        weeks = {}
        for record in weekly.get(unit.unit_id, []):
            weeks[record["week_start"]] = (record["teaching_week"], {
                metric: cells.cell(record[value], record[count])
                for metric, (value, count, *_) in WEEKLY.items()})
        cells_of[unit.unit_id] = {
            "enrolled": cells.cell(students, students),
            "backlog": {
                "awaiting_feedback": cells.cell(tasks, students),
                # Whole days, so the file changes once a day, not at every build.
                "oldest_waiting_days": cells.cell(
                    None if oldest is None else int(oldest) if tasks else 0, students)},
            "weeks": weeks,
        }

    def values(unit: Unit, pick) -> list[float]:
        if unit.teaching_period_id is None:
            return [v for v in [pick(unit)] if v is not None]
        return [v for peer in by_period[unit.teaching_period_id] if (v := pick(peer)) is not None]

    files: dict[str, dict] = {}
    for unit in units:
        own = cells_of[unit.unit_id]
        backlog_doc = {}
        for metric in BACKLOG:
            c = own["backlog"][metric]
            backlog_doc[metric] = {**c, "peers": cells.peers(c["value"], values(
                unit, lambda p, m=metric: cells_of[p.unit_id]["backlog"][m]["value"]))}
        weeks_doc = []
        for week_start, (teaching_week, metrics) in sorted(own["weeks"].items()):
            weeks_doc.append({
                "week_start": week_start.isoformat(),
                "teaching_week": teaching_week,
                "metrics": {metric: {**c, "peers": cells.peers(c["value"], values(
                    unit, lambda p, m=metric, w=week_start: _week_value(cells_of, p, w, m)))}
                    for metric, c in metrics.items()},
            })
        files[f"{PREFIX}/{unit.unit_id}.json"] = {
            "product": "ontrack-unit-insights",
            "version": VERSION,
            "unit": _unit(unit),
            "min_students": cells.MIN_STUDENTS,
            "freshness": freshness,
            "enrolled_students": own["enrolled"],
            "backlog": backlog_doc,
            "weeks": weeks_doc,
        }
    files[INDEX] = {
        "product": "ontrack-unit-insights",
        "version": VERSION,
        "min_students": cells.MIN_STUDENTS,
        "min_peer_units": cells.MIN_PEER_UNITS,
        "freshness": freshness,
        "metrics": {m: {"label": label, "unit": kind, "better": better, "source": SOURCES["weekly"]}
                    for m, (_, _, label, kind, better) in WEEKLY.items()}
        | {m: {"label": label, "unit": kind, "better": better, "source": SOURCES["backlog"]}
           for m, (label, kind, better) in BACKLOG.items()},
        "units": [{**_unit(u), "path": f"{PREFIX}/{u.unit_id}.json"} for u in units],
    }
    return units, files


def _week_value(cells_of: dict, unit: Unit, week_start: date, metric: str) -> float | None:
    found = cells_of[unit.unit_id]["weeks"].get(week_start)
    return None if found is None else found[1][metric]["value"]


def _unit(unit: Unit) -> dict:
    return {"unit_id": unit.unit_id, "unit_code": unit.unit_code,
            "teaching_period": unit.teaching_period, "period": unit.period}
