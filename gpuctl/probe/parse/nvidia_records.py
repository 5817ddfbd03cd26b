"""What the NVIDIA parsers read, before it is merged into `Device`s.

nvidia-smi spreads one GPU's facts over several outputs (the query CSV has memory and compute
capability, `-L` has MIG UUIDs and profiles, the default table has the CUDA version and per-MIG
memory). Each parser fills the fields its output has and leaves the rest None; `nvidia_devices`
merges them by GPU index and MIG device index.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class GpuRecord:
    index: int
    """nvidia-smi's GPU index (PCI bus order unless CUDA_DEVICE_ORDER says otherwise)."""
    name: str | None = None
    uuid: str | None = None
    memory_total: int | None = None
    memory_used: int | None = None
    compute_capability: str | None = None
    driver_version: str | None = None
    mig_enabled: bool | None = None
    bus_id: str | None = None


@dataclass(frozen=True)
class MigRecord:
    gpu: int
    index: int
    """MIG device index on its GPU: `Device N` in `nvidia-smi -L`, "MIG Dev" in the table."""
    profile: str | None = None
    uuid: str | None = None
    gpu_instance: int | None = None
    compute_instance: int | None = None
    memory_total: int | None = None
    memory_used: int | None = None


@dataclass(frozen=True)
class ProcessRecord:
    pid: int
    name: str = ""
    gpu_uuid: str | None = None
    gpu_index: int | None = None
    gpu_instance: int | None = None
    compute_instance: int | None = None
    used_memory: int | None = None


@dataclass(frozen=True)
class NvidiaReport:
    """Everything one whole-GPU report (default table, `-q`, `-q -x`) holds."""

    driver_version: str | None = None
    cuda_version: str | None = None
    gpus: list[GpuRecord] = field(default_factory=list)
    migs: list[MigRecord] = field(default_factory=list)
    processes: list[ProcessRecord] = field(default_factory=list)
