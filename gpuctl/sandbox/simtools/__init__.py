"""The simulated vendor and host tools of a sandbox host.

Each host's bin directory holds small shell wrappers (`nvidia-smi`, `npu-smi`, `rocm-smi`, `nproc`,
`uname`). For the prober's own command lines they print answers rendered in advance
(gpuctl/sandbox/answers.py); any other command line runs
`python -m gpuctl.sandbox.simtools TOOL HOST_DIR ARGS...`. The renderers are pure functions of the
host's state (profile + foreign processes); only this entry point does I/O. Only the standard
library is imported, so a call takes a few tens of milliseconds.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from gpuctl.sandbox import hoststate
from gpuctl.sandbox.profiles import Profile
from gpuctl.sandbox.simtools import host, npu_smi, nvidia_smi, rocm_smi

TOOLS = ("nvidia-smi", "npu-smi", "rocm-smi", "nproc", "uname")
VENDOR_TOOLS = {"nvidia": "nvidia-smi", "ascend": "npu-smi", "amd": "rocm-smi"}


def host_tools(profile: Profile) -> list[str]:
    """The simulated tools a host of this profile has: the host's own, and its vendor's."""
    vendor = VENDOR_TOOLS.get(profile.vendor or "")
    return ["nproc", "uname", *([vendor] if vendor else [])]


def run(tool: str, view: hoststate.HostView, args: list[str], now: float | None = None) -> tuple[str, int]:
    """Output and exit status of one tool invocation on a host (at `now`, default the current time)."""
    if tool == "nvidia-smi":
        return nvidia_smi.run(view, args, time.time() if now is None else now)
    if tool == "npu-smi":
        return npu_smi.run(view, args)
    if tool == "rocm-smi":
        return rocm_smi.run(view, args)
    if tool == "nproc":
        return host.nproc(view.profile, args)
    if tool == "uname":
        return host.uname(view.profile, view.host, args)
    raise ValueError(f"unknown simulated tool {tool!r}; known: {', '.join(TOOLS)}")


def main(argv: list[str] | None = None) -> int:
    tool, host_dir, *args = sys.argv[1:] if argv is None else argv
    view = hoststate.load(Path(host_dir))
    try:
        output, status = run(tool, view, args)
    except SystemExit as exit_:  # argparse usage errors (rocm-smi) already printed to stderr
        return int(exit_.code or 0)
    sys.stdout.write(output)
    return status
