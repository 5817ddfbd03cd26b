"""The default `nvidia-smi` table: CUDA version, GPUs, the "MIG devices" table, processes.

It is the one output of a plain `nvidia-smi` call that carries the CUDA version, each MIG
device's own memory figures, and which GPU instance a process runs in. Cells are read by their
`|` columns, not by character positions, so the older (535) and newer (580+) column widths and the
Windows layout all read the same way. Product names longer than the column are cut by nvidia-smi
("NVIDIA GeForce RTX 2080 ..."): other outputs have the full name.
"""

from __future__ import annotations

import re

from gpuctl.probe.parse.common import MIB, Parsed, clean_text, optional, to_int
from gpuctl.probe.parse.nvidia_records import GpuRecord, MigRecord, NvidiaReport, ProcessRecord

_DRIVER = re.compile(r"(?:Driver|KMD) Version:\s*([0-9][\w.]*)")
_CUDA = re.compile(r"CUDA (?:UMD )?Version:\s*([0-9][\w.]*)")
_GPU_CELL = re.compile(r"^\s*(\d+)\s+(.*?)\s+(On|Off|WDDM|TCC|MCDM|N/A)\s*$")
_BUS_ID = re.compile(r"([0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-9A-Fa-f])")
_MEMORY = re.compile(r"(\d+)\s*MiB\s*/\s*(\d+)\s*MiB")
_MIG_IDS = re.compile(r"^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$")
_PROCESS = re.compile(
    r"^\s*(\d+)\s+(?:(N/A|\d+)\s+(N/A|\d+)\s+)?(\d+)\s+([A-Z+]+)\s+(.*?)\s+(\d+)?\s*(?:MiB|N/A)\s*$"
)


def _cells(line: str) -> list[str]:
    return line.strip().strip("|").split("|")


def parse_table(text: str) -> Parsed[NvidiaReport]:
    lines = clean_text(text).split("\n")
    warnings: list[str] = []
    body = "\n".join(lines)
    driver = _DRIVER.search(body)
    cuda = _CUDA.search(body)
    gpus: list[GpuRecord] = []
    migs: list[MigRecord] = []
    processes: list[ProcessRecord] = []
    state = "head"
    group: list[str] = []

    def flush() -> None:
        if group and state == "gpus":
            gpu = _gpu(group, warnings)
            if gpu:
                gpus.append(gpu)
        elif group and state == "migs":
            mig = _mig(group, warnings)
            if mig:
                migs.append(mig)
        group.clear()

    for raw in lines:
        line = raw.rstrip()
        if "MIG devices:" in line:
            flush()
            state = "mig-head"
        elif "Processes:" in line:
            flush()
            state = "process-head"
        elif line.startswith("|=") or line.startswith("+="):
            flush()
            state = {"head": "gpus", "mig-head": "migs", "process-head": "processes"}.get(state, state)
        elif line.startswith("+") or line.startswith("|-"):
            flush()
        elif line.startswith("|") and state in ("gpus", "migs"):
            group.append(line)
        elif line.startswith("|") and state == "processes":
            process = _process(line, warnings)
            if process:
                processes.append(process)
        elif not line.strip():
            flush()
    flush()
    if not gpus and "NVIDIA-SMI" not in body:
        warnings.append("`nvidia-smi`: the output holds no GPU table")
    report = NvidiaReport(
        driver_version=driver[1] if driver else None,
        cuda_version=cuda[1] if cuda else None,
        gpus=gpus,
        migs=migs,
        processes=processes,
    )
    return Parsed(report, warnings)


def _cell(group: list[str], row: int, column: int) -> str:
    """The text of one `|` cell of a GPU's rows, "" where the row or the cell is missing."""
    cells = _cells(group[row]) if len(group) > row else []
    return cells[column].strip() if len(cells) > column else ""


def _gpu(group: list[str], warnings: list[str]) -> GpuRecord | None:
    """A GPU's three rows. A GPU without memory figures is worth a warning (DGX Spark's unified
    memory says "Not Supported"), except in MIG mode: there newer drivers print N/A for the whole
    GPU and the figures are in its MIG devices' rows."""
    first = _cells(group[0])
    head = _GPU_CELL.match(first[0]) if first else None
    if not head:
        warnings.append(f"`nvidia-smi`: cannot read GPU row {group[0].strip()!r}")
        return None
    bus = _BUS_ID.search(_cell(group, 0, 1))
    memory = _MEMORY.search(_cell(group, 1, 1))
    mig = optional(_cell(group, 2, 2))
    mig_enabled = None if mig is None else mig.lower() == "enabled"
    if not memory and not mig_enabled:
        warnings.append(
            f"`nvidia-smi`: GPU {head[1]} has no memory figures (Memory-Usage: {_cell(group, 1, 1)!r})"
        )
    return GpuRecord(
        index=int(head[1]),
        name=head[2].strip(),
        bus_id=bus[1] if bus else None,
        memory_used=int(memory[1]) * MIB if memory else None,
        memory_total=int(memory[2]) * MIB if memory else None,
        mig_enabled=mig_enabled,
    )


def _mig(group: list[str], warnings: list[str]) -> MigRecord | None:
    """A MIG device's rows; "No MIG devices found" (MIG on, no instances yet) is not one, and not
    a fault: the merge warns that such a GPU has nothing to run on."""
    first = _cells(group[0])
    if "no mig devices" in group[0].lower():
        return None
    ids = _MIG_IDS.match(first[0]) if first else None
    memory = _MEMORY.search(first[1]) if len(first) > 1 else None
    if not ids:
        warnings.append(f"`nvidia-smi`: cannot read MIG row {group[0].strip()!r}")
        return None
    return MigRecord(
        gpu=int(ids[1]),
        gpu_instance=int(ids[2]),
        compute_instance=int(ids[3]),
        index=int(ids[4]),
        memory_used=int(memory[1]) * MIB if memory else None,
        memory_total=int(memory[2]) * MIB if memory else None,
    )


def _process(line: str, warnings: list[str]) -> ProcessRecord | None:
    cells = _cells(line)
    text = cells[0] if cells else ""
    if not text.strip() or "no running processes" in text.lower():
        return None
    match = _PROCESS.match(text)
    if not match:
        if re.match(r"^\s*\d", text):
            warnings.append(f"`nvidia-smi`: cannot read process row {line.strip()!r}")
        return None
    gpu, gi, ci, pid, _type, name, used = match.groups()
    return ProcessRecord(
        pid=int(pid),
        name=name.strip(),
        gpu_index=int(gpu),
        gpu_instance=to_int(gi),
        compute_instance=to_int(ci),
        used_memory=int(used) * MIB if used else None,
    )
