"""A small warehouse with every KPI table filled (hand-built rows, kpi_fixtures), and ways to read
a publish back: files, manifest, values."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
from kpi_fixtures import PSEUDONYM_KEY, Raw

from thoth.core.platform import load_state
from thoth.core.storage import Target, open_target
from transforms.build import build
from transforms.checks import run_checks

D = datetime

# Distinctive people, so a scan of the published files cannot match ordinary words.
PEOPLE = [  # user id, project id, first, last, username, student id
    (11, 101, "Zephyrine", "Quillfeather", "zquillfe", "221100042"),
    (12, 102, "Bartholomew", "Okonkwo-Vance", "bokonkwo", "221100043"),
    (13, 103, "Ysolde", "Marchbanks", "ymarchba", "221100044"),
]
COMMENT_TEXT = "ring me on 0400 111 222, Zephyrine"


def _raw() -> Raw:
    raw = Raw()
    for uid, pid, first, last, username, student_id in PEOPLE:
        raw.add("users", id=uid, email=f"{username}@student.uni.example", first_name=first,
                last_name=last, username=username, student_id=student_id)
        raw.add("projects", id=pid, unit_id=1, user_id=uid, enrolled=True, target_grade=1,
                grade=1)
        raw.add("tutorial_enrolments", id=pid, project_id=pid, tutorial_id=1)
    for td in (1, 2):
        raw.task_definition(td, target_date=D(2024, 3, 11) + timedelta(days=7 * td),
                            due_date=D(2024, 4, 30))
    task = 0
    for _, pid, *_ in PEOPLE:
        for td in (1, 2):
            task += 1
            submitted = D(2024, 3, 4, 9 + task) + timedelta(days=7 * td)
            raw.add("tasks", id=task, project_id=pid, task_definition_id=td,
                    task_status_id=9 if task % 3 else 2, submission_date=submitted,
                    completion_date=submitted.date() if task % 3 == 0 else None)
            raw.add("task_submissions", id=task, task_id=task, submission_time=submitted,
                    assessment_time=submitted + timedelta(hours=5 * task), outcome="Complete")
            raw.add("task_engagements", id=task, task_id=task, engagement_time=submitted,
                    engagement="Ready for Feedback")
            raw.add("task_comments", id=task, task_id=task, user_id=11 + (task - 1) // 2,
                    recipient_id=1, comment=COMMENT_TEXT, created_at=submitted,
                    content_type="text")
    raw.add("task_comments", id=100, task_id=1, user_id=1, recipient_id=11,
            comment="well done Zephyrine", created_at=D(2024, 3, 19, 12), content_type="text")
    raw.add("comments_read_receipts", id=1, task_comment_id=100, user_id=11,
            created_at=D(2024, 3, 19, 15))
    for day in range(3):
        raw.add("ga4_raw.traffic", property_id="123", date=date(2024, 3, 11 + day),
                device_category="desktop", country="Australia", active_users=10 + day,
                new_users=2, sessions=20 + day, engaged_sessions=15, screen_page_views=50,
                user_engagement_duration=600.5)
        raw.add("ga4_raw.pages", property_id="123", date=date(2024, 3, 11 + day),
                page_path="/home", page_title="Home", screen_page_views=30, active_users=7,
                user_engagement_duration=123.25)
    for n, (status, ms) in enumerate([(200, 12.0), (500, 40.0), (404, 3.0)], start=1):
        raw.add("landing_raw.ontrack_logs", requested_at=D(2024, 3, 11, 9, n), method="GET",
                path_template="/api/units/:id/tasks", status=status, duration_ms=ms,
                client_network="203.0.113.0/24", log_format="rails",
                source_file="ontrack_logs/2024/03/11/web-1.log", line_number=n)
        raw.add("landing_raw.ontrack_metrics", time=D(2024, 3, 11, 9, n),
                name="jobs.queue_depth", value=float(n), tags='{"host": "web-1"}',
                source_file="ontrack_metrics/2024/03/11/m.jsonl", line_number=n)
        # A Collector's OTLP gauge (yabeda-sidekiq's backlog): kpi_background_waits has a row.
        raw.add("landing_raw.ontrack_metric_points", observed_at=D(2024, 3, 11, 9, n),
                metric="sidekiq_jobs_waiting_count", kind="gauge", sample="value",
                labels='{"job":"ontrack","queue":"default"}', value=float(n),
                source_file="ontrack_metrics/2024/03/11/otel.json", line_number=n)
        raw.add("landing_raw.splashkit_usage", time=D(2024, 3, 11 + n, 9), install_id=f"i-{n}",
                event="function_called", function="draw_circle", language="C++", os="Linux",
                splashkit_version="1.3.1", source_file="splashkit_usage/2024/03/11/u.jsonl",
                line_number=n)
    return raw


def pii_values() -> set[str]:
    values = {COMMENT_TEXT}
    for _, _, first, last, username, student_id in PEOPLE:
        values |= {first, last, f"{first} {last}", username, student_id,
                   f"{username}@student.uni.example"}
    return values


def build_template(path: Path) -> Path:
    """Raw rows → transform → check, once; tests copy the file."""
    before = os.environ.get("TRANSFORMS__PSEUDONYM_KEY")
    os.environ["TRANSFORMS__PSEUDONYM_KEY"] = PSEUDONYM_KEY
    try:
        _raw().write(path)
        with duckdb.connect(str(path)) as con:  # every raw table loaded, a minute apart
            load_state.ensure(con)
            con.execute("INSERT OR REPLACE INTO platform.load_state (source, table_name, mode, "
                        "rows_loaded, rows_deleted, rows_total, seconds, loaded_at) SELECT "
                        "replace(schema_name, '_raw', ''), table_name, 'full', 0, 0, 0, 0, "
                        "TIMESTAMP '2026-01-01 10:00' + (row_number() OVER (ORDER BY schema_name, "
                        "table_name) * INTERVAL 1 MINUTE) FROM duckdb_tables() "
                        "WHERE schema_name LIKE '%_raw'")
        build(path, pseudonym_key=PSEUDONYM_KEY.encode(), log=lambda line: None)
        assert run_checks(path, log=print)  # prints what failed
    finally:
        if before is None:
            os.environ.pop("TRANSFORMS__PSEUDONYM_KEY", None)
        else:
            os.environ["TRANSFORMS__PSEUDONYM_KEY"] = before
    return path


def copy_warehouse(template: Path, to: Path) -> Path:
    shutil.copy(template, to)
    return to


def target_for(kind: str, tmp_path: Path, gcs_url: str | None, endpoint: str | None) -> Target:
    if kind == "local":
        return open_target(str(tmp_path / "publish"))
    return open_target(f"{gcs_url}/kpis", endpoint_url=endpoint)


def manifest(target: Target) -> dict:
    return json.loads(target.read("_control/manifest.json"))


def download(target: Target, to: Path) -> Path:
    """Every published file, copied to a local directory (the same layout)."""
    for relative in target.listing():
        local = to / relative
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_bytes(target.read(relative))
    return to


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def generations(target: Target, under: str) -> dict[str, object]:
    """Each file's GCS generation (a new one on every write) or local mtime."""
    target.fs.invalidate_cache()
    found = target.fs.find(target.path(under), detail=True)
    key = "mtime" if target.is_local else "generation"
    return {p: info[key] for p, info in found.items()}


