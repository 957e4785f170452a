"""`--skip-spark` skips the spark engine's tests locally, and is refused under CI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from repo import ROOT


def _pytest(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "tests/transforms/test_spark_dialect.py", "--skip-spark",
         "-n", "0",
         "-p", "no:randomly", "-p", "no:cacheprovider", "--basetemp", str(tmp_path / "pt"),
         "-rs", "-q"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_skip_spark_skips_the_spark_tests_locally(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    done = _pytest(tmp_path, env)
    assert done.returncode == 0, done.stdout[-2000:]
    assert "7 skipped" in done.stdout
    assert "--skip-spark: the spark engine's tests were not run" in done.stdout


def test_skip_spark_is_a_usage_error_under_ci(tmp_path):
    done = _pytest(tmp_path, {**os.environ, "CI": "true"})
    assert done.returncode == 4  # pytest's usage error
    assert "--skip-spark is refused under CI" in done.stderr
