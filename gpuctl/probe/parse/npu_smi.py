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


def _merge_id_column(cells: list[str]) -> list[str]:
    """Rows of the Ascend 950 layout (npu-smi 25.6 and later) give the NPU id a column of its own:
    `| 0 | Ascend950PR | OK | ...` and then `|   |   | 0000:71:00.0 | ...`. Merged with the name
    column, they read like the `| 0  910B3 | OK | ...` rows of every earlier layout."""
    return [" ".join(cell for cell in cells[:2] if cell), *cells[2:]]


def _chip_ids(cell: str, npu_id: int, own_id_column: bool) -> tuple[int, int | None] | None:
    """(chip id, logic id) of a chip line: "0  3" (Chip and Device, or Chip and Phy-ID on Atlas A3)
    or "0" (Chip only). The 950 layout has no chip column: one chip per NPU, and Huawei's npu-smi
    manual calls its NPU ID the logical ID, so that is the logic id."""
    if own_id_column and not cell:
        return 0, npu_id
    ids = _IDS.match(cell)
    return (int(ids[1]), to_int(ids[2])) if ids else None


def _process(cells: list[str], with_chip: bool) -> NpuProcess | None:
    """A process row, `| NPU  Chip | PID | name | MB | ...`; the 950 layout has no Chip column
    (`| NPU ID | PID | ...`), its NPUs having one chip each. The name may be empty (A3 tables)."""
    ids, pid = _IDS.match(cells[0]), to_int(cells[1])
    if not ids or pid is None or (with_chip and ids[2] is None):
        return None
    memory = to_int(cells[3])
    chip = int(ids[2]) if ids[2] is not None else 0
    return NpuProcess(int(ids[1]), chip, pid, cells[2], None if memory is None else memory * MIB)


def parse_npu_info(text: str) -> Parsed[NpuInfo]:
    """The device table and the process table of `npu-smi info`, in any of their layouts.

    A device table whose rows cannot be read is a ParseError, not an empty host: npu-smi is
    installed and lists NPUs, so reporting none would hide them (a new layout must be noticed)."""
    text = clean_text(text)
    version = _VERSION.search(text)
    if "npu-smi" not in text and not re.search(r"NPU\s+(ID\s*\|\s*)?Name", text):
        raise ParseError("npu-smi info", "no 'npu-smi' banner and no NPU table header")
    warnings: list[str] = []
    chips: list[NpuChip] = []
    processes: list[NpuProcess] = []
    unread: list[str] = []
    mode, has_hbm, own_id_column, with_chip = "head", False, False, True
    pending: tuple[int, str, str | None] | None = None
    for line in text.split("\n"):
        if not line.startswith("|"):
            continue
        cells = _cells(line)
        row = _merge_id_column(cells) if own_id_column else cells
        if "Process id" in line:
            mode, with_chip = "processes", "Chip" in line
        elif "Name" in line and "Health" in line:
            mode, own_id_column = "devices", cells[0] == "NPU ID"
        elif "Bus-Id" in line:
            has_hbm = "HBM" in line
        elif mode == "processes":
            if len(cells) >= 4 and (process := _process(cells, with_chip)):
                processes.append(process)
        elif mode == "devices" and len(row) >= 3 and pending is None and (named := _NAMED.match(row[0])):
            pending = (int(named[1]), named[2], optional(row[1]))
        elif (
            mode == "devices"
            and len(row) >= 3
            and pending is not None
            and (ids := _chip_ids(row[0], pending[0], own_id_column))
        ):
            chips.append(_chip(pending, ids, row, has_hbm, warnings))
            pending = None
        elif _holds_figures(line, mode):
            unread.append(line.strip())
    if pending:
        warnings.append(f"`npu-smi info`: the output ends inside the row of NPU {pending[0]}")
    if unread and not chips:
        raise ParseError(
            "npu-smi info", f"no NPU row in a layout gpuctl knows; the first row is {unread[0]!r}"
        )
    warnings += [f"`npu-smi info`: cannot read row {bad!r}" for bad in unread]
    return Parsed(NpuInfo(version[1] if version else None, chips, processes), warnings)


def _holds_figures(line: str, mode: str) -> bool:
    """A row gpuctl should have read: any digit inside the device table, or a used/total pair
    before its header was recognized (a layout whose header words changed)."""
    return any(c.isdigit() for c in line) if mode == "devices" else bool(_PAIR.search(line))


def _chip(
    npu: tuple[int, str, str | None],
    ids: tuple[int, int | None],
    cells: list[str],
    has_hbm: bool,
    warnings: list[str],
) -> NpuChip:
    """One AI chip from its NPU's name line (`npu`: id, name, health) and its own chip line."""
    pairs = [(int(a) * MIB, int(b) * MIB) for a, b in _PAIR.findall(cells[2])]
    used, total = _memory(pairs, has_hbm)
    if total is None:
        warnings.append(f"`npu-smi info`: NPU {npu[0]} chip {ids[0]} has no memory figures")
    return NpuChip(
        npu_id=npu[0],
        chip_id=ids[0],
        logic_id=ids[1],
        name=npu[1],
        health=npu[2],
        bus_id=optional(cells[1]),
        memory_used=used,
        memory_total=total,
    )


def _memory(pairs: list[tuple[int, int]], has_hbm: bool) -> tuple[int | None, int | None]:
    """(used, total): HBM when the table has a non-zero HBM total, else the Memory-Usage pair."""
    if has_hbm and len(pairs) >= 2 and pairs[1][1] > 0:
        return pairs[1]
    if pairs:
        return pairs[0]
    return None, None


MAPPING_COLUMNS = ("NPU ID", "Slot ID", "Chip ID", "Chip Logic ID", "Chip Phy-ID", "Chip Name")
"""Column names of `npu-smi info -m`. 910B and 310P print NPU ID, Chip ID, Chip Logic ID, Chip Name;
Atlas A3 adds Chip Phy-ID before the name, and the 950 prints Slot ID and Chip Phy-ID."""
_DEFAULT_COLUMNS = ["NPU ID", "Chip ID", "Chip Logic ID", "Chip Name"]


def _mapping_columns(header: str) -> list[str]:
    """The header's columns in their order. Names hold spaces, so they are found by name; values
    are single words except the last, the chip name ("Ascend 910B3")."""
    found = sorted((header.index(name), name) for name in MAPPING_COLUMNS if name in header)
    return [name for _, name in found]


def parse_npu_mapping(text: str) -> Parsed[list[NpuMapping]]:
    """`npu-smi info -m`: NPU ID, Chip ID, Chip Logic ID ("-" for the MCU), Chip Name, read by the
    header's columns. A table without a Chip Logic ID column gives no logic ids: a physical id is
    not one (it differs once devices are remapped), so gpuctl does not guess."""
    rows: list[NpuMapping] = []
    warnings: list[str] = []
    columns = _DEFAULT_COLUMNS
    for line in clean_text(text).split("\n"):
        if not line.strip():
            continue
        if "NPU ID" in line:
            columns = _mapping_columns(line)
            continue
        values = dict(zip(columns, line.split(None, len(columns) - 1), strict=False))
        npu, chip = to_int(values.get("NPU ID")), to_int(values.get("Chip ID"))
        if npu is None or chip is None or "Chip Name" not in values:
            warnings.append(f"`npu-smi info -m`: cannot read line {line.strip()!r}")
            continue
        rows.append(NpuMapping(npu, chip, to_int(values.get("Chip Logic ID")), values["Chip Name"].strip()))
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
