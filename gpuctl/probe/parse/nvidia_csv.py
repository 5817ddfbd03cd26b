"""`nvidia-smi --query-gpu=... --format=csv[,noheader][,nounits]` and `--query-compute-apps=...`.

Any field list works: with a header the fields come from it, without one the caller passes the
list it asked for. Memory values may carry their unit ("81559 MiB") or not (nounits: MiB).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from gpuctl.probe.parse.common import Parsed, ParseError, clean_text, optional, to_bytes, to_int
from gpuctl.probe.parse.nvidia_records import GpuRecord, ProcessRecord

ALIASES = {
    "gpu_name": "name",
    "gpu_uuid": "uuid",
    "gpu_bus_id": "pci.bus_id",
    "used_gpu_memory": "used_memory",
}
"""nvidia-smi accepts several names for one field; these are the names used below."""

_HEADER_CELL = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*(?: \[[^\]]*\])?$")
KNOWN_FIELDS = {"index", "name", "uuid", "pid", "process_name", "used_memory", "memory.total", "memory.used"}
"""A first line is a header when every cell looks like a field name and one of these is among them."""


def _field(name: str) -> str:
    base = name.strip().split(" [", 1)[0].strip().lower()
    return ALIASES.get(base, base)


def _rows(
    text: str, fields: Sequence[str] | None, source: str, free_text: str
) -> Parsed[list[dict[str, str]]]:
    """Rows as {field: cell}, the header read from the text when it has one.

    `free_text` names the field that may itself hold commas (a product or process name).
    """
    lines = [line for line in clean_text(text).split("\n") if line.strip()]
    warnings: list[str] = []
    first = lines[0].split(",") if lines else []
    if all(_HEADER_CELL.match(c.strip()) for c in first) and KNOWN_FIELDS & {_field(c) for c in first}:
        names = [_field(cell) for cell in first]
        lines = lines[1:]
    elif fields:
        names = [_field(name) for name in fields]
    else:
        raise ParseError(source, "the output has no header line and no field list was given")
    rows = []
    for number, line in enumerate(lines, start=1):
        cells = [cell.strip() for cell in line.split(",")]
        if len(cells) > len(names):
            cells = _rejoin(cells, names, free_text)
        if len(cells) != len(names):
            if "no running processes" in line.lower():
                continue
            warnings.append(
                f"`{source}` row {number} has {len(cells)} values for {len(names)} fields; skipped it"
            )
            continue
        rows.append(dict(zip(names, cells, strict=True)))
    return Parsed(rows, warnings)


def _rejoin(cells: list[str], names: list[str], free_text: str) -> list[str]:
    """Put back the commas of the free-text field that split a row into too many cells."""
    if free_text not in names:
        return cells
    at, extra = names.index(free_text), len(cells) - len(names)
    return [*cells[:at], ", ".join(cells[at : at + extra + 1]), *cells[at + extra + 1 :]]


def parse_query_gpu(text: str, fields: Sequence[str] | None = None) -> Parsed[list[GpuRecord]]:
    """GPUs from `nvidia-smi --query-gpu=FIELDS --format=csv...`; without `index`, row order."""
    source = "nvidia-smi --query-gpu"
    rows = _rows(text, fields, source, free_text="name")
    warnings = list(rows.warnings)
    gpus = []
    for position, row in enumerate(rows.value):
        index = to_int(row.get("index"))
        if index is None:
            index = position
        mig = optional(row.get("mig.mode.current"))
        total = to_bytes(row.get("memory.total"))
        used, free = to_bytes(row.get("memory.used")), to_bytes(row.get("memory.free"))
        if total is None and used is not None and free is not None:
            total = used + free + (to_bytes(row.get("memory.reserved")) or 0)
        gpu = GpuRecord(
            index=index,
            name=optional(row.get("name")),
            uuid=optional(row.get("uuid")),
            memory_total=total,
            memory_used=used,
            compute_capability=optional(row.get("compute_cap")),
            driver_version=optional(row.get("driver_version")),
            mig_enabled=None if mig is None else mig.lower() == "enabled",
            bus_id=optional(row.get("pci.bus_id")),
        )
        for name in ("memory.total", "memory.used"):
            if name in row and to_bytes(row[name]) is None:
                warnings.append(f"GPU {index}: {name} is {row[name]!r}, not a size")
        gpus.append(gpu)
    return Parsed(gpus, warnings)


def parse_compute_apps(text: str, fields: Sequence[str] | None = None) -> Parsed[list[ProcessRecord]]:
    """Processes holding GPU memory, from `nvidia-smi --query-compute-apps=FIELDS --format=csv...`.

    Under Windows WDDM the driver cannot tell per-process memory: used_memory stays None.
    """
    source = "nvidia-smi --query-compute-apps"
    rows = _rows(text, fields, source, free_text="process_name")
    warnings = list(rows.warnings)
    processes = []
    for row in rows.value:
        pid = to_int(row.get("pid"))
        if pid is None:
            warnings.append(f"`{source}`: process without a pid ({row.get('pid')!r}); skipped it")
            continue
        processes.append(
            ProcessRecord(
                pid=pid,
                name=optional(row.get("process_name")) or "",
                gpu_uuid=optional(row.get("uuid")),
                used_memory=to_bytes(row.get("used_memory")),
            )
        )
    return Parsed(processes, warnings)
