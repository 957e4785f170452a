"""Property-based tests of the landing parsers (issue #15): on any lines — real formats with
fields gone wrong, and arbitrary text — fed block by block as the loader does (requests
straddling blocks), nothing raises and every line is accounted for exactly once:
rows + context + quarantined + blank = lines."""

from __future__ import annotations

import json
import re

import polars as pl
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pipelines.landing.jsonl import (
    METRIC_SCHEMA,
    SPLASHKIT_SCHEMA,
    JsonLinesParser,
    metric_row,
    splashkit_row,
)
from pipelines.landing.rails_log import RailsLogParser
from pipelines.landing.request_rows import REQUEST_ROW

FUZZ = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

ips = st.sampled_from(["203.0.113.9", "198.51.100.4", "2001:db8::7", "unknown", "", "999.1.1.1",
                       "::ffff:10.1.2.3", "not-an-ip"])
methods = st.sampled_from(["GET", "POST", "PUT", "DELETE", "get", "", "PATCH"])
paths = st.sampled_from(["/api/units/7", "/api/submission/unit/3/portfolio?x=1", "/", "",
                         "/api/tasks/6f1c0a4e-8b0d-4a8e-9a45-0c7e5a1d2b3c", "/a b", '/q"x',
                         "/home", "/api/units/all_resources"])
times = st.sampled_from(["2024-05-02 10:15:07 +1000", "2024-05-02 00:00:00 UTC",
                         "2024-02-30 10:15:07 +1000", "2024-05-02 10:15:07 +99", "2024-05-02",
                         "2024-05-02 10:15:07 -0530", "2024-05-02 10:15:07"])
levels = st.sampled_from(["INFO", "ERROR", "WARN", "DEBUG", "FATAL", "info"])
prefixes = st.one_of(
    st.builds(lambda t, ip, lv: f"{t},{ip},{lv}: ", times, ips, levels),  # Doubtfire
    st.builds(lambda pid, tag: f"I, [2024-03-11T09:00:01.000000 #{pid}]  INFO -- : {tag}",
              st.integers(1, 3), st.sampled_from(["", "[a] ", "[b] ", "[] "])),  # Logger
    st.just(""),
)
messages = st.one_of(
    st.builds(lambda m, p, ip, t: f'Started {m} "{p}" for {ip} at {t}', methods, paths, ips,
              times),
    st.builds(lambda m, p, t: f'Started {m} "{p}" at {t}', methods, paths, times),
    st.builds(lambda s, ms: f"Completed {s} OK in {ms}", st.sampled_from(["200", "500", "99",
                                                                         "404", "x"]),
              st.sampled_from(["11ms", "1.5 s", "ms", "-3ms", "1e9ms"])),
    st.builds(lambda c: f"Unhandled exception: {c}",
              st.sampled_from(["NoMethodError", "A::B", "", "#<x>", "lower"])),
    st.sampled_from(["Processing by PortfolioDownloadsController#index as HTML",
                     "Authenticate jsmith from 203.0.113.9", "jsmith assessing task 1 to x",
                     r"/app/x.rb:1:in `y'\n/app/z.rb:2", "creating pdf for task 511470"]),
)
nginx = st.builds(
    lambda ip, user, req, status, tail: f'{ip} - {user} [02/May/2024:10:15:07 +1000] "{req}" '
                                        f'{status} 512 "-" "Mozilla/5.0"{tail}',
    ips, st.sampled_from(["-", "jsmith"]),
    st.builds(lambda m, p: f"{m} {p} HTTP/1.1", methods, paths) | st.just(r"\x16\x03"),
    st.sampled_from(["200", "500", "499", "600", "20"]),
    st.sampled_from(["", " 0.045 0.044", " 0.030 0.010, 0.020", " - -", ' "1.2.3.4" 0.1 -',
                     " 0.1 x"]))
lograge = st.builds(json.dumps, st.fixed_dictionaries(
    {"method": methods, "path": paths, "status": st.sampled_from([200, 503, 99, "x", None]),
     "time": st.sampled_from(["2024-03-11T09:05:00Z", "yesterday", 1710205200, None])},
    optional={"duration": st.sampled_from([1.5, -1, "x"]), "remote_ip": ips}))
