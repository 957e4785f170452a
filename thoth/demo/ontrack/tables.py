"""The OnTrack schema as one Python description, from which both engines' DDL is rendered.

Column specs are written in the notation of shared/ontrack/SCHEMA.md (`name type [NN] [=default]`)
so they can be checked against it line by line. Every table also gets `id bigint` auto-increment
primary key. A trailing `[8.0]` or `[8.0,10.x]` marks a column only those schema variants have;
a table's `variants=` does the same for a whole table. "10.x" is upstream doubtfire-api's
db/schema.rb version 2026_09_03_040547 (Rails 8.0, CHANGELOG 10.0.0).
"""

from __future__ import annotations

from dataclasses import dataclass

VARIANTS = ("8.0", "2024-01", "10.x")
TYPES = ("string", "text", "integer", "bigint", "boolean", "datetime", "date", "decimal", "float")


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # one of TYPES (Rails type names)
    not_null: bool = False
    default: str | None = None  # the literal as in schema.rb: true, 0, "{}", ...
    length: int = 255  # varchar length for `string`
    variants: tuple[str, ...] | None = None  # None = in every variant


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    unique: tuple[tuple[str, ...], ...] = ()
    variants: tuple[str, ...] | None = None  # None = in every variant

    def in_variant(self, variant: str) -> bool:
        return self.variants is None or variant in self.variants

    def columns_for(self, variant: str) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.variants is None or variant in c.variants)

    def unique_for(self, variant: str) -> tuple[tuple[str, ...], ...]:
        """The unique keys of one variant: those whose columns it has."""
        have = {"id", *(c.name for c in self.columns_for(variant))}
        return tuple(k for k in self.unique if set(k) <= have)


def _column(spec: str) -> Column:
    words = spec.split()
    name, type_, rest = words[0], words[1], words[2:]
    length, variants, not_null, default = 255, None, False, None
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
            variants = tuple(word.strip("[]").split(","))
        else:
            raise ValueError(f"bad column spec {spec!r}")
    if type_ not in TYPES:
        raise ValueError(f"unknown type in {spec!r}")
    return Column(name, type_, not_null, default, length, variants)


def _table(name: str, spec: str, unique: str = "",
           variants: tuple[str, ...] | None = None) -> Table:
    columns = tuple(_column(c) for c in spec.split(", "))
    keys = tuple(tuple(k.split(",")) for k in unique.split()) if unique else ()
    return Table(name, columns, keys, variants)


_TS = "created_at datetime NN, updated_at datetime NN"
_TS_NULL = "created_at datetime, updated_at datetime"
# Timestamps 10.x added to tables that had none.
_TS10 = "created_at datetime NN [10.x], updated_at datetime NN [10.x]"
_OLD = "[2024-01,8.0]"  # gone in 10.x
_NEW = "[8.0,10.x]"  # Thoth's 8.0.x additions, kept by 10.x

