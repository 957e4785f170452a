"""Deterministic sample files for `make demo`, the tests and `make bench`: what producers write.

`write_samples` lands a week of the three feeds under a landing root (a few hundred KB, with a
handful of malformed lines, so the quarantine has something to show): OnTrack's log as production
Doubtfire writes it every day, its nginx access log (with durations) for the last three days,
and OnTrack's metrics as an OpenTelemetry Collector's file exporter writes them (OTLP JSON built
with the opentelemetry-proto classes: what yabeda-rails/-sidekiq/-activerecord expose, with a
process restart mid-week) beside the older {time, name, value, tags} lines.
`write_rails_log` and `write_doubtfire_log` stream a log of any size for the benchmark.
"""

from __future__ import annotations

import gzip
import json
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

ENDPOINTS = [  # (method, path with {} for ids, weight, typical ms)
    ("GET", "/api/units/{}/tasks", 30, 40), ("GET", "/api/projects/{}", 25, 60),
    ("POST", "/api/projects/{}/task_def_id/{}/submission", 6, 400),
    ("GET", "/api/tasks/{}/comments", 15, 30), ("POST", "/api/projects/{}/task_def_id/{}/comments",
                                                  8, 80),
    ("GET", "/api/units/{}", 10, 120), ("GET", "/api/auth/method", 6, 5),
]
CONTROLLERS = {"GET": "index", "POST": "create"}


def _request(rng: random.Random, t: datetime, pid: int) -> tuple[str, list[str]]:
    method, path, _, ms = rng.choices(ENDPOINTS, weights=[e[2] for e in ENDPOINTS])[0]
    path = path.format(*(rng.randint(1, 5000) for _ in range(path.count("{}"))))
    status = rng.choices([200, 201, 401, 404, 500], weights=[80, 8, 4, 6, 2])[0]
    duration = max(1, int(rng.expovariate(1 / ms)))
    rid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    # Documentation networks (RFC 5737): nobody's real address.
    ip = f"{rng.choice(['192.0.2', '198.51.100', '203.0.113'])}.{rng.randint(1, 254)}"
    text = {200: "OK", 201: "Created", 401: "Unauthorized", 404: "Not Found",
            500: "Internal Server Error"}[status]
    query = "?abbr=1" if rng.random() < 0.2 else ""
    done = t + timedelta(milliseconds=duration)

    def prefix(at: datetime) -> str:
        return f"I, [{at:%Y-%m-%dT%H:%M:%S.%f} #{pid}]  INFO -- : [{rid}] "

    return rid, [
        prefix(t) + f'Started {method} "{path}{query}" for {ip} at {t:%Y-%m-%d %H:%M:%S} +0000',
        prefix(t) + f"Processing by Api::RootController#{CONTROLLERS[method]} as JSON",
        prefix(t) + '  Parameters: {"id"=>"' + str(rng.randint(1, 5000)) + '"}',
        prefix(done) + f"Completed {status} {text} in {duration}ms (Views: {duration * 0.3:.1f}ms "
        f"| ActiveRecord: {duration * 0.5:.1f}ms | Allocations: {rng.randint(500, 9000)})",
    ]


def rails_lines(rng: random.Random, start: datetime, requests: int,
                processes: int = 4) -> Iterator[str]:
    """Rails' multi-line entries from several processes (pids), interleaved as they are in a
    shared log file: each process's own lines stay in order, other processes' come between."""
    pids = [4021 + i for i in range(processes)]
    queues: dict[int, list[str]] = {}
    t = start
    for _ in range(requests):
        t += timedelta(milliseconds=rng.randint(1, 400))
        pid = rng.choice(pids)
        while pid in queues:  # a process serves one request at a time: flush its last one
            yield from queues.pop(pid)
            pid = rng.choice(pids)
        queues[pid] = _request(rng, t, pid)[1]
        while len(queues) > 1 and rng.random() < 0.7:  # interleave a line from a busy process
            other = rng.choice(list(queues))
            yield queues[other].pop(0)
            if not queues[other]:
                del queues[other]
    for lines in queues.values():
        yield from lines


