"""Every storage failure is one line naming the target and the cause, within bounded time (gcsfs's
retries and waits bounded by [storage]), exit 1, no traceback (gcsfs's own log says nothing),
the warehouse and the previous publish untouched; under `thoth run` and in its alert too, saying
truly what readers now see."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from http import HTTPStatus
from pathlib import Path
from urllib.parse import unquote

import duckdb
import pytest
from kpi_fixtures import PSEUDONYM_KEY
from publish_helpers import copy_warehouse, target_for
from repo import ROOT

from thoth.app.run import run
from thoth.app.steps import BUILD
from thoth.cli import main

BOUND = 20  # seconds: a correctness limit (gcsfs alone takes 35-50 s), not a performance target


@pytest.fixture
def env(template, tmp_path, monkeypatch) -> Path:
    warehouse = copy_warehouse(template, tmp_path / "warehouse.duckdb")
    for key, value in {"WAREHOUSE__PATH": str(warehouse),
                       "TRANSFORMS__PSEUDONYM_KEY": PSEUDONYM_KEY,
                       "PUBLISH__BUCKET_URL": str(tmp_path / "publish"),
                       "RETENTION__ARCHIVE_URL": str(tmp_path / "archive"),
                       "RUNTIME__DLTHUB_TELEMETRY": "false",
                       "STORAGE__TIMEOUT_SECONDS": "2"}.items():
        monkeypatch.setenv(key, value)
    for key in ("PUBLISH__ENDPOINT_URL", "ALERTS__COMMAND", "ALERTS__WEBHOOK_URL",
                "RUN__LOCK_FILE", "LANDING__BUCKET_URL", "PRODUCTS__ENDPOINT_URL"):
        monkeypatch.delenv(key, raising=False)
    return warehouse


def _digest(path: Path) -> bytes:
    return path.read_bytes()


def _one_line(capsys, started: float) -> str:
    seconds = time.perf_counter() - started
    err = capsys.readouterr().err
    assert seconds < BOUND, f"{seconds:.1f} s"
    assert "Traceback" not in err
    assert err.count("\n") == 1, err
    return err.strip()


def _closed_port() -> int:
    with socket.socket() as s:  # bound, never listening: connections are refused
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _blocked_dir(tmp_path: Path) -> str:
    """A directory nobody may write in: root may write anywhere but /sys."""
    if os.geteuid() == 0:
        return "/sys/thoth-publish"
    blocked = tmp_path / "read-only"
    blocked.mkdir(mode=0o500)
    return str(blocked)


@pytest.mark.parametrize("case", ["bad path", "not a directory", "permission denied"])
def test_a_local_publish_target_that_refuses_is_one_line(env, tmp_path, monkeypatch, capsys,
                                                         case):
    url = {"bad path": "/proc/thoth-publish", "not a directory": str(tmp_path / "a-file/x"),
           "permission denied": _blocked_dir(tmp_path)}[case]
    (tmp_path / "a-file").write_text("a file where a folder should be")
    monkeypatch.setenv("PUBLISH__BUCKET_URL", url)
    before = _digest(env)
    started = time.perf_counter()
    assert main(["publish"]) == 1
    line = _one_line(capsys, started)
    reason = {"bad path": "No such file or directory", "not a directory": "Not a directory",
              "permission denied": "Operation not permitted" if os.geteuid() == 0
              else "Permission denied"}[case]
    assert line.startswith(f"thoth: error: publishing the KPIs to {url} failed: {reason}: ")
    assert line.endswith("nothing was published: the previous KPI publish stays in place; the "
                         "data products were not written")
    assert _digest(env) == before


def test_an_unreachable_gcs_host_is_one_line_from_the_command_itself(env, tmp_path):
    """A child process, as cron runs it: what gcsfs would log (its "out of retries" traceback)
    reaches stderr if anything does."""
    port = _closed_port()
    environ = {**os.environ, "PUBLISH__BUCKET_URL": "gs://thoth-nowhere/kpis",
               "PUBLISH__ENDPOINT_URL": f"http://127.0.0.1:{port}"}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "thoth.cli", "publish"], cwd=ROOT, env=environ,
                          capture_output=True, text=True, timeout=60)
    assert time.perf_counter() - started < BOUND + 5  # the interpreter's start is in it
    assert done.returncode == 1
    assert done.stderr == (f"thoth: error: publishing the KPIs to gs://thoth-nowhere/kpis "
                           f"failed: cannot connect to 127.0.0.1:{port} (Connect call failed "
                           f"('127.0.0.1', {port})); nothing was published: the previous KPI "
                           "publish stays in place; the data products were not written\n")


def test_an_emulator_that_went_down_is_one_line(env, monkeypatch, capsys):
    from gcp_storage_emulator.server import create_server

    server = create_server("127.0.0.1", 0, in_memory=True)
    server.start()
    url = f"http://127.0.0.1:{server._api._httpd.server_address[1]}"
    server.stop()
    monkeypatch.setenv("PUBLISH__BUCKET_URL", "gs://thoth-down/kpis")
    monkeypatch.setenv("PUBLISH__ENDPOINT_URL", url)
    started = time.perf_counter()
    assert main(["publish"]) == 1
    line = _one_line(capsys, started)
    assert ("publishing the KPIs to gs://thoth-down/kpis failed: cannot connect to 127.0.0.1:"
            in line)


def test_a_server_that_never_answers_times_out_in_one_line(env, monkeypatch, capsys):
    with socket.create_server(("127.0.0.1", 0)) as silent:  # connects, never answers
        monkeypatch.setenv("PUBLISH__BUCKET_URL", "gs://thoth-silent/kpis")
        monkeypatch.setenv("PUBLISH__ENDPOINT_URL",
                           f"http://127.0.0.1:{silent.getsockname()[1]}")
        started = time.perf_counter()
        assert main(["publish"]) == 1
        line = _one_line(capsys, started)
    assert ("publishing the KPIs to gs://thoth-silent/kpis failed: no answer within 2 s (timed "
            "out); nothing was published") in line


def _refused(response, status: int) -> None:
    response.status = HTTPStatus(status)
    response.write(json.dumps({"error": {"code": status, "message": "refused by the test"}}))


def _refuse(monkeypatch, status: int, only: tuple[str, object] | None = None) -> None:
    """Every request to the emulator answered with `status`, or only those of one handler."""
    from gcp_storage_emulator import server as emulator

    def refused(request, response, storage, *args, **kwargs):
        _refused(response, status)

    for _, handlers in emulator.HANDLERS:
        for method, handler in list(handlers.items()):
            if only is None or (method, handler) == only:
                monkeypatch.setitem(handlers, method, refused)


def test_403_is_one_line(env, gcs_emulator, gcs_bucket, monkeypatch, capsys):
    monkeypatch.setenv("PUBLISH__BUCKET_URL", f"{gcs_bucket}/kpis")
    monkeypatch.setenv("PUBLISH__ENDPOINT_URL", gcs_emulator)
    with monkeypatch.context() as m:
        _refuse(m, 403)
        started = time.perf_counter()
        assert main(["publish"]) == 1
        line = _one_line(capsys, started)
    assert f"publishing the KPIs to {gcs_bucket}/kpis failed: HTTP 403 Forbidden: " in line
    assert line.endswith("nothing was published: the previous KPI publish stays in place; the "
                         "data products were not written")


def test_an_outage_longer_than_the_retries_during_run(env, gcs_emulator, gcs_bucket, tmp_path,
                                                      monkeypatch, capsys):
    """The storage answers 503 to everything for longer than gcsfs retries: one line, the alert
    says it, the previous publish and the warehouse are untouched; the next run publishes."""
    monkeypatch.setenv("PUBLISH__BUCKET_URL", f"{gcs_bucket}/kpis")
    monkeypatch.setenv("PUBLISH__ENDPOINT_URL", gcs_emulator)
    target = target_for("gcs", tmp_path, gcs_bucket, gcs_emulator)
    assert run(env, steps=BUILD) == 0
    published = target.read("_control/manifest.json")
    capsys.readouterr()
    alerts: list[dict] = []
    with duckdb.connect(str(env), read_only=True) as con:
        kpi_rows = con.execute("SELECT count(*) FROM marts.kpi_on_time").fetchone()[0]
    with monkeypatch.context() as m:
        _refuse(m, 503)
        started = time.perf_counter()
        assert run(env, steps=[BUILD[-1]], alert=alerts.append) == 1
        seconds = time.perf_counter() - started
        # As cron runs it, a process of its own: nothing but lines of ours, gcsfs's log silent.
        child = subprocess.run([sys.executable, "-m", "thoth.cli", "run", "--skip-extract"],
                               cwd=ROOT, env=dict(os.environ), capture_output=True, text=True,
                               timeout=120)
    out, err = capsys.readouterr()
    assert seconds < BOUND and err == "" and "Traceback" not in out
    assert child.returncode == 1 and child.stderr == "", child.stderr[-3000:]
    assert "Traceback" not in child.stdout
    assert (f"failed at publish on {socket.gethostname()}: publishing the KPIs to {gcs_bucket}/"
            "kpis failed: HTTP 503: refused by the test") in child.stdout
    (failed,) = [x for x in out.splitlines() if x.startswith("publish: failed")]
    assert (f"publishing the KPIs to {gcs_bucket}/kpis failed: HTTP 503: refused by the test"
            in failed)
    (alert,) = alerts
    assert alert["text"].endswith("nothing was published: the previous KPI publish stays in "
                                  "place; the data products were not written")
    assert alert["new_kpis_live"] is False
    assert target.read("_control/manifest.json") == published
    with duckdb.connect(str(env), read_only=True) as con:  # the marts are as they were
        assert con.execute("SELECT count(*) FROM marts.kpi_on_time").fetchone()[0] == kpi_rows
    assert run(env, steps=[BUILD[-1]]) == 0


def test_a_failure_after_the_new_manifest_says_the_new_kpis_are_live(
        env, gcs_emulator, gcs_bucket, tmp_path, monkeypatch, capsys):
    """Removing the old files fails after the new manifest is written: the run says the new KPI
    publish is live and the data products were not written, not that the last one stays."""
    from gcp_storage_emulator import server as emulator
    from gcp_storage_emulator.handlers import objects

    from transforms.checks import run_checks

    monkeypatch.setenv("PUBLISH__BUCKET_URL", f"{gcs_bucket}/kpis")
    monkeypatch.setenv("PUBLISH__ENDPOINT_URL", gcs_emulator)
    target = target_for("gcs", tmp_path, gcs_bucket, gcs_emulator)
    # Two changed publishes: a publish keeps the previous one's files (for queries begun on it),
    # so the third is the one that removes the first's.
    def change() -> None:  # the old file becomes stale
        with duckdb.connect(str(env)) as con:
            con.execute("UPDATE marts.kpi_on_time SET on_time = on_time - 1, late = late + 1 "
                        "WHERE on_time > 0")
        assert run_checks(env, log=lambda line: None)

    assert run(env, steps=[BUILD[-1]]) == 0
    change()
    assert run(env, steps=[BUILD[-1]]) == 0
    change()
    capsys.readouterr()
    alerts: list[dict] = []
    def batch(request, response, storage, *args, **kwargs):  # gcsfs deletes in batches
        if all("_staging" in unquote(i.get("object_id") or "") for i in request.data):
            return objects.batch(request, response, storage, *args, **kwargs)
        _refused(response, 503)  # only the old files', after the new manifest

    def delete(request, response, storage, *args, **kwargs):
        if "_staging" in unquote(request.params.get("object_id") or ""):
            return objects.delete(request, response, storage, *args, **kwargs)
        _refused(response, 503)

    with monkeypatch.context() as m:
        for _, handlers in emulator.HANDLERS:
            for method, handler, patched in [("POST", objects.batch, batch),
                                             ("DELETE", objects.delete, delete)]:
                if handlers.get(method) is handler:
                    m.setitem(handlers, method, patched)
        assert run(env, steps=[BUILD[-1]], alert=alerts.append) == 1
    (alert,) = alerts
    run_id = json.loads(target.read("_control/manifest.json"))["run_id"]
    assert alert["run_id"] == run_id  # the new publish is what readers see
    assert alert["new_kpis_live"] is True
    assert alert["text"].endswith(
        f"the new KPI publish (run {run_id}) is live; removing the files it no longer lists did "
        "not finish (the next publish removes them); the data products were not written")
    assert "stays in place" not in alert["text"]


def test_a_products_target_that_refuses_says_the_kpis_are_live(env, tmp_path, monkeypatch,
                                                               capsys):
    monkeypatch.setenv("PRODUCTS__BUCKET_URL", "/proc/thoth-products")
    started = time.perf_counter()
    assert main(["publish"]) == 1
    line = _one_line(capsys, started)
    run_id = json.loads((tmp_path / "publish/_control/manifest.json").read_text())["run_id"]
    assert line == (
        "thoth: error: publishing the data products to /proc/thoth-products failed: No such file "
        "or directory: /proc/thoth-products; the data products were not published: their "
        "manifest is the previous one (files already rewritten are whole); the new KPI publish "
        f"(run {run_id}) is live at {tmp_path / 'publish'}")


def test_the_lake_archive_and_landing_zone_down_are_one_line_each(env, tmp_path, monkeypatch,
                                                                  capsys):
    port = _closed_port()
    down = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("LAKE__BUCKET_URL", "gs://thoth-lake/lake")
    monkeypatch.setenv("LAKE__ENDPOINT_URL", down)
    started = time.perf_counter()
    assert main(["lake"]) == 1
    assert _one_line(capsys, started) == (
        f"thoth: error: writing the lake to gs://thoth-lake/lake failed: cannot connect to "
        f"127.0.0.1:{port} (Connect call failed ('127.0.0.1', {port})); the previous manifest "
        "and its files are untouched: fix it and run `thoth lake` again")

    with duckdb.connect(str(env)) as con:  # an old sign-in, for retention to archive
        con.execute("INSERT INTO ontrack_raw.logins (id, user_id, timestamp, created_at) "
                    "VALUES (900, 11, TIMESTAMP '2024-03-11 09:00', TIMESTAMP '2024-03-11 09:00')")
    monkeypatch.setenv("RETENTION__ARCHIVE_URL", "gs://thoth-archive/archive")
    monkeypatch.setenv("RETENTION__ENDPOINT_URL", down)
    started = time.perf_counter()
    assert main(["retention", "--apply"]) == 1
    line = _one_line(capsys, started)
    assert line.startswith("thoth: error: archiving ontrack_raw.")
    assert f"to gs://thoth-archive/archive failed: cannot connect to 127.0.0.1:{port}" in line
    assert line.endswith("nothing was deleted from " + line.split("archiving ")[1].split(" ")[0])
    with duckdb.connect(str(env), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM ontrack_raw.logins WHERE id = 900"
                           ).fetchone() == (1,)

    monkeypatch.setenv("LANDING__BUCKET_URL", "gs://thoth-landing")
    monkeypatch.setenv("LANDING__ENDPOINT_URL", down)
    started = time.perf_counter()
    assert main(["extract", "landing"]) == 1
    line = _one_line(capsys, started)
    assert line.startswith("thoth: error: cannot list the landing zone gs://thoth-landing: ")

    blocker = tmp_path / "a-file"
    blocker.write_text("a file where the landing directory should be")
    monkeypatch.setenv("LANDING__BUCKET_URL", str(blocker))
    monkeypatch.delenv("LANDING__ENDPOINT_URL")
    assert main(["extract", "landing"]) == 1
    assert _one_line(capsys, time.perf_counter()) == (
        f"thoth: error: LANDING__BUCKET_URL is '{blocker}', which is not a directory: create it, "
        "or point it at the landing zone producers write to")
