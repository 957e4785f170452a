"""Users, enrolments (projects) and tutorial enrolments; logins, tokens and groups are written
from here through `accounts` and `groups`.

Projects are planned here in full (150k rows at scale 1 is small) but written later, chunk by
chunk, once their tasks are known and `task_stats` can be computed from them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from thoth.demo.ontrack.academic import Academic, Sizes
from thoth.demo.ontrack.accounts import write_logins, write_tokens_and_calendars
from thoth.demo.ontrack.fake import (
    DAY,
    FIRST_NAMES,
    HOUR,
    LAST_NAMES,
    NAT,
    NOW,
    at_least,
    between,
    days,
    group_rank,
    hex_tokens,
    ids_by_time,
    ips,
    null_where,
    pick,
    take,
    text,
    tokens,
)
from thoth.demo.ontrack.groups import write_groups
from thoth.demo.ontrack.reference import CAMPUS_SHARE, SEEDED_AT


@dataclass
class People:
    username: pa.Array  # per user, index = id - 1
    full_name: pa.Array
    student_id: pa.Array
    proj_unit: np.ndarray  # per project, index = id - 1 (ids follow created_at)
    proj_user: np.ndarray
    proj_target: np.ndarray
    proj_created: np.ndarray
    proj_cut: np.ndarray  # NOW, or the withdrawal: nothing happens on the project after it
    proj_tutor: np.ndarray  # (project, stream) -> tutor's user id (0 = no such stream)
    projects: dict  # the rows of `projects` except task_stats
    group_keys: np.ndarray  # sorted project_index * n_task_definitions + td_index
    group_ids: np.ndarray  # group_submissions.id for each key


def _enrol(rng: np.random.Generator, ac: Academic, n_students: int):
    """(unit, student index) per project: each student studies in a window of trimesters."""
    first = rng.integers(-3, 9, n_students)
    span = rng.integers(2, 10, n_students)
    units, students = [], []
    for u in np.flatnonzero(ac.unit_size):
        p = ac.unit_period[u]
        pool = np.flatnonzero((first <= p) & (p < first + span))
        if len(pool) < ac.unit_size[u]:
            pool = np.arange(n_students)
        k = min(ac.unit_size[u], len(pool))
        students.append(rng.choice(pool, size=k, replace=False))
        units.append(np.full(k, u))
    return np.concatenate(units), np.concatenate(students)


def build_people(emit, sizes: Sizes, ac: Academic, rng: np.random.Generator,
                 n_task_definitions: int) -> People:
    n_students = sizes.users - sizes.staff
    unit, student = _enrol(rng, ac, n_students)
    n = len(unit)
    late = rng.random(n) < 0.1
    created = np.where(late, ac.unit_start[unit] + days(rng.uniform(0, 21, n)),
                       ac.unit_start[unit] - days(rng.uniform(0, 35, n)))
    created = np.minimum(created, NOW - HOUR)
    _, order = ids_by_time(created, 1)
    unit, student, created = unit[order], student[order], created[order]

    # Students get user ids in sign-up order, after the staff.
    first_seen = np.full(n_students, NOW)
    np.minimum.at(first_seen, student, created)
    no_projects = first_seen == NOW
    first_seen[no_projects] = between(rng, np.full(no_projects.sum(), SEEDED_AT),
                                      np.full(no_projects.sum(), NOW - 30 * DAY))
    student_created = first_seen - days(rng.uniform(1, 30, n_students))
    ids, _ = ids_by_time(student_created, sizes.staff + 1)
    user = ids[student]

    withdrawn = rng.random(n) < 0.08
    withdrawn_at = created + days(rng.uniform(7, 70, n))
    withdrawn &= withdrawn_at < NOW - HOUR
    cut = np.where(withdrawn, withdrawn_at, NOW)
    target = pick(rng, n, {0: 0.25, 1: 0.3, 2: 0.25, 3: 0.2})
    campus = 1 + rng.choice(len(CAMPUS_SHARE), size=n, p=CAMPUS_SHARE)
    end = ac.unit_end[unit]
    finished = end < NOW
    updated = np.where(withdrawn, withdrawn_at, np.where(
        finished, np.minimum(end + days(rng.uniform(0, 21, n)), NOW),
        NOW - days(rng.uniform(0, 4, n))))
    grade = np.clip(target - (rng.random(n) < 0.35), 0, 3)
    compiled = finished & ~withdrawn & (rng.random(n) < 0.8)
    projects = {
        "id": np.arange(1, n + 1), "unit_id": unit + 1, "user_id": user, "project_role": "Student",
        "created_at": created, "updated_at": np.maximum(updated, created),
        "started": rng.random(n) < 0.95,
        "progress": take(("ahead", "on_track", "behind", "danger", "doomed"),
                         rng.integers(0, 5, n)),
        "status": take(("in_progress", "finished", "withdrawn"),
                       np.select([withdrawn, finished], [2, 1], 0)),
        "enrolled": ~withdrawn, "target_grade": target, "campus_id": campus,
        "compile_portfolio": compiled,
        "portfolio_production_date": np.where(
            compiled, (end - days(rng.uniform(0, 10, n))).astype("datetime64[D]"),
            np.datetime64("NaT", "D")),
        "grade": np.where(finished & ~withdrawn, grade, 0),
        "submitted_grade": np.where(compiled, target, np.nan),
        "grade_rationale": null_where(
            text("Portfolio demonstrates ", take(("Pass", "Credit", "Distinction",
                                                 "High Distinction"), grade), " level work."),
            ~(compiled & (rng.random(n) < 0.4))),
        "uses_draft_learning_summary": compiled & (rng.random(n) < 0.2),
        "portfolio_auto_generated": compiled & (rng.random(n) < 0.1),
        "portfolio_generation_pid": None,
    }
    tutor, tutorial = _tutorial_enrolments(emit, rng, ac, unit, campus, created, cut)
    logins = write_logins(emit, rng, ac, sizes, user, created, cut, end)
    names = _users(emit, rng, sizes, ac, ids, student_created, logins)
    write_tokens_and_calendars(emit, rng, sizes, logins, user, unit)
    keys, gids = write_groups(emit, rng, ac, tutorial[:, 0], withdrawn, n_task_definitions)
    return People(*names, proj_unit=unit, proj_user=user, proj_target=target,
                  proj_created=created, proj_cut=cut, proj_tutor=tutor, projects=projects,
                  group_keys=keys, group_ids=gids)


def _tutorial_enrolments(emit, rng, ac: Academic, unit, campus, created, cut):
    """One tutorial per project per stream; writes tutorials too (their campus follows the class).

    Returns (project, stream) -> the tutor's user id, and -> the tutorial index (-1 = none).

    Students are sorted by campus inside each unit and cut into equal classes, so a tutorial
    mostly holds one campus's students; its campus is its first student's.
    """
    n = len(unit)
    tutor = np.zeros((n, 2), dtype=np.int64)
    tutorial = np.full((n, 2), -1, dtype=np.int64)
    tut_campus = 1 + rng.choice(len(CAMPUS_SHARE), size=len(ac.tut_tutor), p=CAMPUS_SHARE)
    proj_parts, tut_parts = [], []
    for s in range(2):
        members = np.flatnonzero(ac.tut_count[unit, s] > 0)
        members = members[np.lexsort((rng.random(len(members)), campus[members],
                                      unit[members]))]
        mu = unit[members]
        size = np.bincount(mu, minlength=len(ac.unit_size))
        local = group_rank(mu) * ac.tut_count[mu, s] // size[mu]
        tut = ac.tut_start[mu, s] + local
        tutor[members, s] = ac.tut_tutor[tut]
        tutorial[members, s] = tut
        first = np.unique(tut, return_index=True)[1]
        tut_campus[tut[first]] = campus[members[first]]
        proj_parts.append(members)
        tut_parts.append(tut)
    project, tut = np.concatenate(proj_parts), np.concatenate(tut_parts)
    stamp = np.minimum(created[project] + days(rng.uniform(0, 7, len(project))), NOW)
    moved = rng.random(len(project)) < 0.15  # changed class later: the row was updated
    ids, order = ids_by_time(stamp, 1)
    emit("tutorial_enrolments", {
        "id": ids[order], "project_id": project[order] + 1, "tutorial_id": tut[order] + 1,
        "created_at": stamp[order],
        "updated_at": np.where(moved, between(rng, stamp, cut[project]), stamp)[order],
    })
    emit("tutorials", {**ac.tutorials, "campus_id": tut_campus})
    return tutor, tutorial


def _users(emit, rng, sizes: Sizes, ac: Academic, student_ids, student_created, logins):
    n, n_staff = sizes.users, sizes.staff
    ids = np.arange(1, n + 1)
    created = np.empty(n, dtype="datetime64[us]")
    created[student_ids - 1] = student_created
    created[:n_staff] = between(rng, np.full(n_staff, np.datetime64("2022-06-01", "us")),
                                np.full(n_staff, np.datetime64("2023-02-01", "us")))
    role = np.ones(n, dtype=np.int64)
    for role_id, members in ((4, ac.admins), (3, ac.convenors), (2, ac.tutors), (5, ac.auditors)):
        role[members - 1] = role_id
    student = role == 1
    first = take(FIRST_NAMES, rng.integers(0, len(FIRST_NAMES), n))
    last = take(LAST_NAMES, rng.integers(0, len(LAST_NAMES), n))
    username = text(pc.utf8_lower(pc.utf8_slice_codeunits(first, 0, 1)), pc.utf8_lower(last), ids)
    domain = pc.if_else(pa.array(student), "@students.example.edu", "@example.edu")
    student_id = null_where(text(220_000_000 + ids), ~student)
    everyone = np.ones(n, dtype=bool)
    reset = at_least(rng.random(n) < 0.03, everyone, 2)
    locked = rng.random(n) < 0.01
    locked[-1] = True  # at least one: the newest account locked itself out
    remembered = rng.random(n) < 0.2
    reset_at = np.where(reset, between(rng, created, np.full(n, NOW)), NAT)
    remember_at = np.where(remembered, between(rng, created, np.full(n, NOW)), NAT)
    eula = rng.random(n) < 0.3
    signed_in = logins["count"] > 0
    updated = np.max(np.stack([created, np.where(signed_in, logins["current"], created),
                               np.where(reset, reset_at, created),
                               np.where(remembered, remember_at, created)]), axis=0)
    research = rng.random(n)
    emit("users", {
        "id": ids, "email": text(username, domain),
        "encrypted_password": text("$2a$11$", tokens(rng, n, 53)),
        "reset_password_token": null_where(hex_tokens(rng, n, 64), ~reset),
        "reset_password_sent_at": reset_at, "remember_created_at": remember_at,
        "sign_in_count": logins["count"] + rng.integers(0, 3, n) * signed_in,
        "current_sign_in_at": logins["current"], "last_sign_in_at": logins["previous"],
        "current_sign_in_ip": null_where(ips(rng, n), ~signed_in),
        "last_sign_in_ip": null_where(ips(rng, n), ~signed_in),
        "created_at": created, "updated_at": updated, "first_name": first, "last_name": last,
        "username": username, "nickname": null_where(first, rng.random(n) > 0.3),
        "unlock_token": null_where(hex_tokens(rng, n, 64), ~locked),
        "role_id": role, "receive_task_notifications": rng.random(n) < 0.9,
        "receive_feedback_notifications": rng.random(n) < 0.9,
        "receive_portfolio_notifications": rng.random(n) < 0.9,
        "opt_in_to_research": np.where(research < 0.4, np.nan, research < 0.8),
        "has_run_first_time_setup": rng.random(n) < 0.9, "login_id": username,
        "student_id": student_id, "tii_eula_version": null_where(pa.repeat("v1beta", n), ~eula),
        "tii_eula_date": np.where(eula, between(rng, created, np.full(n, NOW)), NAT),
        "tii_eula_version_confirmed": eula & (rng.random(n) < 0.9),
    })
    return username, text(first, " ", last), student_id
