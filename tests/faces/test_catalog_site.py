"""The data catalog: every table and column with its description and class, lineage drawn,
data tests with their last results, freshness; offline."""

from __future__ import annotations

import re

import duckdb

from thoth.cli import main


def test_docs_site_describes_every_table_and_column(demo_warehouse, tmp_path):
    out = tmp_path / "docs"
    assert main(["docs", "--out", str(out)]) == 0
    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        tables = {r[0] for r in con.execute(
            "SELECT DISTINCT schema_name || '.' || table_name FROM duckdb_columns() "
            "WHERE database_name = current_database() AND NOT internal").fetchall()}
    pages = {p.stem for p in out.glob("*.html")} - {"index"}
    assert pages == tables  # found in the warehouse: a new source's schema appears by itself
    index = (out / "index.html").read_text()
    assert all(f'href="{t}.html"' in index for t in tables)
    assert "<svg" in index and index.count("<rect") >= 40  # the lineage graph, drawn
    for page in out.glob("*.html"):
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", page.read_text()), page

    users = (out / "ontrack_raw.users.html").read_text()
    assert "Raw copy of OnTrack users." in users and "last loaded" in users
    assert re.search(r"<code>email</code>.*?>personal<", users)
    kpi = (out / "marts.kpi_on_time.html").read_text()
    assert "On-time vs late submissions" in kpi  # the model's YAML
    assert "Submitted after it" in kpi  # a column's description
    assert "ontrack_raw.tasks" in kpi and "staging.stg_ontrack__tasks" in kpi  # lineage
    assert re.search(r"<td>unique_grain</td><td>[^<]*</td><td class=pass>passed</td>", kpi)
    assert "last built" in kpi
    # intermediate models are their own layer in the lineage, not drawn as raw tables
    expected = (out / "intermediate.int_expected_tasks.html").read_text()
    assert re.search(r'<text x="(\d+)" y="16"[^>]*>intermediate</text>', expected)
    x_of = {layer: int(x) for x, layer in re.findall(
        r'<text x="(\d+)" y="16"[^>]*>(\w+)</text>', expected)}
    box = re.search(r'<rect x="(\d+)"[^>]*/><text[^>]*>intermediate.int_expected_tasks<', expected)
    assert box and int(box.group(1)) == x_of["intermediate"]


def test_docs_show_a_failed_test_and_an_unclassified_column(demo_warehouse, tmp_path):
    with duckdb.connect(str(demo_warehouse)) as con:
        con.execute("ALTER TABLE ontrack_raw.users ADD COLUMN pronouns VARCHAR")
        con.execute("ALTER TABLE ontrack_raw.users ADD COLUMN remember_token VARCHAR")
    assert main(["check"]) == 1  # the stored secret fails it; the unclassified column warns
    assert main(["docs", "--out", str(tmp_path / "docs")]) == 0
    users = (tmp_path / "docs" / "ontrack_raw.users.html").read_text()
    assert re.search(r"<code>pronouns</code>.*?unclassified", users)
    assert "FAILED" in users and "secret columns stored: ontrack_raw.users.remember_token" in users
