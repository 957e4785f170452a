"""`make bench`, part 3: parsing 1 GB logs of the `ontrack_logs` feed, in both formats: a
multi-line Rails log (8 processes interleaved, request-id tagged) and Doubtfire's production log
(`<time>,<ip>,<LEVEL>: ` lines, 500s and downloads among the Grape requests).

Generates each log (thoth/demo/landing_samples.py), then, in one run: `wc -l` over the same
bytes (the floor: reading them), the streaming parser alone (blocks → Polars → requests), and
the whole ingest (`thoth extract landing`: parse,
sha256, DuckDB inserts, ledger) — each in its own process, so each peak RSS is its own. The
first quarter of the file is parsed and ingested too: the same peak RSS shows memory flat in the
file size.
Target: ≥ 200,000 lines/s on 2 cores. BENCH_LOG_MB sets the size (default 1024).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZE_MB = int(os.environ.get("BENCH_LOG_MB", 1024))
TARGET = 200_000


def _parse(path: str) -> dict:
    """Run in a child process: the parser alone over `path`."""
    from pipelines.landing import settings
    from pipelines.landing.files import LandingFile, TextBlocks
    from pipelines.landing.rails_log import RailsLogParser
    from thoth.core.storage import open_target

    folder, name = os.path.split(path)
    target = open_target(folder)
    file = LandingFile(settings.ONTRACK_LOGS, name, os.path.getsize(path), None)
    parser, lines, requests, quarantined = RailsLogParser(), 0, 0, 0
    started = time.perf_counter()
    for first_line, text in TextBlocks(target, file, settings.BLOCK_BYTES):
        parsed = parser.block(first_line, text)
        lines = first_line + text.count("\n")
        requests += parsed.rows.height
        quarantined += len(parsed.bad)
    end = parser.finish()  # the requests still waiting for an end: stored as they are
    requests += end.rows.height
    quarantined += len(end.bad)
    return {"seconds": time.perf_counter() - started, "lines": lines, "requests": requests,
            "quarantined": quarantined}


def _ingest(path: str) -> dict:
    """Run in a child process: `thoth extract landing` over a landing zone holding `path`."""
    from pipelines.landing.config import LandingConfig
    from pipelines.landing.extract import extract

    root = Path(path).parents[4]  # <landing>/ontrack_logs/YYYY/MM/DD/file
    warehouse = root.parent / "warehouse.duckdb"
    started = time.perf_counter()
    loads = extract(LandingConfig(str(root)), warehouse, log=lambda line: None)
    return {"seconds": time.perf_counter() - started,
            "requests": sum(x.rows_loaded for x in loads),
            "warehouse_mb": warehouse.stat().st_size / 1e6}


def _child(func: str, path: str) -> dict:
    """`func` in a fresh interpreter; its result and its own peak RSS."""
    out = subprocess.run([sys.executable, __file__, func, path], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _measure(name: str, write) -> bool:
    """Generate a log with `write`, then measure it; whether both targets were met."""
    work = Path(tempfile.mkdtemp(prefix="thoth-bench-landing-"))
    try:
        folder = work / "landing" / "ontrack_logs" / "2024" / "03" / "11"
        folder.mkdir(parents=True)
        log = folder / "web-1.log"
        started = time.perf_counter()
        lines = write(log, SIZE_MB << 20)
        size = log.stat().st_size
        print(f"generated {size / 1e9:.2f} GB, {lines:,} lines of {name} in "
              f"{time.perf_counter() - started:.0f} s", flush=True)
        quarter_folder = work / "quarter" / "landing" / "ontrack_logs" / "2024" / "03" / "11"
        quarter_folder.mkdir(parents=True)
        quarter = quarter_folder / "web-1.log"
        with open(log, "rb") as src, open(quarter, "wb") as dst:
            dst.write(src.read(size // 4))
            dst.write(src.readline())  # end on a whole line

        started = time.perf_counter()
        subprocess.run(["wc", "-l", str(log)], check=True, capture_output=True)
        wc_s = time.perf_counter() - started
        parse = _child("parse", str(log))
        parse_q = _child("parse", str(quarter))
        ingest = _child("ingest", str(log))
        ingest_q = _child("ingest", str(quarter))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    rate = parse["lines"] / parse["seconds"]
    print(f"\n{name} parse benchmark ({size / 1e9:.2f} GB, {parse['lines']:,} lines, "
          f"{parse['requests']:,} requests, {os.cpu_count()} cores, one run):")
    print(f"  wc -l (reading the bytes)          {wc_s:7.2f} s  "
          f"{parse['lines'] / wc_s:12,.0f} lines/s")
    print(f"  parse (blocks → requests)          {parse['seconds']:7.2f} s  {rate:12,.0f} "
          f"lines/s  {rate / (parse['lines'] / wc_s):.1%} of wc -l  "
          f"peak RSS {parse['peak_rss_mb']:.0f} MB; CPU {parse['cpu_seconds']:.2f} s")
    print(f"  parse, quarter of the file         {parse_q['seconds']:7.2f} s  "
          f"{parse_q['lines'] / parse_q['seconds']:12,.0f} lines/s  "
          f"peak RSS {parse_q['peak_rss_mb']:.0f} MB (flat in the file size)")
    print(f"  ingest (parse, sha256, DuckDB)     {ingest['seconds']:7.2f} s  "
          f"{parse['lines'] / ingest['seconds']:12,.0f} lines/s  "
          f"peak RSS {ingest['peak_rss_mb']:.0f} MB; warehouse {ingest['warehouse_mb']:.0f} MB")
    print(f"  ingest, quarter of the file        {ingest_q['seconds']:7.2f} s  "
          f"{parse_q['lines'] / ingest_q['seconds']:12,.0f} lines/s  "
          f"peak RSS {ingest_q['peak_rss_mb']:.0f} MB")
    met = rate >= TARGET, parse["lines"] / ingest["seconds"] >= TARGET
    print(f"  target ≥ {TARGET:,} lines/s: {'met' if met[0] else 'NOT met'} (parse), "
          f"{'met' if met[1] else 'NOT met'} (ingest)\n", flush=True)
    if parse["quarantined"]:
        print(f"  (unexpected: {parse['quarantined']:,} lines quarantined)")
    return all(met)


def main() -> None:
    from thoth.demo.landing_samples import write_doubtfire_log, write_rails_log

    _measure("Rails log (Logger prefix, request ids)", write_rails_log)
    _measure("Doubtfire production log", write_doubtfire_log)


if __name__ == "__main__":
    if len(sys.argv) == 3:  # a child: one measurement, printed as JSON
        result = {"parse": _parse, "ingest": _ingest}[sys.argv[1]](sys.argv[2])
        usage = resource.getrusage(resource.RUSAGE_SELF)
        result["peak_rss_mb"] = usage.ru_maxrss / 1024
        # CPU time (all threads) too: on a shared machine the wall clock measures the others.
        result["cpu_seconds"] = usage.ru_utime + usage.ru_stime
        print(json.dumps(result))
    else:
        main()
