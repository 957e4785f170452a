"""A LookML dashboard per objective of the OKR catalogue (transforms/kpis.yml): a tile per KPI
serving it, with its key result's target (the KPI YAML's `target:`) as a reference line, and
filters for the teaching period and, where its KPIs are per unit, the unit."""

from __future__ import annotations

import yaml

from transforms.additivity import column_targets
from transforms.catalogue import Kpi, Okrs
from warehouse.looker.model import MODEL, UNITS, WEEKS, joins
from warehouse.looker.views import AT_GRAIN, View

WIDTH, HEIGHT = 12, 6  # two tiles a row on the 24-column newspaper layout


def name(objective: str) -> str:
    return f"thoth_{objective.lower()}"


def targets(meta: dict) -> dict[str, tuple[str, float]]:
    """column → (at_least | at_most, value), as the KPI's YAML states it."""
    out = {}
    for column, bound in column_targets(meta).items():
        ((direction, value),) = bound.items()
        out[column] = (direction, float(value))
    return out


def tiles(v: View, meta: dict) -> list[list[str]]:
    """The columns of each tile of a KPI: its targets' columns, a tile per unit of measure (a
    rate and milliseconds share no axis); else the `dashboard: measures:` listed; else its
    rates; else its first two counts."""
    if targets(meta):
        by_format: dict[str | None, list[str]] = {}
        for column in targets(meta):
            by_format.setdefault(v.additivity[column].format, []).append(column)
        return list(by_format.values())
    listed = list((meta.get("dashboard") or {}).get("measures") or [])
    ratios = [c for c, a in v.additivity.items() if a.kind == "ratio"]
    return [listed or ratios
            or [c for c in v.measures if v.additivity[c].kind in ("sum", "distinct")][:2]]


def _shown(value: float, fmt: str | None) -> str:
    return f"{value:.1%}" if fmt == "percent" else f"{value:g}"


def element(kpi: Kpi, v: View, meta: dict, views: dict[str, View], columns: list[str],
            row: int, col: int) -> dict:
    measures = [f"{v.name}.{v.measures[c]}" for c in columns]
    at_grain = any(v.additivity[c].kind in AT_GRAIN for c in columns)
    date = v.spec.date_grain
    if at_grain:  # the grain itself, or the measures are empty
        dims = [v.field(date)] if date else [
            *([f"{UNITS}.unit_code"] if v.per_unit else []),
            *([v.field("task_abbreviation")] if "task_abbreviation" in v.columns else [])]
        dims += [v.field(g) for g in v.spec.grain if g != date]
        pivots = [v.field(g) for g in v.spec.grain if g != date] if date else []
    else:
        dims = [v.field(date)] if date else (
            [f"{UNITS}.unit_code"] if v.per_unit else [v.field(v.spec.grain[0])])
        pivots = []
    first = tiles(v, meta)[0]
    out: dict = {
        "name": kpi.name if columns == first else f"{kpi.name}__{columns[0]}",
        "title": " ".join(kpi.description.split()),
        "note_state": "collapsed", "note_display": "hover",
        "note_text": kpi.key_result,
        "model": MODEL, "explore": v.name,
        "type": "looker_line" if date else "looker_column",
        "fields": dims + measures,
    }
    if pivots:
        out["pivots"] = pivots
    out["sorts"] = [dims[0]]
    filters = {f"{v.name}.{c}": str(x)
               for c, x in ((meta.get("dashboard") or {}).get("filters") or {}).items()}
    if filters:
        out["filters"] = filters
    out["limit"] = 500
    lines = []
    for column, (direction, value) in targets(meta).items():
        if column not in columns:
            continue
        words = "at least" if direction == "at_least" else "at most"
        # As Looker (dashboards-next) exports a constant line: the value as a string.
        lines.append({"reference_type": "line", "line_value": f"{value:g}",
                      "range_start": "max", "range_end": "min", "margin_top": "deviation",
                      "margin_value": "mean", "margin_bottom": "deviation",
                      "label_position": "right", "color": "#d62728",
                      "label": f"{kpi.key_result.split()[0]}: {column} {words} "
                               f"{_shown(value, v.additivity[column].format)}"})
    if lines:
        out["reference_lines"] = lines
    listen = {}
    reached = [j for j, _ in joins(v, views)]
    if UNITS in reached:
        listen = {"teaching_period": f"{UNITS}.teaching_period", "unit": f"{UNITS}.unit_code"}
    elif WEEKS in reached:
        listen = {"teaching_period": f"{WEEKS}.teaching_period"}
    if listen:
        out["listen"] = listen
    return {**out, "row": row, "col": col, "width": WIDTH, "height": HEIGHT}


def dashboard(objective: str, okrs: Okrs, kpis: list[Kpi], views: dict[str, View],
              metas: dict[str, dict]) -> str:
    shown = [k for k in kpis if k.objective.split()[0] == objective and k.name in views]
    wanted = [(k, columns) for k in shown for columns in tiles(views[k.name], metas[k.name])]
    elements = [element(k, views[k.name], metas[k.name], views, columns, (i // 2) * HEIGHT,
                        (i % 2) * WIDTH)
                for i, (k, columns) in enumerate(wanted)]
    per_unit = [k for k in shown if views[k.name].per_unit]
    weekly = [k for k in shown if not views[k.name].per_unit
              and any(j == WEEKS for j, _ in joins(views[k.name], views))]
    anchor = per_unit[0].name if per_unit else (weekly[0].name if weekly else None)
    filters = []
    if anchor:
        period = f"{UNITS}.teaching_period" if per_unit else f"{WEEKS}.teaching_period"
        filters.append(_filter("teaching_period", "Teaching period", anchor, period))
    if per_unit:
        filters.append(_filter("unit", "Unit", anchor, f"{UNITS}.unit_code"))
    key_results = [f"{kr} {words}" for kr, (o, words) in okrs.key_results.items()
                   if o == objective]
    doc = [{
        "dashboard": name(objective),
        "title": f"{objective} {okrs.objectives[objective]}",
        "description": "Key results: " + "; ".join(key_results),
        "layout": "newspaper",
        "preferred_viewer": "dashboards-next",
        "filters": filters,
        "elements": elements,
    }]
    header = (f"# {objective}: a tile per KPI serving it, its key result's target a red line.\n"
              "# Generated by `thoth publish` (and `thoth looker`) from the models' YAML and "
              "transforms/kpis.yml.\n")
    return header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)


def _filter(key: str, title: str, explore: str, field: str) -> dict:
    return {"name": key, "title": title, "type": "field_filter", "default_value": "",
            "allow_multiple_values": True, "required": False, "ui_config": {
                "type": "tag_list", "display": "popover"},
            "model": MODEL, "explore": explore, "listens_to_filters": [], "field": field}
