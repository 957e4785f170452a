"""The source read ahead of the warehouse: each incremental table's changed rows, then the count
and sum of its ids, read on two threads while the warehouse merges the tables before it.

An hourly load mostly waits on the source: its sequential scan for the rows changed since the
cursor (OnTrack has no index on `updated_at`), then the count and sum of the ids
(deletions.py). Done in turn, the warehouse idles through the source's scans and the source
through the warehouse's merges: 9 of an hourly extract's 15 s at scale 1 were such waits (issue
#25). So every incremental table's read starts when the extract does, two at a time, each into an
Arrow IPC file beside the warehouse, and a table's load reads its file in its turn.

What the warehouse does is unchanged: each table's upsert, deletions and guard run in its own
transaction, in order. The count and sum are still read after the changed rows, as deletions.py's
argument needs, up to the same bound: the larger of the warehouse's largest id and the largest
read. A read that failed fails its table's load, as a streamed one did. Full loads stream as
before: a whole table staged on disk would be written twice for nothing.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.ontrack.source_db import Column, SourceDB, reason
from thoth.core.errors import ThothError

# Reads in flight: the source scans two tables at once while the warehouse merges a third.
WORKERS = 2


@dataclass(frozen=True)
class _Read:
    where: str
    columns: list[Column]
    path: Path
    bound: int | None  # the count and sum below were taken up to this id
    totals: tuple[int, int] | None


class ReadAhead:
    """A source whose `rows` and `id_totals` are served from reads started early, when they
    match one (the same table, columns and WHERE; the same bound), else from the source."""

    def __init__(self, src: SourceDB, directory: Path) -> None:
        self.src, self.directory = src, directory
        shutil.rmtree(directory, ignore_errors=True)  # what a killed run left
        directory.mkdir(parents=True)
        self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="read-ahead")
        self._reads: dict[str, Future[_Read]] = {}

    def start(self, table: str, columns: list[Column], where: str, id_bound: int | None,
              totals: bool) -> None:
        """Read `table`'s rows matching `where` now; then, when `totals`, the count and sum of
        its ids up to the larger of `id_bound` and the largest id read."""
        path = self.directory / f"{len(self._reads)}.arrow"  # not the name: names can be hostile
        self._reads[table] = self._pool.submit(
            self._read, table, columns, where, path, id_bound, totals)

    def _read(self, table: str, columns: list[Column], where: str, path: Path,
              bound: int | None, totals: bool) -> _Read:
        try:
            return self._read_into(table, columns, where, path, bound, totals)
        except ThothError:
            raise
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # noqa: BLE001 - a driver's Rust panic is a BaseException
            raise ThothError(f"reading from the OnTrack {self.src} failed: "
                             f"{self.src.scrub(reason(exc))}") from None

    def _read_into(self, table: str, columns: list[Column], where: str, path: Path,
                   bound: int | None, totals: bool) -> _Read:
        with self.src.rows(table, columns, where) as reader, \
                pa.ipc.new_stream(str(path), reader.schema) as sink:
            has_id = "id" in reader.schema.names
            for batch in reader:
                sink.write_batch(batch)
                if has_id and batch.num_rows:
                    top = pc.max(batch.column("id")).as_py()
                    bound = top if bound is None or (top is not None and top > bound) else bound
        sums = self.src.id_totals(table, bound) if totals and bound is not None else None
        return _Read(where, columns, path, bound, sums)

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

    def close(self) -> None:
        """Reads not started are dropped; those under way finish (each is bounded) first."""
        for future in self._reads.values():
            future.cancel()
        self._pool.shutdown(wait=True)
        shutil.rmtree(self.directory, ignore_errors=True)
