"""The docs site (docs/, mkdocs.yml) builds with --strict: a broken link or anchor, or a page
under docs/ left out of the nav, fails."""

from __future__ import annotations

import os
import subprocess
import sys

from repo import ROOT


def test_docs_site_builds_strict(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    problems = [line for line in done.stderr.splitlines() if "WARNING" in line or "ERROR" in line]
    assert done.returncode == 0, "mkdocs build --strict failed:\n" + "\n".join(
        problems or done.stderr.splitlines()[-20:])
    index = (tmp_path / "site" / "index.html").read_text()
    assert "deploy.html" in index  # the production checklist is in the nav
    for page in ("reference/configuration", "reference/cli", "reference/kpis",
                 "operations/runbook", "sources/ontrack"):
        assert (tmp_path / "site" / f"{page}.html").exists(), page


def test_readme_is_short_and_links_the_production_checklist():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines: move the detail into docs/"
    first_screen = "\n".join(lines[:40])
    assert "docs/deploy.md" in first_screen
