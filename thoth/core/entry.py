"""How a command ends: an expected failure is one line on stderr (secrets masked) and a non-zero
exit, never a traceback. Shared by `thoth` and each pipeline's `python -m`."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any, NoReturn

import duckdb
from dlt.common.exceptions import DltException

from thoth.core.errors import ThothError, did_you_mean
from thoth.core.redaction import redactor
from thoth.core.storage import cause, storage_errors


class Parser(argparse.ArgumentParser):
    """argparse, answering a mistyped command or flag in one line with the nearest one (exit 2):
    Python 3.14's `suggest_on_error`, for the subcommand's own flags too."""

    def parse_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                   namespace: argparse.Namespace | None = None) -> argparse.Namespace:
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:  # argparse reports them from the top parser, which has none of their flags
            leaf = self._chosen(parsed)
            flags = [s for action in leaf._actions for s in action.option_strings]
            said = []
            for extra in extras:
                close = did_you_mean(extra.split("=", 1)[0], flags) if extra.startswith("-") \
                    else None
                said.append(f"{extra} (did you mean {close}?)" if close else extra)
            leaf.error(f"unrecognized arguments: {' '.join(said)}")
        return parsed

    def _chosen(self, parsed: argparse.Namespace) -> argparse.ArgumentParser:
        """The (sub)command's parser the arguments chose."""
        parser: argparse.ArgumentParser = self
        while parser._subparsers is not None:
            commands = next(a for a in parser._subparsers._group_actions
                            if isinstance(a, argparse._SubParsersAction))
            chosen = getattr(parsed, commands.dest, None)
            if chosen not in commands.choices:
                break
            parser = commands.choices[chosen]
        return parser

    def error(self, message: str) -> NoReturn:
        choice = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)$", message)
        if choice:
            word, choices = choice[1], re.findall(r"'([^']*)'", choice[2])
            close = did_you_mean(word, choices)
            message = (f"{word!r} is not a `{self.prog}` command: " + (
                f"did you mean {close}?" if close else f"choose from {', '.join(choices)}"))
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


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
    except storage_errors() as exc:  # a target no step named: still one line
        print(f"{program}: error: storage: {redactor()(cause(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{program}: interrupted", file=sys.stderr)
        return 130


def printed(line: str) -> None:
    """A pipeline's log line on stdout, at once (cron's log shows progress as it happens)."""
    print(line, flush=True)


def job_main(job: ModuleType, program: str, **wiring: Any) -> int:
    """`python -m pipelines.<source>`: the source's job (its `DESCRIPTION`, `add_arguments` and
    `run`) on the configured warehouse, as `thoth extract <source>` runs it. `wiring`: what the
    caller hands `run` besides the flags (OnTrack's governance)."""
    from thoth.core.config import warehouse_path

    parser = Parser(prog=program, description=job.DESCRIPTION)
    job.add_arguments(parser)
    args = vars(parser.parse_args())

    def main() -> int:
        job.run(warehouse_path(), log=printed, **wiring, **args)
        return 0

    return guarded(main, program)
