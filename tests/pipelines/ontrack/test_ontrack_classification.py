"""A new OnTrack column nobody has classified: loaded, treated as personal — kept out of the
models and of publishing — and named as a warning by `thoth check`, `thoth status` and the run's
alert, while publishing goes on. A model that exposes one anyway fails the check."""

from __future__ import annotations

import duckdb

from thoth.app.run import run
from thoth.app.steps import CHECK
from thoth.cli import main

WARNING = ("unclassified columns ontrack_raw.tasks.similarity_flag: loaded, but treated as "
           "personal (never published, kept out of the models) until classified: list each "
           "under ontrack_raw.tasks in thoth/core/classification.yml as public, internal, "
           "personal, secret")


def _add_unclassified_column(warehouse) -> None:
    with duckdb.connect(str(warehouse)) as con:
        con.execute("ALTER TABLE ontrack_raw.tasks ADD COLUMN similarity_flag INTEGER")
        con.execute("UPDATE ontrack_raw.tasks SET similarity_flag = 42")


def test_new_column_stays_out_of_models_warns_and_blocks_nothing(demo_warehouse, tmp_path,
                                                                 monkeypatch, capsys):
    _add_unclassified_column(demo_warehouse)
    assert main(["transform"]) == 0
    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        exposed = con.execute(
            "SELECT schema_name || '.' || table_name FROM duckdb_columns() WHERE column_name = "
            "'similarity_flag' AND schema_name IN ('staging', 'intermediate', 'marts')"
        ).fetchall()
    assert exposed == []
    capsys.readouterr()

    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert f"WARN classification ontrack_raw.tasks: {WARNING} (not blocking)" in out
    assert "FAIL" not in out

    monkeypatch.setenv("PUBLISH__BUCKET_URL", str(tmp_path / "publish"))
    assert main(["publish"]) == 0  # the warning does not stop publishing
    published = b"".join(p.read_bytes() for p in (tmp_path / "publish").rglob("*") if p.is_file())
    assert b"similarity_flag" not in published

    assert main(["status"]) == 0
    assert f"warning: {WARNING}" in capsys.readouterr().out

    alerts: list[dict] = []
    assert run(demo_warehouse, steps=[CHECK], alert=alerts.append) == 0
    assert len(alerts) == 1 and alerts[0]["level"] == "warning"
    assert " succeeded on " in alerts[0]["text"] and WARNING in alerts[0]["text"]
    assert alerts[0]["warnings"] == [f"classification ontrack_raw.tasks: {WARNING}"]


def test_a_model_exposing_an_unclassified_column_fails_the_check(demo_warehouse, capsys):
    _add_unclassified_column(demo_warehouse)
    with duckdb.connect(str(demo_warehouse)) as con:
        con.execute("CREATE VIEW staging.stg_leak AS SELECT * FROM ontrack_raw.tasks")
    capsys.readouterr()
    assert main(["check"]) == 1
    assert ("FAIL classification staging.stg_leak: unclassified columns reach a model: "
            "staging.stg_leak.similarity_flag (from ontrack_raw.tasks): classify them in "
            "thoth/core/classification.yml, or name the model's columns instead of SELECT *"
            ) in capsys.readouterr().out
