"""`thoth run`: the chain, its audit log (platform.runs), the lock, the alert hook, the progress
display, and one end-to-end run from a synthetic OnTrack database to the GCS emulator."""

from __future__ import annotations

import fcntl
import io
import json
import os
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import duckdb
import pytest
from kpi_fixtures import PSEUDONYM_KEY
from publish_helpers import (
    copy_warehouse,
    download,
    manifest,
    published_text,
    target_for,
)

from thoth.app.context import Context
from thoth.app.progress import Progress
from thoth.app.run import run
from thoth.app.steps import BUILD, EXTRACT, RETENTION, Skip, extract_in_run
from thoth.cli import main

THOTH = Path(sys.executable).parent / "thoth"


@pytest.fixture
def env(template, tmp_path, monkeypatch) -> Path:
    """A built warehouse, the local publish target, no sources and no alert hooks configured."""
    warehouse = copy_warehouse(template, tmp_path / "warehouse.duckdb")
    for key, value in {"WAREHOUSE__PATH": str(warehouse),
                       "PUBLISH__BUCKET_URL": str(tmp_path / "publish"),
                       "TRANSFORMS__PSEUDONYM_KEY": PSEUDONYM_KEY,
                       "RETENTION__ARCHIVE_URL": str(tmp_path / "archive"),
                       "RUNTIME__DLTHUB_TELEMETRY": "false"}.items():
        monkeypatch.setenv(key, value)
    for key in ("SOURCES__ONTRACK__CREDENTIALS", "SOURCES__GA4__PROPERTY_IDS", "ALERTS__COMMAND",
                "ALERTS__WEBHOOK_URL", "PUBLISH__ENDPOINT_URL", "RUN__LOCK_FILE",
                "LANDING__BUCKET_URL", "RETENTION__ENDPOINT_URL", "RETENTION__IN_RUN",
                "RETENTION__POLICIES_FILE"):
        monkeypatch.delenv(key, raising=False)
    return warehouse


def _runs(warehouse: Path) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        if not con.execute("SELECT 1 FROM duckdb_tables() WHERE table_name = 'runs'").fetchall():
            return []
        return con.execute("SELECT run_id, status, CAST(steps AS VARCHAR), failed_step, error, "
                           "ended_at >= started_at FROM platform.runs ORDER BY started_at"
                           ).fetchall()


