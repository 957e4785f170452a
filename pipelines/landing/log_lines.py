"""The request lines of OnTrack's Rails-side logs, whichever prefix they carry.

Three prefixes, detected line by line:
- Doubtfire's own (every production OnTrack since 6.0: `config/environments/doubtfire_logger.rb`,
  then `config/initializers/log_initializer.rb` from 8.0): `<Ruby Time#to_s>,<ip>,<LEVEL>: `, e.g.
  `2024-05-02 10:15:07 +1000,unknown,INFO: `. The ip is a thread variable set in
  `api_root.rb`'s `before` block: stale or `unknown` on a `Started` line, the client's own on a
  line logged inside a Grape request (`Unhandled exception: …`).
- Ruby Logger's (`I, [2024-03-11T09:00:01.123456 #4021]  INFO -- : `), with the pid.
- none (Rails' development format).
Then any tags (`[request-id] `, the first one kept). Messages that matter here:
`Started GET "/api/…" for 203.0.113.9 at 2024-03-11 09:00:01 +0000` (a request),
`Completed 200 OK in 11ms (…)` (its end, when a Rails controller served it) and Doubtfire's
`Unhandled exception: <class>` (a 500 from `rescue_from :all`).
"""

from __future__ import annotations

import polars as pl

from pipelines.landing.privacy import path_template_expr, truncate_ip_expr

_LOGGER = r"[A-Z], \[(?P<logged_at>[^\]\s]+) #(?P<pid>\d+)\] +[A-Z]+ -- [^:]*: "
# Time#to_s: `2024-05-02 10:15:07 +1000`, or `… UTC` for a time in UTC.
_DOUBTFIRE = (r"(?P<df_at>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?: [+-]\d\d:?\d\d| UTC)?),"
              r"(?P<df_ip>[^,]*),(?P<level>[A-Z]+): ")
PREFIX = rf"^(?:{_LOGGER}|{_DOUBTFIRE})?(?:\[(?P<tag>[^\]]*)\] )?(?:\[[^\]]*\] )*"

# What makes a line a candidate: its message starts like one of the three. A candidate that then
# does not parse is quarantined; anything else is context.
# (Matched without captures, which Rust's regex runs several times faster.)
HEADS = {"Started": PREFIX + "Started [A-Z]", "Completed": PREFIX + r"Completed \d",
         "Unhandled": PREFIX + "Unhandled exception"}
HEAD_LITERALS = ("Started ", "Completed ", "Unhandled exception")

# Grape's request loggers write the same two lines, some without `for <ip>`, some timing in
# seconds (`Completed 422 in 1.26 s`): both are accepted.
_STARTED = (PREFIX + r'Started (?P<method>[A-Z]+) "(?P<path>[^"]*)"(?: for (?P<ip>\S+))? at '
            r"(?P<at>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(?: (?P<offset>[+-]\d\d:?\d\d|UTC))?")
_COMPLETED = (PREFIX + r"Completed (?P<status>[1-5]\d\d)\b.*? in (?P<took>\d+(?:\.\d+)?) ?"
              r"(?P<unit>ms|s)\b")
_UNHANDLED = PREFIX + r"Unhandled exception:? ?(?P<exception>.*)$"
_CLASS_NAME = r"^[A-Z][A-Za-z0-9_]*(?:::[A-Z][A-Za-z0-9_]*)*$"

# The few routes Rails controllers serve (doubtfire-api config/routes.rb: file downloads), and
# engines beside the Grape API (its Swagger docs, Devise): only these log `Completed`.
_CONTROLLER_ROUTE = (r"^/api/submission/unit/:id/(?:portfolio|task_definitions/:id/"
                     r"(?:download_submissions|student_pdfs))$|^/api/units/:id/all_resources$"
                     r"|^/api/docs(?:/|$)|^/users(?:/|$)")

# Pairing keys. Rails: the request id, else the pid, else "" (one process, in order).
# Doubtfire: no id, no pid; a Completed can only belong to a controller route (`df:ctl`).
CONTROLLER_KEY, GRAPE_KEY = "df:ctl", "df:api"


def utc(at: pl.Expr, offset: pl.Expr) -> pl.Expr:
    """`2024-03-11 20:00:01` and `+1100` (or `+11:00`, `UTC`, none = UTC) → naive UTC; NULL
    when either is not one. The offset is arithmetic, not a time-zone conversion (10× faster)."""
    naive = at.str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False, time_unit="us")
    zone = offset.str.replace("UTC", "+0000", literal=True).str.replace(":", "", literal=True)
    minutes = (zone.str.slice(1, 2).cast(pl.Int64, strict=False) * 60
               + zone.str.slice(3, 2).cast(pl.Int64, strict=False))
    signed = pl.when(zone.str.starts_with("-")).then(-minutes).otherwise(minutes)
    return (pl.when(offset.is_null()).then(naive)
            .when(zone.str.contains(r"^[+-]\d{4}$")).then(naive - pl.duration(minutes=signed)))


def _rails_key(tag: pl.Expr, pid: pl.Expr) -> pl.Expr:
    return pl.coalesce(pl.concat_str(pl.lit("id:"), tag), pl.concat_str(pl.lit("pid:"), pid),
                       pl.lit(""))


def _groups(frame: pl.DataFrame, pattern: str) -> pl.DataFrame:
    return frame.with_columns(pl.col("line").str.extract_groups(pattern).alias("g")).unnest("g")


