"""The OnTrack pipeline as one job: its flags, and its run with the configuration resolved.
`thoth extract ontrack`, `thoth run` and `python -m pipelines.ontrack` all call it; the caller
passes the governance to apply to each table loaded (thoth.core.load_guard.guard)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from thoth.core.platform.load_state import TableLoad

if TYPE_CHECKING:
    from pipelines.ontrack.table_load import Guard

DESCRIPTION = ("Load the OnTrack tables into the warehouse schema ontrack_raw: incremental by "
               "updated_at (merge on id), small tables reloaded whole, deleted rows removed.")


def _tables(value: str) -> list[str]:
    names = [t.strip() for t in value.split(",") if t.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected table names separated by commas")
    return names


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--full-refresh", action="store_true",
                        help="reload the tables whole instead of incrementally")
    parser.add_argument("--tables", type=_tables, metavar="A,B",
                        help="only these tables (comma-separated source table names)")


def run(warehouse: Path, *, guard: Guard, full_refresh: bool = False,
        tables: list[str] | None = None, log: Callable[[str], None] = print) -> list[TableLoad]:
    """Load OnTrack as configured in `[sources.ontrack]`."""
    from pipelines.ontrack.config import load_config
    from pipelines.ontrack.extract import extract  # here: the CLI imports this module

    config = load_config()
    return extract(config.credentials, warehouse, guard=guard, full_refresh=full_refresh,
                   tables=tables, lookback_minutes=config.lookback_minutes, schema=config.schema,
                   log=log)
