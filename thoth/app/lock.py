"""One `thoth run` (or publish, lake, retention, erasure) at a time per warehouse: a lock file,
never waited for (a second one exits 75 at once, like cron/thoth-cron)."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from thoth.core.errors import ThothError

EXIT_LOCKED = 75  # EX_TEMPFAIL, as cron/thoth-cron

_held: set[Path] = set()  # by this process: a step inside `thoth run` runs under the run's lock


class RunLocked(ThothError):
    exit_code = EXIT_LOCKED


@contextmanager
def run_lock(path: Path) -> Iterator[None]:
    """Held for the whole run; the kernel releases it when the process dies, even on SIGKILL."""
    if path in _held:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunLocked(f"another `thoth run` or `thoth publish` holds {path}; this one did "
                            f"nothing (exit {EXIT_LOCKED})") from None
        _held.add(path)
        try:
            yield
        finally:
            _held.discard(path)
