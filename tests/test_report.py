"""The KPI report in a real browser (Debian's chromium, headless): the page's own script finds
every chart rendered, and the screenshot shows them (not a blank page)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from thoth.cli import main

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        reason = "no chromium: `apt-get install -y chromium` (.ci/run installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def browse(page: Path, tmp_path: Path, *args: str) -> str:
    done = subprocess.run([chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'prof'}",
                           *args, page.as_uri()], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_report_renders_every_chart_in_chromium(demo_warehouse, tmp_path, capsys):
    assert main(["report", "--out", str(tmp_path / "report")]) == 0
    page = tmp_path / "report" / "index.html"
    html = page.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # nothing fetched
    charts = html.count("<figure>")
    assert charts == 5  # submission, on time, turnaround, activity, web traffic

    dom = browse(page, tmp_path, "--dump-dom")
    assert 'data-status="ok"' in dom and f'data-charts="{charts}"' in dom
    assert f"<title>Thoth KPI report: {charts} of {charts} charts (ok)</title>" in dom

    shot = tmp_path / "report.png"
    browse(page, tmp_path, f"--screenshot={shot}", "--window-size=1280,2000")
    image = Image.open(shot).convert("RGB")
    assert image.size == (1280, 2000)
    data = image.resize((320, 500)).tobytes()
    pixels = zip(data[0::3], data[1::3], data[2::3], strict=True)
    coloured = sum(1 for r, g, b in pixels if max(r, g, b) - min(r, g, b) > 60)
    assert coloured > 2000, coloured  # bars and lines in colour, not a blank or text-only page


def test_demo_points_at_the_report_and_the_docs(demo_dir):
    log = (demo_dir / "demo.log").read_text()
    assert f"KPI report:   {demo_dir / 'report' / 'index.html'}" in log
    assert f"data catalog: {demo_dir / 'docs' / 'index.html'}" in log
    assert (demo_dir / "report" / "index.html").exists()
