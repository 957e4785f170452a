"""The analysis notebook runs headless, top to bottom, against a demo warehouse."""

from __future__ import annotations

import ast

import duckdb
import nbformat
import polars as pl
from nbclient import NotebookClient
from repo import ROOT

NOTEBOOKS = ROOT / "notebooks"


def test_withdrawal_and_activity_notebook_runs(demo_warehouse, monkeypatch):
    monkeypatch.setenv("WAREHOUSE__PATH", str(demo_warehouse))  # the kernel inherits it
    nb = nbformat.read(NOTEBOOKS / "withdrawal_and_activity.ipynb", as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    printed = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert f"warehouse: {demo_warehouse}" in printed
    summary = ast.literal_eval(outputs[-1]["data"]["text/plain"])
    assert summary["task_definitions"] > 0 and summary["unit_weeks"] > 0
    assert summary["top_task"]
    # the same correlation computed here, independently of the notebook's code
    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        pairs = con.sql("SELECT f.median_hours, a.active_students "
                        "FROM marts.kpi_feedback_turnaround f JOIN marts.kpi_student_activity a "
                        "USING (unit_id, week_start) WHERE f.median_hours IS NOT NULL").pl()
    assert summary["unit_weeks"] == pairs.height
    expected = pairs.select(pl.corr("median_hours", "active_students")).item()
    assert abs(summary["correlation"] - expected) < 1e-9