_X = ("10.x",)
# The 34 tables upstream 10.x added (schema.rb 2026_09_03_040547), in its order.
TABLES_10: tuple[Table, ...] = (
    _table("chip_usages", f"feedback_chip_id bigint NN, tutor_id bigint NN, "
           f"usage_count integer NN =0, {_TS}", variants=_X),
    _table("comment_read_cursors", "task_id bigint NN, user_id bigint NN, "
           f"last_read_comment_id bigint NN, read_at datetime NN, {_TS}", "task_id,user_id",
           variants=_X),
    _table("communication_actions", "type string NN, communication_rule_id bigint NN, "
           "subject string, body text, email_tutors boolean NN =false, "
           "email_convenors boolean NN =false, target_grade integer, task_definition_id bigint, "
           + _TS, variants=_X),
    _table("communication_conditions", "type string NN, communication_id bigint NN, "
           "target_grade integer, task_definition_id bigint, task_statuses text, "
           "last_sign_in_at datetime, tutorial_id bigint, tutorial_stream_id bigint, "
           "campus_id bigint, task_status_count integer, task_target_grade integer, "
           f"spec_con_days integer, operator string NN, {_TS}, activity_days integer, "
           "submitted_portfolio boolean, group_set_id bigint, group_id bigint", variants=_X),
    _table("communication_rules", "communication_set_id bigint NN, position integer NN =0, "
           "name string, operator string, send_log_to_convenors boolean NN =false, "
           f"active boolean NN =true, {_TS}", variants=_X),
    _table("communication_set_schedules", "communication_set_id bigint NN, name string, "
           "active boolean NN =true, anchor_week integer NN, anchor_day string NN, "
           "hour integer NN =8, minute integer NN =0, timezone string NN =UTC, "
           "recurrence string NN =none, interval integer NN =1, repeat_count integer, "
           "until_at datetime, ice_cube_schedule text, next_run_at datetime, "
           f"last_run_at datetime, last_enqueued_at datetime, {_TS}", variants=_X),
    _table("communication_sets", "unit_id bigint NN, name string, active boolean NN =true, "
           + _TS, variants=_X),
    _table("d2l_assessment_mappings", "unit_id bigint NN, org_unit_id string, "
           f"grade_object_id integer, {_TS}", "unit_id", variants=_X),
    _table("discussion_prompts", "task_definition_id bigint NN, content text NN, "
           f"priority integer =0, {_TS}", variants=_X),
    _table("engagement_comments", "engagement_id bigint NN, user_id bigint NN, "
           f"reply_to_id bigint, comment text NN, {_TS}", variants=_X),
    _table("engagement_projects", f"engagement_id bigint NN, project_id bigint NN, {_TS}",
           "engagement_id,project_id", variants=_X),
    _table("engagements", "project_id bigint NN, user_id bigint NN, engagement_type string NN, "
           "note text NN, occurred_at datetime NN, evidence_url text, content_type string, "
           f"attachment_extension string, {_TS}", variants=_X),
    _table("feedback_chips", "type string, chip_text text, description text, comment_text text, "
           "summary_text text, learning_outcome_id bigint NN, parent_chip_id bigint, "
           f"{_TS}, task_status string", variants=_X),
    _table("learning_outcome_links", "source_id bigint NN, target_id bigint NN, "
           f"link_type string, {_TS}", "source_id,target_id", variants=_X),
    _table("marking_sessions", "user_id bigint NN, unit_id bigint NN, ip_address string, "
           f"start_time datetime, end_time datetime, during_tutorial boolean, {_TS}",
           variants=_X),
    _table("moderated_tasks", "task_id bigint NN, task_definition_id bigint NN, "
           "last_moderated_date datetime, state string NN, moderation_type string NN, "
           "assessor_id bigint, resolved_by_user_id bigint, resolved_at datetime, "
           f"outcome string, {_TS}", "task_id,moderation_type", variants=_X),
    _table("moodle_group_mappings", "moodle_integration_id bigint NN, "
           "moodle_group_id bigint NN, moodle_group_name string NN, target_type string NN, "
           "group_set_id bigint, group_id bigint, campus_id bigint, tutorial_stream_id bigint, "
           f"tutorial_id bigint, create_if_missing boolean NN =false, {_TS}", variants=_X),
    _table("moodle_integrations", "unit_id bigint NN, course_id bigint NN, api_key text NN, "
           "assignment_id bigint, assignment_name string, fetch_extensions boolean NN =false, "
           "auto_sync_students boolean NN =false, auto_sync_extensions boolean NN =false, "
           "group_mapping_enabled boolean NN =false, validated boolean NN =false, "
           f"validated_at datetime, {_TS}", "unit_id", variants=_X),
    _table("overflow_task_claim_logs", "unit_id bigint NN, task_id bigint NN, "
           "claimed_by_unit_role_id bigint NN, claimed_by_user_id bigint NN, "
           "original_tutor_user_id bigint, student_user_id bigint NN, "
           f"days_awaiting_feedback integer NN, claimed_at datetime NN, {_TS}", variants=_X),
    _table("overflow_task_claims", "task_id bigint NN, claimed_by_unit_role_id bigint NN, "
           + _TS, "task_id", variants=_X),
    _table("overseer_step_results", "overseer_assessment_id bigint NN, "
           "overseer_step_id bigint NN, exit_status integer NN =-1, pass boolean NN =false, "
           "feedback_message text, stdout text, stdin text, expected_output text, "
           "stdout_sha256 string, stdin_sha256 string, expected_output_sha256 string, " + _TS,
           variants=_X),
    _table("overseer_steps", "task_definition_id bigint NN, name string NN, description text, "
           "display_name string NN, display_description string, run_command text, "
           "timeout integer NN =30, sort_order integer NN =0, step_type string NN, "
           "partial_output_diff boolean, stdin_input_file string, expected_output_file string, "
           "feedback_message text, status_on_success_id bigint, status_on_failure_id bigint, "
           "halt_on_success boolean, halt_on_failure boolean, show_expected_output boolean, "
           f"show_stdin boolean, show_stdout boolean, enabled boolean =true, {_TS}",
           variants=_X),
    _table("session_activities", "marking_session_id bigint NN, action string, "
           f"project_id bigint, task_id bigint, task_definition_id bigint, {_TS}",
           variants=_X),
    _table("staff_notes", "note text, project_id bigint NN, user_id bigint NN, "
           f"staff_notes_id bigint, reply_to_id bigint, {_TS}", variants=_X),
    _table("submission_histories", f"task_id bigint NN, submission_timestamp string NN, {_TS}",
           "task_id,submission_timestamp", variants=_X),
    _table("task_completion_snapshots", "unit_id bigint NN, snapshot_timestamp string NN, "
           + _TS, "unit_id,snapshot_timestamp", variants=_X),
    _table("task_definition_grade_due_dates", "task_definition_id bigint NN, "
           f"target_grade integer NN, target_due_date datetime, {_TS}, start_date datetime",
           "task_definition_id,target_grade", variants=_X),
    _table("task_prerequisites", "task_definition_id bigint NN, prerequisite_id bigint NN, "
           f"task_status_id bigint NN, {_TS}", "task_definition_id,prerequisite_id",
           variants=_X),
    _table("tutor_feedback_scores", "unit_role_id bigint NN, task_definition_id bigint NN, "
           f"score integer NN =50, {_TS}", variants=_X),
    _table("tutor_notes", "note text, task_id bigint, unit_role_id bigint NN, "
           "user_id bigint NN, reply_to_id bigint, read_by_unit_role boolean NN, " + _TS,
           variants=_X),
    _table("unit_content_links", "unit_id bigint NN, unit_content_site_id bigint NN, "
           "context_type string NN, context_key string NN, route string NN =/, " + _TS,
           "unit_id,context_type,context_key", variants=_X),
    _table("unit_content_sites", "unit_id bigint NN, name string NN, "
           "original_filename string NN, archive_path string NN, root_dir string NN =/, "
           f"is_main boolean NN =false, {_TS}", "unit_id,name", variants=_X),
    _table("user_oauth_states", f"user_id bigint NN, state string, {_TS}", "state",
           variants=_X),
    _table("user_oauth_tokens", "user_id bigint NN, provider integer NN =0, token text, "
           f"expires_at datetime, {_TS}", variants=_X),
)

