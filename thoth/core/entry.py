"""How a command ends: an expected failure is one line on stderr (secrets masked) and a non-zero
exit, never a traceback. Shared by `thoth` and each pipeline's `python -m`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from types import ModuleType

import duckdb
from dlt.common.exceptions import DltException

from thoth.core.errors import ThothError
from thoth.core.redaction import redactor


def guarded(func: Callable[[], int], program: str = "thoth") -> int:
    """Run `func`; its exit code, or one redacted line and the failure's exit code."""
    try:
        return func()
    except ThothError as exc:
        print(f"{program}: error: {redactor()(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except (duckdb.Error, DltException) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"{program}: error: {redactor()(first)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{program}: interrupted", file=sys.stderr)
        return 130


def printed(line: str) -> None:
    """A pipeline's log line on stdout, at once (cron's log shows progress as it happens)."""
    print(line, flush=True)


def job_main(job: ModuleType, program: str) -> int:
    """`python -m pipelines.<source>`: the source's job (its `DESCRIPTION`, `add_arguments` and
    `run`) on the configured warehouse, as `thoth extract <source>` runs it."""
    from thoth.core.config import warehouse_path

    parser = argparse.ArgumentParser(prog=program, description=job.DESCRIPTION)
    job.add_arguments(parser)
    args = vars(parser.parse_args())

    def main() -> int:
        job.run(warehouse_path(), log=printed, **args)
        return 0

    return guarded(main, program)
