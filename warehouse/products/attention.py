"""Students needing attention: `ontrack/v1/attention/<unit_id>.json`, for the unit's tutors.

Per enrolled project of each unit of the current teaching periods: transparent signals from
OnTrack's own data (attention.sql) and a flag naming the signals that fired. Thresholds come
from configuration (`[products.attention]`, PRODUCTS__ATTENTION__*). A project is named by
OnTrack's own project id and nothing else: OnTrack owns the mapping to the person and the rule of
who may see it. Personal data (thoth/core/classification.yml, `products:`): written only to the
products target, rewritten whole every publish, and rewritten without an erased person by
`thoth erase-user` (warehouse/governance/products_erasure.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import ClassVar

import duckdb

from thoth.core.errors import ThothError
from warehouse.products.unit_insights import Unit

VERSION = 1
PREFIX = f"ontrack/v{VERSION}/attention"
QUERY = Path(__file__).with_name("attention.sql")


MINIMUM = {"inactive_days": 1, "overdue_tasks": 1, "resubmit_tasks": 1,
           "extension_waiting_days": 0}


@dataclass(frozen=True)
class Thresholds:
    """A signal fires at or above its threshold."""
    inactive_days: int = 14  # days since the student's own last activity (as the KPI's 14)
    overdue_tasks: int = 1  # tasks past their due day, not submitted
    resubmit_tasks: int = 1  # tasks in Fix and Resubmit or Redo
    extension_waiting_days: int = 2  # days the oldest unanswered extension request has waited
    # What each means, for the configuration reference (thoth/faces/reference.py).
    __help__: ClassVar[dict[str, str]] = {
        "inactive_days": "`inactive` fires at this many days since the student's own last "
                         "activity",
        "overdue_tasks": "`overdue_tasks` fires at this many tasks past their due day, not "
                         "submitted",
        "resubmit_tasks": "`resubmission_waiting` fires at this many tasks in Fix and Resubmit "
                          "or Redo",
        "extension_waiting_days": "`extension_unanswered` fires when the oldest unanswered "
                                  "extension request has waited this many whole days"}

    @classmethod
    def from_config(cls, get: Callable[[str], object]) -> Thresholds:
        """Each field from `get(name)` (None: the default), checked: a whole number at least its
        minimum, or one line naming PRODUCTS__ATTENTION__<NAME>."""
        values = {}
        for f in fields(cls):
            raw = get(f.name)
            if raw is None or str(raw).strip() == "":
                continue
            env = f"PRODUCTS__ATTENTION__{f.name.upper()}"
            try:
                value = int(str(raw).strip())
            except ValueError:
                raise ThothError(f"{env} is {raw!r}: expected a whole number") from None
            if value < MINIMUM[f.name]:
                raise ThothError(f"{env} is {value}: expected at least {MINIMUM[f.name]}")
            values[f.name] = value
        return cls(**values)

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def fired(signals: dict, thresholds: Thresholds) -> list[str]:
    """The signals at or above their thresholds, in a fixed order."""
    out = []
    if signals["days_since_last_activity"] is not None and \
            signals["days_since_last_activity"] >= thresholds.inactive_days:
        out.append("inactive")
    if signals["overdue_tasks"] >= thresholds.overdue_tasks:
        out.append("overdue_tasks")
    if signals["tasks_to_resubmit"] >= thresholds.resubmit_tasks:
        out.append("resubmission_waiting")
    if signals["unanswered_extension_requests"] >= 1 and \
            signals["oldest_request_waiting_days"] >= thresholds.extension_waiting_days:
        out.append("extension_unanswered")
    return out


def project_entry(row: dict, thresholds: Thresholds) -> dict:
    signals = {
        "days_since_last_activity": row["days_since_last_activity"],
        "last_activity_on": (row["last_activity_on"].isoformat()
                             if row["last_activity_on"] else None),
        "overdue_tasks": row["overdue_tasks"],
        "tasks_to_resubmit": row["tasks_to_resubmit"],
        "unanswered_extension_requests": row["unanswered_extension_requests"],
        "oldest_request_waiting_days": row["oldest_request_waiting_days"],
    }
    why = fired(signals, thresholds)
    return {"project_id": row["project_id"], "flagged": bool(why), "fired": why,
            "signals": signals}


def document(unit: Unit, as_of: datetime, thresholds: Thresholds, projects: list[dict]) -> dict:
    return {
        "product": "ontrack-attention",
        "version": VERSION,
        "classification": "personal",
        "unit_id": unit.unit_id,
        "unit_code": unit.unit_code,
        "teaching_period": unit.teaching_period,
        "as_of": as_of.date().isoformat(),
        "thresholds": thresholds.as_dict(),
        "projects": projects,
        "flagged": sum(p["flagged"] for p in projects),
    }


def build(con: duckdb.DuckDBPyConnection, units: list[Unit], as_of: datetime,
          thresholds: Thresholds) -> dict[str, dict]:
    """path → document for each unit of the current teaching periods."""
    current = [u for u in units if u.period == "current"]
    if not current:
        return {}
    cursor = con.execute(QUERY.read_text(), {"as_of": as_of,
                                             "units": [u.unit_id for u in current]})
    names = [d[0] for d in cursor.description]
    rows: dict[int, list[dict]] = {u.unit_id: [] for u in current}
    for values in cursor.fetchall():
        row = dict(zip(names, values, strict=True))
        rows[row["unit_id"]].append(project_entry(row, thresholds))
    return {path(u.unit_id): document(u, as_of, thresholds, rows[u.unit_id]) for u in current}


def path(unit_id: int) -> str:
    return f"{PREFIX}/{unit_id}.json"
