"""The smaller task-level tables of one chunk: automated assessments (Overseer, SCORM tests),
pins, similarity reports (Moss / Turnitin) and students' learning-outcome self-ratings."""

from __future__ import annotations

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
    take,
    text,
    uuids,
)
from thoth.demo.ontrack.people import People
from thoth.demo.ontrack.tasks import Tasks


def automated(emit, rng, ac: Academic, pe: People, t: Tasks, first_oa: int,
              first_attempt: int) -> dict:
    """overseer_assessments (one per submission of an Overseer task) and test_attempts.

    Returns what the comment generator posts about them: task row, time, commentable id/type.
    """
    m = ac.td_overseer[t.td[t.sub_task]]
    task, when = t.sub_task[m], t.sub_time[m]
    k = len(task)
    queued = when > NOW - 2 * HOUR
    status = np.where(queued, 1, pick(rng, k, {3: 0.9, 2: 0.05, 0: 0.05}))
    done = status == 3
    updated = np.minimum(when + hours(rng.uniform(0.02, 0.5, k)), NOW)
    oa_ids, order = ids_by_time(when, first_oa)
    emit("overseer_assessments", reorder({
        "id": oa_ids, "task_id": t.ids[task],
        "submission_timestamp": text(when.astype("datetime64[s]").astype(np.int64)),
        "status": status, "created_at": when, "updated_at": updated,
        "result_task_status": null_where(
            take(("ready_for_feedback", "fix_and_resubmit", "need_help"),
                 pick(rng, k, {0: 0.6, 1: 0.3, 2: 0.1})), ~done),
    }, order))

    # SCORM (Numbas) tests: a few attempts per touched task of a test-enabled definition.
    tested = ac.td_scorm[t.td] & (t.status != 1)
    parent, _ = expand(np.where(tested, 1 + rng.poisson(0.6, len(t.ids)), 0))
    j = len(parent)
    attempted = between(rng, t.created[parent], t.updated[parent])
    terminated = rng.random(j) < 0.9
    success = terminated & (rng.random(j) < 0.7)
    score = np.round(np.where(success, rng.uniform(0.6, 1.0, j), rng.uniform(0.0, 0.6, j)), 2)
    sid = pe.student_id.take(pa.array(t.student[parent] - 1))
    name = pe.full_name.take(pa.array(t.student[parent] - 1))
    cmi = text('{"cmi.learner_id":"', sid, '","cmi.learner_name":"', name,
               '","cmi.completion_status":"', take(("incomplete", "completed"), terminated),
               '","cmi.success_status":"', take(("unknown", "failed", "passed"),
                                                terminated.astype(np.int64) + success),
               '","cmi.score.scaled":"', score, '","cmi.entry":"ab-initio","cmi.exit":"',
               take(("suspend", "normal"), terminated), '"}')
    ta_ids, order = ids_by_time(attempted, first_attempt)
    if j:
        emit("test_attempts", reorder({
            "id": ta_ids, "task_id": t.ids[parent], "attempted_time": attempted,
            "terminated": terminated, "completion_status": terminated,
            "success_status": success, "score_scaled": score, "cmi_datamodel": cmi,
        }, order))
    ended = np.minimum(attempted + hours(rng.uniform(0.1, 1.0, j)), NOW)
    # Only some results are posted into the task's conversation.
    done &= rng.random(k) < 0.5
    terminated &= rng.random(j) < 0.4
    return {
        "task": np.concatenate([task[done], parent[terminated]]),
        "when": np.concatenate([updated[done], ended[terminated]]),
        "id": np.concatenate([oa_ids[done], ta_ids[terminated]]),
        "type": np.concatenate([np.full(done.sum(), "OverseerAssessment", dtype=object),
                                np.full(terminated.sum(), "TestAttempt", dtype=object)]),
    }


