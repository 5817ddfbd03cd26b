"""The sandbox: a local fleet of real SSH + Docker hosts with simulated accelerators (root only).

`Sandbox` (gpuctl.sandbox.fleet) brings one up and down; `PROFILES` (gpuctl.sandbox.profiles) says
what its hosts look like. This package's __init__ stays import-free so the simulated tools, which
run `python -m gpuctl.sandbox.simtools` on every call, start fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gpuctl.sandbox.fleet import Sandbox

__all__ = ["Sandbox"]


def __getattr__(name: str) -> Any:
    if name == "Sandbox":
        from gpuctl.sandbox.fleet import Sandbox

        return Sandbox
    raise AttributeError(name)
