"""The OnTrack schema as one Python description, from which both engines' DDL is rendered.

Column specs are written in the notation of shared/ontrack/SCHEMA.md (`name type [NN] [=default]`)
so they can be checked against it line by line. Every table also gets `id bigint` auto-increment
primary key. A trailing `[8.0]` or `[2024-01]` marks a column that only one schema variant has.
"""

from __future__ import annotations

from dataclasses import dataclass

VARIANTS = ("8.0", "2024-01")
TYPES = ("string", "text", "integer", "bigint", "boolean", "datetime", "date", "decimal", "float")


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # one of TYPES (Rails type names)
    not_null: bool = False
    default: str | None = None  # the literal as in schema.rb: true, 0, "{}", ...
    length: int = 255  # varchar length for `string`
    variant: str | None = None  # None = in every variant


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    unique: tuple[tuple[str, ...], ...] = ()
    variant: str | None = None  # None = in every variant

    def columns_for(self, variant: str) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.variant in (None, variant))


def _column(spec: str) -> Column:
    words = spec.split()
    name, type_, rest = words[0], words[1], words[2:]
    length, variant, not_null, default = 255, None, False, None
    if "(" in type_:  # string(4096) or decimal(p10)
        type_, arg = type_.rstrip(")").split("(")
        if type_ == "string":
            length = int(arg)
    for word in rest:
        if word == "NN":
            not_null = True
        elif word.startswith("="):
            default = word[1:].strip('"')
        elif word.startswith("["):
            variant = word.strip("[]")
        else:
            raise ValueError(f"bad column spec {spec!r}")
    if type_ not in TYPES:
        raise ValueError(f"unknown type in {spec!r}")
    return Column(name, type_, not_null, default, length, variant)


def _table(name: str, spec: str, unique: str = "", variant: str | None = None) -> Table:
    columns = tuple(_column(c) for c in spec.split(", "))
    keys = tuple(tuple(k.split(",")) for k in unique.split()) if unique else ()
    return Table(name, columns, keys, variant)


_TS = "created_at datetime NN, updated_at datetime NN"
_TS_NULL = "created_at datetime, updated_at datetime"