def pins_and_similarities(emit, rng, ac: Academic, pe: People, t: Tasks, counts: dict,
                          first_chunk: bool) -> list[tuple[int, np.datetime64]]:
    """task_pins, task_similarities, tii_submissions and the students' outcome ratings.

    Returns (tii_submissions.id, submitted_at) for the Turnitin action log.
    """
    n = len(t.ids)
    pinned = np.flatnonzero(at_least(rng.random(n) < 0.003, np.ones(n, bool), 2))
    stamp = between(rng, t.created[pinned], np.full(len(pinned), NOW))
    ids, order = ids_by_time(stamp, counts.get("task_pins", 0) + 1)
    emit("task_pins", reorder({"id": ids, "task_id": t.ids[pinned], "user_id": t.tutor[pinned],
                               "created_at": stamp, "updated_at": stamp}, order))

    # Similarity reports pair a submitted task with another submission of the same definition.
    subs = np.flatnonzero(t.submitted)
    subs = subs[np.argsort(t.td[subs], kind="stable")]
    same_next = np.append(t.td[subs][1:] == t.td[subs][:-1], False)
    flagged_rows = at_least((rng.random(len(subs)) < 0.006) & same_next, same_next, 2)
    task, other = subs[flagged_rows], subs[np.flatnonzero(flagged_rows) + 1]
    k = len(task)
    tii = rng.random(k) < 0.3
    tii[:1] = True  # at least one Turnitin report per chunk, with its submission
    pct = rng.integers(10, 96, k)
    created = np.minimum(t.last_submission[task] + hours(rng.uniform(1, 48, k)), NOW)
    sim_ids, order = ids_by_time(created, counts.get("task_similarities", 0) + 1)
    tii_rows = np.flatnonzero(tii)
    tii_ids = np.full(k, np.nan)
    tii_ids[tii_rows] = counts.get("tii_submissions", 0) + 1 + np.arange(len(tii_rows))
    null = rng.random(k) < 0.1  # rows from before the timestamps were added
    null[:1] |= first_chunk
    emit("task_similarities", reorder({
        "id": sim_ids, "task_id": t.ids[task], "other_task_id": t.ids[other], "pct": pct,
        "flagged": (pct >= 70) & (rng.random(k) < 0.6),
        "type": np.where(tii, "TiiTaskSimilarity", "MossTaskSimilarity"),
        "plagiarism_report_url": null_where(text("/api/tasks/", t.ids[task], "/similarity"),
                                            tii),
        "tii_submission_id": tii_ids, "created_at": np.where(null, NAT, created),
        "updated_at": np.where(null, NAT, created),
    }, order))
    if len(tii_rows):
        r = tii_rows
        j = len(r)
        emit("tii_submissions", {
            "id": tii_ids[r].astype(np.int64), "task_id": t.ids[task[r]],
            "tii_task_similarity_id": sim_ids[r], "submitted_by_user_id": t.student[task[r]],
            "filename": "submission.pdf", "idx": 0, "submission_id": uuids(rng, j),
            "similarity_pdf_id": uuids(rng, j), "submitted_at": t.last_submission[task[r]],
            "similarity_request_at": created[r],
            "status": rng.integers(3, 9, j), "overall_match_percentage": pct[r],
            "created_at": t.last_submission[task[r]], "updated_at": created[r],
        })
    tii_log = list(zip(tii_ids[tii_rows].astype(np.int64).tolist(),
                       t.last_submission[task[tii_rows]], strict=True))

    # Students rate their completed tasks against the unit's learning outcomes.
    complete = t.status == 2
    rated = np.flatnonzero(at_least(complete & (rng.random(n) < 0.02), complete, 1))
    unit = pe.proj_unit[t.project[rated]]
    outcome = ac.unit_lo_start[unit] + rng.integers(0, 1 << 30, len(rated)) % \
        ac.unit_lo_count[unit]
    stamp = between(rng, t.updated[rated], np.minimum(t.updated[rated] + 30 * DAY, NOW))
    ids, order = ids_by_time(stamp, counts.get("learning_outcome_task_links", 0) + 1)
    emit("learning_outcome_task_links", reorder({
        "id": ids, "task_id": t.ids[rated], "task_definition_id": t.td[rated] + 1,
        "learning_outcome_id": outcome + 1, "rating": rng.integers(1, 6, len(rated)),
        "description": take(("This task helped me apply the outcome in practice.",
                             "I can now explain this concept to others.",
                             "I found this hard but I understand it better now."),
                            rng.integers(0, 3, len(rated))),
        "created_at": stamp,
        "updated_at": np.minimum(stamp + days(rng.uniform(0, 1, len(rated))), NOW),
    }, order))
    return tii_log


def tii_actions(emit, rng, tii: list[tuple[int, np.datetime64]]) -> None:
    """Turnitin job log: one action per submission, plus the integration's periodic checks."""
    ids = np.array([i for i, _ in tii] + [0, 0], dtype=np.int64)
    when = np.array([w for _, w in tii] + [NOW - 30 * DAY, NOW - DAY], dtype="datetime64[us]")
    n = len(ids)
    ran = np.minimum(when + HOUR, NOW)
    is_sub = ids > 0
    complete = rng.random(n) < 0.85
    failed = ~complete & (rng.random(n) < 0.5)
    emit("tii_actions", {
        "id": np.arange(1, n + 1), "entity_type": null_where(
            pa.repeat("TiiSubmission", n), ~is_sub),
        "entity_id": np.where(is_sub, ids, np.nan),
        "type": np.where(is_sub, "TiiActionUploadSubmission", "TiiActionFetchFeaturesEnabled"),
        "complete": complete, "retries": np.where(complete, 0, rng.integers(1, 4, n)),
        "last_run": ran, "complete_at": np.where(complete, ran, NAT),
        "retry": ~complete & ~failed, "error_code": np.where(failed, 429, np.nan),
        "custom_error_message": null_where(pa.repeat("Rate limited by Turnitin", n), ~failed),
        "log": text("[", when.astype("datetime64[s]").astype(str), "] run ok"),
        "params": "{}", "created_at": when, "updated_at": ran,
    })

