"""User-facing failures.

Every failure a user can cause or meet is a `Diagnostic`: what is wrong, where (a file position, a
host, a device), and what to do. Code raises `GpuctlError` with one or more diagnostics; the CLI
prints them and exits 1. A traceback means a bug in gpuctl, never bad input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Location:
    """Where a diagnostic points: a spec file position, a host, or both."""

    file: str | None = None
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based
    host: str | None = None
    device: str | None = None

    def __str__(self) -> str:
        parts: list[str] = []
        if self.file:
            pos = self.file
            if self.line is not None:
                pos += f":{self.line}"
                if self.column is not None:
                    pos += f":{self.column}"
            parts.append(pos)
        if self.host:
            parts.append(f"host {self.host}" + (f" device {self.device}" if self.device else ""))
        return " ".join(parts)


@dataclass(frozen=True)
class Diagnostic:
    """One problem, phrased for a person: `message` says what is wrong, `hint` what to do."""

    message: str
    location: Location = field(default_factory=Location)
    path: str | None = None  # field path inside a document, e.g. "spec.placement.strategy"
    hint: str | None = None
    severity: Severity = "error"
    code: str | None = None  # stable machine-readable identifier, e.g. "unknown-field"

    def __str__(self) -> str:
        where = str(self.location)
        head = f"{where}: " if where else ""
        field_path = f"{self.path}: " if self.path else ""
        text = f"{head}{self.severity}: {field_path}{self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text

    def to_json(self) -> dict[str, object]:
        loc = self.location
        return {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
            "path": self.path,
            "file": loc.file,
            "line": loc.line,
            "column": loc.column,
            "host": loc.host,
            "device": loc.device,
        }


class GpuctlError(Exception):
    """A failure to report to the user as diagnostics (exit status 1), not as a traceback."""

    def __init__(self, *diagnostics: Diagnostic | str) -> None:
        self.diagnostics = [d if isinstance(d, Diagnostic) else Diagnostic(d) for d in diagnostics]
        super().__init__("\n".join(str(d) for d in self.diagnostics))
