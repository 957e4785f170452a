"""Tasks, their submissions and status history for one chunk of projects, all vectorised.

A task row exists only where a student touched the task (OnTrack creates them lazily), and only
for task definitions at or below the project's target grade. Each task's story is drawn
backwards from its final status: the last submission, the assessment after it, and the earlier
Fix-and-Resubmit cycles before it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from thoth.demo.ontrack.academic import Academic
from thoth.demo.ontrack.fake import (
    DAY,
    HOUR,
    NAT,
    NOW,
    at_least,
    between,
    days,
    expand,
    hours,
    ids_by_time,
    null_where,
    pick,
    reorder,
    text,
)
from thoth.demo.ontrack.people import People
from thoth.demo.ontrack.reference import FAIL_RENAMED_AT, STATUS_NAMES

SUBMITTED = np.zeros(13, dtype=bool)
SUBMITTED[[2, 3, 5, 6, 7, 8, 9, 10, 11, 12]] = True
ASSESSED = SUBMITTED.copy()
ASSESSED[[3, 9]] = False  # Need Help and Ready for Feedback wait for a tutor
# Final status by how far the task's target date is from the project's "now":
# not yet released, due later, due about now, long past.
PHASE_STATUS = (
    {1: 0.75, 4: 0.25},
    {1: 0.30, 4: 0.35, 3: 0.04, 9: 0.18, 2: 0.08, 5: 0.03, 8: 0.02},
    {1: 0.06, 4: 0.10, 3: 0.03, 9: 0.30, 2: 0.28, 5: 0.09, 7: 0.02, 8: 0.05, 10: 0.02, 11: 0.01,
     12: 0.04},
    {1: 0.05, 4: 0.04, 3: 0.01, 9: 0.03, 2: 0.625, 5: 0.05, 6: 0.02, 7: 0.015, 8: 0.05, 10: 0.03,
     11: 0.02, 12: 0.055},
)
# Extra (earlier) submissions before the last one, by final status: P(0), P(1), P(2), P(3).
EXTRA = np.tile([1.0, 0.0, 0.0, 0.0], (13, 1))
EXTRA[[2, 8, 10]] = [0.72, 0.22, 0.06, 0.0]
EXTRA[[3, 9, 5, 7]] = [0.6, 0.28, 0.12, 0.0]
EXTRA[[11, 12]] = [0.8, 0.2, 0.0, 0.0]
EXTRA[6] = [0.0, 0.0, 0.6, 0.4]  # Feedback Exceeded: too many resubmissions
RED, ORANGE, GREEN, BLUE = [11, 6, 12], [7, 3, 5], [8, 10, 2], [9]


@dataclass
class Tasks:
    """One chunk's tasks (row order = pair order, not id order) and their submissions."""

    ids: np.ndarray
    project: np.ndarray  # project index
    td: np.ndarray  # task definition index
    status: np.ndarray
    student: np.ndarray  # user ids
    tutor: np.ndarray
    created: np.ndarray
    updated: np.ndarray
    cut: np.ndarray
    submitted: np.ndarray
    first_submission: np.ndarray
    last_submission: np.ndarray
    extensions: np.ndarray
    scorm_extensions: np.ndarray
    sub_task: np.ndarray  # per submission: task row, times, outcome status, assessor
    sub_time: np.ndarray
    sub_assessed: np.ndarray
    sub_outcome: np.ndarray
    sub_assessor: np.ndarray
    expected: np.ndarray  # per project of the chunk: tasks it is expected to do
    group_submission: np.ndarray
    last_assessed: np.ndarray
    times_assessed: np.ndarray


def _turnaround(rng: np.random.Generator, n: int) -> np.ndarray:
    """Hours from submission to assessment: median ~1.5 days, a long tail, at most 3 weeks."""
    return hours(np.clip(rng.lognormal(np.log(36.0), 1.0, n), 0.25, 21 * 24))


