"""`thoth erase-user <OnTrack user id>`: remove one person from the warehouse, and keep them out.

The person's own rows go (their user row, enrolments, tasks and everything hanging off those
tasks, comments they wrote, logins, …); rows that belong to someone else but name them (a
comment they received, a submission they assessed) keep the row and lose the reference. Staging
views follow raw; the marts are rebuilt, so no `student_key` / `tutor_key` of theirs is left.

The erasure is recorded in `platform.erasures` without the identity: a keyed hash of the user id
(and of their project, task and unit-role ids, so rows reached through those are found too)
under a secret derived from TRANSFORMS__PSEUDONYM_KEY. The rules and the ledger's queries live
below the pipelines (thoth/core/platform/erasures.py): the OnTrack loader applies the ledger
after each table's load, in the same transaction, so a later load — which reads the person
again from OnTrack — never brings them back.

Copies outside the warehouse are erasure steps (`ErasureStep`), run inside the same transaction
after the warehouse's rows: retention archives (archive_erasure.py), the lake (lake_erasure.py)
and the data products' attention files (products_erasure.py). A step that fails rolls the whole
erasure back; the run is safe to repeat.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import duckdb

from thoth.core import platform
from thoth.core.duck import open_warehouse, transaction
from thoth.core.duck import utc_now as _now
from thoth.core.errors import ThothError
from thoth.core.platform import audit
from thoth.core.platform.erasures import RULES, apply_rule, ledger_secret, subject_key
from thoth.core.storage import storage_errors


class ErasureStep(Protocol):
    """A copy of the person's rows outside the warehouse tables (archives, data products).
    `erase` runs inside the erasure's transaction, after the warehouse tables: it finds
    the person through `platform.erasures` (`erase_rows` applies the rules to a copy),
    rewrites its copies, and returns what it rewrote (listed in the audit row under `name`);
    it raises ThothError to roll the whole erasure back."""

    name: str

    def erase(self, con: duckdb.DuckDBPyConnection, secret: str, erasure_id: str,
              log: Callable[[str], None]) -> list[dict]: ...


def erase_rows(con: duckdb.DuckDBPyConnection, table: str, relation: str, secret: str,
               erasure_id: str) -> dict[str, int]:
    """Apply the rules of `ontrack_raw.<table>` to `relation`, a copy of that table's rows (a
    temporary table): the person's rows deleted, references to them cleared. Returns the
    counts as `erase_user` does."""
    counts: dict[str, int] = {}
    for rule in RULES:
        if rule.table == table:
            apply_rule(con, rule, secret, erasure_id, None, counts, relation=relation)
    return counts


def erase_user(warehouse: Path, user_id: int, *, pseudonym_key: bytes,
               steps: Sequence[ErasureStep] = (),
               log: Callable[[str], None] = print) -> dict[str, int]:
    """Erase one OnTrack user everywhere in ontrack_raw, then from each of `steps` (the
    archives), and record it; returns the warehouse's counts."""
    secret = ledger_secret(pseudonym_key)
    erasure_id = uuid.uuid4().hex[:12]
    con = open_warehouse(warehouse)
    rewritten: dict[str, list[dict]] = {}
    try:
        platform.ensure(con, "erasures")
        with transaction(con):
            (known,) = con.execute(
                "SELECT count(*) FROM platform.erasures WHERE kind = 'user' AND subject_key = ?",
                [subject_key(secret, "user", user_id)]).fetchone()
            con.execute("INSERT OR IGNORE INTO platform.erasures VALUES (?, 'user', ?, ?)",
                        [erasure_id, subject_key(secret, "user", user_id), _now()])
            counts: dict[str, int] = {}
            for rule in RULES:
                apply_rule(con, rule, secret, erasure_id, None, counts)
            for step in steps:
                try:
                    rewritten[step.name] = step.erase(con, secret, erasure_id, log)
                except (ThothError, *storage_errors()) as exc:
                    raise ThothError(
                        f"erasing from the {step.name} failed: {exc}. Nothing was recorded and "
                        "the warehouse is unchanged (copies already rewritten stay without the "
                        "person): fix it and run `thoth erase-user` again") from None
            audit.record(con, "erase-user", f"erasure {erasure_id}",
                         {"rows": sum(counts.values()), "tables": counts,
                          "repeat": bool(known), **rewritten})
    finally:
        con.close()
    if counts:
        for what, n in sorted(counts.items()):
            log(f"  {what}: {n:,}")
    else:
        log("  no rows of this person in the warehouse (recorded: later loads keep them out)")
    log(f"erasure {erasure_id} recorded in platform.erasures (a keyed hash, not the id)")
    return counts


def check_user_id(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ThothError(f"expected an OnTrack user id (a number), got {value!r}") from None