TABLES: tuple[Table, ...] = (
    _table("activity_types", f"name string NN, abbreviation string NN, {_TS}",
           "abbreviation name"),
    _table("auth_tokens", "auth_token_expiry datetime NN, user_id bigint, "
           f"authentication_token string NN, token_type integer NN =0, {_TS10}"),
    _table("breaks", f"start_date datetime NN, number_of_weeks integer NN {_OLD}, "
           f"teaching_period_id bigint, {_TS10}, campus_ids text [10.x], label string [10.x], "
           "number_of_days integer NN [10.x], pause_week_count boolean NN =true [10.x]"),
    _table("campuses", "name string NN, mode integer NN, abbreviation string NN, "
           f"active boolean NN, {_TS10}, timezone string [10.x]", "abbreviation name"),
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
           f"{_TS_NULL}", variants=("2024-01", "8.0")),
    _table("learning_outcomes", f"unit_id bigint {_OLD}, ilo_number integer {_OLD}, "
           f"name string {_OLD}, description string(4096) {_OLD}, "
           "short_description string [10.x], full_outcome_description string(4096) [10.x], "
           "abbreviation string, context_id bigint [10.x], context_type string [10.x], "
           f"{_TS10}", "abbreviation,unit_id abbreviation,context_type,context_id"),
    _table("logins", f"timestamp datetime, user_id bigint, {_TS}"),
    _table("overseer_assessments", "task_id bigint NN, submission_timestamp string NN, "
           f"result_task_status string, status integer NN =0, {_TS}, "
           "total_steps integer [10.x], student_notified_at datetime [10.x], "
           "submission_history_id bigint NN [10.x]",
           "task_id,submission_timestamp"),
    _table("overseer_images", f"name string NN, tag string NN, {_TS}, pulled_image_text text, "
           "pulled_image_status integer, last_pulled_date datetime", "name tag"),
    _table("projects", f"unit_id bigint, project_role string, {_TS}, started boolean, "
           "progress string, status string, task_stats string, enrolled boolean =true, "
           "target_grade integer =0, compile_portfolio boolean =false, "
           "portfolio_production_date date, user_id bigint, grade integer =0, "
           "grade_rationale string(4096), campus_id bigint, submitted_grade integer, "
           "uses_draft_learning_summary boolean NN =false, "
           "portfolio_auto_generated boolean NN =false, portfolio_generation_pid integer, "
           "spec_con_days integer NN =0 [10.x], assessor_id bigint [10.x], "
           "portfolio_submission_date datetime [10.x], last_viewed_at datetime [10.x]"),
    _table("roles", f"name string, description text, {_TS}"),
    _table("task_comments", "task_id bigint NN, user_id bigint NN, comment string(4096), "
           "created_at datetime NN, recipient_id bigint, content_type string, "
           "attachment_extension string, discussion_comment_id bigint, type string, "
           "time_discussion_started datetime, time_discussion_completed datetime, "
           "number_of_prompts integer, date_extension_assessed datetime, "
           "extension_granted boolean, assessor_id bigint, task_status_id bigint, "
           "extension_weeks integer, extension_response string, reply_to_id bigint, "
           "overseer_assessment_id bigint [2024-01], "
           f"commentable_id bigint {_NEW}, commentable_type string {_NEW}, "
           "attention_audience integer [10.x]"),
    _table("task_definitions", "unit_id bigint, name string, description string(4096), "
           f"weighting decimal(p10), target_date datetime NN, {_TS}, abbreviation string, "
           "upload_requirements string(4096), target_grade integer =0, "
           "restrict_status_updates boolean =false, plagiarism_report_url string, "
           "plagiarism_updated boolean =false, plagiarism_warn_pct integer =50, "
           "group_set_id bigint, due_date datetime, start_date datetime NN, "
           "is_graded boolean =false, max_quality_pts integer =0, tutorial_stream_id bigint, "
           "assessment_enabled boolean =false, overseer_image_id bigint, tii_group_id string, "
           f"moss_language string {_OLD}, similarity_language string [10.x], "
           f"scorm_enabled boolean =false {_NEW}, scorm_allow_review boolean =false {_NEW}, "
           f"scorm_bypass_test boolean =false {_NEW}, "
           f"scorm_time_delay_enabled boolean =false {_NEW}, "
           f"scorm_attempt_limit integer =0 {_NEW}, "
           "assess_in_portfolio_only boolean NN =false [10.x], "
           "use_resources_for_jplag_base_code boolean NN =false [10.x], "
           "lock_assessments_to_tutorial_stream boolean NN =false [10.x], "
           "requires_discussion boolean NN =false [10.x]", "abbreviation,unit_id name,unit_id"),
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
           f"extensions integer NN =0, scorm_extensions integer NN =0 {_NEW}, "
           "target_start_date datetime [10.x], target_due_date datetime [10.x], "
           "last_tutor_feedback_at datetime [10.x], moved_to_discuss_at datetime [10.x], "
           "notified_discuss_warning_at datetime [10.x], "
           "notified_discuss_expiry_at datetime [10.x]",
           "project_id,task_definition_id"),
    _table("teaching_periods", "period string NN, start_date datetime NN, "
           f"end_date datetime NN, year integer NN, active_until datetime NN, {_TS10}",
           "period,year"),
    _table("test_attempts", "task_id bigint, attempted_time datetime NN, "
           "terminated boolean =false, completion_status boolean =false, "
           "success_status boolean =false, score_scaled float =0.0, cmi_datamodel text, "
           + _TS10, variants=("8.0", "10.x")),
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
           "tutorial_stream_id bigint, duration_minutes integer NN =120 [10.x]",
           "abbreviation,unit_id"),
    _table("unit_roles", f"user_id bigint, tutorial_id bigint, {_TS}, role_id bigint, "
           "unit_id bigint, observer_only boolean =false [10.x], mentor_id bigint [10.x], "
           "can_mark_overflow_tasks boolean =false [10.x]"),
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
           f"tii_group_context_id string, archived boolean =false {_NEW}, "
           "allow_flexible_dates boolean NN =false [10.x], portfolio_due_date datetime [10.x], "
           "mark_late_submissions_as_assess_in_portfolio boolean NN =false [10.x], "
           "feedback_warning_threshold_days integer =5 [10.x], "
           "feedback_overflow_threshold_days integer =7 [10.x], "
           "enforce_feedback_before_discussed_in_class boolean NN =false [10.x], "
           "grade_values text [10.x], discuss_timeout_enabled boolean NN =false [10.x], "
           "discuss_timeout_warning_days integer NN =7 [10.x], "
           "discuss_timeout_expire_days integer NN =14 [10.x], "
           "moodle_enabled boolean NN =false [10.x]"),
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
           "tii_eula_version_confirmed boolean NN =false, last_access_at datetime [10.x]",
           "email login_id student_id username"),
    _table("webcal_unit_exclusions", f"webcal_id bigint NN, unit_id bigint NN, {_TS10}",
           "unit_id,webcal_id"),
    _table("webcals", "guid string(36) NN, include_start_dates boolean NN =false, "
           f"user_id bigint, reminder_time integer, reminder_unit string, {_TS10}",
           "guid user_id"),
    *TABLES_10,
)

BY_NAME = {t.name: t for t in TABLES}


def tables_for(variant: str) -> tuple[Table, ...]:
    """The tables of one schema variant ("8.0": 38 tables, "2024-01": 37, "10.x": 71)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown OnTrack schema variant {variant!r}; use one of {VARIANTS}")
    return tuple(t for t in TABLES if t.in_variant(variant))