def status_names(status: np.ndarray, when: np.ndarray) -> np.ndarray:
    """Status names as stored at the time: 11 was called "Fail" before 2023-12-01."""
    names = STATUS_NAMES[status]
    return np.where((status == 11) & (when < FAIL_RENAMED_AT), "Fail", names)


def make_tasks(rng: np.random.Generator, ac: Academic, pe: People, lo: int, hi: int,
               first_id: int) -> Tasks:
    projects = np.arange(lo, hi)
    unit = pe.proj_unit[projects]
    pair, off = expand(ac.unit_td_count[unit])
    project = projects[pair]
    td = ac.unit_td_start[unit][pair] + off
    eligible = ac.td_grade[td] <= pe.proj_target[project]
    cut = pe.proj_cut[project]
    target, start = ac.td_target[td], ac.td_start[td]
    p_touch = np.where(start > cut, 0.04, np.where(target > cut + 7 * DAY, 0.7, 0.97))
    key = project * len(ac.td_grade) + td
    slot = np.minimum(np.searchsorted(pe.group_keys, key), max(len(pe.group_keys) - 1, 0))
    in_group = (pe.group_keys[slot] == key) if len(pe.group_keys) else np.zeros(len(key), bool)
    keep = eligible & ((rng.random(len(td)) < p_touch) | in_group)
    expected = np.bincount(pair[eligible], minlength=len(projects))
    project, td, cut, target, start = (a[keep] for a in (project, td, cut, target, start))
    n = len(td)

    phase = np.select([start > cut, target > cut + 7 * DAY, target > cut - 21 * DAY], [0, 1, 2], 3)
    status = np.zeros(n, dtype=np.int64)
    for ph, probs in enumerate(PHASE_STATUS):
        m = phase == ph
        status[m] = pick(rng, m.sum(), probs)

    # Effective deadline (Task#due_date) and the instant it ends: 23:59:59 AoE (UTC-12).
    ext = np.where(phase > 0, rng.choice(4, size=n, p=[0.95, 0.03, 0.015, 0.005]), 0)
    deadline = np.minimum(target + days(7 * ext), ac.td_due[td]) + 36 * HOUR
    late = (status == 12) | (rng.random(n) < 0.12)
    sub = np.where(late, deadline + hours(rng.uniform(1, 14 * 24, n)),
                   deadline - hours(1 + rng.exponential(72, n)))
    sub = np.maximum(sub, start + HOUR)
    early = sub > cut - HOUR  # would be in the future: submitted some time before "now"
    sub[early] = between(rng, start[early] + HOUR, cut[early] - HOUR)
    status = np.where((status == 12) & (sub <= deadline), 9, status)  # not late after all

    assess = sub + _turnaround(rng, n)
    submitted = SUBMITTED[status]
    pending = ASSESSED[status] & (assess > cut)
    status = np.where(pending, 9, status)  # the tutor hasn't got to it yet
    assessed = ASSESSED[status]
    u = rng.random(n)
    extra = np.where(submitted, (u[:, None] > np.cumsum(EXTRA[status], axis=1)).sum(1), 0)

    # Earlier cycles, walking back from the last submission: assessed, then resubmitted.
    parent, step = expand(extra)
    ta = _turnaround(rng, len(parent)).astype(np.float64)
    step_us = ta + hours(rng.uniform(6, 5 * 24, len(parent))).astype(np.float64)
    # Squeeze the cycles in between the task's release and its last submission.
    room = (sub - start - 2 * HOUR).astype(np.float64)
    need = np.bincount(parent, step_us, minlength=n)
    squeeze = np.clip(room / np.maximum(need, 1.0), 0.02, 1.0)[parent]
    ta, step_us = ta * squeeze, step_us * squeeze
    csum = np.cumsum(step_us)
    head = (np.cumsum(extra) - extra)[parent]  # first row of each task's group
    back = csum - (csum[head] - step_us[head]) if len(parent) else csum
    ta = ta.astype(np.int64).astype("timedelta64[us]")
    prev_sub = sub[parent] - back.astype(np.int64).astype("timedelta64[us]")
    first_sub = sub.copy()
    np.minimum.at(first_sub, parent, prev_sub)

    tutor = pe.proj_tutor[project, ac.td_stream[td]]
    tutor = np.where(tutor > 0, tutor, pe.proj_tutor[project, 0])
    convenor = ac.unit_convenor[pe.proj_unit[project]]
    n_sub_rows = len(parent) + submitted.sum()
    sub_task = np.concatenate([parent, np.flatnonzero(submitted)])
    sub_time = np.concatenate([prev_sub, sub[submitted]])
    sub_assessed = np.concatenate([prev_sub + ta, np.where(assessed, assess, NAT)[submitted]])
    sub_outcome = np.concatenate([np.where(rng.random(len(parent)) < 0.85, 5, 7),
                                  np.where(assessed, status, 0)[submitted]])
    by_tutor = rng.random(n_sub_rows) < 0.9
    sub_assessor = np.where(by_tutor, tutor[sub_task], convenor[sub_task])

    touch = np.maximum(start - days(rng.uniform(0, 3, n)), pe.proj_created[project])
    touch = touch + days(rng.exponential(4, n))
    created = np.where(submitted, np.minimum(touch, first_sub - hours(rng.uniform(0.5, 72, n))),
                       touch)
    created = np.minimum(created, cut - HOUR)
    working = np.where(status == 4, between(rng, created, cut), created)
    last_assessed = np.where(assessed, assess, NAT)
    # A resubmission waiting for feedback keeps the previous assessment's date.
    prev_assess = np.full(n, NAT)
    latest = step == 0
    prev_assess[parent[latest]] = (prev_sub + ta)[latest]
    last_assessed = np.where(assessed, last_assessed, prev_assess)
    updated = np.max(np.stack([created, working, np.where(submitted, sub, created),
                               np.where(np.isnat(last_assessed), created, last_assessed)]), 0)
    ids, _ = ids_by_time(created, first_id)
    scorm_ext = np.where(ac.td_scorm[td] & (rng.random(n) < 0.1), rng.integers(1, 3, n), 0)

    group = np.where(in_group[keep], pe.group_ids[slot[keep]] if len(pe.group_ids) else 0, np.nan)
    return Tasks(
        ids=ids, project=project, td=td, status=status, student=pe.proj_user[project],
        tutor=tutor, created=created, updated=np.minimum(updated, NOW), cut=cut,
        submitted=submitted, first_submission=np.where(submitted, first_sub, NAT),
        last_submission=np.where(submitted, sub, NAT), extensions=ext,
        scorm_extensions=scorm_ext, sub_task=sub_task, sub_time=sub_time,
        sub_assessed=sub_assessed, sub_outcome=sub_outcome, sub_assessor=sub_assessor,
        expected=expected, group_submission=group, last_assessed=last_assessed,
        times_assessed=extra + assessed,
    )


