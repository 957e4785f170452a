"""The 10.x variant: the generator's rows as upstream's 10.x migrations leave them, plus the 10.x
features the KPIs read.

Each table's rows pass through `Upgrade10` on their way to the database, in the order the
generator writes them (lookups, task definitions, units, then per chunk projects, tasks,
submissions, engagements, comments, receipts), so what a later table needs of an earlier one is
at hand. What it does, as upstream does it:

- fills the columns 10.x added NOT NULL without a default (timestamps on old lookup tables,
  breaks.number_of_days, overseer_assessments.submission_history_id with its history row);
- moves learning_outcomes to their polymorphic context and moss_language to
  similarity_language, as the migrations did;
- backfills comment_read_cursors from the read receipts (CreateCommentReadCursors: the newest
  comment read per task and reader, at the latest receipt); the receipts stay, as the upgrade
  left them (10.x reads and writes only the cursors);
- gives units flexible dates and "late work is assessed in the portfolio", students special
  consideration days and chosen due dates, task definitions due dates per target grade, campuses
  time zones, comments their attention audience, a few units an observer, and tasks the three
  new statuses: 13 Assess in Portfolio where a unit marks late work so (for 12 Time Exceeded),
  14 Attention Required and 15 Rediscuss (only ever after 8 Discuss).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa

from thoth.demo.ontrack.fake import DAY, NAT, NOW, days
from thoth.demo.ontrack.reference import SEEDED_AT, STATUSES

STATUSES_10 = {13: "Assess in Portfolio", 14: "Attention Required", 15: "Rediscuss"}
# (from, to, share): the statuses 10.x adds, and which status a task had before.
MOVES = ((12, 13, None), (8, 15, 0.1), (5, 14, 0.05))  # None: every one, in units that say so
# Campus → zone (campuses in reference.CAMPUSES order), in both forms OnTrack accepts: an IANA
# identifier or a Rails name (ActiveSupport::TimeZone[]); Online keeps the application's UTC.
CAMPUS_ZONES = ("Australia/Melbourne", "Melbourne", "Australia/Melbourne",
                "Australia/Melbourne", None, "Perth")


def _array(value: Any, n: int) -> np.ndarray:
    """A column as a numpy array of n values (scalars broadcast, Arrow converted)."""
    if isinstance(value, pa.Array | pa.ChunkedArray):
        return value.to_numpy(zero_copy_only=False)
    if value is None or np.isscalar(value):
        return np.full(n, value, dtype=object if value is None or isinstance(value, str)
                       else None)
    return np.asarray(value)


class Upgrade10:
    """`__call__(table, columns) -> columns`; `write(table, columns)` writes extra tables."""

    def __init__(self, write: Callable[[str, dict], None], next_id: Callable[[str], int],
                 seed: int) -> None:
        self.write, self.next_id = write, next_id
        self.rng = np.random.default_rng([seed, 10])
        self.td: dict[str, np.ndarray] = {}
        self.unit_flexible = np.zeros(1, dtype=bool)  # by unit id
        self.unit_aip = np.zeros(1, dtype=bool)
        self.projects: dict[str, np.ndarray] = {}  # the current chunk's
        self.tasks: dict[str, np.ndarray] = {}
        self.renamed = (np.zeros(0, np.int64), np.zeros(0, object), np.zeros(0, object))
        self.comments: dict[str, np.ndarray] = {}

    def __call__(self, table: str, columns: dict) -> dict:
        handler = getattr(self, f"_{table}", None)
        if handler is None:
            return columns
        n = len(columns["id"])
        return handler({k: _array(v, n) if k == "id" else v for k, v in columns.items()}, n)

    # --- lookups: 10.x added timestamps (NOT NULL, no default) and columns ---------------------

    def _stamped(self, columns: dict, n: int) -> dict:
        return {"created_at": SEEDED_AT, "updated_at": SEEDED_AT, **columns}

    _teaching_periods = _webcals = _webcal_unit_exclusions = _stamped

    def _auth_tokens(self, columns: dict, n: int) -> dict:
        issued = _array(columns["auth_token_expiry"], n) - 14 * DAY
        return {**columns, "created_at": issued, "updated_at": issued}

    def _task_statuses(self, columns: dict, n: int) -> dict:
        extra = list(STATUSES_10)
        out = {k: list(_array(v, n)) for k, v in columns.items()}
        out["id"] += extra
        out["name"] += list(STATUSES_10.values())
        out["description"] += [f"The task is in the {s!r} state" for s in STATUSES_10.values()]
        for stamp in ("created_at", "updated_at"):
            out[stamp] += [SEEDED_AT] * len(extra)
        return out

    def _campuses(self, columns: dict, n: int) -> dict:
        return {**self._stamped(columns, n), "timezone": list(CAMPUS_ZONES[:n])}

    def _breaks(self, columns: dict, n: int) -> dict:
        return {**self._stamped(columns, n),
                "number_of_days": 7 * _array(columns["number_of_weeks"], n),
                "label": "Mid-trimester break", "pause_week_count": True}

    def _test_attempts(self, columns: dict, n: int) -> dict:
        at = columns["attempted_time"]
        return {**columns, "created_at": at, "updated_at": at}

    def _learning_outcomes(self, columns: dict, n: int) -> dict:
        return {**self._stamped(columns, n), "context_id": columns["unit_id"],
                "context_type": "Unit", "short_description": columns["name"],
                "full_outcome_description": columns["description"]}

    def _users(self, columns: dict, n: int) -> dict:
        return {**columns, "last_access_at": columns.get("current_sign_in_at")}

    def _overseer_assessments(self, columns: dict, n: int) -> dict:
        first = self.next_id("submission_histories")
        history = np.arange(first, first + n)
        self.write("submission_histories", {
            "id": history, "task_id": columns["task_id"],
            "submission_timestamp": columns["submission_timestamp"],
            "created_at": columns["created_at"], "updated_at": columns["created_at"]})
        return {**columns, "submission_history_id": history}

    # --- units, task definitions, staff ----------------------------------------------------------

    def _task_definitions(self, columns: dict, n: int) -> dict:
        self.td = {k: _array(columns[k], n) for k in
                   ("id", "unit_id", "target_grade", "target_date")}
        return {**columns, "similarity_language": columns.get("moss_language"),
                "assess_in_portfolio_only": self.rng.random(n) < 0.03}

    def _units(self, columns: dict, n: int) -> dict:
        ids = columns["id"]
        flexible = self.rng.random(n) < 0.25
        aip = self.rng.random(n) < 0.3
        self.unit_flexible = np.zeros(ids.max() + 1, dtype=bool)
        self.unit_flexible[ids] = flexible
        self.unit_aip = np.zeros(ids.max() + 1, dtype=bool)
        self.unit_aip[ids] = aip
        self._grade_due_dates()
        return {**columns, "allow_flexible_dates": flexible,
                "mark_late_submissions_as_assess_in_portfolio": aip}

    def _grade_due_dates(self) -> None:
        """In units with flexible dates, a later due date for students aiming higher."""
        td = self.td
        chosen = self.unit_flexible[td["unit_id"]]
        rows: dict[str, list] = {"task_definition_id": [], "target_grade": [],
                                 "target_due_date": []}
        for grade in range(4):
            pick = chosen & (td["target_grade"] <= grade) & (self.rng.random(len(chosen)) < 0.5)
            rows["task_definition_id"].append(td["id"][pick])
            rows["target_grade"].append(np.full(pick.sum(), grade))
            rows["target_due_date"].append(td["target_date"][pick]
                                           + days(7 * (grade - td["target_grade"][pick])))
        out = {k: np.concatenate(v) for k, v in rows.items()}
        first = self.next_id("task_definition_grade_due_dates")
        self.write("task_definition_grade_due_dates", {
            "id": np.arange(first, first + len(out["target_grade"])), **out,
            "created_at": SEEDED_AT, "updated_at": SEEDED_AT})

    def _unit_roles(self, columns: dict, n: int) -> dict:
        """Every fifth unit also has an observer: a tutor of the unit before, watching."""
        out = {k: list(_array(v, n)) for k, v in columns.items()}
        unit, user, role = (np.asarray(out[k]) for k in ("unit_id", "user_id", "role_id"))
        out["observer_only"] = [False] * n
        tutors = np.flatnonzero(role == 2)
        for u in np.unique(unit)[::5]:
            other = tutors[unit[tutors] != u]
            if not len(other):
                continue
            out["id"].append(len(out["id"]) + 1)
            out["user_id"].append(user[other[0]])
            out["unit_id"].append(u)
            out["role_id"].append(2)
            out["tutorial_id"].append(None)
            out["observer_only"].append(True)
            for stamp in ("created_at", "updated_at"):
                out[stamp].append(NOW - 30 * DAY)
        return out

    # --- per chunk: projects, tasks and what hangs off them ------------------------------------

    def _projects(self, columns: dict, n: int) -> dict:
        spec = np.where(self.rng.random(n) < 0.04, self.rng.integers(1, 15, n), 0)
        self.projects = {"id": columns["id"], "user_id": _array(columns["user_id"], n),
                         "unit_id": _array(columns["unit_id"], n),
                         "target_grade": _array(columns["target_grade"], n)}
        return {**columns, "spec_con_days": spec, "last_viewed_at": columns["updated_at"]}

    def _project_index(self, project_id: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.projects["id"], project_id)

    def _tasks(self, columns: dict, n: int) -> dict:
        ids, status = columns["id"], _array(columns["task_status_id"], n)
        td = _array(columns["task_definition_id"], n)
        unit = self.td["unit_id"][np.searchsorted(self.td["id"], td)]
        roll = self.rng.random(n)
        new = status.copy()
        for old, to, share in MOVES:
            new[(status == old) & (self.unit_aip[unit] if share is None else roll < share)] = to
        moved = np.flatnonzero(new != status)
        self.renamed = (ids[moved], np.array([STATUSES[s] for s in status[moved]], object),
                        np.array([STATUSES_10[s] for s in new[moved]], object))
        flexible = self.unit_flexible[unit]
        chose = flexible & (self.rng.random(n) < 0.5)
        target = self.td["target_date"][np.searchsorted(self.td["id"], td)]
        self.tasks = {"id": ids,
                      "student": self.projects["user_id"][self._project_index(
                          _array(columns["project_id"], n))]}
        return {**columns, "task_status_id": new,
                "target_due_date": np.where(chose, target + days(self.rng.integers(-3, 11, n)),
                                            NAT),
                "last_tutor_feedback_at": columns.get("assessment_date")}

    def _renamed(self, task_id: np.ndarray, names: np.ndarray) -> np.ndarray:
        """The chunk's history rows naming the status a task was moved off name the new one."""
        moved, old, new = self.renamed  # moved: task ids, ascending
        out = names.astype(object).copy()
        if not len(moved):
            return out
        at = np.minimum(np.searchsorted(moved, task_id), len(moved) - 1)
        hit = (moved[at] == task_id) & (out == old[at])
        out[hit] = new[at[hit]]
        return out

    def _task_submissions(self, columns: dict, n: int) -> dict:
        outcome = _array(columns["outcome"], n)
        return {**columns, "outcome": self._renamed(_array(columns["task_id"], n), outcome)}

    def _task_engagements(self, columns: dict, n: int) -> dict:
        names = _array(columns["engagement"], n)
        return {**columns, "engagement": self._renamed(_array(columns["task_id"], n), names)}

    def _task_comments(self, columns: dict, n: int) -> dict:
        task = _array(columns["task_id"], n)
        student = self.tasks["student"][np.searchsorted(self.tasks["id"], task)]
        author = _array(columns["user_id"], n)
        # TaskComment#set_default_attention_audience: the student's comment asks staff to read.
        audience = np.where(author == student, 2, 1)
        self.comments = {"id": columns["id"], "task_id": task}
        return {**columns, "attention_audience": audience}

    def _comments_read_receipts(self, columns: dict, n: int) -> dict:
        """Backfill the cursors from the receipts, as upstream's migration did: per task and
        reader, the newest comment read and the latest receipt's time."""
        if not n:
            return columns
        comment = _array(columns["task_comment_id"], n)
        user = _array(columns["user_id"], n)
        at = _array(columns["created_at"], n).astype("datetime64[us]")
        task = self.comments["task_id"][np.searchsorted(self.comments["id"], comment)]
        order = np.lexsort((user, task))
        task, user, comment, at = task[order], user[order], comment[order], at[order]
        starts = np.r_[True, (task[1:] != task[:-1]) | (user[1:] != user[:-1])]
        group = np.cumsum(starts) - 1
        k = int(group[-1]) + 1
        newest = np.zeros(k, dtype=np.int64)
        np.maximum.at(newest, group, comment)
        read_at = np.full(k, np.datetime64("1970-01-01", "us"))
        np.maximum.at(read_at, group, at)
        first = self.next_id("comment_read_cursors")
        self.write("comment_read_cursors", {
            "id": np.arange(first, first + k), "task_id": task[starts], "user_id": user[starts],
            "last_read_comment_id": newest, "read_at": read_at, "created_at": read_at,
            "updated_at": read_at})
        return columns