def test_run_transforms_checks_publishes_and_records_itself(env, tmp_path, capsys):
    assert main(["run", "--skip-extract"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^transform: ok, [\d,]+ rows, \d+\.\d s; \d+ models$", out, re.M)
    assert re.search(r"^check: ok, \d+\.\d s; \d+ checks, \d+ passed, 0 failed$", out, re.M)
    # 19 KPIs, 3 conformed dimensions and kpi_publish_log (Looker's datagroup reads it).
    assert re.search(r"^publish: ok, [\d,]+ rows, \d+\.\d s; 23 tables to .*: \d+ files "
                     r"uploaded", out, re.M)
    assert "\r" not in out  # not a terminal: plain lines only
    (run_id, status, steps, failed_step, error, ended) = _runs(env)[-1]
    assert out.count(f"run {run_id} succeeded in") == 1
    assert (status, failed_step, error, ended) == ("succeeded", None, None, True)
    steps = json.loads(steps)
    assert [(s["step"], s["status"]) for s in steps] == [
        ("transform", "ok"), ("check", "ok"), ("publish", "ok")]
    assert all(s["seconds"] > 0 for s in steps) and steps[0]["rows"] > 0
    assert manifest(target_for("local", tmp_path, None, None))["run_id"] == run_id

    assert main(["status"]) == 0
    status_out = capsys.readouterr().out
    assert "last runs (UTC):" in status_out
    assert re.search(r"succeeded .* transform [\d,]+, check, publish [\d,]+", status_out)


def test_failed_check_stops_the_chain_keeps_the_publish_and_calls_the_alert_command(
        env, tmp_path, monkeypatch, capsys):
    assert main(["run", "--skip-extract"]) == 0
    good = (tmp_path / "publish" / "_control" / "manifest.json").read_bytes()
    with duckdb.connect(str(env)) as con:  # a unit without a code fails a not_null test
        con.execute("INSERT INTO ontrack_raw.units (id, code, teaching_period_id) "
                    "VALUES (2, NULL, 1)")
    record = tmp_path / "alert.json"
    script = tmp_path / "alert.py"
    script.write_text("import json, os, sys\n"
                      f"json.dump({{'argv': sys.argv[1:], 'env': {{k: v for k, v in "
                      f"os.environ.items() if k.startswith('THOTH_')}}}}, "
                      f"open({str(record)!r}, 'w'))\n")
    monkeypatch.setenv("ALERTS__COMMAND", f"{sys.executable} {script} --channel data")
    capsys.readouterr()

    assert main(["run", "--skip-extract"]) == 1
    out = capsys.readouterr().out
    assert "FAIL not_null marts.kpi_enrolment.unit_code: 1 rows" in out
    assert "\npublish:" not in out and "\n  publish" not in out  # the chain stopped
    assert (tmp_path / "publish" / "_control" / "manifest.json").read_bytes() == good
    run_id, status, steps, failed_step, error, _ = _runs(env)[-1]
    assert (status, failed_step) == ("failed", "check")
    assert re.fullmatch(r"\d+ checks, \d+ passed, [1-9]\d* failed", error)
    assert [s["step"] for s in json.loads(steps)] == ["transform", "check"]

    alert = json.loads(record.read_text())
    assert alert["argv"][:2] == ["--channel", "data"]
    assert alert["argv"][2] == alert["env"]["THOTH_ALERT_TEXT"]
    assert alert["argv"][2].startswith(f"thoth run {run_id} failed at check on ")
    assert alert["env"]["THOTH_FAILED_STEP"] == "check"
    assert alert["env"]["THOTH_RUN_ID"] == run_id
    assert "alert: command called" in out


def test_a_failed_metrics_scrape_fails_the_run_but_the_kpis_still_publish(env, tmp_path,
                                                                         monkeypatch, capsys):
    """An endpoint down (a deploy, say) fails its step and the run, alerted; the rest of the
    chain still builds, checks and publishes: the next scrape's increase covers the gap."""
    closed = HTTPServer(("127.0.0.1", 0), _Hook)  # a port nobody listens on once closed
    port = closed.server_address[1]
    closed.server_close()
    monkeypatch.setenv("SOURCES__ONTRACK_METRICS__SCRAPE_URLS", f"http://127.0.0.1:{port}/metrics")
    alerts: list[dict] = []
    metrics = next(step for step in EXTRACT if step.name == "extract metrics")

    assert run(env, steps=[metrics, *BUILD], alert=alerts.append) == 1
    out = capsys.readouterr().out
    assert "extract metrics: failed" in out and re.search(r"^publish: ok", out, re.M)
    assert (tmp_path / "publish" / "_control" / "manifest.json").exists()
    run_id, status, steps, failed_step, error, _ = _runs(env)[-1]
    assert (status, failed_step) == ("failed", "extract metrics")
    assert error.startswith("metrics scrape failed for 1 of 1 endpoints (")
    assert [(s["step"], s["status"]) for s in json.loads(steps)] == [
        ("extract metrics", "failed"), ("transform", "ok"), ("check", "ok"), ("publish", "ok")]
    (alert,) = alerts
    assert alert["step"] == "extract metrics"
    assert alert["text"].endswith("(the other steps ran and published without it)")


class _Hook(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append({"type": self.headers["Content-Type"], "json": json.loads(body)})
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def test_failed_extract_posts_to_the_webhook_and_is_recorded(env, monkeypatch, capsys):
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Hook.received = []
    monkeypatch.setenv("ALERTS__WEBHOOK_URL",
                       f"http://127.0.0.1:{server.server_address[1]}/hooks/SECRET-TOKEN")
    try:
        assert main(["run"]) == 1  # SOURCES__ONTRACK__CREDENTIALS is not set
    finally:
        server.shutdown()
        server.server_close()
    out = capsys.readouterr().out
    assert "extract ontrack: failed" in out and "transform:" not in out
    assert "SECRET-TOKEN" not in out  # the webhook's secret path is never logged
    (hook,) = _Hook.received
    assert hook["type"] == "application/json"
    payload = hook["json"]
    assert payload["step"] == "extract ontrack"
    assert payload["error"].startswith("SOURCES__ONTRACK__CREDENTIALS is not set")
    assert payload["text"].startswith(f"thoth run {payload['run_id']} failed at extract ontrack")
    run_id, status, steps, failed_step, error, _ = _runs(env)[-1]
    assert (run_id, status, failed_step, error) == (payload["run_id"], "failed",
                                                    "extract ontrack", payload["error"])


def test_a_second_run_exits_75_at_once_while_one_holds_the_lock(env):
    lock = env.parent / "warehouse.run.lock"
    before = _runs(env)
    with open(lock, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        # At once: it never waits for the lock (a wait would hit the timeout).
        result = subprocess.run([THOTH, "run"], capture_output=True, text=True, check=False,
                                env=os.environ.copy(), timeout=60)
    assert result.returncode == 75, result.stderr
    assert result.stderr == (f"thoth: error: another `thoth run` or `thoth publish` holds "
                             f"{lock}; this one did nothing (exit 75)\n")
    assert _runs(env) == before  # the warehouse was not touched


def test_ga4_is_skipped_when_no_property_is_configured(env, monkeypatch):
    monkeypatch.setenv("SOURCES__GA4__PROPERTY_IDS", "")
    with pytest.raises(Skip, match="SOURCES__GA4__PROPERTY_IDS is not set"):
        extract_in_run(Context(env, print), "ga4")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_live_in_a_terminal_and_plain_lines_otherwise():
    plain = io.StringIO()
    progress = Progress(2, plain)
    progress.begin("transform")
    progress.log("staging.stg_x: view")
    progress.end("transform: ok, 3 rows, 0.1 s")
    assert plain.getvalue() == "staging.stg_x: view\ntransform: ok, 3 rows, 0.1 s\n"

    tty = _Terminal()
    progress = Progress(2, tty)
    progress.log("run 1: transform → check")
    progress.begin("transform")
    progress.log("staging.stg_x: view")
    progress.end("transform: ok, 3 rows, 0.1 s")
    text = tty.getvalue()
    assert text.startswith("\r\033[Krun 1: transform → check\n\r\033[K[1/2] transform … 0 s")
    assert "\r\033[Kstaging.stg_x: view\n[1/2] transform … " in text
    assert text.endswith("\r\033[Ktransform: ok, 3 rows, 0.1 s\n")


def test_thoth_run_end_to_end_from_synthetic_ontrack_to_gcs(
        pg_url, gcs_emulator, gcs_bucket, tmp_path, monkeypatch, capsys):
    from thoth.demo.ontrack import generate

    generate(pg_url, scale=0.001, seed=7)
    warehouse = tmp_path / "warehouse.duckdb"
    for key, value in {"WAREHOUSE__PATH": str(warehouse),
                       "SOURCES__ONTRACK__CREDENTIALS": pg_url,
                       "PUBLISH__BUCKET_URL": f"{gcs_bucket}/thoth",
                       "PUBLISH__ENDPOINT_URL": gcs_emulator,
                       "RETENTION__ARCHIVE_URL": str(tmp_path / "archive"),
                       "TRANSFORMS__PSEUDONYM_KEY": PSEUDONYM_KEY}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("SOURCES__GA4__PROPERTY_IDS", raising=False)
    for key in ("ALERTS__COMMAND", "ALERTS__WEBHOOK_URL", "LANDING__BUCKET_URL"):
        monkeypatch.delenv(key, raising=False)

    assert main(["run"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^extract ontrack: ok, [\d,]+ rows, .*; \d+ tables$", out, re.M)
    assert "extract ga4: skipped (SOURCES__GA4__PROPERTY_IDS is not set)" in out
    # The synthetic logins span years: the daily retention step archives the old ones.
    assert re.search(r"^retention: ok, [1-9][\d,]* rows, .*; 3 policies, [1-9] archived to ",
                     out, re.M)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM ontrack_raw.logins WHERE created_at < "
                           "now()::TIMESTAMP - INTERVAL 90 DAY").fetchone()[0] == 0
    # Without GA4 its KPIs are skipped by transform and check, not failed, and not published.
    assert ("marts.kpi_web_traffic: skipped, ga4_raw.traffic not loaded (source not "
            "configured)") in out
    assert "skipped marts.kpi_page_engagement: ga4_raw.pages not loaded" in out
    target = target_for("gcs", tmp_path, gcs_bucket, gcs_emulator)
    target = type(target)(target.fs, f"{gcs_bucket.removeprefix('gs://')}/thoth",
                          f"{gcs_bucket}/thoth")
    doc = manifest(target)
    (run_id, status, *_rest) = _runs(warehouse)[-1]
    assert (doc["run_id"], status) == (run_id, "succeeded")
    assert doc["tables"]["kpi_task_submission"]["rows"] > 0
    # 13 KPIs, the 3 conformed dimensions and kpi_publish_log.
    assert len(doc["tables"]) == 13 + 4 and "kpi_web_traffic" not in doc["tables"]
    assert doc["tables"]["kpi_task_submission"]["source_freshness"]

    # Nothing personal from the source in any published byte.
    text = published_text(download(target, tmp_path / "copy"))
    with duckdb.connect(str(warehouse), read_only=True) as con:
        people = con.execute("SELECT email, username, student_id, first_name || ' ' || "
                             "last_name FROM ontrack_raw.users").fetchall()
    values = {v for row in people for v in row if v and len(v) > 4}
    assert len(values) > 50
    words = set(re.findall(r"[\w.@+'-]+", text))
    assert not values & words
    assert [v for v in values if " " in v and v in text] == []


# --- retention, once a UTC day ------------------------------------------------------------------

def _logins(warehouse: Path, old: int, new: int, first_id: int) -> None:
    """Sign-ins: `old` from 2024 (past a 90-day policy), `new` from yesterday."""
    with duckdb.connect(str(warehouse)) as con:
        for n in range(old + new):
            at = "TIMESTAMP '2024-03-11 09:00'" if n < old else \
                "now()::TIMESTAMP - INTERVAL 1 DAY"
            con.execute("INSERT INTO ontrack_raw.logins (id, user_id, timestamp, created_at) "
                        f"VALUES (?, 11, {at}, {at})", [first_id + n])


def _count(warehouse: Path, sql: str) -> int:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchone()[0]


@pytest.fixture
def logins_policy(env, tmp_path, monkeypatch) -> Path:
    """Retention of logins only (the template's comments are old enough to go too, and a KPI
    table shrinking is another test's business)."""
    policies = tmp_path / "retention.yml"
    policies.write_text("policies:\n  - table: ontrack_raw.logins\n    date_column: "
                        "created_at\n    keep: 90 days\n")
    monkeypatch.setenv("RETENTION__POLICIES_FILE", str(policies))
    return tmp_path / "archive"


def test_retention_runs_once_a_utc_day_inside_run(env, logins_policy, capsys):
    _logins(env, old=3, new=2, first_id=1)
    assert run(env, steps=[RETENTION, *BUILD]) == 0
    out = capsys.readouterr().out
    assert "ontrack_raw.logins: archived 3 rows before" in out
    assert re.search(r"^retention: ok, 3 rows, \d+\.\d s; 1 policies, 1 archived to .*archive "
                     r"\(ontrack_raw\.logins: 3 rows before \d{4}-\d\d-\d\d to /.*archive/"
                     r"\d{8}T\d{6}Z-ontrack_raw\.logins\)$", out, re.M)
    assert _count(env, "SELECT count(*) FROM ontrack_raw.logins") == 2
    (archive,) = logins_policy.iterdir()
    assert json.loads((archive / "manifest.json").read_text())["rows"] == 3
    with duckdb.connect(str(env), read_only=True) as con:  # what the row-drop guard reads
        (details,) = con.execute("SELECT CAST(details AS VARCHAR) FROM platform.audit WHERE "
                                 "action = 'retention-archive'").fetchone()
        first_run = con.execute("SELECT run_id, strftime(started_at, '%H:%M') FROM "
                                "platform.runs").fetchone()
    assert json.loads(details)["table"] == "ontrack_raw.logins"
    assert json.loads(details)["rows_deleted"] == 3

    _logins(env, old=2, new=0, first_id=10)  # old rows again, e.g. loaded late
    assert run(env, steps=[RETENTION, *BUILD]) == 0  # the next hour: they are archived now
    out = capsys.readouterr().out
    assert (f"retention: rows older than the cut-off arrived since run {first_run[0]}: "
            "ontrack_raw.logins 2; archiving them") in out
    assert re.search(r"^retention: ok, 2 rows, .*; 1 policies, 1 archived to ", out, re.M)
    assert _count(env, "SELECT count(*) FROM ontrack_raw.logins") == 2
    assert len(list(logins_policy.iterdir())) == 2
    assert run(env, steps=[RETENTION, *BUILD]) == 0  # nothing waits: done today already
    out = capsys.readouterr().out
    assert f"retention: skipped (done today by run {first_run[0]} at {first_run[1]} UTC)" in out

    _logins(env, old=1, new=0, first_id=20)
    with duckdb.connect(str(env)) as con:  # … and the next UTC day it runs again
        con.execute("UPDATE platform.runs SET started_at = started_at - INTERVAL 1 DAY")
    assert run(env, steps=[RETENTION, *BUILD]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^retention: ok, 1 rows, .*; 1 policies, 1 archived to ", out, re.M)
    assert _count(env, "SELECT count(*) FROM ontrack_raw.logins") == 2
    assert len(list(logins_policy.iterdir())) == 3


def test_rows_arriving_past_the_cutoff_go_to_the_archive_not_nowhere(env, logins_policy,
                                                                     capsys):
    """A load hands back an archived row (dropped: it is in an archive) and a row already past
    the cut-off that was never archived (kept, and archived by the same hour's run)."""
    from thoth.core.load_guard import apply

    _logins(env, old=3, new=2, first_id=1)
    assert run(env, steps=[RETENTION]) == 0
    _logins(env, old=2, new=0, first_id=1)  # ids 1 and 2 again: archived already
    _logins(env, old=1, new=0, first_id=50)  # late: never archived
    with duckdb.connect(str(env)) as con:
        note = apply(con, "ontrack_raw", "logins", pseudonym_key=lambda: PSEUDONYM_KEY.encode())
    assert note == "2 rows past retention dropped"
    assert _count(env, "SELECT count(*) FROM ontrack_raw.logins WHERE id = 50") == 1
    capsys.readouterr()
    assert run(env, steps=[RETENTION]) == 0  # the same UTC day: again, for the late row
    out = capsys.readouterr().out
    assert ("retention: rows older than the cut-off arrived since run "
            in out and "ontrack_raw.logins 1; archiving them" in out)
    assert re.search(r"^retention: ok, 1 rows", out, re.M)
    assert _count(env, "SELECT count(*) FROM ontrack_raw.logins WHERE created_at < "
                       "TIMESTAMP '2025-01-01'") == 0
    archived = sorted(json.loads((a / "manifest.json").read_text())["rows"]
                      for a in logins_policy.iterdir())
    assert archived == [1, 3]  # every old row in an archive once
    assert run(env, steps=[RETENTION]) == 0  # nothing late: skipped
    assert "retention: skipped (done today by run" in capsys.readouterr().out


def test_a_failed_retention_fails_the_run_and_the_next_run_retries_it(
        env, logins_policy, tmp_path, monkeypatch, capsys):
    _logins(env, old=3, new=2, first_id=1)
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the archive directory should be")
    monkeypatch.setenv("RETENTION__ARCHIVE_URL", str(blocked))
    assert run(env, steps=[RETENTION, *BUILD]) == 1
    out = capsys.readouterr().out
    (line,) = [x for x in out.splitlines() if x.startswith("retention: failed")]
    assert (f"archiving ontrack_raw.logins to {blocked} failed: Not a directory: " in line
            and line.endswith("nothing was deleted from ontrack_raw.logins"))
    assert "\ntransform:" not in out  # the chain stopped
    assert _count(env, "SELECT count(*) FROM ontrack_raw.logins") == 5  # nothing lost
    (_, status, steps, failed_step, error, _) = _runs(env)[-1]
    assert (status, failed_step) == ("failed", "retention")
    assert error.startswith(f"archiving ontrack_raw.logins to {blocked} failed")

    monkeypatch.setenv("RETENTION__ARCHIVE_URL", str(logins_policy))  # fixed: the next hour
    assert run(env, steps=[RETENTION, *BUILD]) == 0
    assert re.search(r"^retention: ok, 3 rows", capsys.readouterr().out, re.M)

    monkeypatch.setenv("RETENTION__IN_RUN", "false")
    _logins(env, old=1, new=0, first_id=20)
    with duckdb.connect(str(env)) as con:
        con.execute("UPDATE platform.runs SET started_at = started_at - INTERVAL 1 DAY")
    assert run(env, steps=[RETENTION, *BUILD]) == 0
    assert ("retention: skipped (RETENTION__IN_RUN is false: apply it with `thoth retention "
            "--apply`)") in capsys.readouterr().out
    assert _count(env, "SELECT count(*) FROM ontrack_raw.logins") == 3
    monkeypatch.setenv("RETENTION__IN_RUN", "sometimes")
    assert run(env, steps=[RETENTION, *BUILD]) == 1
    assert "RETENTION__IN_RUN is 'sometimes': expected true or false" in capsys.readouterr().out
