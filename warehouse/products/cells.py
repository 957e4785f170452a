"""The small-numbers rule and where a unit stands among its peers.

A value computed from fewer than MIN_STUDENTS students (MIN_INSTALLS installs for SplashKit) is
withheld: published as null with the reason, so no small group can be singled out. Peer
statistics (median, quartiles, the unit's percentile) use only values that are not withheld,
and only when at least MIN_PEER_UNITS units have one: with two, the median and a unit's own
value would give the other unit's away.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

MIN_STUDENTS = 5
MIN_INSTALLS = 5
MIN_PEER_UNITS = 3
FEW_STUDENTS = f"fewer than {MIN_STUDENTS} students"
FEW_INSTALLS = f"fewer than {MIN_INSTALLS} installs"
FEW_UNITS = f"fewer than {MIN_PEER_UNITS} units of the teaching period have a value"
NO_DATA = "no data"


def number(value: object) -> float | int | None:
    """A JSON number: NaN and infinities (which JSON has not) become None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    value = float(value)
    return value if math.isfinite(value) else None


def cell(value: object, students: int | None, minimum: int = MIN_STUDENTS,
         reason: str = FEW_STUDENTS) -> dict:
    """{value, students, withheld}: the value and how many it is computed from, or null and
    why. `students` is shown only when the value is."""
    if students is None or students < minimum:
        return {"value": None, "students": None, "withheld": reason}
    value = number(value)
    if value is None:
        return {"value": None, "students": students, "withheld": NO_DATA}
    return {"value": value, "students": students, "withheld": None}


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks, as DuckDB's quantile_cont and numpy's
    default."""
    position = (len(sorted_values) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def peers(own: float | None, values: Sequence[float]) -> dict:
    """Where `own` stands among `values` (every unit's published value, `own` included):
    {units, median, q1, q3, percentile}. The percentile is the share of units below plus half
    of those equal, in per cent (50 for the median unit); null when the unit's own value is."""
    ordered = sorted(values)
    if len(ordered) < MIN_PEER_UNITS:
        return {"units": len(ordered), "median": None, "q1": None, "q3": None,
                "percentile": None, "withheld": FEW_UNITS}
    percentile = None
    if own is not None:
        below = sum(v < own for v in ordered)
        equal = sum(v == own for v in ordered)
        percentile = round(100 * (below + 0.5 * equal) / len(ordered), 1)
    return {"units": len(ordered), "median": quantile(ordered, 0.5),
            "q1": quantile(ordered, 0.25), "q3": quantile(ordered, 0.75),
            "percentile": percentile, "withheld": None}
