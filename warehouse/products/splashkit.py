"""SplashKit usage insights: `splashkit/v1/usage.json`, for the SplashKit website and release
team — the most used functions per language over the last 4 weeks, each release's adoption
curve, the language and OS mix. Installs are anonymous (a random id an install makes for
itself) and only counted here; a cell from fewer than 5 installs is withheld.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb

from thoth.core import platform
from warehouse.products import cells

VERSION = 1
PATH = f"splashkit/v{VERSION}/usage.json"
SOURCE = "marts.kpi_splashkit_usage"
QUERY = Path(__file__).with_name("splashkit.sql")
WINDOW_WEEKS = 4  # the current ISO week and the three before it
ADOPTION_WEEKS = 52
TOP_FUNCTIONS = 10


def available(con: duckdb.DuckDBPyConnection) -> bool:
    """False while the landing zone is not configured (the mart is then not built)."""
    return platform.has_table(con, "kpi_splashkit_usage", "marts")


def _installs(installs: int, share: float | None = None) -> dict:
    if installs < cells.MIN_INSTALLS:
        return {"installs": None, "share": None, "withheld": cells.FEW_INSTALLS}
    return {"installs": installs, "share": cells.number(share), "withheld": None}


def _series(con: duckdb.DuckDBPyConnection, dimension: str, first: date, last: date
            ) -> list[tuple[date, str, int, float]]:
    return con.execute(
        f"SELECT week_start, value, active_installs, share_of_installs FROM {SOURCE} "
        "WHERE dimension = ? AND week_start BETWEEN ? AND ? ORDER BY week_start, value",
        [dimension, first, last]).fetchall()


def _mix(rows: list[tuple]) -> list[dict]:
    weeks: dict[date, list[dict]] = defaultdict(list)
    for week_start, value, installs, share in rows:
        weeks[week_start].append({"value": value, **_installs(installs, share)})
    return [{"week_start": w.isoformat(), "values": values} for w, values in sorted(weeks.items())]


def build(con: duckdb.DuckDBPyConnection, as_of: datetime, freshness: str | None
          ) -> dict[str, dict]:
    """path → document; nothing while SplashKit's usage is not loaded."""
    if not available(con):
        return {}
    this_week = as_of.date() - timedelta(days=as_of.weekday())
    first = this_week - timedelta(weeks=WINDOW_WEEKS - 1)
    top: dict[str, list[dict]] = defaultdict(list)
    withheld: dict[str, int] = defaultdict(int)
    for language, function, calls, installs in con.execute(
            QUERY.read_text(), {"first_week": first, "last_week": this_week}).fetchall():
        if installs < cells.MIN_INSTALLS:
            withheld[language] += 1
        elif len(top[language]) < TOP_FUNCTIONS:
            top[language].append({"function": function, "calls": calls, "installs": installs})
    adoption: dict[str, list[dict]] = defaultdict(list)
    for week_start, version, installs, share in _series(
            con, "version", this_week - timedelta(weeks=ADOPTION_WEEKS - 1), this_week):
        adoption[version].append({"week_start": week_start.isoformat(),
                                  **_installs(installs, share)})
    return {PATH: {
        "product": "splashkit-usage",
        "version": VERSION,
        "min_installs": cells.MIN_INSTALLS,
        "freshness": freshness,
        "window": {"weeks": WINDOW_WEEKS, "first_week": first.isoformat(),
                   "last_week": this_week.isoformat()},
        "top_functions": [{"language": language, "functions": top.get(language, []),
                           "withheld_functions": withheld.get(language, 0)}
                          for language in sorted(set(top) | set(withheld))],
        "adoption": [{"version": version, "weeks": weeks}
                     for version, weeks in sorted(adoption.items())],
        "languages": _mix(_series(con, "language", first, this_week)),
        "os": _mix(_series(con, "os", first, this_week)),
    }}
