"""Retention on real data: dry run, apply, verify and restore, on a local directory and the GCS
emulator; a damaged or unknown archive refused; the command a dry run unless applied."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import pytest
from governance_fixtures import DEMO_KEY, POLICY

from thoth.cli import main
from thoth.core.errors import ThothError
from thoth.core.platform import audit
from thoth.core.storage import open_target
from warehouse.governance import retention

NO_GA4_OR_LANDING = frozenset({"ga4_raw", "landing_raw"})  # only OnTrack loaded here

def _count(path: Path, sql: str) -> int:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchone()[0]


def _key() -> bytes:  # the demo warehouse's, asked for only if someone is erased
    return DEMO_KEY.encode()


# --- retention --------------------------------------------------------------------------------



def test_retention_dry_run_apply_verify_and_restore(demo_warehouse, archive_target):
    table = "ontrack_raw.logins"
    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        before = retention.checksum(con, table)
        old = con.execute(f"SELECT count(*) FROM {table} WHERE created_at < "
                          "now()::TIMESTAMP - INTERVAL 400 DAY").fetchone()[0]
    assert old > 0
    lines: list[str] = []

    moves = retention.archive(demo_warehouse, archive_target, policies=POLICY, log=lines.append)
    assert moves[0].rows == old and "would archive" in lines[0]
    assert archive_target.listing() == {}
    assert _count(demo_warehouse, f"SELECT count(*) FROM {table}") == int(before.split(":")[0])

    moves = retention.archive(demo_warehouse, archive_target, policies=POLICY, apply=True,
                              log=lines.append)
    archive_id = moves[0].archive_id
    assert set(archive_target.listing()) == {f"{archive_id}/data.parquet",
                                             f"{archive_id}/manifest.json"}
    manifest = json.loads(archive_target.read(f"{archive_id}/manifest.json"))
    assert manifest["rows"] == old and manifest["table"] == table
    local = demo_warehouse.parent / "back.parquet"
    local.write_bytes(archive_target.read(f"{archive_id}/data.parquet"))
    assert hashlib.sha256(local.read_bytes()).hexdigest() == manifest["sha256"]
    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        assert con.execute(f"SELECT count(*) FROM {table} WHERE created_at < ?",
                           [moves[0].cutoff]).fetchone()[0] == 0
        assert con.execute(f"SELECT count(*) FROM read_parquet('{local}') WHERE created_at >= ?",
                           [moves[0].cutoff]).fetchone()[0] == 0
        assert [r[3] for r in audit.rows(con)
                if r[3] not in ("run", "products-publish")] == ["retention-archive"]
        (listed,) = con.execute("SELECT count(*) FROM platform.archives").fetchone()
    assert listed == 1

    assert retention.restore(demo_warehouse, archive_target, archive_id, log=lines.append,
                             pseudonym_key=_key) == old
    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        assert retention.checksum(con, table) == before  # every row and value is back
        assert [r[3] for r in audit.rows(con) if r[3] not in ("run", "products-publish")] == [
            "retention-archive", "retention-restore"]
        assert audit.rows(con, "run")[0][1]  # the demo's run: an actor


def test_restore_refuses_a_damaged_or_unknown_archive(demo_warehouse, tmp_path):
    target = open_target(str(tmp_path / "archive"))
    (move,) = retention.archive(demo_warehouse, target, policies=POLICY, apply=True,
                                log=lambda line: None)
    path = Path(target.path(f"{move.archive_id}/data.parquet"))
    path.write_bytes(path.read_bytes()[:-20] + b"\0" * 20)
    with pytest.raises(ThothError, match="is damaged"):
        retention.restore(demo_warehouse, target, move.archive_id, log=lambda line: None,
                          pseudonym_key=_key)
    with pytest.raises(ThothError, match="no archive 'nope'"):
        retention.restore(demo_warehouse, target, "nope", log=lambda line: None,
                          pseudonym_key=_key)


def test_retention_cli_is_a_dry_run_unless_applied(demo_warehouse, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RETENTION__ARCHIVE_URL", str(tmp_path / "archive"))
    assert main(["retention"]) == 0
    out = capsys.readouterr().out
    assert "ontrack_raw.logins: would archive" in out and "dry run: nothing was moved" in out
    assert not (tmp_path / "archive").exists()
    assert main(["retention", "--apply"]) == 0
    assert "verified: sha256" in capsys.readouterr().out
    assert len(list((tmp_path / "archive").iterdir())) >= 1


