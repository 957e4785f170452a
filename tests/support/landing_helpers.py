"""Hand-built landing files with known answers, and a landing zone (directory or GCS emulator)
to put them in."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.landing.config import LandingConfig
from pipelines.landing.extract import extract
from thoth.core.storage import Target, open_target

DAY = "2024/03/11"


def _rails(pid: int, rid: str | None, at: str, message: str) -> str:
    tag = f"[{rid}] " if rid else ""
    return f"I, [2024-03-11T{at} #{pid}]  INFO -- : {tag}{message}"


A = "aaaaaaaa-0000-4000-8000-000000000001"
B = "bbbbbbbb-0000-4000-8000-000000000002"
C = "cccccccc-0000-4000-8000-000000000003"

# Two processes, and two threads of one process (same pid, own request ids), interleaved: the
# lines next to each Started belong to other requests. Pairing by adjacency gets all of it wrong.
TAGGED_LOG = "\n".join([
    _rails(4021, A, "09:00:01.000000", 'Started GET "/api/units/12/tasks?abbr=1" for '
           "203.0.113.9 at 2024-03-11 09:00:01 +0000"),
    _rails(4022, B, "09:00:01.010000", 'Started POST "/api/projects/7/task_def_id/3/submission"'
           " for 198.51.100.23 at 2024-03-11 20:00:01 +1100"),
    _rails(4021, C, "09:00:01.015000", 'Started GET "/api/units/12" for 203.0.113.10 at '
           "2024-03-11 09:00:01 +0000"),
    _rails(4021, A, "09:00:01.020000", "Processing by Api::UnitsController#tasks as JSON"),
    _rails(4022, B, "09:00:01.030000", '  Parameters: {"id"=>"7", "task_def_id"=>"3"}'),
    _rails(4021, C, "09:00:01.031000", "Completed 404 Not Found in 4ms (ActiveRecord: 1.0ms)"),
    _rails(4022, B, "09:00:01.260000", "Completed 500 Internal Server Error in 250ms "
           "(ActiveRecord: 12.0ms | Allocations: 900)"),
    _rails(4021, A, "09:00:01.035000", "Completed 200 OK in 11ms (Views: 5.2ms | "
           "ActiveRecord: 3.1ms | Allocations: 2201)"),
]) + "\n"

# No request ids: Logger's prefix carries the pid, which pairs the lines.
PID_LOG = "\n".join([
    _rails(5001, None, "10:00:00.000000", 'Started GET "/api/tasks/99/comments" for 192.0.2.1 '
           "at 2024-03-11 10:00:00 +0000"),
    _rails(5002, None, "10:00:00.001000", 'Started GET "/api/units/3" for 192.0.2.2 at '
           "2024-03-11 10:00:00 +0000"),
    _rails(5002, None, "10:00:00.003000", "Completed 404 Not Found in 2ms"),
    _rails(5001, None, "10:00:00.030000", "Completed 200 OK in 30ms (Views: 20.0ms)"),
]) + "\n"

# Rails' default format, one process: no prefix, no tags, paired in order.
PLAIN_LOG = "\n".join([
    'Started GET "/api/auth/method" for 192.0.2.3 at 2024-03-11 11:00:00 +0000',
    "Processing by AuthenticationApi#method as JSON",
    "Completed 200 OK in 5ms (Views: 1.0ms | ActiveRecord: 0.0ms)",
    "",
    'Started DELETE "/api/tasks/6f1c0a4e-8b0d-4a8e-9a45-0c7e5a1d2b3c/pdf" for 192.0.2.3 at '
    "2024-03-11 11:00:01 +0000",
    "Completed 204 No Content in 7ms",
]) + "\n"

LOGRAGE = [
    {"method": "GET", "path": "/api/units/12/tasks", "status": 200, "duration": 20.0,
     "time": "2024-03-11T09:05:00Z", "remote_ip": "2001:db8:abcd:12::7", "request_id": "r-1"},
    {"method": "GET", "path": "/api/units/13/tasks?token=abc", "status": 503, "duration": 100.0,
     "@timestamp": "2024-03-11T09:06:00+00:00", "ip": "203.0.113.77"},
]

# Lines a real log holds now and then: each kept aside with its reason and line number.
BAD_LOG = "\n".join([
    _rails(4021, A, "12:00:00.000000", 'Started GET "/api/units/1" for 203.0.113.5 at '
           "2024-03-11 12:00:00 +0000"),
    "I, [bad #1]  INFO -- : Started GET without a quoted path for 203.0.113.200",
    _rails(4021, A, "12:00:00.010000", "Completed 200 OK in 9ms"),
    _rails(4023, "dddddddd", "12:00:01.000000", "Completed 200 OK in 3ms"),  # no Started
    '{"method": "GET", "path": "/api/x", "status": 200',  # cut-off JSON
    _rails(4024, "eeeeeeee", "12:00:02.000000", 'Started GET "/api/units/2" for 203.0.113.6 '
           "at 2024-03-11 12:00:02 +0000"),  # never completed: a request of unknown status
]) + "\n"
BAD_LOG_QUARANTINE = [
    (2, "unparseable Started line"),
    (4, "Completed without its Started"),
    (5, "not JSON: Expecting ',' delimiter"),
]

# Production Doubtfire (doubtfire-api 8.0.x, config/initializers/log_initializer.rb):
# "#{timestamp},#{remote_ip},#{severity}: #{msg}" with newlines in a message written as `\n`.
# The ip field is a thread variable set by api_root.rb's `before`: stale on a Started line.
DF_DAY = "2024/05/02"


def _df(at: str, ip: str, level: str, message: str, offset: str = "+1000") -> str:
    return f"2024-05-02 {at} {offset},{ip},{level}: {message}"


def _started(method: str, path: str, ip: str, at: str, offset: str = "+1000") -> str:
    return f'Started {method} "{path}" for {ip} at 2024-05-02 {at} {offset}'


DOUBTFIRE_8_LOG = "\n".join([
    _df("10:15:07", "unknown", "INFO", _started("GET", "/api/units/7", "198.51.100.4",
                                                "10:15:07")),
    _df("10:15:07", "198.51.100.4", "INFO", _started("POST", "/api/auth", "203.0.113.50",
                                                     "10:15:07")),
    _df("10:15:07", "203.0.113.50", "INFO", "Authenticate jsmith from 203.0.113.50"),
    _df("10:15:08", "203.0.113.50", "INFO", _started(
        "PUT", "/api/projects/55/task_def_id/12?trigger=ready", "192.0.2.77", "10:15:08")),
    _df("10:15:08", "192.0.2.77", "INFO", _started("GET", "/api/units/7/tasks",
                                                   "198.51.100.4", "10:15:08")),
    _df("10:15:08", "192.0.2.77", "INFO", "jsmith assessing task 511470 to ready_for_feedback"),
    # The 500: after another client's Started; its prefix ip is the failing request's client.
    _df("10:15:09", "192.0.2.77", "ERROR", "Unhandled exception: NoMethodError"),
    _df("10:15:09", "192.0.2.77", "ERROR",
        "#<NoMethodError: undefined method `name' for nil:NilClass (jsmith@example.edu)>"),
    _df("10:15:09", "192.0.2.77", "ERROR",
        r"/doubtfire/app/api/tasks_api.rb:140:in `block (2 levels) in <class:TasksApi>'\n"
        r"/usr/local/bundle/gems/grape-2.0.0/lib/grape/endpoint.rb:58:in `call'"),
    # A controller route (config/routes.rb): Processing, Parameters, Completed — with a Grape
    # request from someone else in between.
    _df("10:16:00", "192.0.2.77", "INFO", _started(
        "GET", "/api/submission/unit/3/portfolio?auth_token=abc&username=jsmith",
        "203.0.113.50", "10:16:00")),
    _df("10:16:00", "192.0.2.77", "INFO", _started("GET", "/api/units/3", "198.51.100.4",
                                                   "10:16:00")),
    _df("10:16:00", "198.51.100.4", "INFO",
        "Processing by PortfolioDownloadsController#index as HTML"),
    _df("10:16:00", "198.51.100.4", "INFO",
        '  Parameters: {"auth_token"=>"[FILTERED]", "username"=>"jsmith", "id"=>"3"}'),
    _df("10:16:01", "198.51.100.4", "INFO",
        "Completed 200 OK in 151ms (Views: 0.2ms | ActiveRecord: 12.3ms | Allocations: 20567)"),
    _df("10:20:00", "unknown", "INFO", "creating pdf for task 511470"),
    "tput: No value for $TERM and no -T specified",
    "",
    _df("10:21:00", "unknown", "INFO", "Login jsmith from 203.0.113.50"),
    _df("10:22:00", "unknown", "ERROR", "Unhandled exception: RuntimeError"),
    _df("10:23:00", "unknown", "INFO", "Completed 200 OK in 3ms"),
    _df("10:24:00", "unknown", "INFO",
        "Started GET /api/units/9?username=jsmith for 203.0.113.51"),
]) + "\n"
DOUBTFIRE_8_REQUESTS = [  # requested_at (UTC), method, path_template, status, duration, class
    ("2024-05-02 00:15:07", "POST", "/api/auth", None, None, None),
    ("2024-05-02 00:15:07", "GET", "/api/units/:id", None, None, None),
    ("2024-05-02 00:15:08", "PUT", "/api/projects/:id/task_def_id/:id", 500, None,
     "NoMethodError"),
    ("2024-05-02 00:15:08", "GET", "/api/units/:id/tasks", None, None, None),
    ("2024-05-02 00:16:00", "GET", "/api/submission/unit/:id/portfolio", 200, 151.0, None),
    ("2024-05-02 00:16:00", "GET", "/api/units/:id", None, None, None),
]
DOUBTFIRE_8_QUARANTINE = [
    (19, "Unhandled exception without its Started (client address unknown)"),
    (20, "Completed without its Started"),
    (21, "unparseable Started line"),
]
# lines, rows, context, quarantined, blank
DOUBTFIRE_8_ACCOUNTING = (21, 6, 11, 3, 1)

# doubtfire-api 6.x/7.x (config/environments/doubtfire_logger.rb): the same prefix, messages
# unescaped, so an exception's inspect and backtrace run over several physical lines. A server
# in UTC: Time#to_s gives +0000.
DOUBTFIRE_6_LOG = "\n".join([
    _df("00:30:00", "unknown", "INFO", _started("GET", "/api/projects", "192.0.2.10",
                                                "00:30:00", "+0000"), "+0000"),
    _df("00:30:01", "192.0.2.10", "INFO", _started("POST", "/api/projects/9/task_def_id/4/"
                                                   "submission", "192.0.2.10", "00:30:01",
                                                   "+0000"), "+0000"),
    _df("00:30:02", "192.0.2.10", "ERROR",
        "Unhandled exception: ActiveRecord::StatementInvalid", "+0000"),
    _df("00:30:02", "192.0.2.10", "ERROR", "#<ActiveRecord::StatementInvalid: Mysql2::Error: "
        "Deadlock found", "+0000"),
    "when trying to get lock; try restarting transaction>",
    _df("00:30:02", "192.0.2.10", "ERROR", "/doubtfire/app/models/project.rb:10:in `submit'",
        "+0000"),
    "/usr/local/bundle/gems/grape-1.6.0/lib/grape/endpoint.rb:58:in `call'",
    "/usr/local/bundle/gems/grape-1.6.0/lib/grape/endpoint.rb:58:in `block in generate_api'",
    _df("00:30:05", "192.0.2.10", "INFO", _started("GET", "/api/units/12", "2001:db8:5:6::9",
                                                   "00:30:05", "+0000"), "+0000"),
]) + "\n"
DOUBTFIRE_6_REQUESTS = [
    ("2024-05-02 00:30:00", "GET", "/api/projects", None, None, None),
    ("2024-05-02 00:30:01", "POST", "/api/projects/:id/task_def_id/:id/submission", 500, None,
     "ActiveRecord::StatementInvalid"),
    ("2024-05-02 00:30:05", "GET", "/api/units/:id", None, None, None),
]

# nginx's default `combined` (doubtfire-deploy's proxy has no log_format), then the same with
# `$request_time $upstream_response_time` appended.
NGINX_LOG = "\n".join([
    '203.0.113.50 - - [02/May/2024:10:15:07 +1000] "GET /api/units/7 HTTP/1.1" 200 5120 '
    '"https://ontrack.example.edu/home" "Mozilla/5.0 (X11; Linux x86_64)"',
    '192.0.2.77 - jsmith [02/May/2024:10:15:09 +1000] "PUT /api/projects/55/task_def_id/12'
    '?trigger=ready HTTP/1.1" 500 61 "-" "Mozilla/5.0"',
    '198.51.100.4 - - [02/May/2024:10:15:10 +1000] "GET /home HTTP/2.0" 304 0 "-" "Mozilla/5.0"',
    r'198.51.100.99 - - [02/May/2024:10:15:11 +1000] "\x16\x03\x01\x00\xCA\x01" 400 157 "-" "-"',
]) + "\n"
NGINX_TIMED_LOG = "\n".join([
    '203.0.113.50 - - [03/May/2024:09:00:00 +1000] "GET /api/units/7 HTTP/1.1" 200 5120 "-" '
    '"Mozilla/5.0" 0.045 0.044',
    '2001:db8:5:6::9 - - [03/May/2024:09:00:01 +1000] "GET /api/units/7/tasks HTTP/1.1" 404 31 '
    '"-" "curl/8.5.0" 0.003 0.002',
    '203.0.113.50 - - [03/May/2024:09:00:02 +1000] "POST /api/auth HTTP/1.1" 502 157 "-" '
    '"Mozilla/5.0" 0.030 0.010, 0.020',
    '198.51.100.4 - - [03/May/2024:09:00:03 +1000] "GET /api/units/7 HTTP/1.1" 301 169 "-" '
    '"-" "203.0.113.1" 0.000 -',
]) + "\n"
NGINX_REQUESTS = [  # requested_at, method, path_template, status, bytes, duration, upstream
    ("2024-05-02 00:15:07", "GET", "/api/units/:id", 200, 5120, None, None),
    ("2024-05-02 00:15:09", "PUT", "/api/projects/:id/task_def_id/:id", 500, 61, None, None),
    ("2024-05-02 00:15:10", "GET", "/home", 304, 0, None, None),
    ("2024-05-02 23:00:00", "GET", "/api/units/:id", 200, 5120, 45.0, 44.0),
    ("2024-05-02 23:00:01", "GET", "/api/units/:id/tasks", 404, 31, 3.0, 2.0),
    ("2024-05-02 23:00:02", "POST", "/api/auth", 502, 157, 30.0, 30.0),
    ("2024-05-02 23:00:03", "GET", "/api/units/:id", 301, 169, 0.0, None),
]

METRICS = [
    {"time": "2024-03-11T09:00:00Z", "name": "jobs.queue_depth", "value": 1,
     "tags": {"queue": "default"}},
    {"time": "2024-03-11T10:00:00Z", "name": "jobs.queue_depth", "value": 2},
    {"time": "2024-03-11T21:00:00+10:00", "name": "jobs.queue_depth", "value": 3},  # 11:00 UTC
    {"time": "2024-03-11T23:59:59Z", "name": "jobs.queue_depth", "value": 4},
    {"time": "2024-03-12T00:00:00Z", "name": "db.pool_wait_ms", "value": 10.0},
    {"time": 1710205200, "name": "db.pool_wait_ms", "value": 30.0},  # epoch: 2024-03-12 01:00
]
BAD_METRICS = ["not json at all", '{"time": "2024-03-11T09:00:00Z", "name": "x", '
               '"value": "high"}', "[1, 2]", "", '{"name": "x", "value": 1}']
BAD_METRICS_QUARANTINE = [(7, "not JSON: Expecting value"), (8, "value is not a number"),
                          (9, "not a JSON object"), (11, "missing time")]

SPLASHKIT = [  # week of Monday 2024-03-11, then of 2024-03-18
    {"time": "2024-03-11T08:00:00Z", "install_id": "inst-a", "event": "install",
     "language": "C++", "os": "Linux", "splashkit_version": "1.3.0"},
    {"time": "2024-03-11T08:05:00Z", "install_id": "inst-a", "event": "function_called",
     "function": "draw_circle", "language": "C++", "os": "Linux", "splashkit_version": "1.3.0"},
    {"time": "2024-03-12T08:00:00Z", "install_id": "inst-a", "event": "function_called",
     "function": "open_window", "language": "C++", "os": "Linux", "splashkit_version": "1.3.0"},
    {"time": "2024-03-13T09:00:00Z", "install_id": "inst-b", "event": "project_created",
     "language": "Python", "os": "Windows", "splashkit_version": "1.3.1"},
    {"time": "2024-03-17T23:30:00Z", "install_id": "inst-b", "event": "function_called",
     "function": "draw_circle", "language": "Python", "os": "Windows",
     "splashkit_version": "1.3.1"},  # Sunday night: still the first week
    {"time": "2024-03-18T00:10:00Z", "install_id": "inst-a", "event": "function_called",
     "function": "draw_circle", "language": "C++", "os": "Linux", "splashkit_version": "1.3.1"},
]


def jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


@dataclass
class Landing:
    """A landing zone for one test: a directory, or a prefix in the GCS emulator."""

    config: LandingConfig
    target: Target

    def write(self, relative: str, data: bytes | str, *, gz: bool = False) -> str:
        raw = data.encode() if isinstance(data, str) else data
        if gz:
            raw = gzip.compress(raw, mtime=0)
        if self.target.is_local:
            Path(self.target.path(relative)).parent.mkdir(parents=True, exist_ok=True)
        self.target.fs.pipe_file(self.target.path(relative), raw)
        return relative

    def extract(self, warehouse: Path, **kwargs) -> list[str]:
        lines: list[str] = []
        extract(self.config, warehouse, log=lines.append, **kwargs)
        return lines


def local_landing(root: Path) -> Landing:
    root.mkdir(parents=True, exist_ok=True)
    config = LandingConfig(str(root))
    return Landing(config, open_target(str(root)))


def gcs_landing(bucket_url: str, endpoint: str) -> Landing:
    config = LandingConfig(f"{bucket_url}/landing", endpoint_url=endpoint)
    return Landing(config, open_target(config.bucket_url, endpoint_url=endpoint))


def write_sample(landing: Landing) -> None:
    """Every hand-built file above, under one day."""
    landing.write(f"ontrack_logs/{DAY}/web-1.log", TAGGED_LOG)
    landing.write(f"ontrack_logs/{DAY}/web-2.log.gz", PID_LOG, gz=True)
    landing.write(f"ontrack_logs/{DAY}/dev.log", PLAIN_LOG)
    landing.write(f"ontrack_logs/{DAY}/api-lograge.jsonl.gz", jsonl(LOGRAGE), gz=True)
    landing.write(f"ontrack_metrics/{DAY}/metrics-0900.jsonl", jsonl(METRICS))
    landing.write(f"splashkit_usage/{DAY}/usage.jsonl.gz", jsonl(SPLASHKIT), gz=True)


def rows(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def all_text(warehouse: Path) -> str:
    """Every value of every landing_raw table, as text."""
    parts = []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = con.execute("SELECT table_name FROM duckdb_tables() "
                             "WHERE schema_name = 'landing_raw'").fetchall()
        for (table,) in tables:
            for row in con.execute(f'SELECT * FROM landing_raw."{table}"').fetchall():
                parts += [str(v) for v in row]
    return "\n".join(parts)

