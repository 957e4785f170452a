"""A small demo warehouse for the governance, docs, report and notebook tests: `thoth demo
--scale 0.001` once per session (about 10 s: a private PostgreSQL, OnTrack and GA4 data, KPIs,
publish, report, docs); tests copy the warehouse file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from thoth.core.storage import open_target
from warehouse.governance import retention

DEMO_KEY = "demo-only-pseudonym-key-not-for-real-data"  # thoth/demo/__init__.py's
# The policy the retention and erasure tests archive by.
POLICY = [retention.Policy("ontrack_raw.logins", "created_at", "400 days")]


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WAREHOUSE__", "PUBLISH__", "RETENTION__", "TRANSFORMS__",
                                "SOURCES__"))}
    done = subprocess.run([sys.executable, "-m", "thoth.cli", "demo", "--scale", "0.001",
                           "--dir", str(root)], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    (root / "demo.log").write_text(done.stdout)
    return root


@pytest.fixture
def demo_warehouse(demo_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the demo warehouse, configured as the one `thoth` uses."""
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_dir / "warehouse.duckdb", path)
    monkeypatch.setenv("WAREHOUSE__PATH", str(path))
    monkeypatch.setenv("TRANSFORMS__PSEUDONYM_KEY", DEMO_KEY)
    monkeypatch.setenv("RUN__LOCK_FILE", str(tmp_path / "run.lock"))
    return path


@pytest.fixture(params=["local", "gcs"])
def archive_target(request: pytest.FixtureRequest, tmp_path: Path):
    """An archive on a local directory, then on the GCS emulator."""
    if request.param == "local":
        return open_target(str(tmp_path / "archive"))
    bucket = request.getfixturevalue("gcs_bucket")
    return open_target(f"{bucket}/archive", endpoint_url=request.getfixturevalue("gcs_emulator"))
