"""The alert hook a failed `thoth run` calls: a command, a webhook, or both (`[alerts]`).

An alert that cannot be delivered is logged, never raised: the run's own failure is what counts.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable

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
    try:
        done = subprocess.run([*shlex.split(command), payload["text"]], env=env,
                              capture_output=True, text=True, timeout=COMMAND_TIMEOUT,
                              check=False)
    except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
        log(f"alert: the command {command!r} could not run: {exc}")
        return
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or [""]
        log(f"alert: the command {command!r} exited {done.returncode}: {last[0]}")
    else:
        log("alert: command called")


def _post(url: str, payload: dict, log: Callable[[str], None]) -> None:
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    # A webhook's path or query often is its secret (Slack, Google Chat): name the host only.
    where = urllib.parse.urlsplit(url).netloc or url[:20]
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT) as response:
            log(f"alert: posted to {where} ({response.status})")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        log(f"alert: posting to {where} failed: {exc}")
