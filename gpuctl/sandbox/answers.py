"""Pre-rendered answers of a sandbox host's simulated tools, so that a probe costs on a sandbox host
what it costs on a real one.

A real `nvidia-smi` answers in a few milliseconds; the Python simulation needs an interpreter start
(~50 ms of CPU). A probe makes up to six such calls per host and every sandbox host runs on this
machine's CPUs, so with thirty hosts the simulation, not gpuctl, would set the pace. Each tool's
wrapper therefore first sources `answers/TOOL.sh`, which prints the answer to each of the prober's
exact command lines with the shell's `printf` builtin (no process at all) and exits; any other
command line falls through to the Python simulation.

The answers are rendered by the same functions as the simulation, whenever the host's state
changes (`hoststate.write_host` at `up`, `hoststate.set_memory`), and the wrapper ignores them
when a state file is newer than they are (edited by other means), so an answer is never stale.
Only command lines whose output does not depend on the time are rendered ahead; nvidia-smi's table
is rendered without its date line, which `date` prints on the host when it is asked.
"""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

import gpuctl
from gpuctl.probe.assemble import APP_FIELDS, BASIC_GPU_FIELDS, GPU_FIELDS
from gpuctl.sandbox import hoststate
from gpuctl.sandbox.simtools import host_tools, nvidia_smi, run

ANSWERS_DIR = "answers"
CSV = "--format=csv,noheader,nounits"
PROBE_CALLS: dict[str, tuple[tuple[str, ...], ...]] = {
    "nvidia-smi": (
        (f"--query-gpu={','.join(GPU_FIELDS)}", CSV),
        (f"--query-gpu={','.join(BASIC_GPU_FIELDS)}", CSV),
        ("-L",),
        (),
        (f"--query-compute-apps={','.join(APP_FIELDS)}", CSV),
    ),
    "npu-smi": (("info",), ("info", "-m")),
    "rocm-smi": (("--showid", "--showmeminfo", "vram", "--showproductname", "--showuniqueid", "--json"),),
    "nproc": ((),),
    "uname": (("-s", "-r", "-m"),),
}
"""The command lines gpuctl/probe/probe.sh runs, per tool (a test holds them to the script)."""
_TIMES = (1_700_000_000.0, 1_800_000_000.5)
"""Two instants an answer is rendered at: one that differs between them depends on the time."""


@dataclass(frozen=True)
class Answer:
    args: tuple[str, ...]
    output: str
    status: int = 0
    dated: bool = False
    """The output follows nvidia-smi's date line, printed by `date` on the host when asked."""


def answers(tool: str, view: hoststate.HostView) -> list[Answer]:
    """The answers of `tool` to the prober's command lines that can be rendered ahead."""
    found = []
    for args in PROBE_CALLS[tool]:
        if tool == "nvidia-smi" and not args:
            found.append(Answer(args, nvidia_smi.table_body(view), dated=True))
            continue
        first, second = (run(tool, view, list(args), now) for now in _TIMES)
        if first == second:
            found.append(Answer(args, *first))
    return found


def script(tool: str, view: hoststate.HostView) -> str:
    """`answers/TOOL.sh`, sourced by the tool's wrapper with the tool's arguments as "$@"."""
    lines = [f"# {tool} of {view.host}: answers to the prober's command lines (gpuctl/sandbox/answers.py)"]
    for answer in answers(tool, view):
        tests = [f"[ $# -eq {len(answer.args)} ]"]
        tests += [f'[ "${{{i}}}" = {shlex.quote(arg)} ]' for i, arg in enumerate(answer.args, 1)]
        lines.append(f"if {' && '.join(tests)}; then")
        if answer.dated:
            lines.append(f"    LC_ALL=C date {shlex.quote('+' + nvidia_smi.DATE_LINE)}")
        lines.append(f"    printf %s {shlex.quote(answer.output)}")
        lines.append(f"    exit {answer.status}")
        lines.append("fi")
    return "\n".join(lines) + "\n"


def write(host_dir: Path) -> None:
    """Render the answers of every simulated tool of the host (after any change of its state)."""
    view = hoststate.load(host_dir)
    directory = host_dir / ANSWERS_DIR
    directory.mkdir(exist_ok=True)
    for tool in host_tools(view.profile):
        path = directory / f"{tool}.sh"
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(script(tool, view))
        tmp.replace(path)  # a tool running now reads the old answers or the new, never half


def wrapper(tool: str, host_dir: Path, about: str, python: str = sys.executable) -> str:
    """The body of the host's `tool` script: the pre-rendered answer, else the Python simulation."""
    q = shlex.quote
    state = [q(str(host_dir / name)) for name in (hoststate.HOST_FILE, hoststate.PROCESSES_FILE)]
    package_root = Path(gpuctl.__file__).resolve().parent.parent
    return (
        f"# gpuctl sandbox: simulated {tool} of {about}\n"
        f"answers={q(str(host_dir / ANSWERS_DIR / f'{tool}.sh'))}\n"
        f'if [ -f "$answers" ] && [ ! {state[0]} -nt "$answers" ] && [ ! {state[1]} -nt "$answers" ]; then\n'
        f'    . "$answers"\nfi\n'
        f"exec env -u PYTHONHOME PYTHONPATH={q(str(package_root))} {q(python)} -s -m gpuctl.sandbox.simtools "
        f'{tool} {q(str(host_dir))} "$@"\n'
    )
