"""One chart for every KPI: which of its mart's numbers it draws, over what, and what the hover
shows. The queries read only `marts.kpi_*` (what Looker gets too); rates are recomputed from
their parts (never an average of rates), and a KPI with an OnTrack unit is drawn per unit so the
page's unit filter can narrow it."""

from __future__ import annotations

from dataclasses import dataclass

# The label every per-unit query selects: the unit code and its teaching period ("SIT101 2025 T1"),
# and the period alone (`term`: the report marks a unit whose teaching period is still running).
UNIT = ("unit_id::VARCHAR AS unit_id, unit_code || coalesce(' ' || teaching_period, '') AS unit, "
        "teaching_period AS term")
PERCENT, COUNT, ONE_DECIMAL = ".1%", ",.0f", ",.1f"


@dataclass(frozen=True)
class Hover:
    column: str
    title: str
    fmt: str = COUNT


@dataclass(frozen=True)
class KpiChart:
    """`over`: "unit" (a bar per unit), "week" or "day" (lines over `x`, a date), or the name
    of what `x` labels (a bar each, e.g. "page"). `sql` selects `value` and `x` (none for
    "unit"), plus `unit_id` and `unit` when the KPI is per unit, `series` when the chart has one
    line or stack per series, and the `hover` columns. `fmt` is a d3 number format."""

    kpi: str
    measure: str
    sql: str
    over: str
    fmt: str = COUNT
    judged: bool = False  # `value` is what the KPI's YAML target judges: draw its target line
    hover: tuple[Hover, ...] = ()
    note: str = ""
    panels: bool = False  # one panel per series, each its own axis (series in different units)


@dataclass(frozen=True)
class Weekly:
    """A KPI's one number a week over every unit: the flywheel's headline and its trend. `sql`
    selects `week_start` and `value`; only a sum or a ratio of sums is valid across units."""

    kpi: str
    measure: str
    sql: str
    fmt: str = COUNT


def _rate(num: str, den: str) -> str:
    return f"sum({num})::DOUBLE / nullif(sum({den}), 0)"


