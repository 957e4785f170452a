"""ActiveSupport's time zone names, carried as data: `activesupport_time_zones.csv` beside this
file is Rails' own ActiveSupport::TimeZone::MAPPING (its header names the release and commit).

OnTrack reads a campus's `timezone` with `ActiveSupport::TimeZone[name]`, which looks the name
up in that table first (a Rails name such as "Melbourne") and otherwise takes it as a TZInfo
(IANA) identifier ("Australia/Melbourne"); `stg_ontrack__campuses` applies the same rule."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from transforms.project import polars_model

MAPPING = Path(__file__).with_name("activesupport_time_zones.csv")


@polars_model(inputs={})
def stg_rails__time_zones() -> pl.DataFrame:
    return pl.read_csv(MAPPING, comment_prefix="#",
                       schema={"zone_name": pl.String, "tzinfo_identifier": pl.String})
