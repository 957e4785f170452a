"""The alert hook a failed `thoth run` calls: a command, a webhook, or both (`[alerts]`).

An alert that cannot be delivered is logged, never raised: the run's own failure is what counts.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

COMMAND_TIMEOUT = 30
WEBHOOK_TIMEOUT = 10


def send(payload: dict, *, command: str | None, webhook_url: str | None,
         log: Callable[[str], None]) -> None:
    """`payload["text"]` is the one-line message; the rest (run_id, step, error, …) detail it."""
    if command:
        _run_command(command, payload, log)
    if webhook_url:
        _post(webhook_url, payload, log)


def _run_command(command: str, payload: dict, log: Callable[[str], None]) -> None:
    # The message as the last argument and in the environment, for scripts of either habit.
    env = {**os.environ, "THOTH_ALERT_TEXT": payload["text"],
           "THOTH_RUN_ID": payload.get("run_id", ""),
           "THOTH_FAILED_STEP": payload.get("step") or "",
           "THOTH_ERROR": payload.get("error") or ""}
    # Named by its program only: a command line may carry a token (curl -H "Authorization: …").
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        log(f"alert: ALERTS__COMMAND does not parse as a command line ({exc})")
        return
    program = Path(argv[0]).name if argv else "(empty)"
    try:
        done = subprocess.run([*argv, payload["text"]], env=env, capture_output=True,
                              text=True, timeout=COMMAND_TIMEOUT, check=False)
    except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
        log(f"alert: the command {program} could not run ({type(exc).__name__})")
        return
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or [""]
        log(f"alert: the command {program} exited {done.returncode}: {last[0]}")
    else:
        log("alert: command called")


def webhook_host(url: str) -> str:
    """How a webhook is named in lines: its host and port only. Its path or query is often its
    secret (Slack, Google Chat), and so is a user:password before the host."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
        host = parts.hostname or "?"
        return f"{host}:{parts.port}" if parts.port else host
    except ValueError:  # e.g. a port that is not a number
        return "the configured webhook (ALERTS__WEBHOOK_URL does not parse as a URL)"


def _without(text: str, secret: str) -> str:
    """`text` with `secret` and each of its parts of 4 characters or more masked: library
    errors quote a URL or a piece of it ("nonnumeric port: 'token@host'")."""
    for piece in sorted({secret, *re.split(r"[/?&=:@#\s]+", secret)}, key=len, reverse=True):
        if len(piece) >= 4 and piece not in ("http", "https"):
            text = text.replace(piece, "***")
    return text


def _failure(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    return f"{type(exc).__name__}: {exc}"


def _post(url: str, payload: dict, log: Callable[[str], None]) -> None:
    where = webhook_host(url)
    try:
        request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT) as response:
            log(f"alert: posted to {where} ({response.status})")
    except Exception as exc:  # noqa: BLE001 - an alert never fails the run (http.client too)
        log(f"alert: posting to {where} failed: {_without(_failure(exc), url)}")
