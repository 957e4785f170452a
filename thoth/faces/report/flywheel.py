"""The User and Product Intelligence Flywheel: more and happier users → more data → more insights
→ more and better features → more and happier users; in the open-core loop, features →
contributions → features. Each KPI names the stage it measures in its model's YAML (`flywheel:`);
a stage's headline is the first of `WEEKLY` among its KPIs, with its last four weeks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import duckdb

from thoth.faces.report.kpi_charts import WEEKLY, Weekly
from transforms.catalogue import Kpi
from transforms.project import Model

STAGES = ("users", "data", "insights", "features", "contributions")
UNASSIGNED = "unassigned"
LOOP = (("users", "data", 0.0), ("data", "insights", 0.0), ("insights", "features", 0.0),
        ("features", "users", 0.0), ("features", "contributions", 0.09),
        ("contributions", "features", 0.09))
# Where each stage sits in the drawing: the main loop on a circle, contributions beside features.
POSITIONS = {"users": (0.0, 1.0), "data": (1.0, 0.0), "insights": (0.0, -1.0),
             "features": (-1.0, 0.0), "contributions": (-2.35, 0.0)}
WEEKS = 4


@dataclass
class Stage:
    name: str
    kpis: list[str] = field(default_factory=list)
    headline: Weekly | None = None
    weeks: list[dict] = field(default_factory=list)  # {week_start, value}, oldest first

    @property
    def summary(self) -> str:
        """The stage in one line: its headline now and how it moved, or why there is none."""
        if not self.kpis:
            return "no source yet"
        if self.headline is None:
            return "no weekly KPI"
        if not self.weeks:
            return "no complete week of data yet"
        now = fmt(self.weeks[-1]["value"], self.headline.fmt)
        if len(self.weeks) == 1:
            return now
        return f"{now} ({change(self.weeks, self.headline.fmt)} over {len(self.weeks)} weeks)"

    @property
    def short(self) -> str:
        """As it fits in the drawing's circle: the value and its move."""
        if not self.weeks or self.headline is None:
            return self.summary
        now = fmt(self.weeks[-1]["value"], self.headline.fmt)
        return f"{now} {change(self.weeks, self.headline.fmt)}" if len(self.weeks) > 1 else now


def stage_of(kpi: Kpi, models: dict[str, Model]) -> str:
    """The flywheel stage a KPI measures: the catalogue's field when it has one, else its model
    YAML's `flywheel:`; `unassigned` when neither names a known stage (shown and counted)."""
    model = models.get(kpi.model)
    stage = getattr(kpi, "flywheel", None) or (model.meta.get("flywheel") if model else None)
    return stage if stage in STAGES else UNASSIGNED


def stages(con: duckdb.DuckDBPyConnection, kpis: list[Kpi], models: dict[str, Model],
           built: set[str], today: date) -> list[Stage]:
    """Every stage in loop order (then `unassigned` if any KPI is), with its headline's last
    four complete weeks (a week still running on `today` would look like a drop); a headline
    whose mart is not built has no weeks."""
    found = {name: Stage(name) for name in (*STAGES, UNASSIGNED)}
    for kpi in kpis:
        found[stage_of(kpi, models)].kpis.append(kpi.name)
    for stage in found.values():
        stage.headline = next((w for w in WEEKLY if w.kpi in stage.kpis), None)
        if stage.headline and f"marts.{stage.headline.kpi}" in built:
            rows = con.execute(f"SELECT week_start, value FROM ({stage.headline.sql}) "
                               "WHERE value IS NOT NULL AND week_start + 7 <= ? "
                               f"ORDER BY week_start DESC LIMIT {WEEKS}", [today]).fetchall()
            stage.weeks = [{"week_start": w.isoformat(), "value": float(v)}
                           for w, v in reversed(rows)]
    return [s for s in found.values() if s.name in STAGES or s.kpis]


def fmt(value: float, style: str) -> str:
    """A number the way the charts write it (d3 formats `,.0f`, `,.1f`, `.1%`, `.2%`)."""
    digits = int(style.rstrip("f%")[-1])
    return f"{value * 100:.{digits}f}%" if style.endswith("%") else f"{value:,.{digits}f}"


def change(weeks: list[dict], style: str) -> str:
    """First to last week: percentage points for a rate, a relative change for a count."""
    first, last = weeks[0]["value"], weeks[-1]["value"]
    arrow = "▲" if last > first else "▼" if last < first else "="
    if style.endswith("%"):
        return f"{arrow} {abs(last - first) * 100:.1f} pts"
    return f"{arrow} {abs(last - first) / abs(first):.0%}" if first else f"{arrow} from 0"


def drawing(found: list[Stage]) -> tuple[list[dict], list[tuple[str, str, float]]]:
    """The nodes and arrows of the loop, for vega.loop."""
    nodes = []
    for stage in found:
        if stage.name not in POSITIONS:
            continue
        x, y = POSITIONS[stage.name]
        line1 = stage.headline.measure if stage.headline else stage.summary
        nodes.append({"stage": stage.name, "x": x, "y": y, "line1": line1,
                      "line2": stage.short, "live": "yes" if stage.weeks else "no",
                      "label": f"stage {stage.name}: {line1}"
                      + (f": {stage.summary}" if line1 != stage.summary else "")})
    return nodes, list(LOOP)
