"""`amd-smi static --json`, `amd-smi monitor` and `amd-smi process --csv`: AMD's newer tool.

gpuctl reads amd-smi where rocm-smi is missing (ROCm 7 drops it). `static` has names, serials and
VRAM sizes but no usage; `monitor -v` adds VRAM used; `process --csv` lists processes with their
VRAM. amd-smi's JSON changed shape across releases (a bare list, or {"gpu_data": [...]}; sizes
as {"value", "unit"} or as "196592 MB"), and all of them are read.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from gpuctl.facts import Device, GpuProcess
from gpuctl.probe.parse.common import Parsed, ParseError, clean_text, optional, to_bytes, to_int


def vram_bytes(vram: Any) -> int | None:
    """Bytes of a static `vram` object: {"size": {"value": 196592, "unit": "MB"}} or "196592 MB"."""
    size = vram.get("size") if isinstance(vram, dict) else None
    if isinstance(size, dict):
        return to_bytes(f"{size.get('value')} {size.get('unit') or 'MB'}")
    return to_bytes(str(size)) if size is not None else None


def parse_amd_smi_static(text: str) -> Parsed[list[Device]]:
    try:
        data = json.loads(clean_text(text))
    except json.JSONDecodeError as error:
        raise ParseError("amd-smi static --json", f"not valid JSON ({error})") from None
    if isinstance(data, dict):
        data = data.get("gpu_data", [data])
    if not isinstance(data, list):
        raise ParseError("amd-smi static --json", "expected a list of GPUs")
    warnings: list[str] = []
    devices = []
    for position, gpu in enumerate(item for item in data if isinstance(item, dict)):
        index = to_int(str(gpu.get("gpu", position)))
        index = position if index is None else index
        asic = gpu.get("asic")
        asic = asic if isinstance(asic, dict) else {}
        total = vram_bytes(gpu.get("vram"))
        if total is None:
            warnings.append(f"`amd-smi static`: GPU {index} has no VRAM size")
            continue
        devices.append(
            Device(
                key=str(index),
                vendor="amd",
                index=index,
                name=optional(str(asic.get("market_name", ""))) or "AMD GPU",
                uuid=optional(str(asic.get("asic_serial", ""))),
                memory_total=total,
                memory_used=0,
            )
        )
    return Parsed(devices, warnings)


def parse_amd_smi_monitor(text: str) -> Parsed[dict[int, dict[str, str]]]:
    """`amd-smi monitor [-putm|-v]`: a table whose values end where their header word ends.

    Returns {gpu index: {COLUMN: "value with unit"}}, e.g. {0: {"VRAM_USED": "283 MB", ...}}.
    """
    lines = [line for line in clean_text(text).split("\n") if line.strip()]
    if not lines or not lines[0].split() or lines[0].split()[0] != "GPU":
        raise ParseError("amd-smi monitor", "the first line is not a header starting with GPU")
    header = lines[0]
    ends, names, at = [], [], 0
    for name in header.split():
        at = header.index(name, at) + len(name)
        ends.append(at)
        names.append(name)
    warnings: list[str] = []
    rows: dict[int, dict[str, str]] = {}
    for line in lines[1:]:
        starts = [0, *ends[:-1]]
        cells = [line[s:e].strip() for s, e in zip(starts, ends, strict=True)]
        cells[-1] = line[starts[-1] :].strip()
        index = to_int(cells[0])
        if index is None:
            warnings.append(f"`amd-smi monitor`: cannot read line {line.strip()!r}")
            continue
        rows[index] = dict(zip(names[1:], cells[1:], strict=True))
    return Parsed(rows, warnings)


def parse_amd_smi_process(text: str) -> Parsed[list[GpuProcess]]:
    """`amd-smi process --csv`: gpu,name,pid,...,vram_mem,... (bytes)."""
    warnings: list[str] = []
    processes = []
    for row in csv.DictReader(io.StringIO(clean_text(text).strip())):
        gpu, pid = to_int(row.get("gpu")), to_int(row.get("pid"))
        if gpu is None or pid is None:
            warnings.append(f"`amd-smi process`: cannot read row {row!r}")
            continue
        processes.append(
            GpuProcess(
                device_key=str(gpu),
                pid=pid,
                name=optional(row.get("name")) or "",
                used_memory=to_bytes(row.get("vram_mem"), default_unit="B"),
            )
        )
    return Parsed(processes, warnings)
