"""The report's scorecard: every KPI's value in its latest complete period, against the target its
YAML states (transforms/catalogue.py reads it), with the side that is good, on or off target,
and the trend from the period before. A period still running is never judged: a week, a day or
a teaching period counts only once it has ended (the backlog is a snapshot, as of its load).
The queries read the marts (and a teaching period's dates); each returns one row per period:
`period` (its label), `starts`, `ends` (exclusive; NULL for a snapshot) and `value`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from thoth.faces.report.kpi_charts import COUNT, ONE_DECIMAL, PERCENT
from transforms.catalogue import Kpi, Target

# A teaching period's dates, for the per-unit KPIs judged over a whole teaching period.
_TERM = ("JOIN staging.stg_ontrack__teaching_periods AS tp USING (teaching_period)")
_BY_TERM = "k.teaching_period AS period, tp.start_date AS starts, tp.end_date + 1 AS ends"
_BY_WEEK = "strftime(week_start, 'week of %-d %b %Y') AS period, week_start AS starts, " \
           "week_start + 7 AS ends"
_BY_DAY = "strftime(day, '%-d %b %Y') AS period, day AS starts, day + 1 AS ends"


def _rate(num: str, den: str) -> str:
    return f"sum({num})::DOUBLE / nullif(sum({den}), 0)"


@dataclass(frozen=True)
class Measure:
    kpi: str
    measure: str  # what the value is, in words
    period: str  # "teaching period", "week", "day" or "snapshot"
    sql: str
    fmt: str = COUNT


MEASURES: tuple[Measure, ...] = (
    Measure("kpi_task_submission", "submission rate", "teaching period", f"""
        SELECT {_BY_TERM}, {_rate('submitted', 'expected')} AS value
        FROM marts.kpi_task_submission AS k {_TERM} GROUP BY ALL""", PERCENT),
    Measure("kpi_task_completion", "completion rate", "teaching period", f"""
        SELECT {_BY_TERM}, {_rate('completed', 'expected')} AS value
        FROM marts.kpi_task_completion AS k {_TERM} GROUP BY ALL""", PERCENT),
    Measure("kpi_help_requests", "help requests", "teaching period", f"""
        SELECT {_BY_TERM}, sum(help_requests) AS value
        FROM marts.kpi_help_requests AS k {_TERM} GROUP BY ALL"""),
    Measure("kpi_on_time", "on-time rate", "teaching period", f"""
        SELECT {_BY_TERM}, {_rate('on_time', 'on_time + late')} AS value
        FROM marts.kpi_on_time AS k {_TERM} GROUP BY ALL""", PERCENT),
    Measure("kpi_extensions", "slowest task's median hours to answer an extension",
            "teaching period", f"""
        SELECT {_BY_TERM}, max(median_response_hours) AS value
        FROM marts.kpi_extensions AS k {_TERM} GROUP BY ALL""", ONE_DECIMAL),
    # Teaching weeks only (KR1.3): a unit's stragglers after its end are no teaching week.
    Measure("kpi_student_activity", "share of enrolled students inactive 14 days", "week", f"""
        SELECT {_BY_WEEK}, {_rate('a.inactive_students', 'e.enrolled')} AS value
        FROM marts.kpi_student_activity AS a JOIN marts.kpi_enrolment AS e USING (unit_id)
        JOIN staging.stg_ontrack__teaching_periods AS tp ON tp.teaching_period = a.teaching_period
        WHERE week_start BETWEEN tp.start_date AND tp.end_date GROUP BY ALL""", PERCENT),
    Measure("kpi_enrolment", "withdrawal rate", "teaching period", f"""
        SELECT {_BY_TERM}, {_rate('withdrawn', 'enrolled + withdrawn')} AS value
        FROM marts.kpi_enrolment AS k {_TERM} GROUP BY ALL""", PERCENT),
    Measure("kpi_grade_distribution", "share of final grades Credit or above",
            "teaching period", f"""
        SELECT {_BY_TERM}, sum(final_grade_students) FILTER (WHERE grade >= 1)::DOUBLE
               / nullif(sum(final_grade_students), 0) AS value
        FROM marts.kpi_grade_distribution AS k {_TERM} GROUP BY ALL""", PERCENT),
    Measure("kpi_feedback_turnaround", "slowest unit's median hours to feedback", "week", f"""
        SELECT {_BY_WEEK}, max(median_hours) AS value
        FROM marts.kpi_feedback_turnaround GROUP BY ALL""", ONE_DECIMAL),
    # Running units only: a task left waiting in a teaching period long over is no tutor's
    # queue today (the chart below shows every unit).
    Measure("kpi_feedback_backlog", "days the oldest task has waited, running units",
            "snapshot", f"""
        SELECT strftime(max(as_of), 'now (%-d %b %Y %H:%M UTC)') AS period,
               max(as_of)::DATE AS starts, NULL::DATE AS ends,
               max(oldest_waiting_days) AS value
        FROM marts.kpi_feedback_backlog AS k {_TERM}
        WHERE as_of::DATE BETWEEN tp.start_date AND tp.end_date""", ONE_DECIMAL),
    Measure("kpi_feedback_read", "share of staff comments read", "teaching period", f"""
        SELECT {_BY_TERM}, {_rate('read_comments', 'staff_comments')} AS value
        FROM marts.kpi_feedback_read AS k {_TERM} GROUP BY ALL""", PERCENT),
    Measure("kpi_comment_activity", "comments", "week", f"""
        SELECT {_BY_WEEK}, sum(student_comments + staff_comments) AS value
        FROM marts.kpi_comment_activity GROUP BY ALL"""),
    Measure("kpi_resubmission", "share sent back for rework", "teaching period", f"""
        SELECT {_BY_TERM}, {_rate('sent_back', 'assessed')} AS value
        FROM marts.kpi_resubmission AS k {_TERM} GROUP BY ALL""", PERCENT),
    Measure("kpi_web_traffic", "daily active users, the week's mean", "week", """
        SELECT strftime(week, 'week of %-d %b %Y') AS period, week AS starts, week + 7 AS ends,
               sum(active_users) / 7 AS value
        FROM (SELECT date_trunc('week', day)::DATE AS week, * FROM marts.kpi_web_traffic)
        GROUP BY ALL HAVING count(DISTINCT day) = 7"""),
    Measure("kpi_page_engagement", "lowest engagement seconds per user of the 20 most viewed "
            "pages", "week", """
        WITH pages AS (
            SELECT date_trunc('week', day)::DATE AS week, page_path, sum(page_views) AS views,
                   sum(engagement_seconds_per_user * users) / nullif(sum(users), 0) AS seconds
            FROM marts.kpi_page_engagement GROUP BY ALL),
        top AS (SELECT *, row_number() OVER (PARTITION BY week ORDER BY views DESC, page_path)
                AS rank FROM pages)
        SELECT strftime(week, 'week of %-d %b %Y') AS period, week AS starts, week + 7 AS ends,
               min(seconds) AS value FROM top WHERE rank <= 20 GROUP BY ALL""", ONE_DECIMAL),
    Measure("kpi_api_health", "server-error rate", "day", f"""
        SELECT {_BY_DAY}, {_rate('server_errors', 'requests')} AS value
        FROM marts.kpi_api_health GROUP BY ALL""", ".2%"),
    Measure("kpi_app_metrics", "slowest PDF render p95 (ms)", "day", f"""
        SELECT {_BY_DAY}, max(value_p95) AS value FROM marts.kpi_app_metrics
        WHERE metric_name = 'submissions.pdf_render_ms' GROUP BY ALL""", COUNT),
    Measure("kpi_background_waits", "background job wait p95 (s)", "day", f"""
        SELECT {_BY_DAY}, max(job_latency_p95_seconds) AS value
        FROM marts.kpi_background_waits GROUP BY ALL""", ONE_DECIMAL),
    Measure("kpi_splashkit_usage", "weekly active installs", "week", f"""
        SELECT {_BY_WEEK}, active_installs AS value FROM marts.kpi_splashkit_usage
        WHERE dimension = 'total'"""),
)
BY_KPI = {m.kpi: m for m in MEASURES}


@dataclass(frozen=True)
class Score:
    kpi: Kpi
    measure: Measure
    period: str | None  # the latest complete period's label; None: no complete period yet
    value: float | None
    previous: float | None  # the period before's value (the trend)
    running: str | None  # the periods not ended yet, left out ("week of 30 Nov 2026")

    @property
    def target(self) -> Target | None:
        return self.kpi.target

    @property
    def status(self) -> str:
        """"on", "off", or "none" (no target, or nothing complete to judge)."""
        met = self.target.met(self.value, self.previous) if self.target else None
        return "none" if met is None else "on" if met else "off"


def scores(con: duckdb.DuckDBPyConnection, kpis: list[Kpi], built: set[str],
           today: date) -> list[Score]:
    """Each KPI's score as of `today` (a period ending after it is still running)."""
    out = []
    for kpi in kpis:
        measure = BY_KPI.get(kpi.name)
        if measure is None or kpi.model not in built:
            continue
        rows = con.execute(f"SELECT period, ends, value FROM ({measure.sql}) "
                           "WHERE value IS NOT NULL ORDER BY starts, period").fetchall()
        done = [r for r in rows if r[1] is None or r[1] <= today]
        running = [r for r in rows if r[1] is not None and r[1] > today]
        latest = done[-1] if done else None
        out.append(Score(
            kpi, measure, latest[0] if latest else None,
            float(latest[2]) if latest else None,
            float(done[-2][2]) if len(done) > 1 else None,
            ", ".join(sorted({r[0] for r in running})) or None))
    return out
