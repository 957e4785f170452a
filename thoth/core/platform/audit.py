"""`platform.audit`: who did what to the data, and when — every `thoth run`, retention action and
erasure. Targets never name a person: an erasure is recorded by its id and keyed hash only."""

from __future__ import annotations

import getpass
import json
import os
import socket

import duckdb

from thoth.core import platform
from thoth.core.duck import utc_now


def actor() -> str:
    """Who acts: THOTH_ACTOR (set it in cron or a wrapper to a person's or a job's name), else
    the OS user running thoth."""
    named = os.environ.get("THOTH_ACTOR", "").strip()
    if named:
        return named
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container's uid without a passwd entry
        return f"uid {os.getuid()}"


def record(con: duckdb.DuckDBPyConnection, action: str, target: str,
           details: dict | None = None) -> None:
    """Add one row; runs inside the caller's transaction when it has one, so the action and its
    audit row commit together."""
    platform.ensure(con, "audit")
    con.execute("INSERT INTO platform.audit VALUES (?, ?, ?, ?, ?, ?)",
                [utc_now(), actor(), socket.gethostname(), action,
                 target, json.dumps(details or {}, default=str, sort_keys=True)])


def rows(con: duckdb.DuckDBPyConnection, action: str | None = None) -> list[tuple]:
    if not platform.has_table(con, "audit"):
        return []
    where, params = ("WHERE action = ?", [action]) if action else ("", [])
    return con.execute(f"SELECT acted_at, actor, host, action, target, CAST(details AS VARCHAR) "
                       f"FROM platform.audit {where} ORDER BY acted_at", params).fetchall()
