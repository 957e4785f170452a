"""The analysis notebook runs headless, top to bottom, against a demo warehouse."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).parent.parent / "notebooks"


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
    assert summary["top_task"] and -1 <= summary["correlation"] <= 1
