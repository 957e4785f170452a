"""Erasure on real data: raw, staging, marts, after a reload from the source, and in every archive
holding the person; a killed erasure never loses an archive."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
from dlt.common.configuration.specs import ConnectionStringCredentials
from governance_fixtures import DEMO_KEY, POLICY

from pipelines.ontrack.extract import extract
from thoth.cli import main
from thoth.core.load_guard import guard
from thoth.core.platform import audit
from thoth.core.storage import open_target
from thoth.demo.ontrack import generate
from transforms.build import build
from warehouse.governance import retention
from warehouse.governance.erasure import erase_user

NO_GA4_OR_LANDING = frozenset({"ga4_raw", "landing_raw"})  # only OnTrack loaded here

def _count(path: Path, sql: str) -> int:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchone()[0]


# --- erasure and reloads from the source ------------------------------------------------------

def _student_key(user_id: int) -> str:
    return hmac.new(DEMO_KEY.encode(), str(user_id).encode(), hashlib.sha256).hexdigest()[:16]


def _traces(path: Path, user_id: int) -> dict[str, int]:
    """Where the person still is: raw rows by user / project, their key in staging and marts."""
    key = _student_key(user_id)
    with duckdb.connect(str(path), read_only=True) as con:
        found = {
            "users": con.execute("SELECT count(*) FROM ontrack_raw.users WHERE id = ?",
                                 [user_id]).fetchone()[0],
            "projects": con.execute("SELECT count(*) FROM ontrack_raw.projects WHERE user_id = ?",
                                    [user_id]).fetchone()[0],
            "logins": con.execute("SELECT count(*) FROM ontrack_raw.logins WHERE user_id = ?",
                                  [user_id]).fetchone()[0],
            "comments": con.execute("SELECT count(*) FROM ontrack_raw.task_comments WHERE "
                                    "user_id = ? OR recipient_id = ?",
                                    [user_id, user_id]).fetchone()[0],
            "staging": con.execute("SELECT count(*) FROM staging.stg_ontrack__user_keys WHERE "
                                   "user_id = ? OR user_key = ?", [user_id, key]).fetchone()[0],
        }
        marts = 0
        for table, column in con.execute(
                "SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = 'marts' "
                "AND data_type = 'VARCHAR'").fetchall():
            marts += con.execute(f'SELECT count(*) FROM marts."{table}" WHERE "{column}" = ?',
                                 [key]).fetchone()[0]
        found["marts"] = marts
    return found


def _busiest_student(path: Path) -> int:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(
            "SELECT p.user_id FROM ontrack_raw.projects p JOIN ontrack_raw.task_comments c "
            "ON c.user_id = p.user_id GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1").fetchone()[0]


def _busiest_tutor(path: Path) -> int:
    """A tutor whose tutor_key is in marts.kpi_feedback_backlog."""
    with duckdb.connect(str(path), read_only=True) as con:
        tutors = [r[0] for r in con.execute("SELECT DISTINCT user_id FROM ontrack_raw.unit_roles "
                                            "WHERE role_id = 2 ORDER BY 1").fetchall()]
        keys = {r[0] for r in con.execute("SELECT tutor_key FROM marts.kpi_feedback_backlog"
                                          ).fetchall()}
    return next(t for t in tutors if _student_key(t) in keys)


def test_erase_user_cli_removes_the_person_and_audits_without_the_id(demo_warehouse, capsys):
    user_id = _busiest_tutor(demo_warehouse)  # staff: their tutor_key is in the marts
    before = _traces(demo_warehouse, user_id)
    assert before["users"] and before["comments"] and before["staging"] and before["marts"]
    assert main(["erase-user", str(user_id)]) == 0
    out = capsys.readouterr().out
    assert "ontrack_raw.users (rows deleted): 1" in out and "rebuilt" in out
    assert not any(_traces(demo_warehouse, user_id).values())
    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        (row,) = audit.rows(con, "erase-user")
        ledger = con.execute("SELECT kind, subject_key FROM platform.erasures").fetchall()
    assert re.fullmatch(r"erasure [0-9a-f]{12}", row[4])  # an erasure id, never the person's
    assert {k for k, _ in ledger} == {"user", "unit_role"}  # a tutor: roles, no enrolments
    assert all(len(key) == 64 and str(user_id) != key for _, key in ledger)
    assert main(["erase-user", "x1"]) == 1


def test_erased_person_and_archived_rows_stay_out_after_reloads(pg_url, tmp_path, monkeypatch):
    """A real source still holding the person and the old rows: incremental and full reloads.
    The key is handed to each step, none reads it from the environment (but the pipeline's own
    entry, which has no command context)."""
    monkeypatch.delenv("TRANSFORMS__PSEUDONYM_KEY", raising=False)
    generate(pg_url, scale=0.001, seed=7)
    warehouse = tmp_path / "warehouse.duckdb"
    creds = ConnectionStringCredentials(pg_url)
    extract(creds, warehouse, guard=guard(lambda: DEMO_KEY.encode()), log=lambda line: None)
    user_id = _busiest_student(warehouse)
    build(warehouse, pseudonym_key=DEMO_KEY.encode(), log=lambda line: None,
          absent_sources=NO_GA4_OR_LANDING)
    enrolled = _count(warehouse, "SELECT sum(enrolled + withdrawn) FROM marts.kpi_enrolment")
    theirs = _count(warehouse, f"SELECT count(*) FROM ontrack_raw.projects WHERE user_id = "
                               f"{user_id}")
    assert all(v for k, v in _traces(warehouse, user_id).items() if k != "marts")
    erase_user(warehouse, user_id, pseudonym_key=DEMO_KEY.encode(), log=lambda line: None)
    with duckdb.connect(str(warehouse), read_only=True) as con:  # half the logins are "old"
        (middle,) = con.execute("SELECT median(created_at) FROM ontrack_raw.logins").fetchone()
    policy = retention.Policy("ontrack_raw.logins", "created_at", "0 days")
    (move,) = retention.archive(warehouse, open_target(str(tmp_path / "archive")), now=middle,
                                policies=[policy], apply=True, log=lambda line: None)
    kept = _count(warehouse, "SELECT count(*) FROM ontrack_raw.logins")
    assert move.rows > 0 and kept > 0

    lines: list[str] = []
    # Incremental.
    extract(creds, warehouse, guard=guard(lambda: DEMO_KEY.encode()), log=lines.append)
    # Everything read again, by the pipeline's own entry: it applies the same guard.
    env = {**os.environ, "SOURCES__ONTRACK__CREDENTIALS": pg_url,
           "WAREHOUSE__PATH": str(warehouse), "TRANSFORMS__PSEUDONYM_KEY": DEMO_KEY}
    done = subprocess.run([sys.executable, "-m", "pipelines.ontrack", "--full-refresh"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines += done.stdout.splitlines()
    build(warehouse, pseudonym_key=DEMO_KEY.encode(), log=lambda line: None,
          absent_sources=NO_GA4_OR_LANDING)
    assert not any(_traces(warehouse, user_id).values())
    assert _count(warehouse, "SELECT sum(enrolled + withdrawn) FROM marts.kpi_enrolment") == \
        enrolled - theirs  # the aggregates no longer count them
    assert _count(warehouse, "SELECT count(*) FROM ontrack_raw.logins") == kept
    assert _count(warehouse, f"SELECT count(*) FROM ontrack_raw.logins WHERE created_at < "
                             f"TIMESTAMP '{move.cutoff}'") == 0
    logins = next(line for line in reversed(lines) if line.startswith("ontrack.logins:"))
    assert "rows past retention dropped" in logins and "rows of erased people removed" in logins
    with duckdb.connect(str(warehouse), read_only=True) as con:
        flags = dict(con.execute("SELECT table_name, flags FROM platform.load_state").fetchall())
    assert "erased people" in flags["users"] and "erased people" in flags["tasks"]
    shutil.rmtree(tmp_path / "archive")


# --- erasure reaches the archives -------------------------------------------------------------

ARCHIVED = ["logins", "task_comments", "comments_read_receipts"]


def _person(path: Path, user_id: int) -> dict[str, set[int]]:
    """Ids of the person's own rows, and of rows naming them, in the raw tables archived."""
    with duckdb.connect(str(path), read_only=True) as con:
        tasks = ("SELECT t.id FROM ontrack_raw.tasks t JOIN ontrack_raw.projects p ON "
                 f"p.id = t.project_id WHERE p.user_id = {user_id}")
        own = {
            "logins": f"SELECT id FROM ontrack_raw.logins WHERE user_id = {user_id}",
            "task_comments": f"SELECT id FROM ontrack_raw.task_comments WHERE user_id = "
                             f"{user_id} OR task_id IN ({tasks})",
            "comments_read_receipts": "SELECT id FROM ontrack_raw.comments_read_receipts "
                                      f"WHERE user_id = {user_id}",
        }
        return {t: {r[0] for r in con.execute(sql).fetchall()} for t, sql in own.items()}