def lograge_lines(rng: random.Random, start: datetime, requests: int) -> Iterator[str]:
    t = start
    for _ in range(requests):
        t += timedelta(milliseconds=rng.randint(1, 900))
        method, path, _, ms = rng.choices(ENDPOINTS, weights=[e[2] for e in ENDPOINTS])[0]
        yield json.dumps({
            "method": method,
            "path": path.format(*(rng.randint(1, 5000) for _ in range(path.count("{}")))),
            "format": "json", "controller": "Api::RootController", "action": "index",
            "status": rng.choices([200, 404, 500, 503], weights=[90, 5, 3, 2])[0],
            "duration": round(rng.expovariate(1 / ms), 2), "view": 1.2, "db": 3.4,
            "time": t.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z"),
            "remote_ip": f"2001:db8:{rng.randint(1, 9)}::{rng.randint(1, 999)}",
            "request_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        })


# doubtfire-api config/routes.rb: the routes Rails controllers serve (they log Completed).
DOWNLOADS = [("/api/submission/unit/{}/portfolio", "PortfolioDownloadsController"),
             ("/api/units/{}/all_resources", "LectureResourceDownloadsController")]
EXCEPTIONS = ["NoMethodError", "ActiveRecord::RecordNotUnique", "Errno::ENOENT"]


def _client(rng: random.Random) -> str:
    # Documentation networks (RFC 5737): nobody's real address.
    return f"{rng.choice(['192.0.2', '198.51.100', '203.0.113'])}.{rng.randint(1, 254)}"


def doubtfire_lines(rng: random.Random, start: datetime, requests: int,
                    offset: str = "+1000") -> Iterator[str]:
    """What production Doubtfire (8.0.x log_initializer.rb) writes: `<Time#to_s>,<ip>,<LEVEL>: `
    then the message, newlines escaped. The ip is the thread's last Grape client (stale on a
    Started line); Grape requests log only `Started`; a 500 logs `Unhandled exception: <class>`,
    the exception and the backtrace under its client's address; downloads log Completed."""
    zone = timezone(timedelta(hours=int(offset[:3]), minutes=int(offset[0] + offset[3:])))
    t, thread_ip = start.replace(tzinfo=UTC).astimezone(zone), "unknown"

    def line(ip: str, level: str, message: str) -> str:
        return f"{t:%Y-%m-%d %H:%M:%S} {offset},{ip},{level}: {message}"

    for n in range(requests):
        t += timedelta(milliseconds=rng.randint(1, 900))
        ip = _client(rng)
        if rng.random() < 0.03:  # a download, through a Rails controller
            path, controller = rng.choice(DOWNLOADS)
            path, ms = path.format(rng.randint(1, 400)), rng.randint(50, 4000)
            yield line(thread_ip, "INFO", f'Started GET "{path}" for {ip} at '
                                          f"{t:%Y-%m-%d %H:%M:%S} {offset}")
            yield line(thread_ip, "INFO", f"Processing by {controller}#index as HTML")
            yield line(thread_ip, "INFO", '  Parameters: {"id"=>"' + path.split("/")[-2] + '"}')
            yield line(thread_ip, "INFO", f"Completed 200 OK in {ms}ms (Views: 0.4ms | "
                                          f"ActiveRecord: {ms * 0.1:.1f}ms | Allocations: 9120)")
            continue
        method, path, _, _ = rng.choices(ENDPOINTS, weights=[e[2] for e in ENDPOINTS])[0]
        path = path.format(*(rng.randint(1, 5000) for _ in range(path.count("{}"))))
        yield line(thread_ip, "INFO", f'Started {method} "{path}" for {ip} at '
                                      f"{t:%Y-%m-%d %H:%M:%S} {offset}")
        thread_ip = ip  # api_root.rb's `before` sets it for the rest of this request
        if path == "/api/auth/method" and rng.random() < 0.5:
            yield line(ip, "INFO", f"Authenticate student{rng.randint(1, 999):03d} from {ip}")
        if rng.random() < 0.02:
            cls = rng.choice(EXCEPTIONS)
            yield line(ip, "ERROR", f"Unhandled exception: {cls}")
            yield line(ip, "ERROR", f"#<{cls}: something went wrong>")
            yield line(ip, "ERROR", r"/doubtfire/app/api/tasks_api.rb:140:in `block in "
                                    r"<class:TasksApi>'\n/usr/local/bundle/gems/grape-2.0.0/"
                                    r"lib/grape/endpoint.rb:58:in `call'")
        if n % 97 == 0:  # the cron jobs and the shell share the file
            yield line("unknown", "INFO", f"creating pdf for task {rng.randint(1, 600000)}")
            yield "tput: No value for $TERM and no -T specified"


def nginx_lines(rng: random.Random, start: datetime, requests: int, *, timed: bool = True,
                offset: str = "+1000") -> Iterator[str]:
    """nginx's `combined` access log, with `$request_time $upstream_response_time` appended
    when `timed` (docs/sources/landing.md, "ontrack_logs")."""
    zone = timezone(timedelta(hours=int(offset[:3]), minutes=int(offset[0] + offset[3:])))
    t = start.replace(tzinfo=UTC).astimezone(zone)
    for _ in range(requests):
        t += timedelta(milliseconds=rng.randint(1, 900))
        method, path, _, ms = rng.choices(ENDPOINTS, weights=[e[2] for e in ENDPOINTS])[0]
        path = path.format(*(rng.randint(1, 5000) for _ in range(path.count("{}"))))
        status = rng.choices([200, 201, 304, 401, 404, 500], weights=[78, 8, 4, 4, 4, 2])[0]
        took = max(0.001, rng.expovariate(1000 / ms))
        tail = f" {took:.3f} {max(0.0, took - 0.001):.3f}" if timed else ""
        yield (f'{_client(rng)} - - [{t:%d/%b/%Y:%H:%M:%S %z}] "{method} {path} HTTP/1.1" '
               f'{status} {rng.randint(0, 60000)} "https://ontrack.example.edu/" '
               f'"Mozilla/5.0 (X11; Linux x86_64)"{tail}')


METRICS = [("jobs.queue_depth", 0, 40), ("puma.busy_threads", 0, 16),
           ("db.pool_wait_ms", 0, 250), ("submissions.pdf_render_ms", 200, 9000)]


def metric_lines(rng: random.Random, start: datetime, minutes: int) -> Iterator[str]:
    for m in range(minutes):
        t = start + timedelta(minutes=m)
        for name, low, high in METRICS:
            yield json.dumps({"time": f"{t:%Y-%m-%dT%H:%M:%S}Z", "name": name,
                              "value": round(rng.uniform(low, high), 2),
                              "tags": {"host": f"web-{rng.randint(1, 2)}"}})


# What OnTrack would expose through yabeda, as the Collector's prometheus receiver passes it on.
ROUTES = [("units", "index", 30), ("projects", "show", 25), ("tasks", "submission", 6),
          ("comments", "index", 15), ("auth", "method", 6)]
QUEUES = [("default", 2.0), ("mailers", 30.0), ("pdf", 120.0)]  # typical wait in seconds
LATENCY_BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300,
                  1800, 3600, 21600]  # yabeda-sidekiq's LONG_RUNNING_JOB_RUNTIME_BUCKETS


class OnTrackProcess:
    """Cumulative counters and histograms of one OnTrack process since its start; `restart`
    zeroes them, as a deploy does."""

    def __init__(self, rng: random.Random, started: datetime) -> None:
        self.rng = rng
        self.restart(started)

    def restart(self, at: datetime) -> None:
        self.started = at
        self.requests = {(c, a): 0 for c, a, _ in ROUTES}
        self.latency = {q: [0] * (len(LATENCY_BOUNDS) + 1) for q, _ in QUEUES}
        self.latency_sum = {q: 0.0 for q, _ in QUEUES}

    def work(self) -> None:
        for controller, action, weight in ROUTES:
            self.requests[(controller, action)] += self.rng.randint(0, weight)
        for queue, typical in QUEUES:
            for _ in range(self.rng.randint(0, 6)):
                wait = self.rng.expovariate(1 / typical)
                slot = next((i for i, b in enumerate(LATENCY_BOUNDS) if wait <= b),
                            len(LATENCY_BOUNDS))
                self.latency[queue][slot] += 1
                self.latency_sum[queue] += wait


def _ns(t: datetime) -> int:
    return int(t.replace(tzinfo=UTC).timestamp()) * 10**9


def otlp_request(process: OnTrackProcess, t: datetime) -> str:
    """One ExportMetricsServiceRequest as the Collector's file exporter writes it (protobuf's
    JSON mapping, enums as numbers), built with the proto classes."""
    from google.protobuf import json_format
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
        ExportMetricsServiceRequest,
    )

    rng, now, start = process.rng, _ns(t), _ns(process.started)
    request = ExportMetricsServiceRequest()
    resource = request.resource_metrics.add()
    for key, value in (("service.name", "ontrack"), ("service.instance.id", "web-1")):
        attribute = resource.resource.attributes.add()
        attribute.key, attribute.value.string_value = key, value
    scope = resource.scope_metrics.add()
    scope.scope.name = "otelcol/prometheusreceiver"

    def labelled(point, **labels: str) -> None:
        for key, value in labels.items():
            attribute = point.attributes.add()
            attribute.key, attribute.value.string_value = key, value

    requests = scope.metrics.add()
    requests.name = "rails_requests_total"
    requests.sum.aggregation_temporality, requests.sum.is_monotonic = 2, True
    for (controller, action), count in process.requests.items():
        point = requests.sum.data_points.add()
        point.start_time_unix_nano, point.time_unix_nano, point.as_int = start, now, count
        labelled(point, controller=controller, action=action, status="200", format="json",
                 method="get")
    latency = scope.metrics.add()
    latency.name, latency.unit = "sidekiq_job_latency_seconds", "s"
    latency.histogram.aggregation_temporality = 2
    for queue, counts in process.latency.items():
        point = latency.histogram.data_points.add()
        point.start_time_unix_nano, point.time_unix_nano = start, now
        point.explicit_bounds.extend(LATENCY_BOUNDS)
        point.bucket_counts.extend(counts)
        point.count, point.sum = sum(counts), round(process.latency_sum[queue], 3)
        labelled(point, queue=queue, worker="PdfGenerationJob" if queue == "pdf" else "Job")
    for name, label, values in (
            ("sidekiq_queue_latency", "queue", {q: rng.expovariate(1 / w) for q, w in QUEUES}),
            ("sidekiq_jobs_waiting_count", "queue", {q: rng.randint(0, 40) for q, _ in QUEUES}),
            ("activerecord_connection_pool_waiting", "config",
             {"primary": rng.choices([0, 1, 2, 5], weights=[80, 10, 7, 3])[0]})):
        gauge = scope.metrics.add()
        gauge.name = name
        for key, value in values.items():
            point = gauge.gauge.data_points.add()
            point.time_unix_nano, point.as_double = now, round(float(value), 3)
            labelled(point, **{label: key})
    # Compact, as the Collector writes it.
    return json.dumps(json_format.MessageToDict(request, use_integers_for_enums=True),
                      separators=(",", ":"))