def published_text(root: Path) -> str:
    """Everything published, as text: Parquet cells read back, other files as they are."""
    parts = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if path.suffix == ".parquet":
            for column in pq.read_table(path).columns:
                parts += [str(v) for v in column.to_pylist()]
        else:
            parts.append(path.read_text())
    return "\n".join(parts)


def warehouse_rows(con: duckdb.DuckDBPyConnection, table: str, columns: list[str]) -> list:
    cols = ", ".join(f'"{c}"' for c in columns)
    return sorted(con.execute(f"SELECT {cols} FROM marts.{table}").fetchall(), key=repr)


# --- The generated DDL, parsed whole ----------------------------------------------------------

def parse_ddl(text: str) -> dict:
    """A `CREATE EXTERNAL TABLE` statement's clauses, from sqlfluff's BigQuery parse tree (which,
    unlike sqlglot's, covers `WITH PARTITION COLUMNS`); fails on anything it cannot parse."""
    from sqlfluff.core import FluffConfig, Linter

    parsed = Linter(config=FluffConfig(overrides={"dialect": "bigquery"})).parse_string(text)
    assert not parsed.violations, [v.desc() for v in parsed.violations]
    assert "unparsable" not in parsed.tree.descendant_type_set
    (statement,) = [s for s in parsed.tree.recursive_crawl("statement")]
    (create,) = statement.segments
    assert create.is_type("create_external_table_statement"), create.type
    parts = [s for s in create.segments if not s.is_meta and not s.is_type(
        "whitespace", "newline", "inline_comment")]
    keywords = []
    out: dict = {"partition_columns": None}
    for part in parts:
        if part.is_type("keyword"):
            keywords.append(part.raw.upper())
        elif part.is_type("table_reference"):
            out["prefix"] = keywords
            out["table"] = part.raw.strip("`")
            keywords = []
        elif part.is_type("bracketed"):
            columns = [_column(c) for c in part.recursive_crawl("column_definition")]
            if keywords == ["WITH", "PARTITION", "COLUMNS"]:
                out["partition_columns"] = columns
            else:
                assert keywords == [] and "columns" not in out, keywords
                out["columns"] = columns
            keywords = []
        elif part.is_type("options_segment"):
            assert keywords == [], keywords
            out["options"] = _options(part)
        else:
            raise AssertionError(f"unexpected {part.type}: {part.raw}")
    assert keywords == [], keywords
    return out