def _archived_rows(target, archive_id: str, work: Path) -> tuple[str, list[dict]]:
    manifest = json.loads(target.read(f"{archive_id}/manifest.json"))
    local = work / f"{archive_id}.parquet"
    local.write_bytes(target.read(f"{archive_id}/{retention.data_name(manifest)}"))
    assert hashlib.sha256(local.read_bytes()).hexdigest() == manifest["sha256"]
    with duckdb.connect() as con:
        rel = con.sql(f"SELECT * FROM read_parquet('{local}')")
        rows = [dict(zip(rel.columns, r, strict=True)) for r in rel.fetchall()]
    assert len(rows) == manifest["rows"]
    return manifest["table"].split(".", 1)[1], rows


def test_erase_user_rewrites_every_archive_holding_the_person(
        demo_warehouse, archive_target, tmp_path, monkeypatch, request, capsys):
    # A tutor: comments they wrote go, comments students sent them stay without their id.
    user_id = _busiest_tutor(demo_warehouse)
    theirs = _person(demo_warehouse, user_id)
    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        (middle,) = con.execute("SELECT median(created_at) FROM ontrack_raw.task_comments"
                                ).fetchone()
    policies = [retention.Policy(f"ontrack_raw.{t}", "created_at", "0 days") for t in ARCHIVED]
    moves = retention.archive(demo_warehouse, archive_target, policies=policies, now=middle,
                              apply=True, log=lambda line: None)
    ids = {m.policy.table.split(".")[1]: m.archive_id for m in moves if m.archive_id}
    before = {t: _archived_rows(archive_target, a, tmp_path)[1] for t, a in ids.items()}
    in_archives = {t: {r["id"] for r in rows} & theirs[t] for t, rows in before.items()}
    assert in_archives["logins"] and in_archives["task_comments"]  # the person is archived
    named = [r["id"] for r in before["task_comments"]
             if user_id in (r["recipient_id"], r["assessor_id"]) and r["id"] not in theirs[
                 "task_comments"]]
    assert named  # comments they received, someone else's rows: kept, reference cleared

    monkeypatch.setenv("RETENTION__ARCHIVE_URL", archive_target.url)
    if not archive_target.is_local:
        monkeypatch.setenv("RETENTION__ENDPOINT_URL", request.getfixturevalue("gcs_emulator"))
    capsys.readouterr()
    assert main(["erase-user", str(user_id)]) == 0
    out = capsys.readouterr().out
    assert "rows removed" in out and "rewritten as data-" in out

    for table, archive_id in ids.items():  # every archive read back
        _, rows = _archived_rows(archive_target, archive_id, tmp_path)
        assert {r["id"] for r in rows} == {r["id"] for r in before[table]} - theirs[table]
        assert not [r for r in rows if user_id in (r.get("user_id"), r.get("recipient_id"),
                                                    r.get("assessor_id"))]
        others = {r["id"]: r for r in before[table] if r["id"] not in theirs[table]}
        for row in rows:  # every other row whole, with only references to them cleared
            expected = {k: (None if k in ("recipient_id", "assessor_id") and v == user_id
                            else v) for k, v in others[row["id"]].items()}
            assert row == expected
    assert set(archive_target.listing()) == {  # the old data files are gone
        f"{a}/{n}" for a in ids.values() for n in
        ("manifest.json", retention.data_name(json.loads(archive_target.read(
            f"{a}/manifest.json"))))}

    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        (row,) = audit.rows(con, "erase-user")
        listed = con.execute("SELECT archive_id, rows FROM platform.archives").fetchall()
    details = json.loads(row[5])
    rewritten = {a["archive_id"]: a for a in details["archives"]}
    assert set(rewritten) == {ids[t] for t in ids if in_archives[t] or (
        t == "task_comments" and named)}
    assert rewritten[ids["logins"]]["rows_removed"] == len(in_archives["logins"])
    assert rewritten[ids["task_comments"]]["references_cleared"] >= len(named)
    assert dict(listed)[ids["logins"]] == len(before["logins"]) - len(in_archives["logins"])

    # A restore of a rewritten archive verifies it and brings back everyone but the person.
    for table, archive_id in ids.items():
        restored = retention.restore(demo_warehouse, archive_target, archive_id,
                                     log=lambda line: None,
                                     pseudonym_key=lambda: DEMO_KEY.encode())
        assert restored == len(before[table]) - len(in_archives[table])
    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM ontrack_raw.logins WHERE user_id = ?",
                           [user_id]).fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM ontrack_raw.task_comments WHERE user_id = ? "
                           "OR recipient_id = ?", [user_id, user_id]).fetchone()[0] == 0
        back = {r[0] for r in con.execute("SELECT id FROM ontrack_raw.task_comments"
                                          ).fetchall()}
    assert {r["id"] for r in before["task_comments"]} - theirs["task_comments"] <= back


