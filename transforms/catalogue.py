"""The KPI catalogue. Every mart `marts.kpi_*` is a KPI and its YAML says, once, what it means:
the objective and key result it serves, its owner, the flywheel stage it measures, its grain and
its definition. `kpis.yml` names the objectives and their key results, nothing else. What a KPI
needs (`requires`) is its lineage, read from the models themselves (sqlglot over the SQL, a
Polars model's declared inputs), never written down; `thoth check` reports a KPI whose YAML is
incomplete or names an unknown objective, and one whose raw data is not loaded."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

import yaml

from thoth.core import platform
from thoth.core.duck import age, open_warehouse, utc_now
from thoth.core.errors import ThothError
from thoth.core.platform import load_state
from transforms.project import Model, discover, lineage, optional_sources

OKRS = Path(__file__).parent / "kpis.yml"
# What each mart's YAML must say to be a KPI (beside its description, columns and tests).
FIELDS = ("objective", "key_result", "owner", "flywheel", "grain", "definition")
# The User and Product Intelligence Flywheel, in the order it turns: more & happier users →
# more data → more insights → more & better features → more & happier users (and, open core,
# features → contributions → features).
FLYWHEEL = ("users", "data", "insights", "features", "contributions")


@dataclass(frozen=True)
class Target:
    """A KPI's key-result number, from its YAML `target:`: the measure it judges, the side that
    is good, and the value (None for `up`: better than the period before)."""

    good: str  # "higher" or "lower"
    value: float | None
    measure: str

    def met(self, value: float | None, previous: float | None = None) -> bool | None:
        """Whether `value` meets it (None: nothing to judge yet)."""
        if value is None:
            return None
        if self.value is None:
            return None if previous is None else value >= previous
        return value >= self.value if self.good == "higher" else value <= self.value

    def words(self, fmt: str = "g") -> str:
        if self.value is None:
            return "up on the period before"
        return f"{'≥' if self.good == 'higher' else '≤'} {format(self.value, fmt)}"


TARGET_KINDS = {"at_least": "higher", "at_most": "lower", "up": "higher"}


def target_of(meta: dict) -> Target | None:
    """The `target:` of a KPI's YAML, or None when its key result states no number for it."""
    entry = meta.get("target")
    if entry is None:
        return None
    kinds = [k for k in TARGET_KINDS if k in entry] if isinstance(entry, dict) else []
    if len(kinds) != 1 or not entry.get("measure"):
        raise ValueError("target: write one of at_least: N, at_most: N or up: true, and "
                         "measure: (what the number judges)")
    kind = kinds[0]
    if kind == "up":
        value = None
    elif isinstance(entry[kind], int | float) and not isinstance(entry[kind], bool):
        value = float(entry[kind])
    else:
        raise ValueError(f"target: {kind} must be a number, not {entry[kind]!r}")
    return Target(TARGET_KINDS[kind], value, " ".join(str(entry["measure"]).split()))


@dataclass(frozen=True)
class Kpi:
    name: str
    objective: str  # "O1 Students keep up with their units …": id and words
    key_result: str  # "KR1.1 85 % of expected tasks submitted …"
    owner: str
    flywheel: str  # one of FLYWHEEL
    grain: list[str]
    definition: str  # one paragraph, whitespace normalised
    description: str  # the one-line summary (the KPI table's "what")
    requires: list[str]  # raw tables, from lineage
    target: Target | None = None  # the key result's number for this KPI, if it states one

    @property
    def model(self) -> str:
        return f"marts.{self.name}"


@dataclass(frozen=True)
class Okrs:
    objectives: dict[str, str]  # O1 → words
    key_results: dict[str, tuple[str, str]]  # KR1.1 → (O1, words)


def okrs(path: Path | None = None) -> Okrs:
    """The objectives and their key results (`kpis.yml`)."""
    path = path or OKRS
    doc = yaml.safe_load(path.read_text())
    if not isinstance(doc, dict) or not isinstance(doc.get("objectives"), dict):
        raise ThothError(f"{path.name}: write `objectives:`, a mapping of O1, O2, … to each "
                         "objective's words and key results")
    objectives: dict[str, str] = {}
    key_results: dict[str, tuple[str, str]] = {}
    for oid, entry in doc["objectives"].items():
        if not (isinstance(entry, dict) and entry.get("objective")
                and isinstance(entry.get("key_results"), dict)):
            raise ThothError(f"{path.name}: objective {oid} needs `objective:` (its words) and "
                             "`key_results:` (id: words)")
        objectives[oid] = entry["objective"]
        for kr, words in entry["key_results"].items():
            if kr in key_results:
                raise ThothError(f"{path.name}: key result {kr} is listed twice")
            key_results[kr] = (oid, words)
    return Okrs(objectives, key_results)


def is_kpi(name: str) -> bool:
    return name.startswith("marts.kpi_")