def _literal(segment) -> object:
    import ast

    if segment.is_type("quoted_literal"):
        return ast.literal_eval(segment.raw)  # BigQuery's escapes here are Python's
    if segment.is_type("boolean_literal"):
        return segment.raw.lower() == "true"
    if segment.is_type("array_literal"):
        return [_literal(s) for s in segment.segments if s.is_type("quoted_literal")]
    raise AssertionError(f"unexpected option value {segment.type}: {segment.raw}")


def _options(segment) -> dict[str, object]:
    (bracket,) = [s for s in segment.segments if s.is_type("bracketed")]
    items = [s for s in bracket.segments if not s.is_meta and not s.is_type(
        "whitespace", "newline", "start_bracket", "end_bracket", "comma")]
    assert len(items) % 3 == 0, [s.raw for s in items]
    options = {}
    for name, equals, value in zip(items[::3], items[1::3], items[2::3], strict=True):
        assert name.is_type("parameter") and equals.raw == "=", (name.raw, equals.raw)
        assert name.raw not in options, name.raw
        options[name.raw] = _literal(value)
    return options


def _column(segment) -> dict:
    names = [s for s in segment.segments if s.is_type("identifier")]
    (data_type,) = [s for s in segment.segments if s.is_type("data_type")]
    options = [s for s in segment.segments if s.is_type("options_segment")]
    return {"name": names[0].raw.strip("`"), "type": data_type.raw.upper(),
            "options": _options(options[0]) if options else {}}


# --- Readers, as BigQuery and Looker Studio read a publish --------------------------------------

def _own(target: Target) -> Target:
    """The same target through a filesystem object no one else holds (fsspec caches local
    filesystem objects by their arguments)."""
    if target.is_local:
        from fsspec.implementations.local import LocalFileSystem

        return Target(LocalFileSystem(auto_mkdir=True, skip_instance_cache=True), target.root,
                      target.url)
    return open_target(target.url, endpoint_url=target.fs._endpoint)


