"""The source read ahead of the warehouse: each incremental table's changed rows, then the count
and sum of its ids, then (when those say rows are gone) all its ids, read on threads while the
warehouse merges the tables before it.

An hourly load mostly waits on the source: its sequential scan for the rows changed since the
cursor (OnTrack has no index on `updated_at`), the count and sum of the ids, and in an hour that
deleted rows the scan of every id (deletions.py). Done in turn, the warehouse idles through the
source's scans and the source through the warehouse's merges: 9 of an hourly extract's 15 s at
scale 1 were such waits (issue #25). So every incremental table's read starts when the extract
does, the largest first, its rows into an Arrow IPC file beside the warehouse, and a table's
load takes them in its turn.

What the warehouse does is unchanged: each table's upsert, deletions and guard run in its own
transaction, in order. The count and sum are still read after the changed rows, as deletions.py's
argument needs, up to the same bound: the larger of the warehouse's largest id and the largest
read. The read ahead predicts the warehouse's own count and sum after the upsert (what it held,
plus the ids read above its largest); when the source's differ, or nobody may trust them (an
erasure), it reads every id too, after the changed rows as the argument needs. The load decides
as before from the warehouse itself and uses that scan only when its range is the one it needs,
else reads the ids again. A read that failed fails its table's load, as a streamed one did. Full
loads stream as before: a whole table staged on disk would be written twice for nothing.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from pipelines.ontrack import deletions
from pipelines.ontrack.source_db import Column, SourceDB, as_ids, reason
from thoth.core.errors import ThothError

# Reads in flight: the source scans two large tables at once, largest first, while the
# warehouse merges a third; the other tables' reads go one at a time on a lane of their own, so
# their loads, which go by name, never wait behind a large one.
WORKERS = 2
LARGE_ROWS = 1_000_000


@dataclass(frozen=True)
class _Read:
    where: str
    columns: list[Column]
    path: Path
    bound: int | None  # the count and sum below were taken up to this id
    totals: tuple[int, int] | None
    scanned: deletions.SourceIds | None


class ReadAhead:
    """A source whose `rows` and `id_totals` are served from reads started early, when they
    match one (the same table, columns and WHERE; the same bound), else from the source; and
    the ids a read ahead scanned (`scanned`)."""

    def __init__(self, src: SourceDB, directory: Path) -> None:
        self.src, self.directory = src, directory
        shutil.rmtree(directory, ignore_errors=True)  # what a killed run left
        directory.mkdir(parents=True)
        self._large = ThreadPoolExecutor(WORKERS, thread_name_prefix="read-ahead")
        self._small = ThreadPoolExecutor(1, thread_name_prefix="read-ahead-small")
        self._reads: dict[str, Future[_Read]] = {}

    def start(self, table: str, columns: list[Column], where: str,
              known: deletions.Known | None) -> None:
        """Read `table`'s rows matching `where` now; then, given what the warehouse `known`s of
        its ids, their count and sum up to the larger of its largest and the largest read, and
        every id when rows may be gone. Reads start in the order asked, on two lanes: tables
        with LARGE_ROWS ids or more, and the rest (extract.py asks the large ones largest
        first)."""
        path = self.directory / f"{len(self._reads)}.arrow"  # not the name: names can be hostile
        lane = self._large if known and known.count >= LARGE_ROWS else self._small
        self._reads[table] = lane.submit(self._read, table, columns, where, path, known)

    def _read(self, table: str, columns: list[Column], where: str, path: Path,
              known: deletions.Known | None) -> _Read:
        try:
            return self._read_into(table, columns, where, path, known)
        except (ThothError, KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # noqa: BLE001 - a driver's Rust panic is a BaseException
            raise ThothError(f"reading from the OnTrack {self.src} failed: "
                             f"{self.src.scrub(reason(exc))}") from None

    def _read_into(self, table: str, columns: list[Column], where: str, path: Path,
                   known: deletions.Known | None) -> _Read:
        bound = known.bound if known else None
        top, new_rows, new_sum = None, 0, 0  # ids read above the warehouse's largest
        with self.src.rows(table, columns, where) as reader, \
                pa.ipc.new_stream(str(path), reader.schema) as sink:
            has_id = "id" in reader.schema.names
            for batch in reader:
                sink.write_batch(batch)
                if has_id and batch.num_rows:
                    ids = as_ids(batch.column("id"))
                    if len(ids):
                        top = ids.max() if top is None else max(top, ids.max())
                        new = ids if bound is None else ids[ids > bound]
                        new_rows, new_sum = new_rows + len(new), new_sum + int(new.sum())
        if known is None or (bound is None and top is None):
            return _Read(where, columns, path, None, None, None)
        bound = int(top) if bound is None or (top is not None and top > bound) else bound
        totals = self.src.id_totals(table, bound) if known.certified else None
        expected = (known.totals[0] + new_rows, known.totals[1] + new_sum)
        scanned = None
        if known.low is not None and totals != expected:  # rows may be gone: the scan, now
            id_column = next(c for c in columns if c.name == "id")
            scanned = deletions.read_source_ids(
                self.src, table, id_column, known.low, bound,
                deletions.dense(known.low, bound, known.count + new_rows))
        return _Read(where, columns, path, bound, totals, scanned)

    def _match(self, table: str, columns: list[Column], where: str) -> _Read | None:
        future = self._reads.get(table)
        if future is None:
            return None
        read = future.result()  # a failed read raises here: its table's load fails
        return read if (read.where, read.columns) == (where, columns) else None

    @contextmanager
    def rows(self, table: str, columns: list[Column],
             where: str = "") -> Iterator[pa.RecordBatchReader]:
        read = self._match(table, columns, where)
        if read is None:
            with self.src.rows(table, columns, where) as reader:
                yield reader
            return
        with pa.OSFile(str(read.path)) as file:
            yield pa.ipc.open_stream(file)
        read.path.unlink()  # read once: the disk is given back as the run goes

    def id_totals(self, table: str, upto: int) -> tuple[int, int]:
        future = self._reads.get(table)
        read = future.result() if future else None
        if read is not None and read.totals is not None and read.bound == upto:
            return read.totals
        return self.src.id_totals(table, upto)

    def ids(self, table: str, id_column: Column) -> AbstractContextManager[Iterator[np.ndarray]]:
        return self.src.ids(table, id_column)  # read when a count says rows may be gone

    def as_read(self, tables: list[str]) -> Iterator[str]:
        """`tables` as their reads finish (any not read ahead first)."""
        futures = {self._reads[t]: t for t in tables if t in self._reads}
        yield from (t for t in tables if t not in self._reads)
        for future in as_completed(futures):
            yield futures[future]

    def scanned(self, table: str) -> deletions.SourceIds | None:
        """The source's ids, when the read ahead scanned them (after the changed rows)."""
        future = self._reads.get(table)
        return future.result().scanned if future else None

    def close(self) -> None:
        """Reads not started are dropped; those under way finish (each is bounded) first."""
        for future in self._reads.values():
            future.cancel()
        self._large.shutdown(wait=True)
        self._small.shutdown(wait=True)
        shutil.rmtree(self.directory, ignore_errors=True)
