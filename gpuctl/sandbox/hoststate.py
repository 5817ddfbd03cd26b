"""One simulated host as its tools see it: profile, concrete devices, foreign processes.

`up` writes `host.json` (sandbox, host and profile names) into the host's directory; the devices
(keys, UUIDs, serials) are derived from those names deterministically, so the same host keeps the
same UUIDs across `up`s. `processes.json` holds the foreign processes set with `set-memory`:
the only device memory in use on a sandbox host (gpuctl's stub containers use none). Each write
renders the tools' answers again (gpuctl/sandbox/answers.py).

Only the standard library is imported: every simulated tool invocation loads this module.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from gpuctl.sandbox.profiles import PROFILES, DeviceSlot, MigSlice, Profile

HOST_FILE = "host.json"
PROCESSES_FILE = "processes.json"
_UUID_NAMESPACE = uuid.UUID("6b1d8d2e-4f0c-4a59-9d55-0c9a4f5f2a11")


@dataclass(frozen=True)
class ForeignProcess:
    """A process that is not gpuctl's holding device memory (what `set-memory` creates)."""

    device_key: str
    pid: int
    name: str
    memory_mib: int


@dataclass(frozen=True)
class MigDevice:
    key: str
    """"GPU/MIG", e.g. "0/1"."""
    index: int
    """Position among the GPU's MIG devices (the `Device N` of `nvidia-smi -L`)."""
    uuid: str
    slice: MigSlice


@dataclass(frozen=True)
class SimDevice:
    """One accelerator of a host; for a GPU in MIG mode, its MIG devices are the schedulable ones."""

    key: str
    index: int
    uuid: str
    serial: str
    slot: DeviceSlot
    mig: tuple[MigDevice, ...]

    @property
    def memory_mib(self) -> int:
        return self.slot.accelerator.memory_mib


@dataclass(frozen=True)
class HostView:
    sandbox: str
    host: str
    profile: Profile
    devices: tuple[SimDevice, ...]
    processes: tuple[ForeignProcess, ...]

    def schedulable_keys(self) -> list[str]:
        """Device keys a deployment (and `set-memory`) can name: whole GPUs, or the MIG devices of a
        GPU in MIG mode."""
        return [mig.key for d in self.devices for mig in d.mig] + [d.key for d in self.devices if not d.mig]

    def device_of(self, key: str) -> tuple[SimDevice, MigDevice | None]:
        """The device (and MIG device) a key names; ValueError with the valid keys otherwise."""
        for device in self.devices:
            for mig in device.mig:
                if mig.key == key:
                    return device, mig
            if device.key == key and not device.mig:
                return device, None
        valid = ", ".join(sorted(self.schedulable_keys(), key=_key_order)) or "none"
        raise ValueError(f"host {self.host} has no device {key!r}; its devices are: {valid}")

    def used_mib(self, key: str) -> int:
        """Memory in use on a whole device (all its MIG devices) or on one MIG device."""
        return sum(
            p.memory_mib for p in self.processes if p.device_key == key or p.device_key.startswith(f"{key}/")
        )


def _key_order(key: str) -> tuple[int, ...]:
    return tuple(int(part) for part in key.split("/"))


def _stable_uuid(*parts: str) -> uuid.UUID:
    return uuid.uuid5(_UUID_NAMESPACE, "/".join(parts))


def expand(sandbox: str, host: str, profile: Profile) -> tuple[SimDevice, ...]:
    """Concrete devices of a host: keys, UUIDs and serials derived from the names."""
    devices = []
    for index, slot in enumerate(profile.devices):
        key = str(index)
        ident = _stable_uuid(sandbox, host, key)
        migs = tuple(
            MigDevice(f"{key}/{m}", m, f"MIG-{_stable_uuid(sandbox, host, f'{key}/{m}')}", mig_slice)
            for m, mig_slice in enumerate(slot.mig)
        )
        device_uuid = f"0x{ident.hex[:16]}" if slot.accelerator.vendor == "amd" else f"GPU-{ident}"
        serial = str(ident.int % 10**13).zfill(13)
        devices.append(SimDevice(key, index, device_uuid, serial, slot, migs))
    return tuple(devices)


def write_host(host_dir: Path, sandbox: str, host: str, profile: str) -> None:
    host_dir.mkdir(parents=True, exist_ok=True)
    _write_json(host_dir / HOST_FILE, {"sandbox": sandbox, "host": host, "profile": profile})
    if not (host_dir / PROCESSES_FILE).exists():
        _write_json(host_dir / PROCESSES_FILE, [])
    _render_answers(host_dir)


def load(host_dir: Path) -> HostView:
    meta = json.loads((host_dir / HOST_FILE).read_text())
    profile = PROFILES[meta["profile"]]
    processes_file = host_dir / PROCESSES_FILE
    raw = json.loads(processes_file.read_text()) if processes_file.exists() else []
    return HostView(
        sandbox=meta["sandbox"],
        host=meta["host"],
        profile=profile,
        devices=expand(meta["sandbox"], meta["host"], profile),
        processes=tuple(ForeignProcess(**p) for p in raw),
    )


def set_memory(
    host_dir: Path, device_key: str, mib: int, pid: int | None = None, name: str | None = None
) -> ForeignProcess:
    """Make a foreign process hold `mib` MiB on a device (0 removes it); returns the process.

    Without `pid`, the device's own default foreign process (one per device) is set, so repeated
    calls adjust one figure rather than piling up processes.
    """
    view = load(host_dir)
    device, mig = view.device_of(device_key)
    if mib < 0:
        raise ValueError(f"memory must be 0 or more MiB, not {mib}")
    if pid is None:
        pid = 30000 + sorted(view.schedulable_keys(), key=_key_order).index(device_key)
    process = ForeignProcess(device_key, pid, name or "python3", mib)
    others = [p for p in view.processes if not (p.device_key == device_key and p.pid == pid)]
    capacity = mig.slice.memory_mib if mig else device.memory_mib
    in_use = sum(p.memory_mib for p in others if p.device_key == device_key) + mib
    if in_use > capacity:
        raise ValueError(
            f"device {device_key} of host {view.host} has {capacity} MiB; "
            f"foreign processes would use {in_use} MiB"
        )
    processes = others + ([process] if mib else [])
    _write_json(host_dir / PROCESSES_FILE, [asdict(p) for p in processes])
    _render_answers(host_dir)
    return process


def _render_answers(host_dir: Path) -> None:
    """The tools' answers follow every change of the state (imported here: the tools themselves
    load this module and must not import the renderer's dependencies)."""
    from gpuctl.sandbox import answers

    answers.write(host_dir)


def _write_json(path: Path, data: object) -> None:
    """Write atomically: a tool reading concurrently sees the old or the new file, never half."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    tmp.replace(path)
