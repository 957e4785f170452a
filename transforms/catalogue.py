"""The KPI catalogue (`transforms/kpis.yml`): Objectives → Key Results → the KPIs that measure
them → the raw data they need. `requires` is checked against each model's real lineage, so the
catalogue cannot drift from the SQL, and a KPI whose raw data is not loaded is an error."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

import yaml

from thoth.core import load_state
from thoth.core.duck import age, open_warehouse, utc_now
from thoth.core.errors import ThothError
from transforms.project import Model, discover, lineage, optional_sources

CATALOGUE = Path(__file__).parent / "kpis.yml"
FIELDS = ("name", "objective", "key_result", "owner", "grain", "definition", "requires")


@dataclass(frozen=True)
class Kpi:
    name: str
    objective: str
    key_result: str
    owner: str
    grain: list[str]
    definition: str
    requires: list[str]

    @property
    def model(self) -> str:
        return f"marts.{self.name}"


def load_catalogue(path: Path | None = None) -> list[Kpi]:
    path = path or CATALOGUE
    doc = yaml.safe_load(path.read_text())
    kpis = []
    for entry in doc["kpis"]:
        name = entry.get("name", "?")
        missing = [f for f in FIELDS if not entry.get(f)]
        if missing:
            raise ThothError(f"{path.name}: KPI {name} lacks {', '.join(missing)}")
        # Objectives and key results are named once at the top and referred to by id.
        for field, known in (("objective", doc["objectives"]), ("key_result", doc["key_results"])):
            if entry[field] not in known:
                raise ThothError(f"{path.name}: KPI {name} names unknown {field} {entry[field]}")
            entry[field] = f"{entry[field]} {known[entry[field]]}"
        kpis.append(Kpi(**{f: entry[f] for f in FIELDS}))
    return kpis


def catalogue_problems(models: dict[str, Model], built: set[str],
                       skipped: frozenset[str] = frozenset()) -> list[str]:
    """Every way the catalogue disagrees with the models or the warehouse, one line each.
    `skipped`: models whose source is not configured; their missing data is no problem."""
    problems = []
    kpis = load_catalogue()
    listed = {k.model for k in kpis}
    for name in sorted(m for m in models if m.startswith("marts.kpi_") and m not in listed):
        problems.append(f"{name} is not in the catalogue")
    for kpi in kpis:
        if kpi.model not in models:
            problems.append(f"{kpi.name}: no model builds it")
            continue
        # The model's YAML grain is the one its unique_grain test checks: the catalogue must say
        # the same.
        tested = models[kpi.model].meta.get("grain")
        if kpi.grain != tested:
            problems.append(f"{kpi.name}: grain [{', '.join(kpi.grain)}] differs from its model's "
                            f"tested grain [{', '.join(tested or [])}]")
        real = lineage(models, kpi.model)
        declared = set(kpi.requires)
        if declared != real:
            extra, undeclared = sorted(declared - real), sorted(real - declared)
            problems.append(f"{kpi.name}: requires disagrees with its SQL lineage"
                            + (f"; not read: {', '.join(extra)}" if extra else "")
                            + (f"; read but not listed: {', '.join(undeclared)}"
                               if undeclared else ""))
        # A table an older source generation lacks (source_may_lack) reads as empty there.
        absent = sorted(t for t in real if t not in built and t not in optional_sources(models))
        if absent and kpi.model not in skipped:
            problems.append(f"{kpi.name}: required data not loaded: {', '.join(absent)}")
    return problems


@cache
def _optional() -> frozenset[str]:
    return frozenset(optional_sources(discover()))


def freshness(kpi: Kpi, loads: dict[str, datetime]) -> datetime | None:
    """The oldest last load among the KPI's raw tables; None if any was never loaded (a table
    the source's generation does not have aside: it reads as empty)."""
    times = [loads.get(table) for table in kpi.requires
             if table in loads or table not in _optional()]
    return None if any(t is None for t in times) or not times else min(times)


def raw_loads(warehouse: Path) -> dict[str, datetime]:
    """`<source>_raw.<table>` → when it was last loaded."""
    con = open_warehouse(warehouse, read_only=True)
    try:
        return {f"{x.source}_raw.{x.table}": x.loaded_at for x in load_state.read_all(con)}
    finally:
        con.close()


def render(warehouse: Path) -> str:
    kpis, models = load_catalogue(), discover()
    problems = catalogue_problems(models, _tables(warehouse))
    loads = raw_loads(warehouse)
    now = utc_now()
    lines = []
    for kpi in kpis:
        fresh = freshness(kpi, loads)
        when = f"{fresh:%Y-%m-%d %H:%M} UTC ({age(now - fresh)} ago)" if fresh else "never loaded"
        lines += [
            f"{kpi.name}  [{', '.join(_tested_grain(kpi, models))}]",
            f"  objective:  {kpi.objective}",
            f"  key result: {kpi.key_result}",
            f"  owner:      {kpi.owner}",
            f"  definition: {' '.join(kpi.definition.split())}",
            f"  freshness:  {when}",
            "",
        ]
    lines += [f"problem: {p}" for p in problems]
    return "\n".join(lines).rstrip()


def _tables(warehouse: Path) -> set[str]:
    con = open_warehouse(warehouse, read_only=True)
    try:
        return {r[0] for r in con.execute(
            "SELECT schema_name || '.' || table_name FROM duckdb_tables()").fetchall()}
    finally:
        con.close()


def _tested_grain(kpi: Kpi, models: dict[str, Model]) -> list[str]:
    """The grain the model's unique_grain test checks (the catalogue's when it has no model)."""
    model = models.get(kpi.model)
    return (model.meta.get("grain") if model else None) or kpi.grain
