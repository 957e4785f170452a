"""Memory a step freed, handed back to the system before the next step of the same process."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from collections.abc import Callable
from functools import cache

import pyarrow as pa


def settle() -> None:
    """What the process holds so far (its modules, its configuration) lives as long as it does:
    kept out of every later collection, so `release`'s takes ~10 ms, not ~90 (issue #25)."""
    gc.collect()
    gc.freeze()


def release() -> None:
    """Arrow's pool and the C heap keep what was freed for reuse, so without this a run's later
    step would start from an earlier one's peak (issue #25: the hourly run within 1 GB)."""
    gc.collect()
    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    libc = ctypes.util.find_library("c")
    return getattr(ctypes.CDLL(libc), "malloc_trim", None) if libc else None  # glibc only