CHARTS: tuple[KpiChart, ...] = (
    KpiChart("kpi_enrolment", "withdrawal rate", f"""
        SELECT {UNIT}, withdrawn::DOUBLE / nullif(enrolled + withdrawn, 0) AS value, enrolled,
               withdrawn, tutors, students_per_tutor FROM marts.kpi_enrolment""", "unit",
             PERCENT, True,
             (Hover("enrolled", "enrolled"), Hover("withdrawn", "withdrawn"),
              Hover("tutors", "tutors"),
              Hover("students_per_tutor", "students per tutor", ONE_DECIMAL))),
    KpiChart("kpi_task_submission", "submission rate", f"""
        SELECT {UNIT}, {_rate('submitted', 'expected')} AS value, sum(submitted) AS submitted,
               sum(expected) AS expected FROM marts.kpi_task_submission GROUP BY ALL""", "unit",
             PERCENT, True, (Hover("submitted", "submitted"), Hover("expected", "expected"))),
    KpiChart("kpi_on_time", "on-time rate", f"""
        SELECT {UNIT}, {_rate('on_time', 'on_time + late')} AS value, sum(on_time) AS on_time,
               sum(late) AS late FROM marts.kpi_on_time GROUP BY ALL""", "unit", PERCENT, True,
             (Hover("on_time", "on time"), Hover("late", "late"))),
    KpiChart("kpi_task_completion", "completion rate", f"""
        SELECT {UNIT}, {_rate('completed', 'expected')} AS value, sum(completed) AS completed,
               sum(expected) AS expected FROM marts.kpi_task_completion GROUP BY ALL""", "unit",
             PERCENT, hover=(Hover("completed", "completed"), Hover("expected", "expected"))),
    KpiChart("kpi_resubmission", "share sent back for rework", f"""
        SELECT {UNIT}, {_rate('sent_back', 'assessed')} AS value, sum(sent_back) AS sent_back,
               sum(assessed) AS assessed FROM marts.kpi_resubmission GROUP BY ALL""", "unit",
             PERCENT, True, (Hover("sent_back", "sent back"), Hover("assessed", "assessed"))),
    KpiChart("kpi_extensions", "extension requests", f"""
        SELECT {UNIT}, sum(requests) AS value, sum(answered) AS answered, sum(granted) AS granted,
               {_rate('granted', 'answered')} AS grant_rate
        FROM marts.kpi_extensions GROUP BY ALL""", "unit",
             hover=(Hover("answered", "answered"), Hover("granted", "granted"),
                    Hover("grant_rate", "grant rate", PERCENT))),
    KpiChart("kpi_help_requests", "help requests", f"""
        SELECT {UNIT}, sum(help_requests) AS value, sum(open_help_requests) AS open_now
        FROM marts.kpi_help_requests GROUP BY ALL""", "unit",
             hover=(Hover("open_now", "open now"),)),
    KpiChart("kpi_feedback_backlog", "oldest task waiting for feedback (days)", f"""
        SELECT {UNIT}, max(oldest_waiting_days) AS value, sum(awaiting_feedback) AS waiting
        FROM marts.kpi_feedback_backlog GROUP BY ALL""", "unit", ONE_DECIMAL, True,
             (Hover("waiting", "tasks waiting"),)),
    KpiChart("kpi_feedback_read", "staff comments read", f"""
        SELECT {UNIT}, {_rate('read_comments', 'staff_comments')} AS value,
               sum(staff_comments) AS staff_comments, max(median_hours_to_read) AS median_hours
        FROM marts.kpi_feedback_read GROUP BY ALL""", "unit", PERCENT, True,
             (Hover("staff_comments", "staff comments"),
              Hover("median_hours", "median hours to read", ONE_DECIMAL))),
    KpiChart("kpi_grade_distribution", "students by final grade", f"""
        SELECT {UNIT}, grade_name AS series, grade AS series_order, final_grade_students AS value,
               target_grade_students AS targeting FROM marts.kpi_grade_distribution""", "unit",
             hover=(Hover("targeting", "students targeting it"),)),
    KpiChart("kpi_feedback_turnaround", "median hours to feedback", f"""
        SELECT {UNIT}, week_start AS x, median_hours AS value, p90_hours, assessments
        FROM marts.kpi_feedback_turnaround""", "week", ONE_DECIMAL, True,
             (Hover("p90_hours", "90th percentile hours", ONE_DECIMAL),
              Hover("assessments", "assessments"))),
    KpiChart("kpi_student_activity", "active students", f"""
        SELECT {UNIT}, week_start AS x, active_students AS value, inactive_students
        FROM marts.kpi_student_activity""", "week",
             hover=(Hover("inactive_students", "inactive 14 days"),)),
    KpiChart("kpi_comment_activity", "comments", f"""
        SELECT {UNIT}, week_start AS x, sum(student_comments + staff_comments) AS value,
               sum(student_comments) AS students, sum(staff_comments) AS staff
        FROM marts.kpi_comment_activity GROUP BY ALL""", "week",
             hover=(Hover("students", "by students"), Hover("staff", "by staff"))),
    KpiChart("kpi_web_traffic", "active users", f"""
        SELECT day AS x, sum(active_users) AS value, sum(sessions) AS sessions,
               sum(page_views) AS page_views, {_rate('engaged_sessions', 'sessions')} AS engaged
        FROM marts.kpi_web_traffic GROUP BY ALL""", "day",
             hover=(Hover("sessions", "sessions"), Hover("page_views", "page views"),
                    Hover("engaged", "engagement rate", PERCENT)),
             note="summed over properties"),
    KpiChart("kpi_page_engagement", "engagement seconds per user", """
        SELECT page_path AS x,
               sum(engagement_seconds_per_user * users) / nullif(sum(users), 0) AS value,
               sum(page_views) AS page_views
        FROM marts.kpi_page_engagement GROUP BY ALL ORDER BY page_views DESC LIMIT 20""",
             "page", ONE_DECIMAL, True, (Hover("page_views", "page views"),),
             "the 20 most viewed pages; per user, weighted by each day's users"),
    KpiChart("kpi_api_health", "server-error rate", f"""
        SELECT day AS x, {_rate('server_errors', 'requests')} AS value,
               sum(requests) AS requests, sum(server_errors) AS server_errors,
               max(p95_ms) AS worst_p95_ms
        FROM marts.kpi_api_health GROUP BY ALL""", "day", ".2%", True,
             (Hover("requests", "requests"), Hover("server_errors", "server errors"),
              Hover("worst_p95_ms", "slowest path's p95 ms", COUNT))),
    KpiChart("kpi_app_metrics", "95th percentile (highest route or queue)", """
        SELECT day AS x, metric_name AS series, max(value_p95) AS value,
               max(value_max) AS value_max, sum(observations) AS observations
        FROM marts.kpi_app_metrics WHERE value_p95 IS NOT NULL
        GROUP BY day, metric_name""", "day", ONE_DECIMAL,
             hover=(Hover("value_max", "max", ONE_DECIMAL),
                    Hover("observations", "observations")),
             note="a panel per metric, each on its own scale", panels=True),
    KpiChart("kpi_background_waits", "job wait p95 (s)", """
        SELECT day AS x, source AS series, job_latency_p95_seconds AS value, jobs_waited,
               jobs_waiting_max, db_pool_waiting_max
        FROM marts.kpi_background_waits WHERE job_latency_p95_seconds IS NOT NULL""", "day",
             ONE_DECIMAL, hover=(Hover("jobs_waited", "jobs"),
                                 Hover("jobs_waiting_max", "largest backlog"),
                                 Hover("db_pool_waiting_max", "DB pool waiters"))),
    KpiChart("kpi_splashkit_usage", "weekly active installs", """
        SELECT week_start AS x, active_installs AS value, events
        FROM marts.kpi_splashkit_usage WHERE dimension = 'total'""", "week",
             hover=(Hover("events", "events"),)),
)

