"""Backend parameters as users write them, parsed once and checked against what gpuctl owns.

`spec.parameters` is a list of command-line items. Each item is `--flag`, `--flag=value`, or
`--flag value` (one item, split at the first space, so JSON values may contain spaces), or a bare
value that belongs to the flag before it (`["--max-model-len", "32768"]`). Negative numbers
(`-1`) are values, not flags: MindIE's parallel sizes use them.

Parsing keeps the user's argv tokens untouched: they are passed to the backend exactly as written
(`--flag=value` stays one token), except flags gpuctl owns whose value agrees with gpuctl's, which
are dropped so that gpuctl's copy is the only one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gpuctl.errors import Diagnostic, GpuctlError

_NEGATIVE_NUMBER = re.compile(r"^-\d")


@dataclass(frozen=True)
class Param:
    """One flag with the values the user gave it."""

    flag: str
    """As written, e.g. "--max-model-len", "-tp", "-c"."""
    values: tuple[str, ...]
    index: int
    """Position in spec.parameters of the item that named the flag (for diagnostics)."""
    tokens: tuple[str, ...]
    """The argv tokens this flag and its values become."""

    @property
    def value(self) -> str | None:
        """The single value, or None for a bare flag (several values are joined by spaces)."""
        return " ".join(self.values) if self.values else None

    @property
    def path(self) -> str:
        return f"spec.parameters[{self.index}]"

    def shown(self) -> str:
        """How the flag reads in messages: `--flag=value` or `--flag`."""
        return f"{self.flag}={self.value}" if self.values else self.flag


def is_flag(token: str) -> bool:
    return token.startswith("-") and len(token) > 1 and not _NEGATIVE_NUMBER.match(token)


def parse(items: Sequence[str]) -> tuple[list[Param], list[Diagnostic]]:
    """Group `spec.parameters` into flags with their values; values with no flag are errors."""
    params: list[Param] = []
    problems: list[Diagnostic] = []
    for index, raw in enumerate(items):
        item = raw.strip()
        if not item:
            problems.append(
                Diagnostic("an empty parameter", path=f"spec.parameters[{index}]", code="parameter-empty")
            )
            continue
        if is_flag(item):
            head, sep, rest = item.partition("=")
            if sep and not re.search(r"\s", head):
                params.append(Param(head, (rest,), index, (item,)))
            elif re.search(r"\s", item):
                flag, value = item.split(None, 1)
                params.append(Param(flag, (value,), index, (flag, value)))
            else:
                params.append(Param(item, (), index, (item,)))
        elif params:
            last = params[-1]
            params[-1] = Param(last.flag, (*last.values, item), last.index, (*last.tokens, raw))
        else:
            problems.append(
                Diagnostic(
                    f"value {item!r} does not follow a flag",
                    path=f"spec.parameters[{index}]",
                    hint="write flags as --flag=value or --flag followed by its value",
                    code="parameter-stray-value",
                )
            )
    return params, problems


def find(params: Iterable[Param], *flags: str) -> Param | None:
    """The last occurrence of any of `flags` (the backends' argument parsers let the last win)."""
    found = None
    for param in params:
        if param.flag in flags:
            found = param
    return found


def argv(params: Iterable[Param], drop: Iterable[str] = ()) -> list[str]:
    """The user's tokens in order, without the flags in `drop`."""
    dropped = set(drop)
    return [token for param in params if param.flag not in dropped for token in param.tokens]


def owned_conflict(param: Param | None, allowed: Iterable[str], what: str, hint: str) -> Diagnostic | None:
    """An error when the user set a flag gpuctl owns to a value other than gpuctl's.

    `allowed` lists the values that agree with gpuctl (e.g. "0.0.0.0" and the host's address for
    --host); a flag given with one of them is accepted and dropped from the user's tokens.
    """
    if param is None:
        return None
    accepted = list(allowed)
    if param.value in accepted:
        return None
    wanted = " or ".join(repr(value) for value in accepted)
    return Diagnostic(
        f"{param.shown()} conflicts with the {what} gpuctl sets ({wanted})",
        path=param.path,
        hint=hint,
        code="parameter-owned",
    )


def refused(param: Param, why: str, hint: str) -> Diagnostic:
    return Diagnostic(
        f"{param.shown()} is not allowed: {why}", path=param.path, hint=hint, code="parameter-refused"
    )


def number(param: Param, kind: type[int] | type[float]) -> tuple[float | int | None, Diagnostic | None]:
    """The flag's value as an int or float, or a diagnostic saying it is not one."""
    text = param.value
    noun = "an integer" if kind is int else "a number"
    if text is None:
        return None, Diagnostic(
            f"{param.flag} needs a value ({noun})", path=param.path, code="parameter-value"
        )
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value):
        # NaN compares false with every bound, so it would pass any range check.
        return None, Diagnostic(
            f"{param.flag} value {text!r} is not {noun}", path=param.path, code="parameter-value"
        )
    return value, None


def in_range(
    param: Param | None,
    kind: type[int] | type[float],
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> Diagnostic | None:
    """An error when the flag's value is not a `kind` within the range (None bounds are open)."""
    if param is None:
        return None
    value, problem = number(param, kind)
    if problem or value is None:
        return problem
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if not (too_low or too_high):
        return None
    opening = "(" if low_open or low is None else "["
    closing = ")" if high_open or high is None else "]"
    allowed = f"{opening}{_bound(low, '-*')}, {_bound(high, '*')}{closing}"
    return Diagnostic(
        f"{param.flag}={param.value} is out of range: allowed {allowed}",
        path=param.path,
        code="parameter-out-of-range",
    )


def _bound(value: float | None, infinite: str) -> str:
    if value is None:
        return infinite
    return str(int(value)) if float(value).is_integer() else str(value)


def value_of(
    params: Iterable[Param], flags: Sequence[str], kind: type[int] | type[float]
) -> float | int | None:
    """The last value given for `flags` as a number; a malformed one raises GpuctlError."""
    param = find(params, *flags)
    if param is None:
        return None
    value, problem = number(param, kind)
    if problem:
        raise GpuctlError(problem)
    return value


def data_parallel_checks(params: list[Param], flags: tuple[str, ...]) -> list[Diagnostic]:
    """Data parallelism inside one replica would use devices the placement did not give."""
    param = find(params, *flags)
    if param is None:
        return []
    value, problem = number(param, int)
    if problem:
        return [problem]
    if value == 1:
        return []
    return [refused(param, "gpuctl runs one data-parallel rank per replica", "raise spec.replicas instead")]