arbitrary = st.text(alphabet=st.characters(blacklist_characters="\n", blacklist_categories=["Cs"]),
                    max_size=120)
log_line = st.one_of(st.builds(str.__add__, prefixes, messages), nginx, lograge, arbitrary,
                     st.sampled_from(["", "   ", "tput: No value for $TERM and no -T specified",
                                      "{", "[1, 2]"]))


def _run(parser, lines: list[str], cuts: list[int]) -> tuple[pl.DataFrame, list, int, int]:
    """The lines in blocks cut at `cuts` (as TextBlocks does: whole lines, numbered from 1)."""
    bounds = sorted({0, len(lines), *(c % (len(lines) + 1) for c in cuts)})
    results = [parser.block(start + 1, "\n".join(lines[start:end]))
               for start, end in zip(bounds, bounds[1:], strict=False)]
    results.append(parser.finish())
    frames = [r.rows for r in results if r.rows is not None and r.rows.height]
    rows = pl.concat(frames) if frames else pl.DataFrame()
    bad = [b for r in results for b in r.bad]
    return rows, bad, sum(r.context for r in results), sum(r.blank for r in results)


def _check_accounting(lines, rows, bad, context, blank):
    assert rows.height + len(bad) + context + blank == len(lines)
    assert context >= 0 and blank >= 0
    numbers = (rows.get_column("line_number").to_list() if rows.height else []) + [
        n for n, _, _ in bad]
    assert len(numbers) == len(set(numbers))  # no line both a row and quarantined, or twice
    assert all(1 <= n <= len(lines) for n in numbers)


@FUZZ
@given(st.lists(log_line, min_size=1, max_size=40), st.lists(st.integers(0, 40), max_size=6))
@example(['{"x" - y [02/May/2024:10:15:07 +1000] "GET / HTTP/1.1" 200 1 "-" "-"'], [])  # JSON?
def test_ontrack_log_parser_accounts_for_every_line(lines, cuts):
    rows, bad, context, blank = _run(RailsLogParser(), lines, cuts)
    _check_accounting(lines, rows, bad, context, blank)
    if rows.height:
        assert dict(rows.schema) == REQUEST_ROW
        assert rows.filter(pl.col("requested_at").is_null() | pl.col("method").is_null()
                           | pl.col("path_template").is_null()).height == 0
        for network in rows.get_column("client_network").drop_nulls():
            assert re.fullmatch(r"[\d.]+\.0/24|[0-9a-f:]+/48", network), network
    for _, _, raw in bad:  # what quarantine would keep: no name, no query string
        assert "jsmith" not in raw and "?x=1" not in raw


@FUZZ
@given(st.lists(log_line, min_size=1, max_size=40), st.lists(st.integers(0, 40), max_size=6))
def test_blocks_do_not_change_what_the_log_parser_finds(lines, cuts):
    whole = _run(RailsLogParser(), lines, [])
    cut = _run(RailsLogParser(), lines, cuts)
    if whole[0].height:
        assert whole[0].sort("line_number").rows() == cut[0].sort("line_number").rows()
    else:
        assert cut[0].height == 0
    assert sorted(whole[1]) == sorted(cut[1])  # (line number, reason, text): no NULLs


metric_line = st.builds(json.dumps, st.fixed_dictionaries(
    {"time": st.sampled_from(["2024-03-11T09:00:00Z", 1710205200, "x", None, 1e300]),
     "name": st.sampled_from(["jobs.queue_depth", "", 3, None]),
     "value": st.sampled_from([1, 2.5, "high", None, float("inf")])},
    optional={"tags": st.sampled_from([{"q": "default"}, [1], "x"])}))


@FUZZ
@given(st.lists(st.one_of(metric_line, lograge, arbitrary, st.just("")), min_size=1,
                max_size=40), st.lists(st.integers(0, 40), max_size=6))
def test_json_lines_parsers_account_for_every_line(lines, cuts):
    for parser in (JsonLinesParser(metric_row, METRIC_SCHEMA),
                   JsonLinesParser(splashkit_row, SPLASHKIT_SCHEMA)):
        _check_accounting(lines, *_run(parser, lines, cuts))