class Reader:
    """Reads a target as its readers do, table by table: BigQuery through the generated DDL
    (its manifest URI, then the Parquet files that manifest lists, with the DDL's hive
    partitioning) and Looker Studio as a folder (every file in `looker_studio/<table>/`).
    Content-named files are read once (their bytes never change under a name)."""

    def __init__(self, target: Target, workdir: Path):
        # Its own filesystem object: never the one a test instruments.
        self.target = _own(target)
        self.workdir = workdir
        self.ddl: dict[bytes, dict] = {}
        self.con = duckdb.connect()
        self.con.execute("SET TimeZone = 'UTC'")

    def tables(self) -> list[str]:
        return sorted(p.removeprefix("bigquery/").removesuffix(".sql")
                      for p in self.target.listing("bigquery") if p.endswith(".sql"))

    def bigquery(self, table: str, listing: dict[str, int]) -> tuple:
        """The rows a query of the external table would return (None: it cannot be read)."""
        text = self.target.read(f"bigquery/{table}.sql")
        if text is None:
            return None
        if text not in self.ddl:
            self.ddl[text] = parse_ddl(text.decode())
        ddl = self.ddl[text]
        options = ddl["options"]
        assert options["file_set_spec_type"] == "NEW_LINE_DELIMITED_MANIFEST"
        base = self.target.gs_url("")
        (uri,) = options["uris"]
        lines = (self.target.read(uri.removeprefix(base)) or b"").decode().splitlines()
        paths = []
        for line in lines:
            relative = line.removeprefix(base)
            if relative not in listing:
                return ("missing file", relative)  # BigQuery fails the query
            if ddl["partition_columns"]:
                assert line.startswith(options["hive_partition_uri_prefix"] + "dt=")
            local = self.workdir / relative
            if not local.exists():
                local.parent.mkdir(parents=True, exist_ok=True)
                local.write_bytes(self.target.read(relative))
            paths.append(str(local))
        if not paths:
            return ()
        hive = bool(ddl["partition_columns"])
        rows = self.con.execute(f"SELECT * FROM read_parquet({paths}, hive_partitioning = "
                                f"{str(hive).lower()})").fetchall()
        return tuple(sorted(rows, key=repr))

    def looker_studio(self, table: str, listing: dict[str, int]) -> tuple:
        """Every line of every file in the table's folder, as the folder connector reads it."""
        lines = []
        for path in sorted(p for p in listing if p.startswith(f"looker_studio/{table}/")):
            lines += (self.target.read(path) or b"").decode().splitlines()
        return tuple(sorted(lines))

    def view(self) -> dict[str, tuple]:
        """(table, reader) → what that reader sees now."""
        listing = self.target.listing()
        out = {}
        for table in self.tables():
            out[(table, "bigquery")] = self.bigquery(table, listing)
            out[(table, "looker_studio")] = self.looker_studio(table, listing)
        return out


# --- A publish killed at its Kth storage write --------------------------------------------------

class Killed(BaseException):
    """Raised in place of a storage write: the process stops there (nothing catches it)."""


WRITES = ("put_file", "pipe_file", "copy", "cp_file", "mv", "rm", "rm_file")


def instrumented(target: Target, before_write) -> Target:
    """The same target through a filesystem object of its own whose writes first call
    `before_write(method, path written)`; it may raise Killed."""
    fs = _own(target).fs
    depth = [0]  # a write made inside another (local put_file → cp_file) is part of it
    for name in WRITES:
        original = getattr(fs, name)

        def write(*args, _original=original, _name=name, **kwargs):
            if not depth[0]:
                # put_file, copy, cp_file, mv: (source, destination); the others: (path, …).
                two = _name in ("put_file", "copy", "cp_file", "mv")
                before_write(_name, args[1] if two else args[0])
            depth[0] += 1
            try:
                return _original(*args, **kwargs)
            finally:
                depth[0] -= 1

        setattr(fs, name, write)
    return Target(fs, target.root, target.url)
