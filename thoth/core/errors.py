class ThothError(Exception):
    """An expected failure: the CLI prints its message as one line and exits non-zero."""

    exit_code = 1
