"""Huawei Ascend `npu-smi info` (the device table), `npu-smi info -m` and `npu-smi info -t ...`.

The device table has two lines per chip. Training cards (910, 910B) print the on-card DDR of the
control CPU as "Memory-Usage" and the AI memory as "HBM-Usage"; inference cards (310, 310P) have
no HBM and their "Memory-Usage" is the AI memory. So HBM is used where the table has a non-zero
HBM total, Memory-Usage otherwise. Inference cards carry several chips per NPU and print the
chip's logic id in a "Device" column: that id is what ASCEND_VISIBLE_DEVICES takes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from gpuctl.probe.parse.common import MIB, Parsed, ParseError, clean_text, optional, to_int

_VERSION = re.compile(r"Version:\s*(\S+)")
_PAIR = re.compile(r"(\d+)\s*/\s*(\d+)")
_IDS = re.compile(r"^\s*(\d+)(?:\s+(\d+))?\s*$")
_NAMED = re.compile(r"^\s*(\d+)\s+(\S.*?)\s*$")


@dataclass(frozen=True)
class NpuChip:
    npu_id: int
    chip_id: int
    logic_id: int | None
    """The "Device" column (the chip's logic id) where the table has one."""
    name: str
    health: str | None
    bus_id: str | None
    memory_used: int | None
    memory_total: int | None


@dataclass(frozen=True)
class NpuProcess:
    npu_id: int
    chip_id: int
    pid: int
    name: str
    memory: int | None


@dataclass(frozen=True)
class NpuInfo:
    version: str | None = None
    chips: list[NpuChip] = field(default_factory=list)
    processes: list[NpuProcess] = field(default_factory=list)


@dataclass(frozen=True)
class NpuMapping:
    npu_id: int
    chip_id: int
    logic_id: int | None
    """None for the board's management MCU, which is not an AI chip."""
    name: str


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def parse_npu_info(text: str) -> Parsed[NpuInfo]:
    text = clean_text(text)
    version = _VERSION.search(text)
    if "npu-smi" not in text and not re.search(r"NPU\s+Name", text):
        raise ParseError("npu-smi info", "no 'npu-smi' banner and no NPU table header")
    warnings: list[str] = []
    chips: list[NpuChip] = []
    processes: list[NpuProcess] = []
    mode, has_hbm, pending = "devices", False, None
    for line in text.split("\n"):
        if not line.startswith("|"):
            continue
        cells = _cells(line)
        if "Process id" in line:
            mode = "processes"
        elif "Bus-Id" in line:
            has_hbm = "HBM" in line
        elif mode == "processes" and len(cells) >= 4:
            ids, pid = _IDS.match(cells[0]), to_int(cells[1])
            if ids and ids[2] is not None and pid is not None:
                memory = to_int(cells[3])
                processes.append(
                    NpuProcess(
                        int(ids[1]), int(ids[2]), pid, cells[2], None if memory is None else memory * MIB
                    )
                )
        elif mode != "devices" or len(cells) < 3:
            continue
        elif pending is None and (named := _NAMED.match(cells[0])):
            pending = (int(named[1]), named[2], optional(cells[1]))
        elif pending is not None and (ids := _IDS.match(cells[0])):
            pairs = [(int(a) * MIB, int(b) * MIB) for a, b in _PAIR.findall(cells[2])]
            used, total = _memory(pairs, has_hbm)
            if total is None:
                warnings.append(f"`npu-smi info`: NPU {pending[0]} chip {ids[1]} has no memory figures")
            chips.append(
                NpuChip(
                    npu_id=pending[0],
                    chip_id=int(ids[1]),
                    logic_id=to_int(ids[2]),
                    name=pending[1],
                    health=pending[2],
                    bus_id=optional(cells[1]),
                    memory_used=used,
                    memory_total=total,
                )
            )
            pending = None
    if pending:
        warnings.append(f"`npu-smi info`: the output ends inside the row of NPU {pending[0]}")
    return Parsed(NpuInfo(version[1] if version else None, chips, processes), warnings)


def _memory(pairs: list[tuple[int, int]], has_hbm: bool) -> tuple[int | None, int | None]:
    """(used, total): HBM when the table has a non-zero HBM total, else the Memory-Usage pair."""
    if has_hbm and len(pairs) >= 2 and pairs[1][1] > 0:
        return pairs[1]
    if pairs:
        return pairs[0]
    return None, None


def parse_npu_mapping(text: str) -> Parsed[list[NpuMapping]]:
    """`npu-smi info -m`: NPU ID, Chip ID, Chip Logic ID ("-" for the MCU), Chip Name."""
    rows: list[NpuMapping] = []
    warnings: list[str] = []
    for line in clean_text(text).split("\n"):
        parts = line.split(None, 3)
        if not parts or parts[0] == "NPU":
            continue
        npu, chip = (to_int(p) for p in parts[:2]) if len(parts) == 4 else (None, None)
        if npu is None or chip is None:
            warnings.append(f"`npu-smi info -m`: cannot read line {line.strip()!r}")
            continue
        rows.append(NpuMapping(npu, chip, to_int(parts[2]), parts[3].strip()))
    return Parsed(rows, warnings)


@dataclass(frozen=True)
class NpuDetails:
    """`npu-smi info -t usages|common -i N`: "Key : value" blocks, one per chip."""

    npu_id: int | None
    chip_count: int | None
    chips: dict[int, dict[str, str]]

    def memory(self, chip: int) -> tuple[int | None, int | None]:
        """(used, total) bytes of a chip: HBM where it has HBM, DDR otherwise (from -t usages)."""
        values = self.chips.get(chip, {})
        for kind in ("HBM", "DDR"):
            total = to_int(values.get(f"{kind} Capacity(MB)"))
            rate = to_int(values.get(f"{kind} Usage Rate(%)"))
            if total:
                return (None if rate is None else total * MIB * rate // 100), total * MIB
        return None, None


def parse_npu_details(text: str) -> Parsed[NpuDetails]:
    """Blocks are separated by blank lines; each chip's block names its "Chip ID" (at its start in
    -t common, at its end in -t usages). gpustack's copies drop the 8-space indent: either reads."""
    header: dict[str, str] = {}
    chips: dict[int, dict[str, str]] = {}
    for block in re.split(r"\n\s*\n", clean_text(text)):
        values = {}
        for line in block.split("\n"):
            key, sep, value = line.partition(":")
            if sep:
                values[key.strip()] = value.strip()
        chip = to_int(values.get("Chip ID"))
        if chip is not None:
            chips[chip] = values
        elif "NPU ID" in values:
            header = values
    if not header and not chips:
        raise ParseError("npu-smi info -t", "no 'NPU ID' and no 'Chip ID' in the output")
    return Parsed(NpuDetails(to_int(header.get("NPU ID")), to_int(header.get("Chip Count")), chips))