def test_a_killed_erasure_never_loses_an_archive(demo_warehouse, tmp_path, monkeypatch):
    """SIGKILL `thoth erase-user` the moment its rewritten archive appears (uploaded, not yet
    switched to): every archive still verifies and restores; the next erasure finishes it."""
    user_id = _busiest_tutor(demo_warehouse)
    theirs = _person(demo_warehouse, user_id)["logins"]
    target = open_target(str(tmp_path / "archive"))
    policy = retention.Policy("ontrack_raw.logins", "created_at", "0 days")
    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        (newest,) = con.execute("SELECT max(created_at) + INTERVAL 1 DAY FROM "
                                "ontrack_raw.logins").fetchone()
    (move,) = retention.archive(demo_warehouse, target, policies=[policy], now=newest,
                                apply=True, log=lambda line: None)
    folder = tmp_path / "archive" / move.archive_id
    _, before = _archived_rows(target, move.archive_id, tmp_path)
    assert theirs and theirs <= {r["id"] for r in before}
    monkeypatch.setenv("RETENTION__ARCHIVE_URL", str(tmp_path / "archive"))

    process = subprocess.Popen([Path(sys.executable).parent / "thoth", "erase-user",
                                str(user_id)], env=os.environ.copy(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list(folder.glob("data-*.parquet")) and process.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.001)
    process.kill()
    process.wait()
    # Killed mid-rewrite: the archive is whole — the old pair, or the new one if the switch won.
    _, rows = _archived_rows(target, move.archive_id, tmp_path)
    ids = {r["id"] for r in rows}
    assert ids in ({r["id"] for r in before}, {r["id"] for r in before} - theirs)

    assert main(["erase-user", str(user_id)]) == 0  # run again: it finishes the job
    _, rows = _archived_rows(target, move.archive_id, tmp_path)
    assert {r["id"] for r in rows} == {r["id"] for r in before} - theirs
    assert len(list(folder.glob("data*.parquet"))) == 1  # the leftover is gone
    assert retention.restore(demo_warehouse, target, move.archive_id, log=lambda line: None,
                             pseudonym_key=lambda: DEMO_KEY.encode()) == len(before) - len(theirs)


def test_an_archive_that_cannot_be_rewritten_rolls_the_erasure_back(demo_warehouse, tmp_path,
                                                                     monkeypatch, capsys):
    user_id = _busiest_tutor(demo_warehouse)
    target = open_target(str(tmp_path / "archive"))
    (move,) = retention.archive(demo_warehouse, target, policies=POLICY, apply=True,
                                log=lambda line: None)
    data = Path(target.path(f"{move.archive_id}/data.parquet"))
    data.write_bytes(data.read_bytes()[:-20] + b"\0" * 20)  # damaged after archiving
    monkeypatch.setenv("RETENTION__ARCHIVE_URL", str(tmp_path / "archive"))
    capsys.readouterr()
    assert main(["erase-user", str(user_id)]) == 1
    (error,) = capsys.readouterr().err.splitlines()
    assert error == (f"thoth: error: erasing from the archives failed: the archive "
                     f"{target.path(move.archive_id)} is damaged (its data does not match its "
                     "manifest's sha256). Nothing was recorded and the warehouse is unchanged "
                     "(copies already rewritten stay without the person): fix it and run "
                     "`thoth erase-user` again")
    assert _traces(demo_warehouse, user_id)["users"] == 1
    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        assert audit.rows(con, "erase-user") == []
        assert con.execute("SELECT count(*) FROM platform.erasures").fetchone()[0] == 0
