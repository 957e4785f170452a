"""The suite's clock. A test that depends on "today" runs at NOW, never at the wall clock's hour.

NOW is fixed, so the same run gives the same dates at any hour. `THOTH_TEST_NOW` pins another
instant, to run the suite either side of a date boundary (Melbourne's midnight is 13:00 or 14:00
UTC, UTC's is 00:00), e.g. `THOTH_TEST_NOW=2026-12-05T12:30:00Z make test`. Time still moves
from there (tick), so timeouts and retries behave as they do in production.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime

import time_machine

# An afternoon UTC: Australia/Melbourne (the GA4 stand-in's zone) is already a day ahead.
DEFAULT_NOW = "2026-12-05T18:00:00+00:00"
NOW = datetime.fromisoformat(os.environ.get("THOTH_TEST_NOW") or DEFAULT_NOW).astimezone(UTC)


def travel(now: datetime = NOW) -> Iterator[time_machine.Traveller]:
    """Python's clocks (datetime.now, date.today, time.time) start at `now` and tick on."""
    with time_machine.travel(now, tick=True) as traveller:
        yield traveller
