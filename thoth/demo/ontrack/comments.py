"""task_comments (every STI type OnTrack has), discussion_comments and comments_read_receipts
for one chunk of tasks.

Each kind of comment is built as its own block of rows; the blocks are concatenated, given ids
in time order, and threaded (`reply_to_id`) within each task.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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
    pick,
    reorder,
)
from thoth.demo.ontrack.tasks import Tasks, status_names

STUDENT_SAYS = np.array([
    "Hi, I have uploaded a new version. Could you take a look?",
    "I'm not sure what the task sheet means by the second part.",
    "Thanks for the feedback!",
    "I fixed the issue with the loop, is this better now?",
    "Could I get some help with the last question?\nI tried a few approaches but none worked.",
    "Sorry this is a bit late, I was unwell this week.",
], dtype=object)
TUTOR_SAYS = np.array([
    "Good work, this is complete.",
    "Please fix the indentation and resubmit.",
    "Have a look at the lecture notes on this topic and try again.",
    "Nice job! Make sure you explain your reasoning in the reflection.",
    "Your code does not compile; please check the error messages.\nResubmit when fixed.",
    "Let's discuss this in class next week.",
], dtype=object)
REASONS = np.array([
    "I was sick this week and have a medical certificate.",
    "I have three assessments due on the same day.",
    "Work commitments this week, could I please have an extension?",
    "Family emergency, I need a bit more time.",
], dtype=object)
_FLOAT = ("discussion_comment_id", "number_of_prompts", "extension_granted", "assessor_id",
          "task_status_id", "extension_weeks", "commentable_id")
_TIME = ("time_discussion_started", "time_discussion_completed", "date_extension_assessed")
_TEXT = ("comment", "content_type", "attachment_extension", "type", "extension_response",
         "commentable_type")


def _block(task: np.ndarray, user: np.ndarray, recipient: np.ndarray, when: np.ndarray,
           **cols) -> dict:
    """One kind of comment, with every other column NULL."""
    n = len(task)
    block = {"task": task, "user_id": user, "recipient_id": recipient, "created_at": when}
    block.update({c: np.full(n, np.nan) for c in _FLOAT})
    block.update({c: np.full(n, NAT) for c in _TIME})
    block.update({c: np.full(n, None, dtype=object) for c in _TEXT})
    for name, value in cols.items():
        block[name] = np.broadcast_to(value, (n,)) if np.isscalar(value) else value
    return block


def _extension_blocks(rng, ac: Academic, t: Tasks) -> list[dict]:
    n = len(t.ids)
    target = ac.td_target[t.td]
    deadline = np.where(t.submitted, t.last_submission, t.cut)
    blocks = []
    # Granted: every task with extensions got them through a request answered by its tutor.
    g = np.flatnonzero(t.extensions > 0)
    asked = np.minimum(np.maximum(target[g] - days(rng.uniform(0, 6, len(g))), t.created[g]),
                       deadline[g])
    answered = np.minimum(asked + hours(rng.uniform(0.5, 48, len(g))), NOW)
    new_due = np.minimum(target[g] + days(7 * t.extensions[g]), ac.td_due[t.td[g]])
    response = pc.binary_join_element_wise(
        "Time extended until ", pc.strftime(pa.array(new_due), "%d %b %Y"), "")
    blocks.append(_block(g, t.student[g], t.tutor[g], asked, extension_weeks=t.extensions[g],
                         extension_granted=1.0, date_extension_assessed=answered,
                         assessor_id=t.tutor[g], extension_response=np.array(
                             response.to_pylist(), dtype=object)))
    # Declined, on tasks whose deadline has passed.
    d = np.flatnonzero((t.extensions == 0) & (target < t.cut) & (rng.random(n) < 0.025))
    asked = between(rng, t.created[d], np.maximum(np.minimum(target[d], t.cut[d]), t.created[d]))
    blocks.append(_block(d, t.student[d], t.tutor[d], asked,
                         extension_weeks=rng.integers(1, 3, len(d)), extension_granted=0.0,
                         date_extension_assessed=np.minimum(
                             asked + hours(rng.uniform(1, 48, len(d))), NOW),
                         assessor_id=t.tutor[d],
                         extension_response="Extension declined: please submit what you have."))
    # Still waiting for an answer: recent requests on tasks due about now.
    open_ = (t.cut == NOW) & (t.extensions == 0) & (target > NOW - 7 * DAY) & \
        (target < NOW + 14 * DAY)
    p = np.flatnonzero(at_least(open_ & (rng.random(n) < 0.05), open_, 1))
    asked = between(rng, np.maximum(t.created[p], NOW - 3 * DAY), np.full(len(p), NOW - HOUR))
    blocks.append(_block(p, t.student[p], t.tutor[p], asked,
                         extension_weeks=rng.integers(1, 3, len(p))))
    for b, reason in zip(blocks, (0, 1, 2), strict=True):
        b["comment"] = REASONS[(rng.integers(0, len(REASONS), len(b["task"])) + reason)
                               % len(REASONS)]
        b["type"][:], b["content_type"][:] = "ExtensionComment", "extension"
    return blocks


def write_comments(emit, rng, ac: Academic, t: Tasks, auto: dict, counts: dict) -> None:
    n = len(t.ids)
    n_sub = np.bincount(t.sub_task, minlength=n)
    blocks = []

    # Plain text conversation, more of it around submissions.
    parent, _ = expand(rng.poisson(np.where(t.submitted, 0.12 + 0.08 * n_sub, 0.03)))
    by_student = rng.random(len(parent)) < 0.45
    student, tutor = t.student[parent], t.tutor[parent]
    said = np.where(by_student, STUDENT_SAYS[rng.integers(0, 6, len(parent))],
                    TUTOR_SAYS[rng.integers(0, 6, len(parent))])
    blocks.append(_block(parent, np.where(by_student, student, tutor),
                         np.where(by_student, tutor, student),
                         between(rng, t.created[parent],
                                 np.minimum(t.updated[parent] + 2 * DAY, NOW)),
                         comment=said, content_type="text"))
    # Status changes a tutor made, posted into the conversation.
    s = np.flatnonzero(~np.isnat(t.sub_assessed) & (rng.random(len(t.sub_task)) < 0.2))
    task = t.sub_task[s]
    blocks.append(_block(task, t.sub_assessor[s], t.student[task], t.sub_assessed[s],
                         comment=status_names(t.sub_outcome[s], t.sub_assessed[s]),
                         content_type="status", type="TaskStatusComment",
                         task_status_id=t.sub_outcome[s]))
    # Attachments: audio feedback, screenshots, marked-up PDFs.
    a, _ = expand(np.where(t.submitted, rng.poisson(0.03, n), 0))
    kind = pick(rng, len(a), {0: 0.4, 1: 0.35, 2: 0.25})
    staff = rng.random(len(a)) < 0.7
    blocks.append(_block(a, np.where(staff, t.tutor[a], t.student[a]),
                         np.where(staff, t.student[a], t.tutor[a]),
                         between(rng, t.first_submission[a], t.updated[a]),
                         content_type=np.array(["image", "pdf", "audio"], dtype=object)[kind],
                         attachment_extension=np.array([".png", ".pdf", ".wav"],
                                                       dtype=object)[kind]))
    blocks += _extension_blocks(rng, ac, t)
    blocks.append(_discussions(emit, rng, t, counts))
    x = np.flatnonzero(t.scorm_extensions > 0)
    asked = between(rng, t.created[x], t.updated[x])
    blocks.append(_block(x, t.student[x], t.tutor[x], asked, type="ScormExtensionComment",
                         content_type="scorm_extension", comment="Could I have another attempt?",
                         extension_granted=1.0, assessor_id=t.tutor[x],
                         date_extension_assessed=np.minimum(asked + 6 * HOUR, NOW),
                         extension_response="Extra attempt granted"))
    overseer = auto["type"] == "OverseerAssessment"
    task = auto["task"]
    blocks.append(_block(task, np.where(overseer, t.tutor[task], t.student[task]),
                         np.where(overseer, t.student[task], t.tutor[task]), auto["when"],
                         type=np.where(overseer, "AssessmentComment", "ScormComment"),
                         content_type=np.where(overseer, "assessment", "scorm"),
                         comment=np.where(overseer, "Automated feedback: tests ran",
                                          "Test attempt completed"),
                         commentable_id=auto["id"].astype(np.float64),
                         commentable_type=auto["type"]))
    rows = {k: np.concatenate([b[k] for b in blocks]) for k in blocks[0]}
    _write(emit, rng, t, rows, counts)


def _discussions(emit, rng, t: Tasks, counts: dict) -> dict:
    """Legacy recorded discussions: a discussion_comments row behind each DiscussionComment."""
    chosen = np.flatnonzero(at_least(t.submitted & (rng.random(len(t.ids)) < 0.002),
                                     t.submitted, 2))
    k = len(chosen)
    began = between(rng, t.first_submission[chosen], t.updated[chosen])
    ended = np.minimum(began + hours(rng.uniform(0.03, 0.25, k)), NOW)
    prompts = rng.integers(1, 4, k)
    ids = counts.get("discussion_comments", 0) + 1 + np.arange(k)
    emit("discussion_comments", {"id": ids, "time_started": began, "time_completed": ended,
                                 "number_of_prompts": prompts, "created_at": began,
                                 "updated_at": ended})
    return _block(chosen, t.tutor[chosen], t.student[chosen], began, type="DiscussionComment",
                  content_type="discussion", discussion_comment_id=ids.astype(np.float64),
                  time_discussion_started=began, time_discussion_completed=ended,
                  number_of_prompts=prompts.astype(np.float64))


def _write(emit, rng, t: Tasks, rows: dict, counts: dict) -> None:
    n = len(rows["task"])
    when = rows["created_at"]
    ids, _ = ids_by_time(when, counts.get("task_comments", 0) + 1)
    # Threads: a quarter of the text comments answer the comment before them on the same task.
    thread = np.lexsort((when, rows["task"]))
    same_task = np.append(False, rows["task"][thread][1:] == rows["task"][thread][:-1])
    replies = same_task & (rows["content_type"][thread] == "text") & (rng.random(n) < 0.25)
    reply_to = np.full(n, np.nan)
    reply_to[thread[replies]] = ids[thread[np.flatnonzero(replies) - 1]]
    overseer = rows["commentable_type"] == "OverseerAssessment"
    columns = {k: v for k, v in rows.items() if k != "task"}
    columns.update(id=ids, task_id=t.ids[rows["task"]], reply_to_id=reply_to,
                   overseer_assessment_id=np.where(overseer, rows["commentable_id"], np.nan))
    order = np.argsort(ids)
    emit("task_comments", reorder(columns, order))

    # Read receipts: the author's at once, the recipient's when (and if) they open it.
    staff_recipient = rows["recipient_id"] != t.student[rows["task"]]
    reads = rng.random(n) < np.where(staff_recipient, 0.85, 0.7)
    read_at = when + hours(np.clip(rng.lognormal(np.log(8.0), 1.5, n), 0.01, 60 * 24))
    reads &= read_at <= NOW
    comment = np.concatenate([ids, ids[reads]])
    user = np.concatenate([rows["user_id"], rows["recipient_id"][reads]])
    at = np.concatenate([when, read_at[reads]])
    r_ids, order = ids_by_time(at, counts.get("comments_read_receipts", 0) + 1)
    emit("comments_read_receipts", reorder({
        "id": r_ids, "task_comment_id": comment, "user_id": user, "created_at": at,
        "updated_at": at,
    }, order))