# In order of preference: a flywheel stage's headline is the first of these among its KPIs.
WEEKLY: tuple[Weekly, ...] = (
    Weekly("kpi_student_activity", "students active a week (summed over units)", """
        SELECT week_start, sum(active_students) AS value FROM marts.kpi_student_activity
        GROUP BY ALL"""),
    Weekly("kpi_web_traffic", "daily active users (a week's mean)", """
        SELECT date_trunc('week', day)::DATE AS week_start, sum(active_users) / 7 AS value
        FROM marts.kpi_web_traffic GROUP BY ALL HAVING count(DISTINCT day) = 7"""),
    Weekly("kpi_splashkit_usage", "weekly active SplashKit installs", """
        SELECT week_start, active_installs AS value FROM marts.kpi_splashkit_usage
        WHERE dimension = 'total'"""),
    Weekly("kpi_comment_activity", "comments a week", """
        SELECT week_start, sum(student_comments + staff_comments) AS value
        FROM marts.kpi_comment_activity GROUP BY ALL"""),
    Weekly("kpi_feedback_turnaround", "units with a median turnaround ≤ 48 h", """
        SELECT week_start, avg((median_hours <= 48)::INT) AS value
        FROM marts.kpi_feedback_turnaround WHERE median_hours IS NOT NULL GROUP BY ALL""",
           PERCENT),
    Weekly("kpi_page_engagement", "page views a week", """
        SELECT date_trunc('week', day)::DATE AS week_start, sum(page_views) AS value
        FROM marts.kpi_page_engagement GROUP BY ALL HAVING count(DISTINCT day) = 7"""),
    Weekly("kpi_api_health", "API server-error rate", """
        SELECT date_trunc('week', day)::DATE AS week_start,
               sum(server_errors)::DOUBLE / nullif(sum(requests), 0) AS value
        FROM marts.kpi_api_health GROUP BY ALL HAVING count(DISTINCT day) = 7""", ".2%"),
)
