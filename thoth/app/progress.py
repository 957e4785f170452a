"""What `thoth run` shows while it works: a live status line in a terminal, plain lines otherwise
(cron's log file gets exactly the lines, nothing redrawn)."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO


class Progress:
    def __init__(self, total: int, stream: TextIO | None = None, live: bool | None = None):
        self.stream = stream or sys.stdout
        self.live = self.stream.isatty() if live is None else live
        self.total = total
        self._index = 0
        self._step = ""
        self._started = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def _status(self) -> str:
        return (f"[{self._index}/{self.total}] {self._step} … "
                f"{time.perf_counter() - self._started:.0f} s")

    def _draw(self, text: str) -> None:
        self.stream.write(f"\r\033[K{text}")
        self.stream.flush()

    def begin(self, step: str) -> None:
        with self._lock:
            self._index += 1
            self._step, self._started = step, time.perf_counter()
            if self.live:
                self._draw(self._status())
        if self.live:
            self._stop.clear()
            self._ticker = threading.Thread(target=self._tick, daemon=True)
            self._ticker.start()

    def _tick(self) -> None:
        while not self._stop.wait(0.5):
            with self._lock:
                self._draw(self._status())

    def log(self, line: str) -> None:
        """A detail line (a table loaded, a model built): above the status line when live."""
        with self._lock:
            if self.live:  # between steps there is no status line to redraw
                self._draw(line + "\n" + (self._status() if self._ticker else ""))
            else:
                self.stream.write(line + "\n")
                self.stream.flush()

    def end(self, line: str) -> None:
        """The step's own line, which replaces its status line."""
        if self._ticker:
            self._stop.set()
            self._ticker.join()
            self._ticker = None
        with self._lock:
            if self.live:
                self._draw(line + "\n")
            else:
                self.stream.write(line + "\n")
                self.stream.flush()
