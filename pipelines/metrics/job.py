"""The metrics scrape as one job: its flags, and its run with the configuration resolved.
`thoth extract metrics`, `thoth run` and `python -m pipelines.metrics` all call it."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from thoth.core.platform.load_state import TableLoad

DESCRIPTION = ("Scrape OnTrack's Prometheus /metrics endpoints (SOURCES__ONTRACK_METRICS__"
               "SCRAPE_URLS, comma-separated; optional bearer token in secrets) once, into "
               "metrics_raw.samples: every sample with its labels and the scrape time. An "
               "endpoint that fails is one line and fails the step; the others are stored.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--full-refresh", action="store_true",
                        help="drop the scraped samples and scrape records first")


def run(warehouse: Path, *, full_refresh: bool = False,
        log: Callable[[str], None] = print) -> list[TableLoad]:
    """Scrape the endpoints configured in `[sources.ontrack_metrics]`, checked first."""
    from pipelines.metrics.config import load_config  # here: the CLI imports this module
    from pipelines.metrics.extract import extract

    return extract(load_config(), warehouse, full_refresh=full_refresh, log=log)
