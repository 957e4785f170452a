"""`make bench`, the hourly job at scale: a first `thoth run`, then three hourly cycles, each after
a mixed batch of changes in the source, as cron runs it (issue #25).

Each run is its own process; its RSS is sampled every 20 ms and attributed to the step it is in
(the steps' own lines say when each ends), so each step's peak is printed beside the run's wall
time and peak (VmHWM of the process). Each run must exit 0 and leave the warehouse equal to the
source (per table: rows, sum of ids, newest `updated_at`; the tables under a retention policy
above its cut-off). Prints each hourly run's cost as a share of the first run's.

    BENCH_SCALE=0.1 python bench/hourly_scale.py     # scale 1 (default) ≈ 4.6 M tasks
    BENCH_TEMPLATE=db python bench/hourly_scale.py   # copy db (generated at that scale, seed
                                                     # 42) rather than generate (~5 min)
    BENCH_LOGS=dir python bench/hourly_scale.py      # keep each run's output as dir/runN.log
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import psutil
import psycopg
from scratch import scratch

from thoth.app.steps import CHAIN
from thoth.demo.ontrack import generate
from warehouse.governance.retention import load_policies

SCALE = float(os.environ.get("BENCH_SCALE", 1))
TEMPLATE = os.environ.get("BENCH_TEMPLATE")
LOGS = Path(os.environ["BENCH_LOGS"]) if os.environ.get("BENCH_LOGS") else None
STEPS = tuple(step.name for step in CHAIN)  # what `thoth run` runs, in order
NOW = "now() AT TIME ZONE 'UTC'"
# A step's own line: `transform: ok, 47,575 rows, 13.5 s; 43 models`.
STEP_LINE = re.compile(rf"^({'|'.join(STEPS)}): (?:ok|failed), (?:[\d,]+ rows, )?([\d.]+) s",
                       re.MULTILINE)


def _copy_rows(table: str, where: str) -> tuple[str, str]:
    """New rows (new ids) copying every other column of those matching `where`."""
    return f"INSERT INTO {table} ({{cols}}) SELECT {{cols}} FROM {table} WHERE {where}", table


# The hourly batches: (what, statements). The first is the batch that failed in issue #25.
BATCHES = [
    ("1 % of tasks submitted or assessed, 0.1 % of comments deleted with their read receipts", [
        "DELETE FROM comments_read_receipts WHERE task_comment_id IN "
        "(SELECT id FROM task_comments WHERE id % 1000 = 7)",
        "DELETE FROM task_comments WHERE id % 1000 = 7",
        f"UPDATE tasks SET updated_at = {NOW}, submission_date = {NOW}, task_status_id = 9 "
        "WHERE id % 100 = 3",  # Ready for Feedback
    ]),
    ("0.5 % new comments, 1 % new engagements, 0.5 % of submissions assessed, 1 % of projects", [
        _copy_rows("task_comments", "id % 200 = 11"),
        _copy_rows("task_engagements", "id % 100 = 13"),
        f"UPDATE task_submissions SET updated_at = {NOW} WHERE id % 200 = 17",
        f"UPDATE projects SET updated_at = {NOW} WHERE id % 100 = 19",
    ]),
    ("2 % of tasks, 0.2 % of comments and 0.5 % of engagements deleted, 1 % of users", [
        # Working On It: a change the KPIs' identities hold through (Complete without a
        # submission would not be OnTrack's data)
        f"UPDATE tasks SET updated_at = {NOW}, task_status_id = 4 WHERE id % 50 = 23",
        "DELETE FROM comments_read_receipts WHERE task_comment_id IN "
        "(SELECT id FROM task_comments WHERE id % 500 = 29)",
        "DELETE FROM task_comments WHERE id % 500 = 29",
        "DELETE FROM task_engagements WHERE id % 200 = 31",
        f"UPDATE users SET updated_at = {NOW} WHERE id % 100 = 37",
    ]),
]


def _apply(url: str, statements: list) -> None:
    with psycopg.connect(url, autocommit=True) as con:
        for statement in statements:
            if isinstance(statement, tuple):
                sql, table = statement
                cols = ", ".join(f'"{c}"' for (c,) in con.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = "
                    "'public' AND table_name = %s AND column_name <> 'id' "
                    "ORDER BY ordinal_position", [table]).fetchall())
                statement = sql.format(cols=cols)
            con.execute(statement)


def _hwm(pid: int) -> float:
    """The process's own high-water mark of RSS so far (MB): exact, where sampling may miss."""
    try:
        with open(f"/proc/{pid}/status") as status:
            return next(int(line.split()[1]) for line in status
                        if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        return 0.0


def _run(env: dict[str, str]) -> tuple[float, float, dict[str, tuple[float, float]], int]:
    """One `thoth run`: wall seconds, peak RSS (MB), each step's (seconds, peak RSS in MB),
    exit code."""
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "thoth.cli", "run"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    os.set_blocking(child.stdout.fileno(), False)
    proc, peaks, peak, step, log = psutil.Process(child.pid), {}, 0.0, 0, []
    while child.poll() is None:
        try:
            rss = proc.memory_info().rss / 2**20
        except psutil.Error:
            rss = 0.0
        hwm = _hwm(child.pid)
        if hwm > peak:  # a high since the last sample, between two: it was in this step
            rss = max(rss, hwm)
        peak = max(peak, rss)
        if step < len(STEPS):
            peaks[STEPS[step]] = max(peaks.get(STEPS[step], 0.0), rss)
        for line in iter(child.stdout.readline, ""):
            log.append(line)
            while step < len(STEPS) and line.startswith(f"{STEPS[step]}: "):
                step += 1
        time.sleep(0.02)
    log.append(child.stdout.read() or "")
    if LOGS:  # each run's own lines (per table, per model), for a closer look
        LOGS.mkdir(parents=True, exist_ok=True)
        (LOGS / f"run{len(list(LOGS.glob('run*.log')))}.log").write_text("".join(log))
    if child.returncode != 0:
        print("".join(log)[-3000:])
    seconds = {m[1]: float(m[2]) for m in STEP_LINE.finditer("".join(log))}
    return (time.perf_counter() - started, peak,
            {s: (seconds.get(s, 0.0), peaks.get(s, 0.0)) for s in STEPS}, child.returncode)


def _fingerprints(url: str, warehouse: Path) -> tuple[dict, dict]:
    """Per table (rows, sum of ids, newest updated_at) on both sides."""
    cut = {p.table.split(".")[1]: (p.date_column, p.keep) for p in load_policies()
           if p.table.startswith("ontrack_raw.")}
    with duckdb.connect(str(warehouse), read_only=True) as wh:
        tables = {t: set(c) for t, c in wh.execute(
            "SELECT table_name, list(column_name) FROM duckdb_columns() "
            "WHERE schema_name = 'ontrack_raw' GROUP BY 1").fetchall()}

        def sql(table: str, cols: set[str], now: str) -> str:
            newest = "max(updated_at)" if "updated_at" in cols else "NULL"
            where = ""
            if table in cut:  # retention removed what is older: compare above the cut-off
                column, keep = cut[table]
                where = f" WHERE {column} >= {now} - INTERVAL '{keep}' + INTERVAL '1 day'"
            return f'SELECT count(*), sum(id), {newest} FROM "{table}"{where}'

        ours = {t: wh.execute(sql(t, c, "current_timestamp::TIMESTAMP").replace(
            'FROM "', 'FROM ontrack_raw."')).fetchone() for t, c in tables.items() if "id" in c}
    with psycopg.connect(url) as con:
        theirs = {t: con.execute(sql(t, c, NOW)).fetchone()
                  for t, c in tables.items() if "id" in c}
    return ours, {t: (n, int(s) if s is not None else None, u) for t, (n, s, u) in theirs.items()}


def main() -> None:
    results = []
    with scratch("thoth-bench-hourly-", TEMPLATE) as (url, work):
        env = {**os.environ, "PYTHONUNBUFFERED": "1",
               "SOURCES__ONTRACK__CREDENTIALS": url.replace("postgresql:", "postgresql+psycopg:"),
               "WAREHOUSE__PATH": str(work / "warehouse.duckdb"),
               "TRANSFORMS__PSEUDONYM_KEY": "bench-only-key-" + "0" * 32,
               "PUBLISH__BUCKET_URL": str(work / "publish"),
               "PRODUCTS__BUCKET_URL": str(work / "products"),
               "RETENTION__ARCHIVE_URL": str(work / "archive"),
               "LAKE__BUCKET_URL": str(work / "lake"),
               "RUN__LOCK_FILE": str(work / "run.lock")}
        for key in ("SOURCES__GA4__PROPERTY_IDS", "LANDING__BUCKET_URL",
                    "SOURCES__ONTRACK_METRICS__SCRAPE_URLS"):
            env.pop(key, None)  # OnTrack only: the other sources skip
        started = time.perf_counter()
        if TEMPLATE:
            print(f"copied {TEMPLATE} (scale {SCALE}, as BENCH_TEMPLATE says)", flush=True)
        else:
            counts = generate(url.replace("postgresql:", "postgresql+psycopg:"), scale=SCALE,
                              seed=42)
            print(f"generated scale {SCALE}: {sum(counts.values()):,} rows in {len(counts)} "
                  f"tables ({counts['tasks']:,} tasks, {counts['task_comments']:,} comments) "
                  f"in {time.perf_counter() - started:.0f} s", flush=True)
        # As autovacuum keeps a production source (this machine's server runs without it): a
        # generated database is otherwise never vacuumed nor analyzed, and every plan on it is
        # made without statistics.
        with psycopg.connect(url, autocommit=True) as con:
            con.execute("VACUUM (ANALYZE)")
        for cycle, (what, statements) in enumerate([("first run", []), *BATCHES]):
            _apply(url, statements)
            wall, peak, steps, code = _run(env)
            ours, theirs = _fingerprints(url, work / "warehouse.duckdb")
            differ = sorted(t for t in theirs if ours.get(t) != theirs[t])
            results.append((cycle, what, wall, peak, steps, code, differ))
            print(f"run {cycle}: exit {code}, {wall:.1f} s, peak {peak:.0f} MB"
                  + (f"; DIFFERS from the source: {', '.join(differ)}" if differ else
                     "; warehouse equals the source"), flush=True)

    first = results[0][2]
    print(f"\nthoth run at scale {SCALE}: a first run, then three hourly cycles; each step's "
          "seconds / peak RSS in MB (the run's process: a step's peak includes what earlier "
          "steps left); GA4, landing, metrics not configured, lake off")
    shown = [s for s in STEPS if any(r[4][s][0] for r in results)]
    print(f"  {'run':<4} {'wall':>6} {'÷first':>6} {'peak':>5}  "
          + "  ".join(f"{s:>16}" for s in shown) + "  batch")
    for cycle, what, wall, peak, steps, code, differ in results:
        ratio = "" if cycle == 0 else f"{wall / first:.2f}"
        status = "" if code == 0 and not differ else f"  [exit {code}, differs: {differ}]"
        print(f"  {cycle:<4} {wall:>5.1f}s {ratio:>6} {peak:>4.0f}M  "
              + "  ".join(f"{steps[s][0]:>8.1f}s /{steps[s][1]:>4.0f}M" for s in shown)
              + f"  {what}{status}")
    hourly = [r[2] / first for r in results[1:]]
    worst = max(r[3] for r in results)
    ok = all(r[5] == 0 and not r[6] for r in results)
    print(f"  hourly/first: {min(hourly):.2f}–{max(hourly):.2f} (target ≤ 0.40); "
          f"peak RSS {worst:.0f} MB (target ≤ 1024 MB); "
          + ("every run exited 0 and equals the source" if ok else "FAILED"))
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
