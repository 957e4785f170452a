"""Memory a step freed, handed back to the system before the next step of the same process."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc

import pyarrow as pa


def release() -> None:
    """Arrow's pool and the C heap keep what was freed for reuse, so without this a run's later
    step would start from an earlier one's peak (issue #25: the hourly run within 1 GB)."""
    gc.collect()
    pa.default_memory_pool().release_unused()
    libc = ctypes.util.find_library("c")
    if libc:
        trim = getattr(ctypes.CDLL(libc), "malloc_trim", None)  # glibc only
        if trim is not None:
            trim(0)
