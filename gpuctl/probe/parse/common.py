"""What every parser shares: its result shape, its one error, and value helpers.

Parsers are pure functions from a command's text to values. What they cannot read is either a
warning (the value is left out and the rest still counts) or a `ParseError`, a `GpuctlError` whose
diagnostic names the command and what is wrong with its output. They never raise anything else on
bad input: a host's odd driver must produce a sentence, not a traceback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from gpuctl.errors import Diagnostic, GpuctlError

T = TypeVar("T")

MIB = 1024 * 1024

NOT_AVAILABLE = {
    "",
    "n/a",
    "[n/a]",
    "na",
    "-",
    "[not supported]",
    "not supported",
    "[unknown error]",
    "[insufficient permissions]",
    "[gpu is lost]",
    "[gpu requires reset]",
    "not available in wddm driver model",
    "not found",
    "none",
}
"""Values vendor tools print where they have no figure (compared lower-case)."""


@dataclass(frozen=True)
class Parsed(Generic[T]):
    """A parser's result: the values it read and sentences about what it could not read."""

    value: T
    warnings: list[str] = field(default_factory=list)


class ParseError(GpuctlError):
    """Output of a vendor tool that cannot be read at all."""

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(
            Diagnostic(
                f"cannot read the output of `{source}`: {problem}",
                hint="run the command on the host to see what it prints; if the tool works there, "
                "report the output to the gpuctl maintainers",
                code="unreadable-probe-output",
            )
        )
        self.source = source
        self.problem = problem


def clean_text(text: str) -> str:
    """Drop a UTF-8 byte-order mark and Windows line endings (PowerShell redirects add both)."""
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def is_missing(value: str | None) -> bool:
    return value is None or value.strip().lower() in NOT_AVAILABLE


def optional(value: str | None) -> str | None:
    """The value stripped, or None where the tool printed a not-available marker."""
    return None if value is None or is_missing(value) else value.strip()


_INT = re.compile(r"[+-]?\d+")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?\s*$", re.IGNORECASE)
_UNIT_BYTES = {"b": 1, "kb": 1024, "mb": MIB, "gb": 1024 * MIB, "tb": 1024 * 1024 * MIB}


def to_int(value: str | None) -> int | None:
    """An integer, or None for not-available markers and anything that is not one."""
    text = optional(value)
    if text is None or not _INT.fullmatch(text):
        return None
    return int(text)


def to_bytes(value: str | None, default_unit: str = "MiB") -> int | None:
    """A memory size in bytes: "81559 MiB", "81559" (in `default_unit`), "17163091968 B".

    Vendor tools say MB and mean MiB (nvidia-smi, npu-smi, amd-smi all count in 2^20 bytes).
    """
    text = optional(value)
    if text is None:
        return None
    match = _SIZE.match(text)
    if not match:
        return None
    number, unit = match.groups()
    unit = (unit or default_unit).lower().replace("i", "")
    return int(float(number) * _UNIT_BYTES[unit])