def write_tasks(emit, rng: np.random.Generator, ac: Academic, pe: People, t: Tasks,
                first_sub_id: int, first_engagement_id: int) -> None:
    """Writes tasks, task_submissions and task_engagements, each in id order."""
    n = len(t.ids)
    complete = t.status == 2
    graded = ac.td_graded[t.td] & complete
    quality = ac.td_max_quality[t.td]
    unit = pe.proj_unit[t.project]
    evidence = text("student_work/", ac.unit_code.take(pa.array(unit)), "-", unit + 1, "/",
                    pe.username.take(pa.array(t.student - 1)), "/done/", t.td + 1, ".pdf")
    emit("tasks", reorder({
        "id": t.ids, "task_definition_id": t.td + 1, "project_id": t.project + 1,
        "task_status_id": t.status, "created_at": t.created, "updated_at": t.updated,
        "completion_date": np.where(complete, t.last_assessed, NAT).astype("datetime64[D]"),
        "portfolio_evidence": null_where(evidence, ~(complete & (rng.random(n) < 0.8))),
        "include_in_portfolio": rng.random(n) < 0.95,
        "file_uploaded_at": t.last_submission, "group_submission_id": t.group_submission,
        "contribution_pct": 100, "times_assessed": t.times_assessed,
        "submission_date": t.last_submission, "assessment_date": t.last_assessed,
        "grade": np.where(graded, np.clip(pe.proj_target[t.project] - (rng.random(n) < 0.3),
                                          0, 3), np.nan),
        "contribution_pts": 3,
        "quality_pts": np.where((quality > 0) & ~np.isnat(t.last_assessed),
                                (rng.random(n) * (quality + 1)).astype(np.int64), -1),
        "extensions": t.extensions, "scorm_extensions": t.scorm_extensions,
    }, np.argsort(t.ids)))

    m = len(t.sub_task)
    sub_ids, order = ids_by_time(t.sub_time, first_sub_id)
    done = ~np.isnat(t.sub_assessed)
    emit("task_submissions", reorder({
        "id": sub_ids, "task_id": t.ids[t.sub_task], "submission_time": t.sub_time,
        "assessment_time": t.sub_assessed,
        "outcome": null_where(status_names(t.sub_outcome, t.sub_assessed), ~done),
        "assessor_id": np.where(done, t.sub_assessor, np.nan), "created_at": t.sub_time,
        "updated_at": np.where(done, t.sub_assessed, t.sub_time),
    }, order))
    _engagements(emit, rng, t, done, m, first_engagement_id)


