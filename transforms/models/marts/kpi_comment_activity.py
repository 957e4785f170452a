"""kpi_comment_activity: a Polars model, because "the next staff comment on the same task after
each student comment" is one `join_asof`, clearer than the SQL window gymnastics it replaces."""

from __future__ import annotations

import polars as pl

from transforms.project import polars_model


@polars_model(inputs={
    "staging.stg_ontrack__task_comments": ["task_id", "author_user_id", "created_at",
                                           "content_type"],
    "staging.stg_ontrack__tasks": ["task_id", "project_id"],
    "intermediate.int_enrolled_projects": ["project_id", "unit_id", "student_user_id"],
    "staging.stg_ontrack__units": ["unit_id", "unit_code", "teaching_period_id"],
    "staging.stg_ontrack__teaching_periods": ["teaching_period_id", "teaching_period"],
})
def kpi_comment_activity(comments: pl.DataFrame, tasks: pl.DataFrame, projects: pl.DataFrame,
                         units: pl.DataFrame, periods: pl.DataFrame) -> pl.DataFrame:
    """What the table means (grain, definition, owner, flywheel): kpi_comment_activity.yml."""
    authored = (
        comments.join(tasks, on="task_id").join(projects, on="project_id")
        # Only what follows reads: ~2.6 M comments at scale 1 are sorted (issue #25, memory).
        .select(
            "task_id", "created_at", "content_type", "unit_id",
            by_student=pl.col("author_user_id") == pl.col("student_user_id"),
            week_start=pl.col("created_at").dt.truncate("1w").cast(pl.Date),
        )
        .sort("created_at")
    )
    staff_replies = (
        authored.filter(~pl.col("by_student"))
        .select("task_id", pl.col("created_at").alias("replied_at"))
    )
    with_reply = authored.filter(pl.col("by_student")).join_asof(
        staff_replies, left_on="created_at", right_on="replied_at", by="task_id",
        strategy="forward", allow_exact_matches=False, check_sortedness=False,  # sorted above
    )
    reply_hours = (
        with_reply.group_by("unit_id", "week_start", "content_type")
        .agg(median_staff_reply_hours=(
            (pl.col("replied_at") - pl.col("created_at")).dt.total_seconds() / 3600.0
        ).median())
    )
    counts = authored.group_by("unit_id", "week_start", "content_type").agg(
        student_comments=pl.col("by_student").sum().cast(pl.Int64),
        staff_comments=(~pl.col("by_student")).sum().cast(pl.Int64),
    )
    return (
        counts.join(reply_hours, on=["unit_id", "week_start", "content_type"], how="left")
        .join(units, on="unit_id")
        .join(periods, on="teaching_period_id", how="left")
        .select("unit_id", "unit_code", "teaching_period", "week_start", "content_type",
                "student_comments", "staff_comments", "median_staff_reply_hours")
        .sort("unit_id", "week_start", "content_type")
    )
