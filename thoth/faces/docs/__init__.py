"""`thoth docs`: the data catalog as a static site — `index.html` and one page per table.

Every table and view the warehouse holds (found in the warehouse, so a new source's schema shows
up by itself), each column with its type, description (the model's YAML; raw tables: "raw copy
of <source> <table>") and class (thoth/core/classification.yml), the lineage from source tables
through staging to the KPIs (inline SVG laid out here), the data tests with their last results
(platform.check_results) and freshness (platform.load_state, platform.model_builds). No external
assets: it opens from disk, offline.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

import duckdb

from thoth.core import classification
from thoth.core.duck import open_warehouse, utc_now
from thoth.core.platform import builds, checks, load_state
from transforms.checks import data_tests
from transforms.project import Model, discover

LAYERS = ("raw", "staging", "intermediate", "marts")  # the lineage graph's columns
CLASS_COLOURS = {"public": "#2ca02c", "internal": "#1f77b4", "personal": "#d62728",
                 "secret": "#000", None: "#ff7f0e"}
STYLE = """
body { font-family: sans-serif; margin: 24px; color: #222; max-width: 1200px; }
table { border-collapse: collapse; font-size: 13px; }
td, th { border-bottom: 1px solid #ddd; padding: 3px 10px; text-align: left; vertical-align: top; }
.cls { font-weight: bold; } .fail { color: #b00; } .pass { color: #080; }
svg a text { text-decoration: underline; }
"""


@dataclass
class TableDoc:
    name: str  # schema.table
    kind: str  # table | view
    description: str
    columns: list[tuple[str, str, str, str | None, str]] = field(default_factory=list)
    # (column, type, description, class, why)
    tests: list[tuple[str, str, bool | None, str]] = field(default_factory=list)
    # (test, column, passed, detail)
    freshness: str = ""

    @property
    def layer(self) -> str:
        schema = self.name.split(".", 1)[0]
        return schema if schema in LAYERS else "raw"

    @property
    def page(self) -> str:
        # A source table's name may hold `/` or other characters no file name can: `~hex`.
        return re.sub(r"[^A-Za-z0-9._-]", lambda m: f"~{ord(m[0]):x}", self.name) + ".html"


def _raw_description(name: str) -> str:
    schema, table = name.split(".", 1)
    if schema == "platform":
        return f"The platform's own bookkeeping: {table}."
    source = schema.removesuffix("_raw").removesuffix("_staging")
    label = {"ontrack": "OnTrack", "ga4": "GA4"}.get(source, source)
    return f"Raw copy of {label} {table}" + (" (dlt's merge staging)." if schema.endswith(
        "_staging") else ".")


def collect(con: duckdb.DuckDBPyConnection, models: dict[str, Model]) -> dict[str, TableDoc]:
    rules = classification.load()
    kinds = dict(con.execute(
        "SELECT schema_name || '.' || table_name, 'table' FROM duckdb_tables() WHERE "
        "database_name = current_database() UNION ALL SELECT schema_name || '.' || view_name, "
        "'view' FROM duckdb_views() WHERE database_name = current_database() AND NOT internal"
    ).fetchall())
    docs: dict[str, TableDoc] = {}
    for schema, table, column, dtype in classification.warehouse_columns(con):
        name = f"{schema}.{table}"
        if name not in docs:
            meta = models[name].meta if name in models else {}
            docs[name] = TableDoc(name, kinds.get(name, "table"),
                                  meta.get("description") or _raw_description(name))
        meta = models[name].meta if name in models else {}
        col_meta = (meta.get("columns") or {}).get(column) or {}
        cls = rules.classify(schema, table, column)
        docs[name].columns.append((column, dtype, col_meta.get("description", ""),
                                   cls.name if cls else None,
                                   cls.why if cls else "unclassified: personal until classified"))
    _tests(con, models, docs)
    _freshness(con, docs)
    return docs


def _tests(con: duckdb.DuckDBPyConnection, models: dict[str, Model],
           docs: dict[str, TableDoc]) -> None:
    last: dict[tuple, tuple[bool, str]] = {}
    table_wide: list[tuple[str, str, str, bool, str]] = []  # guards and governance, per table
    for model, test, column, failures, passed, detail, level in checks.last_results(con):
        detail = detail or f"{failures} rows"
        shown = detail if passed or level != "warn" else f"warning (not blocking): {detail}"
        last[(model, test, column or "")] = (passed, shown)
        if test in ("max_row_drop", "classification") and model in docs:
            table_wide.append((model, test, column or "", passed, shown))
    for name, model in models.items():
        if name not in docs:
            continue
        for t in data_tests(model):
            passed, detail = last.get((name, t.test, t.column or ""), (None, "not run yet"))
            docs[name].tests.append((t.test, t.column or "", passed,
                                     "" if passed else detail))
    for model, test, column, passed, detail in table_wide:
        docs[model].tests.append((test, column, passed, "" if passed else detail))


def _freshness(con: duckdb.DuckDBPyConnection, docs: dict[str, TableDoc]) -> None:
    for load in load_state.read_all(con):
        if f"{load.source}_raw.{load.table}" in docs:
            docs[f"{load.source}_raw.{load.table}"].freshness = \
                f"last loaded {load.loaded_at:%Y-%m-%d %H:%M} UTC ({load.rows_total:,} rows)"
    for model, at in builds.built_at_by_model(con).items():
        if model in docs:
            docs[model].freshness = f"last built {at:%Y-%m-%d %H:%M} UTC"


def edges(models: dict[str, Model]) -> set[tuple[str, str]]:
    return {(source, name) for name, model in models.items() for source in model.inputs}


def lineage_svg(nodes: set[str], links: set[tuple[str, str]], docs: dict[str, TableDoc],
                focus: str | None = None, prefix: str = "") -> str:
    """One column per layer (raw → staging → intermediate → marts), a box per table, a curve
    per dependency."""
    columns: dict[str, list[str]] = defaultdict(list)
    for node in sorted(nodes):
        layer = node.split(".", 1)[0]
        columns[layer if layer in LAYERS else "raw"].append(node)
    box_w, box_h, gap, col_w = 250, 20, 6, 330
    height = max(len(v) for v in columns.values()) * (box_h + gap) + 40 if columns else 60
    pos = {}
    parts = []
    for i, layer in enumerate(LAYERS):
        parts.append(f'<text x="{10 + i * col_w}" y="16" font-size="13" font-weight="bold">'
                     f'{layer}</text>')
        for j, node in enumerate(columns.get(layer, [])):
            x, y = 10 + i * col_w, 28 + j * (box_h + gap)
            pos[node] = (x, y)
    for source, target in sorted(links):
        if source in pos and target in pos:
            (x1, y1), (x2, y2) = pos[source], pos[target]
            sx, sy, tx, ty = x1 + box_w, y1 + box_h / 2, x2, y2 + box_h / 2
            parts.append(f'<path d="M{sx},{sy} C{sx + 40},{sy} {tx - 40},{ty} {tx},{ty}" '
                         'fill="none" stroke="#999" stroke-width="1"/>')
    for node, (x, y) in pos.items():
        fill = "#ffe9a8" if node == focus else "#eef3fb"
        label = escape(node)
        box = (f'<rect x="{x}" y="{y}" width="{box_w}" height="{box_h}" rx="3" fill="{fill}" '
               f'stroke="#5b7db1"/><text x="{x + 5}" y="{y + 14}" font-size="11">{label}</text>')
        parts.append(f'<a href="{prefix}{escape(docs[node].page)}">{box}</a>'
                     if node in docs else box)
    width = 10 + len(LAYERS) * col_w
    return (f'<svg class="lineage" xmlns="http://www.w3.org/2000/svg" width="{width}" '
            f'height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif">'
            f'{"".join(parts)}</svg>')


def _related(name: str, links: set[tuple[str, str]]) -> set[str]:
    """The table, everything upstream and everything downstream of it."""
    seen = {name}
    for forward in (True, False):
        todo = [name]
        while todo:
            node = todo.pop()
            for a, b in links:
                nxt = b if forward and a == node else a if not forward and b == node else None
                if nxt and nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
    return seen


def _page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>{escape(title)}"
            f"</title><style>{STYLE}</style></head><body>{body}</body></html>")


def _table_page(doc: TableDoc, links: set[tuple[str, str]], docs: dict[str, TableDoc]) -> str:
    rows = "".join(
        f"<tr><td><code>{escape(c)}</code></td><td>{escape(t)}</td><td>{escape(d)}</td>"
        f'<td class=cls style="color:{CLASS_COLOURS.get(k, "#ff7f0e")}">{k or "unclassified"}'
        f"</td><td>{escape(w)}</td></tr>" for c, t, d, k, w in doc.columns)
    tests = "".join(
        f"<tr><td>{escape(t)}</td><td>{escape(c)}</td><td class="
        f"{'pass' if p else 'fail'}>{'passed' if p else 'not run' if p is None else 'FAILED'}"
        f"</td><td>{escape(d)}</td></tr>" for t, c, p, d in doc.tests) or \
        "<tr><td colspan=4>none declared</td></tr>"
    related = _related(doc.name, links)
    graph = lineage_svg(related, {(a, b) for a, b in links if a in related and b in related},
                        docs, focus=doc.name) if len(related) > 1 else "<p>No lineage: no model "\
        "reads this table.</p>"
    fresh = doc.freshness or "no load or build recorded"
    return _page(doc.name, (
        f'<p><a href="index.html">← catalog</a></p><h1>{escape(doc.name)}</h1>'
        f"<p>{escape(doc.description)}</p><p>{doc.kind}; {escape(fresh)}</p>"
        f"<h2>Columns</h2><table><tr><th>column</th><th>type</th>"
        f"<th>description</th><th>class</th><th>why</th></tr>{rows}</table>"
        f"<h2>Lineage</h2>{graph}<h2>Data tests (last <code>thoth check</code>)</h2>"
        f"<table><tr><th>test</th><th>column</th><th>result</th><th>detail</th></tr>{tests}"
        "</table>"))


def write_site(warehouse: Path, out: Path) -> Path:
    models = discover()
    con = open_warehouse(warehouse, read_only=True)
    try:
        docs = collect(con, models)
    finally:
        con.close()
    out.mkdir(parents=True, exist_ok=True)
    links = edges(models)
    for doc in docs.values():
        (out / doc.page).write_text(_table_page(doc, links, docs))
    in_lineage = {n for link in links for n in link if n in docs}
    by_schema: dict[str, list[TableDoc]] = defaultdict(list)
    for doc in docs.values():
        by_schema[doc.name.split(".", 1)[0]].append(doc)
    sections = []
    for schema in sorted(by_schema):
        rows = "".join(
            f'<tr><td><a href="{escape(d.page)}">{escape(d.name)}</a></td><td>{d.kind}</td>'
            f"<td>{escape(d.description)}</td><td>{len(d.columns)}</td><td>"
            f"{sum(1 for c in d.columns if c[3] in classification.RESTRICTED)}</td><td>"
            f"{escape(d.freshness)}</td></tr>" for d in sorted(by_schema[schema],
                                                               key=lambda d: d.name))
        sections.append(f"<h2>{escape(schema)}</h2><table><tr><th>table</th><th>kind</th>"
                        "<th>description</th><th>columns</th><th>personal / secret</th>"
                        f"<th>freshness</th></tr>{rows}</table>")
    now = utc_now()
    index = out / "index.html"
    index.write_text(_page("Thoth data catalog", (
        f"<h1>Thoth data catalog</h1><p>Generated {now:%Y-%m-%d %H:%M} UTC from <code>"
        f"{escape(str(warehouse))}</code>: {len(docs)} tables and views. Classes: "
        + ", ".join(f'<span class=cls style="color:{CLASS_COLOURS[k]}">{k}</span>'
                    for k in classification.CLASSES)
        + " (thoth/core/classification.yml).</p><h2>Lineage: source tables → staging → KPIs"
        f"</h2>{lineage_svg(in_lineage, links, docs)}{''.join(sections)}")))
    return index