def metadata_problems(model: Model, known: Okrs) -> list[str]:
    """Every way a KPI's YAML is incomplete or names something unknown, one line each."""
    meta, name, yml = model.meta, model.name, f"{model.path.parent.name}/{model.name}.yml"
    missing = [f for f in FIELDS if not meta.get(f)]
    if missing:
        return [f"{name}: {yml} lacks {', '.join(missing)} (a KPI states them in its YAML)"]
    problems = []
    objective, key_result, stage = meta["objective"], meta["key_result"], meta["flywheel"]
    if objective not in known.objectives:
        problems.append(f"{name}: objective {objective} is not in kpis.yml "
                        f"({', '.join(known.objectives)})")
    if key_result not in known.key_results:
        problems.append(f"{name}: key result {key_result} is not in kpis.yml")
    elif known.key_results[key_result][0] != objective:
        problems.append(f"{name}: key result {key_result} belongs to objective "
                        f"{known.key_results[key_result][0]}, not {objective}")
    try:
        target_of(meta)
    except ValueError as exc:
        problems.append(f"{name}: {yml}: {exc}")
    if stage not in FLYWHEEL:
        problems.append(f"{name}: flywheel {stage!r} is not one of {', '.join(FLYWHEEL)}")
    grain = meta["grain"]
    columns = meta.get("columns") or {}
    if not isinstance(grain, list):
        problems.append(f"{name}: grain must be a list of columns")
    else:
        unknown = [c for c in grain if c not in columns]
        if unknown:
            problems.append(f"{name}: grain column {', '.join(unknown)} is not among its columns")
    return problems


def _ordered(ids: str) -> tuple[int, ...]:
    """KR1.10 after KR1.9."""
    return tuple(int(n) for n in re.findall(r"\d+", ids))


def kpis(models: dict[str, Model] | None = None, okrs_path: Path | None = None) -> list[Kpi]:
    """Every KPI, from its mart's YAML, ordered by key result then name. A KPI whose YAML is
    incomplete is an error naming the file and what to write (`thoth check` lists them all)."""
    models = discover() if models is None else models
    known = okrs(okrs_path)
    out = []
    for model in (m for q, m in models.items() if is_kpi(q)):
        problems = metadata_problems(model, known)
        if problems:
            raise ThothError(problems[0])
        meta = model.meta
        out.append(Kpi(
            name=model.name,
            objective=f"{meta['objective']} {known.objectives[meta['objective']]}",
            key_result=f"{meta['key_result']} {known.key_results[meta['key_result']][1]}",
            owner=meta["owner"],
            flywheel=meta["flywheel"],
            grain=list(meta["grain"]),
            definition=" ".join(str(meta["definition"]).split()),
            description=" ".join(str(meta.get("description") or "").split()),
            requires=sorted(lineage(models, model.qualified)),
            target=target_of(meta),
        ))
    return sorted(out, key=lambda k: (_ordered(k.key_result.split()[0]), k.name))


def load_catalogue() -> list[Kpi]:
    """The same as `kpis()`: the name callers used before the catalogue moved into the model
    YAML; remove once no branch calls it."""
    return kpis()


def catalogue_problems(models: dict[str, Model], built: set[str],
                       skipped: frozenset[str] = frozenset()) -> list[str]:
    """Every KPI whose YAML is incomplete or whose raw data is not loaded, one line each.
    `skipped`: models whose source is not configured; their missing data is no problem."""
    problems = []
    known = okrs()
    for name, model in models.items():
        if not is_kpi(name):
            continue
        found = metadata_problems(model, known)
        problems += found
        # A table an older source generation lacks (source_may_be_absent) reads as empty there.
        absent = sorted(t for t in lineage(models, name)
                        if t not in built and t not in optional_sources(models))
        if absent and name not in skipped:
            problems.append(f"{model.name}: required data not loaded: {', '.join(absent)}")
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
    """`thoth kpis`: every KPI as its YAML states it, with what it reads and its freshness."""
    models = discover()
    catalogue = kpis(models)
    problems = catalogue_problems(models, _tables(warehouse))
    loads = raw_loads(warehouse)
    now = utc_now()
    lines = []
    for kpi in catalogue:
        fresh = freshness(kpi, loads)
        when = f"{fresh:%Y-%m-%d %H:%M} UTC ({age(now - fresh)} ago)" if fresh else "never loaded"
        lines += [
            f"{kpi.name}  [{', '.join(kpi.grain)}]",
            f"  objective:  {kpi.objective}",
            f"  key result: {kpi.key_result}",
            f"  flywheel:   {kpi.flywheel}",
            f"  owner:      {kpi.owner}",
            f"  definition: {kpi.definition}",
            f"  requires:   {', '.join(kpi.requires)}",
            f"  freshness:  {when}",
            "",
        ]
    lines.append(f"flywheel: {flywheel_summary(catalogue)}")
    lines += [f"problem: {p}" for p in problems]
    return "\n".join(lines).rstrip()


def flywheel_summary(catalogue: list[Kpi]) -> str:
    """How many KPIs measure each stage; a stage none measures says so."""
    counts = {stage: sum(k.flywheel == stage for k in catalogue) for stage in FLYWHEEL}
    return " · ".join(f"{stage} {n}" if n else f"{stage}: no KPI yet"
                      for stage, n in counts.items())


def markdown_table(catalogue: list[Kpi]) -> str:
    """The KPI table, rendered from the model YAML (`thoth kpis --markdown`; the KPI reference,
    docs/reference/kpis.md, holds it and a test keeps that equal)."""
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    rows = ["| KPI | grain | flywheel | key result | what |", "| --- | --- | --- | --- | --- |"]
    rows += [f"| `{k.name}` | {', '.join(k.grain)} | {k.flywheel} | {k.key_result.split()[0]} "
             f"| {cell(k.description)} |" for k in catalogue]
    return "\n".join(rows)


def _tables(warehouse: Path) -> set[str]:
    con = open_warehouse(warehouse, read_only=True)
    try:
        return platform.relations(con)
    finally:
        con.close()
