"""The erasure ledger, `platform.erasures`, and the rules it is applied by: which rows of
ontrack_raw are an erased person's (deleted) or name them (the reference cleared), and the keyed
hash that records a person, never their id. `thoth erase-user` (warehouse/governance/erasure.py)
records people and applies the rules everywhere; `apply_ledger` applies them again to each table
a loader has just written (thoth/core/load_guard.py), so a later load never brings them back.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from thoth.core import platform
from thoth.core.duck import quote as _q
from thoth.core.duck import utc_now as _now
from thoth.core.platform import keys

SCHEMA = "ontrack_raw"


@dataclass(frozen=True)
class Rule:
    table: str
    column: str
    kind: str  # what the column points at
    action: str  # delete: the row is the person's; null: the row is someone else's
    registers: str | None = None  # the ids of rows deleted here identify the person too


# In order: a rule that registers ids (projects → project) comes before rules that use them;
# deletes before clears, so a row that goes anyway is not counted twice.
RULES: tuple[Rule, ...] = (
    Rule("users", "id", "user", "delete"),
    Rule("projects", "user_id", "user", "delete", registers="project"),
    Rule("unit_roles", "user_id", "user", "delete", registers="unit_role"),
    Rule("logins", "user_id", "user", "delete"),
    Rule("comments_read_receipts", "user_id", "user", "delete"),
    Rule("task_pins", "user_id", "user", "delete"),
    Rule("webcals", "user_id", "user", "delete"),
    Rule("tii_submissions", "submitted_by_user_id", "user", "delete"),
    Rule("task_comments", "user_id", "user", "delete"),
    # OnTrack 10.x: a person's read marks, marking sessions, notes, sign-ins elsewhere.
    Rule("comment_read_cursors", "user_id", "user", "delete"),
    Rule("marking_sessions", "user_id", "user", "delete", registers="marking_session"),
    Rule("session_activities", "marking_session_id", "marking_session", "delete"),
    Rule("chip_usages", "tutor_id", "user", "delete"),
    Rule("user_oauth_tokens", "user_id", "user", "delete"),
    Rule("user_oauth_states", "user_id", "user", "delete"),
    Rule("staff_notes", "user_id", "user", "delete"),
    Rule("tutor_notes", "user_id", "user", "delete"),
    Rule("engagements", "user_id", "user", "delete", registers="engagement"),
    Rule("engagements", "project_id", "project", "delete", registers="engagement"),
    Rule("engagement_comments", "user_id", "user", "delete"),
    Rule("engagement_comments", "engagement_id", "engagement", "delete"),
    Rule("engagement_projects", "project_id", "project", "delete"),
    Rule("engagement_projects", "engagement_id", "engagement", "delete"),
    Rule("staff_notes", "project_id", "project", "delete"),
    Rule("session_activities", "project_id", "project", "delete"),
    Rule("overflow_task_claim_logs", "student_user_id", "user", "delete"),
    Rule("overflow_task_claim_logs", "claimed_by_user_id", "user", "delete"),
    Rule("tutor_feedback_scores", "unit_role_id", "unit_role", "delete"),
    Rule("tutor_notes", "unit_role_id", "unit_role", "delete"),
    Rule("overflow_task_claims", "claimed_by_unit_role_id", "unit_role", "delete"),
    Rule("tasks", "project_id", "project", "delete", registers="task"),
    Rule("tutorial_enrolments", "project_id", "project", "delete"),
    Rule("group_memberships", "project_id", "project", "delete"),
    Rule("task_submissions", "task_id", "task", "delete"),
    Rule("task_engagements", "task_id", "task", "delete"),
    Rule("task_comments", "task_id", "task", "delete"),
    Rule("test_attempts", "task_id", "task", "delete"),
    Rule("overseer_assessments", "task_id", "task", "delete", registers="overseer_assessment"),
    Rule("overseer_step_results", "overseer_assessment_id", "overseer_assessment", "delete"),
    Rule("learning_outcome_task_links", "task_id", "task", "delete"),
    Rule("task_pins", "task_id", "task", "delete"),
    Rule("tii_submissions", "task_id", "task", "delete"),
    Rule("task_similarities", "task_id", "task", "delete"),
    Rule("task_similarities", "other_task_id", "task", "delete"),
    Rule("comment_read_cursors", "task_id", "task", "delete"),
    Rule("submission_histories", "task_id", "task", "delete"),
    Rule("moderated_tasks", "task_id", "task", "delete"),
    Rule("overflow_task_claims", "task_id", "task", "delete"),
    Rule("overflow_task_claim_logs", "task_id", "task", "delete"),
    Rule("tutor_notes", "task_id", "task", "delete"),
    Rule("session_activities", "task_id", "task", "delete"),
    # Someone else's rows that name the person: kept, the reference cleared.
    Rule("task_comments", "recipient_id", "user", "null"),
    Rule("task_comments", "assessor_id", "user", "null"),
    Rule("task_submissions", "assessor_id", "user", "null"),
    Rule("group_submissions", "submitted_by_project_id", "project", "null"),
    Rule("tutorials", "unit_role_id", "unit_role", "null"),
    Rule("units", "main_convenor_id", "unit_role", "null"),
    Rule("projects", "assessor_id", "user", "null"),  # 10.x
    Rule("moderated_tasks", "assessor_id", "user", "null"),
    Rule("moderated_tasks", "resolved_by_user_id", "user", "null"),
    Rule("overflow_task_claim_logs", "original_tutor_user_id", "user", "null"),
    Rule("unit_roles", "mentor_id", "unit_role", "null"),
)


def ledger_secret(pseudonym_key: bytes) -> str:
    """Derived, so the ledger's hashes match nothing published (student_key uses the key
    itself) and the pseudonym key stays the only secret to keep."""
    return hmac.new(pseudonym_key, b"thoth erasure ledger", hashlib.sha256).hexdigest()


def subject_key(secret: str, kind: str, source_id: int | str) -> str:
    """The same as the SQL in `_match`: sha256 of '<secret>:<kind>:<id>'."""
    return hashlib.sha256(f"{secret}:{kind}:{source_id}".encode()).hexdigest()


def _match(rule: Rule, column: str | None = None) -> str:
    """SQL true for rows whose `column` is an erased subject; one `?` for the secret."""
    col = _q(column or rule.column)
    return (f"({col} IS NOT NULL AND sha256(? || ':{rule.kind}:' || CAST({col} AS VARCHAR)) IN "
            f"(SELECT subject_key FROM platform.erasures WHERE kind = '{rule.kind}'))")


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> set[str]:
    return {d[0] for d in con.execute(f"SELECT * FROM {relation} LIMIT 0").description}


def _exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return platform.has_table(con, table, SCHEMA)


def apply_rule(con: duckdb.DuckDBPyConnection, rule: Rule, secret: str, erasure_id: str,
               changed: str | None, counts: dict[str, int],
               relation: str | None = None) -> set[str]:
    """One rule on one table — or on `relation`, a copy of that table's rows (an archive's) —;
    adds to `counts`; returns the kinds it registered new ids of."""
    if relation is None and not _exists(con, rule.table):
        return set()
    target = relation or f"{SCHEMA}.{_q(rule.table)}"
    columns = _columns(con, target)
    if rule.column not in columns:
        return set()
    where = _match(rule) + (f" AND id IN (SELECT id FROM {changed})" if changed else "")
    new_kinds = set()
    if rule.registers and "id" in columns:
        (added,) = con.execute(
            f"INSERT OR IGNORE INTO platform.erasures SELECT ?, '{rule.registers}', "
            f"sha256(? || ':{rule.registers}:' || CAST(id AS VARCHAR)), ? FROM {target} "
            f"WHERE {where}", [erasure_id, secret, _now(), secret]).fetchone()
        if added:
            new_kinds.add(rule.registers)
    if rule.action == "delete":
        (n,) = con.execute(f"DELETE FROM {target} WHERE {where}", [secret]).fetchone()
    else:
        (n,) = con.execute(f"UPDATE {target} SET {_q(rule.column)} = NULL WHERE {where}",
                           [secret]).fetchone()
    if n:
        what = "rows deleted" if rule.action == "delete" else f"{rule.column} cleared"
        key = f"{SCHEMA}.{rule.table} ({what})"
        counts[key] = counts.get(key, 0) + n
    return new_kinds


def ledger_empty(con: duckdb.DuckDBPyConnection) -> bool:
    if not platform.has_table(con, "erasures"):
        return True
    return con.execute("SELECT count(*) FROM platform.erasures").fetchone()[0] == 0


def apply_ledger(con: duckdb.DuckDBPyConnection, schema: str, table: str,
                 changed: str | None = None, *, pseudonym_key: Callable[[], bytes]) -> int:
    """After a load (or a restore): remove erased people from `schema.table`, inside the
    caller's transaction. `changed`: a relation holding the ids just loaded (only they can be
    new), None: the whole table. Costs one catalog query while nobody is erased.
    `pseudonym_key`: asked for only once someone is erased, so a load needs no key till then."""
    if schema != SCHEMA or ledger_empty(con):
        return 0
    key = pseudonym_key()
    keys.check(con, key)  # another key's hashes would match nobody: they would come back
    secret = ledger_secret(key)
    counts: dict[str, int] = {}
    registered: set[str] = set()
    for rule in RULES:
        if rule.table == table:
            registered |= apply_rule(con, rule, secret, "load", changed, counts)
    # New projects or tasks of an erased person arrived: their dependants may already be in.
    for rule in RULES:
        if rule.kind in registered and rule.table != table:
            apply_rule(con, rule, secret, "load", None, counts)
    return sum(counts.values())


def erased_count(con: duckdb.DuckDBPyConnection) -> int:
    if ledger_empty(con):
        return 0
    return con.execute("SELECT count(*) FROM platform.erasures WHERE kind = 'user'").fetchone()[0]
