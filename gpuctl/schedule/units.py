"""How memory figures read in messages: binary units, one decimal, like nvidia-smi's MiB/GiB."""

from __future__ import annotations

GIB = 1 << 30
MIB = 1 << 20


def size(n: int) -> str:
    """`38.2 GiB`, `512 MiB`, `0 B`: what a person reads in reasons and the device map."""
    if n == 0:
        return "0 B"
    sign = "-" if n < 0 else ""
    n = abs(n)
    if n >= GIB:
        return f"{sign}{n / GIB:.1f} GiB"
    return f"{sign}{round(n / MIB)} MiB"