TABLES: tuple[Table, ...] = (
    _table("activity_types", f"name string NN, abbreviation string NN, {_TS}",
           "abbreviation name"),
    _table("auth_tokens", "auth_token_expiry datetime NN, user_id bigint, "
           "authentication_token string NN, token_type integer NN =0"),
    _table("breaks", "start_date datetime NN, number_of_weeks integer NN, "
           "teaching_period_id bigint"),
    _table("campuses", "name string NN, mode integer NN, abbreviation string NN, "
           "active boolean NN", "abbreviation name"),
    _table("comments_read_receipts", f"task_comment_id bigint NN, user_id bigint NN, {_TS}",
           "task_comment_id,user_id"),
    _table("discussion_comments", "time_started datetime, time_completed datetime, "
           f"number_of_prompts integer, {_TS}"),
    _table("group_memberships", f"group_id bigint, project_id bigint, active boolean =true, "
           f"{_TS_NULL}"),
    _table("group_sets", "unit_id bigint, name string, "
           "allow_students_to_create_groups boolean =true, "
           "allow_students_to_manage_groups boolean =true, "
           f"keep_groups_in_same_class boolean =false, {_TS_NULL}, capacity integer, "
           "locked boolean NN =false", "name,unit_id"),
    _table("group_submissions", "group_id bigint, notes string, submitted_by_project_id bigint, "
           f"{_TS_NULL}, task_definition_id bigint"),
    _table("groups", f"group_set_id bigint, tutorial_id bigint, name string, {_TS_NULL}, "
           "capacity_adjustment integer NN =0, locked boolean NN =false", "name,group_set_id"),
    _table("learning_outcome_task_links", "description text, rating integer, "
           "task_definition_id bigint, task_id bigint, learning_outcome_id bigint, "
           f"{_TS_NULL}"),
    _table("learning_outcomes", "unit_id bigint, ilo_number integer, name string, "
           "description string(4096), abbreviation string", "abbreviation,unit_id"),
    _table("logins", f"timestamp datetime, user_id bigint, {_TS}"),
    _table("overseer_assessments", "task_id bigint NN, submission_timestamp string NN, "
           f"result_task_status string, status integer NN =0, {_TS}",
           "task_id,submission_timestamp"),
    _table("overseer_images", f"name string NN, tag string NN, {_TS}, pulled_image_text text, "
           "pulled_image_status integer, last_pulled_date datetime", "name tag"),
    _table("projects", f"unit_id bigint, project_role string, {_TS}, started boolean, "
           "progress string, status string, task_stats string, enrolled boolean =true, "
           "target_grade integer =0, compile_portfolio boolean =false, "
           "portfolio_production_date date, user_id bigint, grade integer =0, "
           "grade_rationale string(4096), campus_id bigint, submitted_grade integer, "
           "uses_draft_learning_summary boolean NN =false, "
           "portfolio_auto_generated boolean NN =false, portfolio_generation_pid integer"),
    _table("roles", f"name string, description text, {_TS}"),
    _table("task_comments", "task_id bigint NN, user_id bigint NN, comment string(4096), "
           "created_at datetime NN, recipient_id bigint, content_type string, "
           "attachment_extension string, discussion_comment_id bigint, type string, "
           "time_discussion_started datetime, time_discussion_completed datetime, "
           "number_of_prompts integer, date_extension_assessed datetime, "
           "extension_granted boolean, assessor_id bigint, task_status_id bigint, "
           "extension_weeks integer, extension_response string, reply_to_id bigint, "
           "overseer_assessment_id bigint [2024-01], "
           "commentable_id bigint [8.0], commentable_type string [8.0]"),
    _table("task_definitions", "unit_id bigint, name string, description string(4096), "
           f"weighting decimal(p10), target_date datetime NN, {_TS}, abbreviation string, "
           "upload_requirements string(4096), target_grade integer =0, "
           "restrict_status_updates boolean =false, plagiarism_report_url string, "
           "plagiarism_updated boolean =false, plagiarism_warn_pct integer =50, "
           "group_set_id bigint, due_date datetime, start_date datetime NN, "
           "is_graded boolean =false, max_quality_pts integer =0, tutorial_stream_id bigint, "
           "assessment_enabled boolean =false, overseer_image_id bigint, tii_group_id string, "
           "moss_language string, scorm_enabled boolean =false [8.0], "
           "scorm_allow_review boolean =false [8.0], scorm_bypass_test boolean =false [8.0], "
           "scorm_time_delay_enabled boolean =false [8.0], "
           "scorm_attempt_limit integer =0 [8.0]", "abbreviation,unit_id name,unit_id"),
    _table("task_engagements", f"engagement_time datetime, engagement string, task_id bigint, "
           f"{_TS}"),
    _table("task_pins", f"task_id bigint NN, user_id bigint NN, {_TS}", "task_id,user_id"),
    _table("task_similarities", "task_id bigint, other_task_id bigint, pct integer, "
           f"{_TS_NULL}, plagiarism_report_url string, flagged boolean =false, type string, "
           "tii_submission_id bigint"),
    _table("task_statuses", f"name string, description string, {_TS}"),
    _table("task_submissions", "submission_time datetime, assessment_time datetime, "
           f"outcome string, task_id bigint, {_TS}, assessor_id bigint"),
    _table("tasks", "task_definition_id bigint, project_id bigint, task_status_id bigint, "
           f"{_TS}, completion_date date, portfolio_evidence string, "
           "include_in_portfolio boolean =true, file_uploaded_at datetime, "
           "group_submission_id bigint, contribution_pct integer =100, "
           "times_assessed integer =0, submission_date datetime, assessment_date datetime, "
           "grade integer, contribution_pts integer =3, quality_pts integer =-1, "
           "extensions integer NN =0, scorm_extensions integer NN =0 [8.0]",
           "project_id,task_definition_id"),
    _table("teaching_periods", "period string NN, start_date datetime NN, "
           "end_date datetime NN, year integer NN, active_until datetime NN", "period,year"),
    _table("test_attempts", "task_id bigint, attempted_time datetime NN, "
           "terminated boolean =false, completion_status boolean =false, "
           "success_status boolean =false, score_scaled float =0.0, cmi_datamodel text",
           variant="8.0"),
    _table("tii_actions", "entity_type string, entity_id bigint, type string, "
           "complete boolean NN =false, retries integer NN =0, last_run datetime, "
           "complete_at datetime, retry boolean NN =true, error_code integer, "
           "custom_error_message text, log text, params string(1024) =\"{}\", " + _TS),
    _table("tii_group_attachments", "task_definition_id bigint NN, filename string NN, "
           "group_attachment_id string, file_sha1_digest string, status integer NN =0, "
           + _TS),
    _table("tii_submissions", "task_id bigint NN, tii_task_similarity_id bigint, "
           "submitted_by_user_id bigint NN, filename string NN, idx integer NN, "
           "submission_id string, similarity_pdf_id string, submitted_at datetime, "
           "similarity_request_at datetime, status integer NN =0, "
           f"overall_match_percentage integer, {_TS}"),
    _table("tutorial_enrolments", f"{_TS}, project_id bigint NN, tutorial_id bigint NN",
           "tutorial_id,project_id"),
    _table("tutorial_streams", f"name string NN, abbreviation string NN, {_TS}, "
           "activity_type_id bigint NN, unit_id bigint NN", "abbreviation,unit_id name,unit_id"),
    _table("tutorials", "unit_id bigint, meeting_day string, meeting_time string, "
           f"meeting_location string, {_TS}, code string, unit_role_id bigint, "
           "abbreviation string, capacity integer =-1, campus_id bigint, "
           "tutorial_stream_id bigint", "abbreviation,unit_id"),
    _table("unit_roles", f"user_id bigint, tutorial_id bigint, {_TS}, role_id bigint, "
           "unit_id bigint"),
    _table("units", "name string, description string(4096), start_date datetime, "
           f"end_date datetime, {_TS}, code string, active boolean =true, "
           "last_plagarism_scan datetime, teaching_period_id bigint, main_convenor_id bigint, "
           "auto_apply_extension_before_deadline boolean NN =true, "
           "send_notifications boolean NN =true, enable_sync_timetable boolean NN =true, "
           "enable_sync_enrolments boolean NN =true, draft_task_definition_id bigint, "
           "allow_student_extension_requests boolean NN =true, "
           "extension_weeks_on_resubmit_request integer NN =1, "
           "allow_student_change_tutorial boolean NN =true, assessment_enabled boolean =true, "
           "overseer_image_id bigint, portfolio_auto_generation_date datetime, "
           "tii_group_context_id string, archived boolean =false [8.0]"),
    _table("users", "email string NN =\"\", encrypted_password string NN =\"\", "
           "reset_password_token string, reset_password_sent_at datetime, "
           "remember_created_at datetime, sign_in_count integer =0, "
           "current_sign_in_at datetime, last_sign_in_at datetime, current_sign_in_ip string, "
           f"last_sign_in_ip string, {_TS}, first_name string, last_name string, "
           "username string, nickname string, unlock_token string, role_id bigint =0, "
           "receive_task_notifications boolean =true, "
           "receive_feedback_notifications boolean =true, "
           "receive_portfolio_notifications boolean =true, opt_in_to_research boolean, "
           "has_run_first_time_setup boolean =false, login_id string, student_id string, "
           "tii_eula_version string, tii_eula_date datetime, "
           "tii_eula_version_confirmed boolean NN =false",
           "email login_id student_id username"),
    _table("webcal_unit_exclusions", "webcal_id bigint NN, unit_id bigint NN",
           "unit_id,webcal_id"),
    _table("webcals", "guid string(36) NN, include_start_dates boolean NN =false, "
           "user_id bigint, reminder_time integer, reminder_unit string", "guid user_id"),
)

BY_NAME = {t.name: t for t in TABLES}


def tables_for(variant: str) -> tuple[Table, ...]:
    """The tables of one schema variant ("8.0": 38 tables, "2024-01": 37)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown OnTrack schema variant {variant!r}; use one of {VARIANTS}")
    return tuple(t for t in TABLES if t.variant in (None, variant))
