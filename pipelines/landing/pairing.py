"""Pairing a log's events (a `Completed`, an `Unhandled exception`) with the request they end."""

from __future__ import annotations

import polars as pl


def match_latest(events: pl.DataFrame, pool: pl.DataFrame, by: str) -> pl.DataFrame:
    """Each event (`line_number`, `by`) with the latest earlier request in `pool` (`line_number`,
    `by`) that no earlier event took: (line_number, started_line), events without one left out.

    The same answer as walking the lines with a stack of open requests per key, in vectorised
    rounds: each round joins every event still open to the latest free request; where several
    point at one request, the earliest event gets it and the others try again without it."""
    pairs = []
    open_events = events.select("line_number", by).filter(pl.col(by).is_not_null()).sort(
        "line_number")
    free = pool.select(by, started_line="line_number").filter(pl.col(by).is_not_null()).sort(
        "started_line")
    while open_events.height and free.height:
        matched = open_events.join_asof(
            free, left_on="line_number", right_on="started_line", by=by, strategy="backward",
            check_sortedness=False,  # both sorted just above, and stay so when filtered
        ).filter(pl.col("started_line").is_not_null())
        if not matched.height:
            break
        won = matched.filter(pl.col("started_line").is_first_distinct())
        pairs.append(won.select("line_number", "started_line"))
        free = free.join(won.select("started_line"), on="started_line", how="anti")
        # Events that found nothing now find nothing later (the pool only shrinks).
        open_events = matched.join(won.select("line_number"), on="line_number",
                                   how="anti").select("line_number", by)
    if not pairs:
        return pl.DataFrame(schema={"line_number": pl.Int64, "started_line": pl.Int64})
    return pl.concat(pairs)
