"""What an apply shows while it runs: one line per event in CI and logs, live progress bars on a
terminal (pulls per host and image, model downloads, each replica waiting to serve).

Every text goes through `scrub` first: a secret value that a backend echoes into its log never
reaches the screen.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from typing import IO, Any

CHECK, CROSS = "✓", "✗"


class Reporter:
    """Plain lines on `stream` (standard error: standard output carries the report or JSON)."""

    def __init__(self, stream: IO[str] | None = None, secrets: Iterable[str] = ()) -> None:
        self.stream = stream or sys.stderr
        self.start = time.monotonic()
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def line(self, text: str) -> None:
        elapsed = time.monotonic() - self.start
        self.stream.write(f"[{elapsed:7.1f}s] {self.scrub(text)}\n")
        self.stream.flush()

    # Events. `key` names a task that may report several times (started, then done).

    def begin(self, key: str, text: str, total: float | None = None) -> None:
        self.line(text)

    def update(self, key: str, text: str, completed: float | None = None) -> None:
        """Progress of a long task (a replica waiting to serve): plain output prints only some."""

    def end(self, key: str, ok: bool, text: str) -> None:
        self.line(f"{CHECK if ok else CROSS} {text}")

    def close(self) -> None:
        pass


class RichReporter(Reporter):
    """Live progress bars on a terminal (rich), and the same events as lines above them."""

    def __init__(self, stream: IO[str] | None = None, secrets: Iterable[str] = ()) -> None:
        super().__init__(stream, secrets)
        from rich.console import Console
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.console = Console(file=self.stream)
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}", markup=False),
            BarColumn(bar_width=24),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self.progress.start()
        self._tasks: dict[str, Any] = {}

    def line(self, text: str) -> None:
        self.progress.console.print(self.scrub(text), markup=False, highlight=False)

    def begin(self, key: str, text: str, total: float | None = None) -> None:
        self._tasks[key] = self.progress.add_task(self.scrub(text), total=total)

    def update(self, key: str, text: str, completed: float | None = None) -> None:
        task = self._tasks.get(key)
        if task is not None:
            self.progress.update(task, description=self.scrub(text), completed=completed)

    def end(self, key: str, ok: bool, text: str) -> None:
        task = self._tasks.pop(key, None)
        if task is not None:
            self.progress.remove_task(task)
        super().end(key, ok, text)

    def close(self) -> None:
        self.progress.stop()


class PlainReporter(Reporter):
    """Plain lines, with a progress line for long waits at most every PERIOD seconds per task."""

    PERIOD = 15.0

    def __init__(self, stream: IO[str] | None = None, secrets: Iterable[str] = ()) -> None:
        super().__init__(stream, secrets)
        self._last: dict[str, float] = {}

    def update(self, key: str, text: str, completed: float | None = None) -> None:
        now = time.monotonic()
        if now - self._last.get(key, self.start) >= self.PERIOD:
            self._last[key] = now
            self.line(f"… {text}")


def reporter_for(stream: IO[str], secrets: Iterable[str]) -> Reporter:
    """Rich bars on a terminal, plain lines elsewhere (CI logs, pipes)."""
    if stream.isatty():
        return RichReporter(stream, secrets)
    return PlainReporter(stream, secrets)