def _engagements(emit, rng, t: Tasks, done, m: int, first_id: int) -> None:
    """Each status change someone made: submissions, assessments, "Working On It"."""
    last_of_task = np.zeros(len(t.ids), dtype=np.int64)
    last_of_task[t.sub_task] = np.arange(m)  # the final submission is the last row per task
    is_last = np.zeros(m, dtype=bool)
    is_last[last_of_task[t.submitted]] = True
    asked_help = is_last & (t.status[t.sub_task] == 3)
    started = (t.status == 4) | (t.submitted & (rng.random(len(t.ids)) < 0.15))
    start_time = np.where(t.status == 4, t.updated,
                          between(rng, t.created, np.where(t.submitted, t.first_submission,
                                                           t.created)))
    task = np.concatenate([t.sub_task, t.sub_task[done], np.flatnonzero(started)])
    status = np.concatenate([np.where(asked_help, 3, 9), t.sub_outcome[done],
                             np.full(started.sum(), 4)])
    when = np.concatenate([t.sub_time, t.sub_assessed[done], start_time[started]])
    names = status_names(status, when)
    # A few rows keep the names of an older release, as migrated data does.
    old = rng.random(len(names)) < 0.05
    old = at_least(old & (status == 6), status == 6, 1) | at_least(old & (status == 11),
                                                                 status == 11, 1)
    names = np.where(old & (status == 6), "Do Not Resubmit",
                     np.where(old & (status == 11), "Fail", names))
    ids, order = ids_by_time(when, first_id)
    emit("task_engagements", {
        "id": ids[order], "task_id": t.ids[task][order], "engagement": names[order],
        "engagement_time": when[order], "created_at": when[order], "updated_at": when[order],
    })


def task_stats(t: Tasks, n_projects: int, lo: int) -> pa.Array:
    """projects.task_stats JSON, as Project#update_task_stats writes it (shares of tasks)."""
    local = t.project - lo
    denominator = np.maximum(t.expected, 1)
    shares = {}
    for name, statuses in (("red", RED), ("orange", ORANGE), ("green", GREEN), ("blue", BLUE)):
        count = np.bincount(local[np.isin(t.status, statuses)], minlength=n_projects)
        shares[name] = np.round(count / denominator, 2)
    shares["grey"] = np.round(np.clip(1 - sum(shares.values()), 0, 1), 2)
    scale = np.round(100 * shares["green"] + 10 * shares["blue"]).astype(np.int64)
    return text('{"red_pct":', shares["red"], ',"grey_pct":', shares["grey"],
                ',"orange_pct":', shares["orange"], ',"blue_pct":', shares["blue"],
                ',"green_pct":', shares["green"], ',"order_scale":', scale, "}")

