import difflib
from collections.abc import Iterable


class ThothError(Exception):
    """An expected failure: the CLI prints its message as one line and exits non-zero."""

    exit_code = 1


class UsageError(ThothError):
    """A mistyped command, flag or name: exit 2, as argparse's own usage errors."""

    exit_code = 2


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """The choice closest to a mistyped `word`, if one is close (difflib's ratio ≥ 0.6, what
    Python 3.14's argparse `suggest_on_error` uses)."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return close[0] if close else None