def otlp_lines(process: OnTrackProcess, start: datetime, hours: int,
               restart_at: datetime | None = None) -> Iterator[str]:
    """A request every 15 minutes for `hours`; the process restarts at `restart_at`."""
    for quarter in range(hours * 4):
        t = start + timedelta(minutes=15 * quarter)
        if restart_at is not None and t >= restart_at > t - timedelta(minutes=15):
            process.restart(t - timedelta(minutes=1))
        process.work()
        yield otlp_request(process, t)


FUNCTIONS = ["open_window", "draw_circle", "fill_rectangle", "load_bitmap", "play_sound_effect",
             "key_down", "refresh_screen", "write_line", "read_line"]
LANGUAGES = ["C++", "C#", "Python", "Pascal"]
SYSTEMS = ["Windows", "macOS", "Linux"]
VERSIONS = ["1.2.0", "1.3.0", "1.3.1"]


def splashkit_lines(rng: random.Random, start: datetime, installs: int,
                    days: int) -> Iterator[str]:
    ids = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(installs)]
    profile = {i: (rng.choice(LANGUAGES), rng.choice(SYSTEMS), rng.choice(VERSIONS)) for i in ids}
    for day in range(days):
        for install in rng.sample(ids, k=max(1, installs // 3)):
            language, system, version = profile[install]
            t = start + timedelta(days=day, seconds=rng.randint(0, 86000))
            events = (["install"] if day == 0 and rng.random() < 0.3 else []) + \
                ["project_created"] * (rng.random() < 0.3) + ["function_called"] * rng.randint(1, 6)
            for event in events:
                t += timedelta(seconds=rng.randint(1, 60))
                row = {"time": f"{t:%Y-%m-%dT%H:%M:%S}Z", "install_id": install, "event": event,
                       "language": language, "os": system, "splashkit_version": version}
                if event == "function_called":
                    row["function"] = rng.choice(FUNCTIONS)
                yield json.dumps(row)


def _write(path: Path, lines: Iterator[str] | list[str], gz: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(f"{line}\n" for line in lines).encode()
    path.write_bytes(gzip.compress(text, mtime=0) if gz else text)
    return path


def write_samples(root: Path, *, days: int = 7, end: date | None = None,
                  seed: int = 6) -> list[Path]:
    """A week of the three feeds under `root`, up to `end` (default: yesterday)."""
    rng = random.Random(seed)
    end = end or (datetime.now(UTC).date() - timedelta(days=1))
    written = []
    first = end - timedelta(days=days - 1)
    process = OnTrackProcess(random.Random(seed), datetime(first.year, first.month, first.day))
    for back in range(days - 1, -1, -1):
        day = end - timedelta(days=back)
        folder = f"{day:%Y/%m/%d}"
        start = datetime(day.year, day.month, day.day, 9)
        doubtfire = list(doubtfire_lines(rng, start, 150))
        nginx = list(nginx_lines(rng, start, 150)) if back < 3 else None  # added late in the week
        if back == 0:  # what a real log also holds now and then: kept aside, counted
            doubtfire[5:5] = ["2024-03-11 09:00:01 +1000,unknown,INFO: Started GET without a "
                              "quoted path for 10.1.2.3"]
            nginx[7:7] = ['198.51.100.9 - - [11/Mar/2024:09:00:01 +1000] "\\x16\\x03\\x01" '
                          '400 157 "-" "-" 0.001 -']
        written.append(_write(root / "ontrack_logs" / folder / "doubtfire-api.log", doubtfire))
        if nginx:
            written.append(_write(root / "ontrack_logs" / folder / "proxy-access.log.gz", nginx,
                                  gz=True))
        metrics = list(metric_lines(rng, start, 30))
        if back == 0:
            metrics.append('{"time": "2024-03-11T09:00:00Z", "name": "jobs.queue_depth"}')
        written.append(_write(root / "ontrack_metrics" / folder / "metrics-0900.jsonl", metrics))
        # The Collector's file for the day, gzipped on upload; OnTrack is redeployed (a
        # restart: every counter from zero) at noon in the middle of the week.
        restart = start + timedelta(hours=3) if back == days // 2 else None
        otlp = list(otlp_lines(process, start, 8, restart))
        if back == 0:  # a histogram that does not fit its bounds: quarantined, counted
            otlp.append(otlp.pop().replace('"explicitBounds":[0.005,', '"explicitBounds":['))
        written.append(_write(root / "ontrack_metrics" / folder / "otel-metrics.json.gz", otlp,
                              gz=True))
        written.append(_write(root / "splashkit_usage" / folder / "usage.jsonl.gz",
                              splashkit_lines(rng, start, 40 + 3 * (days - back), 1), gz=True))
    return written


def _write_log(path: Path, size_bytes: int, batch, step: timedelta) -> int:
    """Lines from `batch(start)` until about `size_bytes`, streamed to disk; the lines written."""
    start, lines, written = datetime(2024, 3, 11, 9), 0, 0
    with open(path, "w", buffering=1 << 20) as out:
        while written < size_bytes:
            lines_now = batch(start)
            text = "\n".join(lines_now) + "\n"
            out.write(text)
            written += len(text)
            lines += len(lines_now)
            start += step
    return lines


def write_rails_log(path: Path, size_bytes: int, *, seed: int = 1, processes: int = 8) -> int:
    """A Rails log of about `size_bytes`, streamed to disk; the number of lines written."""
    rng = random.Random(seed)
    return _write_log(path, size_bytes, lambda start: list(rails_lines(rng, start, 2000,
                                                                       processes)),
                      timedelta(minutes=5))


def write_doubtfire_log(path: Path, size_bytes: int, *, seed: int = 1) -> int:
    """A Doubtfire-format log of about `size_bytes`, streamed to disk; the lines written."""
    rng = random.Random(seed)
    return _write_log(path, size_bytes, lambda start: list(doubtfire_lines(rng, start, 5000)),
                      timedelta(minutes=40))
