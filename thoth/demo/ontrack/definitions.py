"""Task definitions per unit (what students must do, with dates and grades) and the unit
learning outcomes they are aligned to."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from thoth.demo.ontrack.fake import (
    DAY,
    GRADE_LETTERS,
    GRADE_WORDS,
    NAT,
    NOW,
    TASK_TOPICS,
    at_least,
    between,
    days,
    expand,
    group_rank,
    hex_tokens,
    null_where,
    old_rows_null,
    pick,
    take,
    text,
    uuids,
)

# 150k projects x ~33 tasks = 5M tasks at scale 1 needs ~28-56 task definitions per unit.
TD_PER_UNIT = (28, 56)
UPLOADS = (
    '[{"key":"file0","name":"Report","type":"document"}]',
    '[{"key":"file0","name":"Source code","type":"code"},'
    '{"key":"file1","name":"Screenshot","type":"image"}]',
    '[{"key":"file0","name":"Program","type":"code","tii_check":false}]',
)


def task_definitions(emit, rng, variant, unit_start, unit_end, created, streams, stream_ids,
                      group_set, featured) -> dict:
    count = rng.integers(TD_PER_UNIT[0], TD_PER_UNIT[1] + 1, len(unit_start))
    unit, _ = expand(count)
    n = len(unit)
    grade = pick(rng, n, {0: 0.55, 1: 0.2, 2: 0.15, 3: 0.1})
    # Pass tasks come early in the trimester, High Distinction ones late.
    lo, hi = np.array([1, 3, 5, 6])[grade], np.array([10, 11, 11, 12])[grade]
    week = lo + (rng.random(n) * (hi - lo + 1)).astype(np.int64)
    order = np.lexsort((rng.random(n), grade, week, unit))
    grade, week = grade[order], week[order]
    rank = group_rank(unit)
    seq = group_rank(unit * 100 + week) + 1
    in_group_unit = group_set[unit] > 0
    group_task = in_group_unit & np.isin(rank, (3, 4))
    grade = np.where(group_task, 0, grade)  # group tasks are for everyone
    topic = take(TASK_TOPICS, rng.integers(0, len(TASK_TOPICS), n))
    target = unit_start[unit] + days((week - 1) * 7 + 4)  # the Friday of the week, 00:00
    start = np.maximum(target - days(7 * rng.integers(1, 4, n)), unit_start[unit] - 7 * DAY)
    due = target + days(7 * rng.integers(1, 5, n))
    # Automated feedback is an opt-in few: one task in each featured unit, plus 1%.
    overseer = ((rank == 1) & featured[unit]) | (rng.random(n) < 0.01)
    scorm = (((rank == 2) & featured[unit]) | (rng.random(n) < 0.01)) & (variant != "2024-01")
    stream = ((streams[unit] > 1) & (rng.random(n) < 0.3)).astype(np.int64)
    graded = (grade >= 2) & (rng.random(n) < 0.5)
    max_quality = np.where(rng.random(n) < 0.05, pick(rng, n, {5: 1, 10: 1}), 0)
    tii = at_least(rng.random(n) < 0.02, np.ones(n, dtype=bool), 2)
    td_created = np.minimum(created[unit] + days(rng.uniform(0, 30, n)), NOW)
    label = text(week, ".", seq)
    emit("task_definitions", {
        "id": np.arange(1, n + 1), "unit_id": unit + 1, "abbreviation":
            text(label, take(GRADE_LETTERS, grade)),
        "name": text(take(GRADE_WORDS, grade), " Task ", label, ": ", topic),
        "description": text("Demonstrate your understanding of ", topic, " in week ", week, "."),
        "weighting": grade + 1, "target_grade": grade, "target_date": target,
        "start_date": start, "due_date": due, "created_at": td_created,
        "updated_at": between(rng, td_created, np.minimum(np.maximum(target, td_created), NOW)),
        "upload_requirements": take(UPLOADS, rng.integers(0, len(UPLOADS), n)),
        "restrict_status_updates": rng.random(n) < 0.05, "plagiarism_updated": False,
        "plagiarism_warn_pct": np.where(rng.random(n) < 0.8, 50, 80),
        "group_set_id": np.where(group_task, group_set[unit], np.nan),
        "is_graded": graded, "max_quality_pts": max_quality,
        "tutorial_stream_id": stream_ids[unit, stream],
        "assessment_enabled": overseer,
        "overseer_image_id": np.where(overseer, 1 + rng.integers(0, 3, n), np.nan),
        "tii_group_id": null_where(text("tii-", hex_tokens(rng, n, 12)), ~tii),
        "moss_language": null_where(pa.repeat(pa.scalar("moss c"), n), rng.random(n) > 0.1),
        "scorm_enabled": scorm, "scorm_allow_review": scorm & (rng.random(n) < 0.5),
        "scorm_bypass_test": False, "scorm_time_delay_enabled": scorm & (rng.random(n) < 0.3),
        "scorm_attempt_limit": np.where(scorm & (rng.random(n) < 0.5), 3, 0),
    })
    tii_ids = np.flatnonzero(tii)
    if len(tii_ids):
        k = len(tii_ids)
        stamp = np.minimum(td_created[tii_ids], NOW - DAY)
        emit("tii_group_attachments", {
            "id": np.arange(1, k + 1), "task_definition_id": tii_ids + 1,
            "filename": take(("assignment_brief.pdf", "starter_code.zip"), tii_ids),
            "group_attachment_id": uuids(rng, k), "file_sha1_digest": hex_tokens(rng, k, 40),
            "status": rng.integers(0, 4, k), "created_at": stamp, "updated_at": stamp + DAY,
        })
    starts = np.concatenate([[0], np.cumsum(count)[:-1]])
    return {"unit_td_start": starts, "unit_td_count": count, "td_grade": grade,
            "td_start": start, "td_target": target, "td_due": due, "td_stream": stream,
            "td_graded": graded, "td_max_quality": max_quality, "td_overseer": overseer,
            "td_scorm": scorm, "td_group": group_task, "td_unit": unit, "td_created": td_created}


def learning_outcomes(emit, rng, td: dict, n_units: int) -> tuple[np.ndarray, np.ndarray]:
    count = rng.integers(3, 7, n_units)
    unit, rank = expand(count)
    n = len(unit)
    emit("learning_outcomes", {
        "id": np.arange(1, n + 1), "unit_id": unit + 1, "ilo_number": rank + 1,
        "abbreviation": text("ULO", rank + 1),
        "name": take(("Design", "Implement", "Evaluate", "Communicate", "Collaborate", "Reflect"),
                     rank),
        "description": text("Students will be able to apply unit learning outcome ", rank + 1,
                             " to professional computing problems."),
    })
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    # Staff alignment: each task definition rated against one or two outcomes (task_id NULL).
    n_links = 1 + (rng.random(len(td["td_unit"])) < 0.5)
    parent, k = expand(n_links)
    tu = td["td_unit"][parent]
    first = rng.integers(0, 1 << 30, len(parent))
    lo = start[tu] + (first + k) % count[tu]
    stamp = td["td_created"][parent]
    null = old_rows_null(len(parent))
    emit("learning_outcome_task_links", {
        "id": np.arange(1, len(parent) + 1), "task_definition_id": parent + 1,
        "learning_outcome_id": lo + 1, "task_id": None, "rating": rng.integers(1, 6, len(parent)),
        "description": None, "created_at": np.where(null, NAT, stamp),
        "updated_at": np.where(null, NAT, stamp),
    })
    return start, count
