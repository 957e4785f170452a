"""The GA4 pipeline as one job: its flags, and its run with the configuration resolved.
`thoth extract ga4`, `thoth run` and `python -m pipelines.ga4` all call it."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import date
from pathlib import Path

from thoth.core.errors import ThothError
from thoth.core.platform.load_state import TableLoad

DESCRIPTION = ("Load the configured GA4 Data API reports ([sources.ga4] reports in "
               ".dlt/config.toml) into the warehouse schema ga4_raw, one table per report: by "
               "day, re-reading the last lookback_days and replacing those days whole.")


def _iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {value!r}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--full-refresh", action="store_true",
                        help="drop the report tables and their state, reload from the start date")
    parser.add_argument("--start-date", type=_iso_date, metavar="YYYY-MM-DD",
                        help="re-read every report from this day (overrides the saved position "
                        "and SOURCES__GA4__START_DATE)")


def run(warehouse: Path, *, full_refresh: bool = False, start_date: date | None = None,
        log: Callable[[str], None] = print) -> list[TableLoad]:
    """Load the reports configured in `[sources.ga4]`, checked before any request."""
    # Imported here: the CLI builds its parser from this module, and the client is slow to load.
    from pipelines.ga4.config import load_config
    from pipelines.ga4.extract import extract

    config = load_config()
    if start_date and start_date > date.today():
        raise ThothError(f"--start-date {start_date} is in the future")
    return extract(config, warehouse, full_refresh=full_refresh, start_date=start_date, log=log)
