"""Merge what the vendor parsers read into schedulable `Device`s and `GpuProcess`es (pure).

NVIDIA: the query CSV is the base; `-L` adds UUIDs and MIG profiles, the default table adds MIG
memory and which MIG device a process runs in. A GPU in MIG mode is not schedulable as a whole:
its MIG devices are, with keys "GPU/MIG". Ascend: a device per AI chip, keyed by the chip's logic
id (what ASCEND_VISIBLE_DEVICES takes). AMD: a device per card.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields, replace

from gpuctl.facts import Device, GpuProcess
from gpuctl.probe.parse.common import Parsed, to_bytes
from gpuctl.probe.parse.npu_smi import NpuInfo, NpuMapping
from gpuctl.probe.parse.nvidia_records import GpuRecord, MigRecord, ProcessRecord


def _fill(base: GpuRecord | MigRecord, extra: GpuRecord | MigRecord | None) -> GpuRecord | MigRecord:
    """`base` with its missing (None) fields taken from `extra`; cut names ("...") replaced."""
    if extra is None:
        return base
    updates = {}
    for f in fields(base):
        mine, theirs = getattr(base, f.name), getattr(extra, f.name)
        if theirs is not None and (mine is None or (f.name == "name" and str(mine).endswith("..."))):
            updates[f.name] = theirs
    return replace(base, **updates)


def nvidia_devices(
    gpus: list[GpuRecord],
    listed: tuple[list[GpuRecord], list[MigRecord]] = ([], []),
    table_gpus: list[GpuRecord] | None = None,
    table_migs: list[MigRecord] | None = None,
    table_processes: list[ProcessRecord] | None = None,
    apps: list[ProcessRecord] | None = None,
    containers: Mapping[int, str] | None = None,
) -> Parsed[tuple[list[Device], list[GpuProcess]]]:
    """Devices and processes of one host. `apps` None means the compute-apps query failed: the
    table's process rows stand in for it."""
    warnings: list[str] = []
    merged: dict[int, GpuRecord] = {g.index: g for g in gpus}
    for source in (listed[0], table_gpus or []):
        for record in source:
            merged[record.index] = _fill(merged.get(record.index, record), record)  # type: ignore[assignment]
    table_mig = {(m.gpu, m.index): m for m in table_migs or []}
    migs: dict[tuple[int, int], MigRecord] = {}
    for mig in listed[1]:
        migs[(mig.gpu, mig.index)] = _fill(mig, table_mig.get((mig.gpu, mig.index)))  # type: ignore[assignment]
    for key, mig in table_mig.items():
        migs.setdefault(key, mig)

    devices: list[Device] = []
    keys_by_uuid: dict[str, str] = {}
    for gpu in sorted(merged.values(), key=lambda g: g.index):
        name = gpu.name or "NVIDIA GPU"
        if gpu.mig_enabled:
            mine = sorted((m for (g, _), m in migs.items() if g == gpu.index), key=lambda m: m.index)
            if not mine:
                warnings.append(
                    f"GPU {gpu.index} is in MIG mode but has no MIG devices: nothing can run on it until "
                    "MIG instances are created (nvidia-smi mig -cgi PROFILES -C) or MIG is disabled"
                )
            devices += [_mig_device(gpu, name, mig, warnings) for mig in mine]
            _warn_shared(gpu.index, mine, warnings)
            if gpu.uuid:
                keys_by_uuid[gpu.uuid] = str(gpu.index)
            continue
        if gpu.memory_total is None:
            warnings.append(f"GPU {gpu.index}: no memory total; it is listed with 0 bytes")
        device = Device(
            key=str(gpu.index),
            vendor="nvidia",
            index=gpu.index,
            name=name,
            uuid=gpu.uuid,
            memory_total=gpu.memory_total or 0,
            memory_used=gpu.memory_used or 0,
            compute_capability=gpu.compute_capability,
            bus_id=gpu.bus_id,
        )
        devices.append(device)
        if gpu.uuid:
            keys_by_uuid[gpu.uuid] = device.key
    for device in devices:
        if device.mig_profile and device.uuid:
            keys_by_uuid[device.uuid] = device.key

    processes = _nvidia_processes(
        merged, migs, keys_by_uuid, apps, table_processes or [], containers or {}, warnings
    )
    return Parsed((devices, processes), warnings)


def _mig_device(gpu: GpuRecord, name: str, mig: MigRecord, warnings: list[str]) -> Device:
    if mig.memory_total is None:
        warnings.append(
            f"MIG device {gpu.index}/{mig.index}: no memory figures in the `nvidia-smi` table; "
            "it is listed with 0 bytes"
        )
    return Device(
        key=f"{gpu.index}/{mig.index}",
        vendor="nvidia",
        index=gpu.index,
        name=f"{name} MIG {mig.profile}" if mig.profile else f"{name} MIG",
        uuid=mig.uuid,
        memory_total=mig.memory_total or 0,
        memory_used=mig.memory_used or 0,
        compute_capability=gpu.compute_capability,
        mig_profile=mig.profile,
        bus_id=gpu.bus_id,
    )


