"""The landing pipeline as one job: its flags, and its run with the configuration resolved.
`thoth extract landing`, `thoth run` and `python -m pipelines.landing` all call it."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from thoth.core.platform.load_state import TableLoad

if TYPE_CHECKING:
    from pipelines.landing.extract import FeedRun

DESCRIPTION = ("Ingest the files producers landed under LANDING__BUCKET_URL (OnTrack logs, "
               "OnTrack metrics, SplashKit usage) that the warehouse does not hold yet, each "
               "exactly once; a rewritten file replaces its rows; lines that do not parse are "
               "quarantined.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--full-refresh", action="store_true",
                        help="drop the landing tables and the file ledger, read every file again")


def run(warehouse: Path, *, full_refresh: bool = False, log: Callable[[str], None] = print,
        feed_runs: list[FeedRun] | None = None) -> list[TableLoad]:
    """Ingest the landing zone configured in `[landing]`, checked before any listing."""
    from pipelines.landing.config import load_config  # here: the CLI imports this module
    from pipelines.landing.extract import extract

    return extract(load_config(), warehouse, full_refresh=full_refresh, log=log,
                   feed_runs=feed_runs)