def _prefix(frame: pl.DataFrame) -> pl.DataFrame:
    """The prefix's pid and first tag (Rails), whether it is Doubtfire's. Captures are slow in
    Rust's regex, and Polars evaluates both sides of a when/then: only the Ruby Logger or tagged
    lines are extracted, apart."""
    line = pl.col("line")
    frame = frame.with_columns(doubtfire=line.str.contains(r"^\d{4}-"))  # HEAD matched it
    ruby = ~pl.col("doubtfire") & (line.str.starts_with("[") | line.str.contains(r"^[A-Z], \["))
    tagged = frame.filter(ruby).with_columns(
        pid=line.str.extract(r"^[A-Z], \[[^\]\s]+ #(\d+)\]", 1),
        tag=line.str.extract(r"^(?:[A-Z], \[[^\]]*\] +[A-Z]+ -- [^:]*: )?\[([^\]]*)\] ", 1))
    if not tagged.height:
        return frame.with_columns(pid=pl.lit(None, pl.String), tag=pl.lit(None, pl.String))
    return pl.concat([tagged, frame.filter(~ruby).with_columns(
        pid=pl.lit(None, pl.String), tag=pl.lit(None, pl.String))]).sort("line_number")


def started(entries: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`Started` lines → (requests awaiting their end, unparseable lines). A request keeps its
    raw client address (`ip_key`) in memory only, to attribute a Doubtfire 500 to it.

    The line is checked whole by a regex without captures (fast), then cut at its spaces:
    `GET "/path" for <ip> at <date> <time> <offset>` (Grape's variant lacks `for <ip>`). A path
    with a space in it, which Rails never writes (it is URL-encoded), is quarantined."""
    line = pl.col("line")
    f = _prefix(entries).with_columns(
        ok=line.str.contains(_STARTED),
        w=line.str.slice(line.str.find("Started ", literal=True) + 8).str.split_exact(" ", 7),
    ).unnest("w")
    with_ip = pl.col("field_2") == "for"
    quoted = pl.col("field_1")
    f = f.with_columns(
        path=pl.when(quoted.str.starts_with('"') & quoted.str.ends_with('"'))
        .then(quoted.str.slice(1, quoted.str.len_bytes() - 2)),
        ip=pl.when(with_ip).then(pl.col("field_3")),
        requested_at=utc(
            pl.concat_str(pl.when(with_ip).then("field_5").otherwise("field_3"), pl.lit(" "),
                          pl.when(with_ip).then("field_6").otherwise("field_4")),
            pl.when(with_ip).then("field_7").otherwise("field_5")),
    )
    good_line = (pl.col("ok") & pl.col("path").is_not_null()
                 & pl.col("requested_at").is_not_null())
    good = f.filter(good_line).with_columns(path_template=path_template_expr(pl.col("path")))
    common = {"requested_at": pl.col("requested_at"), "method": pl.col("field_0"),
              "path_template": pl.col("path_template"),
              "client_network": truncate_ip_expr(pl.col("ip")), "request_id": pl.col("tag"),
              "pid": pl.col("pid").cast(pl.Int32)}
    # Apart, not by when/then: Polars would compute both sides for every line.
    doubtfire = good.filter(pl.col("doubtfire")).select(
        "line_number",
        key=pl.when(pl.col("path_template").str.contains(_CONTROLLER_ROUTE))
        .then(pl.lit(CONTROLLER_KEY)).otherwise(pl.lit(GRAPE_KEY)),
        ip_key="ip", **common, log_format=pl.lit("doubtfire"))
    rails = good.filter(~pl.col("doubtfire")).select(
        "line_number", key=_rails_key(pl.col("tag"), pl.col("pid")),
        ip_key=pl.lit(None, pl.String), **common, log_format=pl.lit("rails"))
    good = pl.concat([doubtfire, rails]) if rails.height else doubtfire
    return good, f.filter(~good_line).select("line_number", "line")


def completed(entries: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`Completed` lines → (status and duration with their pairing key, unparseable lines)."""
    c = _groups(entries, _COMPLETED)
    good = c.filter(pl.col("status").is_not_null()).select(
        "line_number", "line",
        key=pl.when(pl.col("df_at").is_not_null()).then(pl.lit(CONTROLLER_KEY))
        .otherwise(_rails_key(pl.col("tag"), pl.col("pid"))),
        status=pl.col("status").cast(pl.Int16),
        duration_ms=pl.col("took").cast(pl.Float64)
        * pl.when(pl.col("unit") == "s").then(1000.0).otherwise(1.0),
    )
    return good, c.filter(pl.col("status").is_null()).select("line_number", "line")


def unhandled(entries: pl.DataFrame) -> pl.DataFrame:
    """Doubtfire's `Unhandled exception: <class>` lines, keyed by the failing request's client
    address (the prefix's ip; NULL when `unknown`). Only the class is kept: never the message.
    Under another prefix the line is not Doubtfire's: context."""
    u = _groups(entries, _UNHANDLED).filter(pl.col("df_at").is_not_null())
    ip = pl.col("df_ip")
    return u.select(
        "line_number", "line",
        ip_key=pl.when(ip.is_not_null() & (ip != "unknown") & (ip != "")).then(ip),
        exception_class=pl.when(pl.col("exception").str.strip_chars().str.contains(_CLASS_NAME))
        .then(pl.col("exception").str.strip_chars()),
    )