def _warn_shared(gpu: int, migs: list[MigRecord], warnings: list[str]) -> None:
    """Compute instances of one GPU instance share its memory: two devices, one pool."""
    by_instance: dict[int, list[MigRecord]] = {}
    for mig in migs:
        if mig.gpu_instance is not None:
            by_instance.setdefault(mig.gpu_instance, []).append(mig)
    for instance, group in sorted(by_instance.items()):
        if len(group) > 1:
            keys = ", ".join(f"{gpu}/{m.index}" for m in group)
            size = (group[0].memory_total or 0) // (1024 * 1024)
            warnings.append(
                f"MIG devices {keys} are compute instances of GPU instance {instance} and share "
                f"its {size} MiB: memory used on one is gone from the others"
            )


def _nvidia_processes(
    gpus: Mapping[int, GpuRecord],
    migs: Mapping[tuple[int, int], MigRecord],
    keys_by_uuid: Mapping[str, str],
    apps: list[ProcessRecord] | None,
    table: list[ProcessRecord],
    containers: Mapping[int, str],
    warnings: list[str],
) -> list[GpuProcess]:
    by_pid = {p.pid: p for p in table}
    mig_by_instance = {(m.gpu, m.gpu_instance, m.compute_instance): m for m in migs.values()}
    processes = []
    for record in table if apps is None else apps:
        row = by_pid.get(record.pid, record)
        key = keys_by_uuid.get(record.gpu_uuid or "")
        gpu = record.gpu_index if record.gpu_index is not None else row.gpu_index
        if key is None and gpu is not None:
            key = str(gpu)
        if key is None:
            warnings.append(f"process {record.pid} ({record.name}): cannot tell which GPU it uses")
            continue
        parent = gpus.get(int(key.split("/")[0]))
        if parent and parent.mig_enabled and "/" not in key:
            mig = mig_by_instance.get((parent.index, row.gpu_instance, row.compute_instance))
            if mig:
                key = f"{parent.index}/{mig.index}"
            else:
                warnings.append(
                    f"process {record.pid} ({record.name}) runs on MIG GPU {key}, but its MIG device "
                    "is unknown; it is counted against the whole GPU"
                )
        processes.append(
            GpuProcess(
                device_key=key,
                pid=record.pid,
                name=record.name,
                used_memory=record.used_memory,
                container_id=containers.get(record.pid),
            )
        )
    return processes


def ascend_name(name: str) -> str:
    """npu-smi's table says "910B3"; its -m listing and Huawei's documents say "Ascend 910B3"."""
    return name if name.lower().startswith("ascend") else f"Ascend {name}"


def ascend_devices(
    info: NpuInfo, mapping: list[NpuMapping] | None = None, containers: Mapping[int, str] | None = None
) -> Parsed[tuple[list[Device], list[GpuProcess]]]:
    warnings: list[str] = []
    logic = {(m.npu_id, m.chip_id): m.logic_id for m in mapping or [] if m.logic_id is not None}
    chips_per_npu: dict[int, int] = {}
    for chip in info.chips:
        chips_per_npu[chip.npu_id] = chips_per_npu.get(chip.npu_id, 0) + 1
    devices: list[Device] = []
    keys: dict[tuple[int, int], str] = {}
    for position, chip in enumerate(info.chips):
        logic_id = chip.logic_id if chip.logic_id is not None else logic.get((chip.npu_id, chip.chip_id))
        if logic_id is None:
            one_chip = chips_per_npu[chip.npu_id] == 1
            logic_id = chip.npu_id if one_chip else position
            warnings.append(
                f"NPU {chip.npu_id} chip {chip.chip_id}: no logic id in `npu-smi info` or `-m`; "
                f"using {logic_id}"
            )
        if chip.memory_total is None:
            warnings.append(f"NPU {chip.npu_id} chip {chip.chip_id}: no memory total; listed with 0 bytes")
        device = Device(
            key=str(logic_id),
            vendor="ascend",
            index=logic_id,
            name=ascend_name(chip.name),
            memory_total=chip.memory_total or 0,
            memory_used=chip.memory_used or 0,
            chip_id=chip.chip_id,
            health=chip.health,
            bus_id=chip.bus_id,
        )
        devices.append(device)
        keys[(chip.npu_id, chip.chip_id)] = device.key
    processes = []
    for process in info.processes:
        key = keys.get((process.npu_id, process.chip_id))
        if key is None:
            warnings.append(f"process {process.pid}: unknown NPU {process.npu_id} chip {process.chip_id}")
            continue
        processes.append(
            GpuProcess(
                device_key=key,
                pid=process.pid,
                name=process.name,
                used_memory=process.memory,
                container_id=(containers or {}).get(process.pid),
            )
        )
    return Parsed((sorted(devices, key=lambda d: d.index), processes), warnings)


def amd_usage(
    devices: list[Device], monitor: Mapping[int, Mapping[str, str]] | None, processes: list[GpuProcess]
) -> Parsed[list[Device]]:
    """Fill VRAM used of amd-smi's static devices: `monitor -v`'s VRAM_USED where it has one,
    else the VRAM its processes hold (a lower bound: it misses what the driver reserves)."""
    warnings: list[str] = []
    filled = []
    for device in devices:
        used = to_bytes((monitor or {}).get(device.index, {}).get("VRAM_USED"))
        if used is None:
            used = sum(p.used_memory or 0 for p in processes if p.device_key == device.key)
            warnings.append(
                f"AMD GPU {device.key}: `amd-smi monitor -v` gave no VRAM_USED; "
                "counting only the VRAM of its processes as used"
            )
        filled.append(device.model_copy(update={"memory_used": used}))
    return Parsed(filled, warnings)
