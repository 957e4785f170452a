"""Units (one row per offering in a teaching period), their staff, tutorial streams, tutorials
and group sets; then the task definitions and learning outcomes of `definitions`.

Everything here is small (thousands of rows at scale 1), so a loop per unit is fine; what the
task generator needs later is kept as arrays indexed by `id - 1`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from thoth.demo.ontrack.definitions import learning_outcomes, task_definitions
from thoth.demo.ontrack.fake import (
    DAY,
    NAT,
    NOW,
    TOPICS,
    between,
    days,
    expand,
    group_rank,
    old_rows_null,
    pick,
    take,
    text,
)
from thoth.demo.ontrack.reference import CURRENT_PERIOD, PERIOD_END, PERIOD_START, PERIODS

STREAMS = (("Tutorial", "tut", 2, "LA1"), ("Laboratory", "lab", 4, "LB1"))  # activity_type ids
CLASS_SIZE = (24, 30)  # students per tutorial, per stream
PERIOD_ORDER = np.array([0, 1, -1, 2, 3, 4, 5, 6, 7])  # steps back from the current period


@dataclass(frozen=True)
class Sizes:
    users: int
    staff: int
    units: int
    projects: int


def sizes_for(scale: float) -> Sizes:
    users = max(60, round(60_000 * scale))
    return Sizes(users=users, staff=max(8, round(users * 0.05)),
                 units=max(4, round(1_000 * scale)), projects=max(30, round(150_000 * scale)))


@dataclass
class Academic:
    """What later phases need, indexed by id - 1 (units, task definitions, tutorials)."""

    admins: np.ndarray  # user ids per staff kind
    convenors: np.ndarray
    tutors: np.ndarray
    auditors: np.ndarray
    role_user: np.ndarray  # unit_roles (tutors and convenors): user id and unit index
    role_unit: np.ndarray
    unit_period: np.ndarray
    unit_start: np.ndarray
    unit_end: np.ndarray
    unit_created: np.ndarray
    unit_code: pa.Array
    unit_size: np.ndarray  # planned enrolments
    unit_convenor: np.ndarray  # main convenor's user id
    unit_group_set: np.ndarray  # group_sets.id or 0
    unit_td_start: np.ndarray  # index of the unit's first task definition
    unit_td_count: np.ndarray
    unit_lo_start: np.ndarray
    unit_lo_count: np.ndarray
    tut_start: np.ndarray  # (unit, stream) -> index of first tutorial; count 0 = no stream
    tut_count: np.ndarray
    tut_tutor: np.ndarray  # tutor's user id per tutorial
    tutorials: dict  # rows of `tutorials`, written once projects have chosen their campuses
    td_grade: np.ndarray
    td_start: np.ndarray
    td_target: np.ndarray
    td_due: np.ndarray
    td_stream: np.ndarray  # 0 or 1
    td_graded: np.ndarray
    td_max_quality: np.ndarray
    td_overseer: np.ndarray
    td_scorm: np.ndarray
    td_group: np.ndarray
    td_unit: np.ndarray
    td_created: np.ndarray


def _staff(n_staff: int) -> tuple[np.ndarray, ...]:
    admins = max(1, round(0.03 * n_staff))
    auditors = max(1, round(0.01 * n_staff))
    convenors = max(2, round(0.2 * n_staff))
    cut = np.cumsum([admins, convenors, n_staff - admins - auditors - convenors])
    ids = np.arange(1, n_staff + 1)
    return ids[: cut[0]], ids[cut[0]: cut[1]], ids[cut[1]: cut[2]], ids[cut[2]:]


def build_academic(emit, sizes: Sizes, rng: np.random.Generator, variant: str,
                   year_shift: int = 0) -> Academic:
    admins, convenors, tutors, auditors = _staff(sizes.staff)
    n_units = sizes.units
    u = np.arange(n_units)
    # Offerings go: the running trimester, the one before, the next (no enrolments yet), then
    # further back; so the minimum of 4 units has every kind and 9 cover all periods.
    period = (CURRENT_PERIOD - PERIOD_ORDER[u % len(PERIODS)]) % len(PERIODS)
    subject = u // len(PERIODS)
    started = PERIOD_START[period] - 35 * DAY <= NOW
    weight = rng.lognormal(0.0, 0.6, n_units) * started
    size = rng.multinomial(sizes.projects, weight / weight.sum())
    unit_start, unit_end = PERIOD_START[period], PERIOD_END[period]
    created = np.minimum(unit_start - days(rng.uniform(40, 120, n_units)), NOW - DAY)
    updated = np.maximum(created, np.minimum(unit_end + days(rng.uniform(0, 30, n_units)), NOW))
    prefix = take(("SIT", "SIG", "SIE", "SIA"), subject // 899)
    code = text(prefix, 101 + subject % 899)
    streams = 1 + (rng.random(n_units) < 0.3)
    # Optional features live in some units; units 1 and 2 have them all, so tiny scales do too.
    featured = (u < 2) | (u % 3 == 0)
    group_units = ((u < 2) | (u % 7 == 0)) & started
    group_set = np.where(group_units, np.cumsum(group_units), 0)

    roles: dict[str, list] = {k: [] for k in ("user_id", "role_id", "unit_id")}
    tut_start = np.zeros((n_units, 2), dtype=np.int64)
    tut_count = np.zeros((n_units, 2), dtype=np.int64)
    tut_unit, tut_stream, tut_role, tut_tutor = [], [], [], []
    main_convenor = np.zeros(n_units, dtype=np.int64)
    unit_convenor = np.zeros(n_units, dtype=np.int64)
    for i in range(n_units):
        picked = rng.choice(convenors, size=min(len(convenors), 1 + (rng.random() < 0.25)),
                            replace=False)
        main_convenor[i], unit_convenor[i] = len(roles["user_id"]) + 1, picked[0]
        roles["user_id"] += picked.tolist()
        roles["role_id"] += [3] * len(picked)
        counts = [max(1, math.ceil(size[i] / CLASS_SIZE[s])) if s < streams[i] else 0
                  for s in range(2)]
        staff = rng.choice(tutors, size=min(len(tutors), max(1, math.ceil(sum(counts) / 2))),
                           replace=False)
        first_role = len(roles["user_id"]) + 1
        roles["user_id"] += staff.tolist()
        roles["role_id"] += [2] * len(staff)
        roles["unit_id"] += [i + 1] * (len(roles["user_id"]) - len(roles["unit_id"]))
        for s in range(2):
            tut_start[i, s], tut_count[i, s] = len(tut_unit), counts[s]
            for t in range(counts[s]):
                k = (t + s * counts[0]) % len(staff)  # tutors take turns across both streams
                tut_unit.append(i)
                tut_stream.append(s)
                tut_role.append(first_role + k)
                tut_tutor.append(staff[k])

    n_roles = len(roles["user_id"])
    role_unit = np.array(roles["unit_id"]) - 1
    role_created = np.minimum(created[role_unit] + days(rng.uniform(0, 20, n_roles)), NOW)
    emit("unit_roles", {
        "id": np.arange(1, n_roles + 1), "user_id": roles["user_id"], "role_id": roles["role_id"],
        "unit_id": roles["unit_id"], "tutorial_id": None, "created_at": role_created,
        "updated_at": between(rng, role_created, np.full(n_roles, NOW)),
    })
    stream_ids = _streams(emit, rng, streams, created)
    tutorials = _tutorials(rng, np.array(tut_unit), np.array(tut_stream), np.array(tut_role),
                           code, created, stream_ids)

    td = task_definitions(emit, rng, variant, unit_start, unit_end, created, streams,
                           stream_ids, group_set, featured)
    lo_start, lo_count = learning_outcomes(emit, rng, td, n_units)

    tail = td["unit_td_start"] + td["unit_td_count"] - 1
    emit("units", {
        "id": u + 1, "name": take(TOPICS, subject), "code": code,
        "description": text("Unit ", code, ": ", take(TOPICS, subject), ", ",
                            take([p[0] for p in PERIODS], period), " ",
                            take([str(p[1] + year_shift) for p in PERIODS], period)),
        "start_date": unit_start, "end_date": unit_end, "created_at": created,
        "updated_at": updated, "teaching_period_id": period + 1, "main_convenor_id": main_convenor,
        "active": (PERIOD_END[period] + 28 * DAY >= NOW) | (rng.random(n_units) < 0.3),
        "archived": (PERIOD_END[period] < NOW - 365 * DAY) & (rng.random(n_units) < 0.5),
        "last_plagarism_scan": np.where(started & (rng.random(n_units) < 0.6),
                                        np.minimum(unit_end, NOW) - 2 * DAY, NAT),
        "draft_task_definition_id": np.where(rng.random(n_units) < 0.3, tail + 1, np.nan),
        "allow_student_extension_requests": rng.random(n_units) < 0.9,
        "extension_weeks_on_resubmit_request": rng.integers(1, 3, n_units),
        "auto_apply_extension_before_deadline": rng.random(n_units) < 0.8,
        "send_notifications": True, "enable_sync_timetable": rng.random(n_units) < 0.7,
        "enable_sync_enrolments": rng.random(n_units) < 0.8,
        "allow_student_change_tutorial": rng.random(n_units) < 0.6, "assessment_enabled": True,
        "overseer_image_id": np.where(rng.random(n_units) < 0.5, 1, np.nan),
        "portfolio_auto_generation_date": np.where(rng.random(n_units) < 0.2,
                                                   unit_end - 7 * DAY, NAT),
    })
    if group_units.any():
        _group_sets(emit, rng, np.flatnonzero(group_units), created)
    return Academic(
        admins=admins, convenors=convenors, tutors=tutors, auditors=auditors,
        role_user=np.array(roles["user_id"]), role_unit=role_unit,
        unit_period=period, unit_start=unit_start, unit_end=unit_end, unit_created=created,
        unit_code=code, unit_size=size, unit_convenor=unit_convenor, unit_group_set=group_set,
        unit_td_start=td["unit_td_start"], unit_td_count=td["unit_td_count"],
        unit_lo_start=lo_start, unit_lo_count=lo_count, tut_start=tut_start, tut_count=tut_count,
        tut_tutor=np.array(tut_tutor), tutorials=tutorials,
        **{k: v for k, v in td.items() if k.startswith("td_")},
    )


def _streams(emit, rng, streams: np.ndarray, created: np.ndarray) -> np.ndarray:
    """tutorial_streams; returns (unit, stream) -> tutorial_streams.id (0 = none)."""
    unit, s = expand(streams)
    ids = np.arange(1, len(unit) + 1)
    emit("tutorial_streams", {
        "id": ids, "unit_id": unit + 1, "name": take([x[0] for x in STREAMS], s),
        "abbreviation": take([x[1] for x in STREAMS], s),
        "activity_type_id": np.array([x[2] for x in STREAMS])[s],
        "created_at": created[unit],
        "updated_at": np.minimum(created[unit] + days(rng.uniform(0, 5, len(s))), NOW),
    })
    table = np.zeros((len(streams), 2), dtype=np.int64)
    table[unit, s] = ids
    return table


def _tutorials(rng, unit, stream, role, code, created, stream_ids) -> dict:
    n = len(unit)
    local = group_rank(unit * 2 + stream)
    abbreviation = text(take([x[3] for x in STREAMS], stream), "-",
                        take([f"{i:02d}" for i in range(1, 100)], local))
    return {
        "id": np.arange(1, n + 1), "unit_id": unit + 1, "unit_role_id": role,
        "tutorial_stream_id": stream_ids[unit, stream], "abbreviation": abbreviation,
        "code": text(code.take(pa.array(unit)), "_", abbreviation),
        "meeting_day": take(("Monday", "Tuesday", "Wednesday", "Thursday", "Friday"),
                            rng.integers(0, 5, n)),
        "meeting_time": take([f"{h:02d}:00" for h in range(8, 19)], rng.integers(0, 11, n)),
        "meeting_location": take(("LC2.104", "HD3.201", "KA4.015", "T2.08", "Online", "ic2.213"),
                                 rng.integers(0, 6, n)),
        "capacity": pick(rng, n, {25: 0.45, 30: 0.35, -1: 0.2}),
        "created_at": np.minimum(created[unit] + days(rng.uniform(1, 20, n)), NOW),
        "updated_at": np.minimum(created[unit] + days(rng.uniform(20, 60, n)), NOW),
    }


def _group_sets(emit, rng, units: np.ndarray, created: np.ndarray) -> None:
    n = len(units)
    stamp = np.minimum(created[units] + days(rng.uniform(5, 30, n)), NOW - DAY)
    null = old_rows_null(n)
    emit("group_sets", {
        "id": np.arange(1, n + 1), "unit_id": units + 1, "name": "Assignment Groups",
        "allow_students_to_create_groups": rng.random(n) < 0.7,
        "allow_students_to_manage_groups": rng.random(n) < 0.7,
        "keep_groups_in_same_class": rng.random(n) < 0.5, "capacity": rng.integers(3, 6, n),
        "locked": rng.random(n) < 0.2, "created_at": np.where(null, NAT, stamp),
        "updated_at": np.where(null, NAT, stamp + DAY),
    })
