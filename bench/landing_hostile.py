"""`make bench`, part 4: the landing loader on hostile files — memory stays flat, time stays sane.

Each case is a landing zone holding one generated file, ingested by `thoth extract landing`'s
code in a fresh process (its own peak RSS), beside the same code over an empty landing zone
(the interpreter, Polars, DuckDB: the floor). Cases: files of 64 MB and 256 MB without a single
newline (one overlong line, skipped as it streams), 100 lines of 2 MB between normal lines, a
metrics file where every tenth line is hostile (nested 10,000 deep, NaN, impossible dates,
wrong types), a gzip bomb (1 GB of `{}` lines in ~1 MB) and a gzipped 1 GB line. Target: peak
RSS ≤ 400 MB in every case, i.e. flat in the file size and the line length (a block of bad lines
and the 100,000 quarantine rows a file may list are what rises above the floor).
"""

from __future__ import annotations

import json
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

MB = 1 << 20
TARGET_MB = 400
DAY = "2024/03/11"
GOOD = '{"time": "2024-03-11T09:00:00Z", "name": "jobs.queue_depth", "value": 3}'
HOSTILE = ["[" * 10_000 + "]" * 10_000, GOOD.replace("3}", "NaN}"),
           GOOD.replace("03-11", "02-30"), "[1, 2]", "null", GOOD.replace("3}", "1e400}"),
           '{"time": {"a": 1}, "name": 5}', "\x1b[0m", "{", GOOD[:-1] + ', "tags": [1]}']


def _repeat(path: Path, piece: bytes, total: int) -> None:
    with open(path, "wb") as out:
        for _ in range(total // len(piece)):
            out.write(piece)


def _no_newline(path: Path, size: int) -> None:
    _repeat(path, b"z" * MB, size)


def _long_lines(path: Path) -> None:
    with open(path, "wb") as out:
        for _ in range(100):
            out.write(((GOOD + "\n") * 10).encode() + b"x" * (2 * MB) + b"\n")


def _mixed(path: Path) -> None:
    with open(path, "w") as out:
        for i in range(200_000):
            out.write((HOSTILE[(i // 10) % len(HOSTILE)] if i % 10 == 0 else GOOD) + "\n")


def _bomb(path: Path) -> None:
    """1 GB of `{}` lines in ~1 MB: 350 M lines to parse, if nothing stopped it."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    with open(path, "wb") as out:
        for _ in range(1024):
            out.write(packer.compress(b"{}\n" * (MB // 3)))
        out.write(packer.flush())


def _gzipped_line(path: Path) -> None:
    """A 1 GB line of one letter in ~1 MB of gzip: skipped at gunzip's speed, not parsed."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    with open(path, "wb") as out:
        out.write(packer.compress((GOOD + "\n").encode()))
        for _ in range(1024):
            out.write(packer.compress(b"x" * MB))
        out.write(packer.flush())


CASES = {
    "empty landing zone (the floor)": (None, None),
    "64 MB, no newline": ("metrics-nl64.jsonl", lambda p: _no_newline(p, 64 * MB)),
    "256 MB, no newline": ("metrics-nl256.jsonl", lambda p: _no_newline(p, 256 * MB)),
    "100 lines of 2 MB among 1,000": ("metrics-long.jsonl", _long_lines),
    "200,000 lines, every 10th hostile": ("metrics-mixed.jsonl", _mixed),
    "gzip bomb, 1 GB of {} lines": ("metrics-bomb.jsonl.gz", _bomb),
    "gzip, a 1 GB line of one letter": ("metrics-line.jsonl.gz", _gzipped_line),
}


def _ingest(root: str) -> dict:
    """In a child process: the landing pipeline over `root`; what it did, and how long."""
    from pipelines.landing.config import LandingConfig
    from pipelines.landing.extract import extract

    lines: list[str] = []
    started = time.perf_counter()
    extract(LandingConfig(root), Path(root).parent / "warehouse.duckdb", log=lines.append)
    said = [line for line in lines if "/" in line.split(":")[0]]  # the file's own line
    return {"seconds": time.perf_counter() - started, "said": said[0] if said else ""}


def _peak_mb() -> float:
    """This process's peak RSS: VmHWM where Linux has it (ru_maxrss would include what the
    forking parent held before exec)."""
    try:
        status = Path("/proc/self/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    results = {}
    for label, (name, make) in CASES.items():
        work = Path(tempfile.mkdtemp(prefix="thoth-bench-hostile-"))
        try:
            folder = work / "landing" / "ontrack_metrics" / DAY
            folder.mkdir(parents=True)
            size = 0
            if make:
                make(folder / name)
                size = (folder / name).stat().st_size
            out = subprocess.run([sys.executable, __file__, str(work / "landing")], check=True,
                                 capture_output=True, text=True)
            results[label] = json.loads(out.stdout.strip().splitlines()[-1]) | {"size": size}
        finally:
            shutil.rmtree(work, ignore_errors=True)
        print(f"  {label}: done", flush=True)

    floor = results["empty landing zone (the floor)"]["peak_rss_mb"]
    print("\nLanding loader on hostile files (one run each, a fresh process each):")
    print(f"  {'case':<36} {'file':>9} {'time':>8} {'peak RSS':>9}  what it said")
    for label, r in results.items():
        said = r["said"].split(": ", 1)[-1][:90]
        print(f"  {label:<36} {r['size'] / MB:7.1f} MB {r['seconds']:6.2f} s "
              f"{r['peak_rss_mb']:6.0f} MB  {said}")
    worst = max(r["peak_rss_mb"] for r in results.values())
    print(f"  target: peak RSS ≤ {TARGET_MB} MB in every case, whatever the file's size or "
          f"line length: {'met' if worst <= TARGET_MB else 'NOT met'} (worst {worst:.0f} MB, "
          f"{worst - floor:.0f} MB over the floor)")


if __name__ == "__main__":
    if len(sys.argv) == 2:  # a child: one ingest, printed as JSON
        result = _ingest(sys.argv[1])
        result["peak_rss_mb"] = _peak_mb()
        print(json.dumps(result))
    else:
        main()
