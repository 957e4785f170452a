"""`platform.model_builds`: each model of each `thoth transform`, with its row count."""

from __future__ import annotations

from datetime import datetime

import duckdb

from thoth.core import platform


def record(con: duckdb.DuckDBPyConnection, build_id: str,
           rows: list[tuple[str, int | None, float, datetime]], *,
           snapshot_at: datetime | None = None, engine: str = "duckdb") -> None:
    """(model, rows or None for a view, seconds, built_at) of one build, built by `engine` from
    the data as of `snapshot_at`."""
    platform.ensure(con, "model_builds")
    con.executemany("INSERT INTO platform.model_builds (build_id, model, rows, seconds, "
                    "built_at, snapshot_at, engine) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [[build_id, *row, snapshot_at, engine] for row in rows])


def last_built_at(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """When the newest model was built; None before any build."""
    if not platform.has_table(con, "model_builds"):
        return None
    return con.execute("SELECT max(built_at) FROM platform.model_builds").fetchone()[0]


def last_snapshot_at(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """The data's snapshot time the newest build measured "now" at; None before any."""
    if not platform.has_table(con, "model_builds"):
        return None
    row = con.execute("SELECT snapshot_at FROM platform.model_builds "
                      "ORDER BY built_at DESC LIMIT 1").fetchone()
    return row[0] if row else None


def built_at_by_model(con: duckdb.DuckDBPyConnection) -> dict[str, datetime]:
    if not platform.has_table(con, "model_builds"):
        return {}
    return dict(con.execute("SELECT model, max(built_at) FROM platform.model_builds "
                            "GROUP BY model").fetchall())


def last_two_row_counts(con: duckdb.DuckDBPyConnection,
                        model: str) -> list[tuple[int, datetime]]:
    """(rows, built_at) of the model's last two table builds, newest first."""
    if not platform.has_table(con, "model_builds"):
        return []
    return con.execute(
        "SELECT rows, built_at FROM platform.model_builds WHERE model = ? AND rows IS NOT NULL "
        "ORDER BY built_at DESC LIMIT 2", [model]).fetchall()


def fingerprints(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """model → the fingerprint of what it was last built from (transforms.fingerprints)."""
    if not platform.has_table(con, "model_inputs"):
        return {}
    return dict(con.execute("SELECT model, fingerprint FROM platform.model_inputs").fetchall())


def record_fingerprints(con: duckdb.DuckDBPyConnection, prints: dict[str, str],
                        built_at: datetime) -> None:
    """What each model of a build was made from; the rows of those rebuilt move to `built_at`."""
    platform.ensure(con, "model_inputs")
    con.executemany(
        "INSERT INTO platform.model_inputs (model, fingerprint, built_at) VALUES (?, ?, ?) "
        "ON CONFLICT (model) DO UPDATE SET "
        "built_at = CASE WHEN fingerprint = excluded.fingerprint THEN built_at "
        "ELSE excluded.built_at END, fingerprint = excluded.fingerprint",
        [[model, fingerprint, built_at] for model, fingerprint in prints.items()])


def forget_fingerprints(con: duckdb.DuckDBPyConnection) -> None:
    """After a build by another way (Spark): the next build makes every model again."""
    if platform.has_table(con, "model_inputs"):
        con.execute("DELETE FROM platform.model_inputs")
