"""Free device memory on every host, and an index to find device sets that can hold a claim.

free = total − memory claimed by gpuctl's containers − memory used by anything else.

gpuctl's claims come from its containers' labels (`gpuctl.memory` on each device in
`gpuctl.devices`), not from live `memory.used`, because a model that is still loading has not yet
allocated what it will. Only containers that hold their devices (running, restarting, paused,
created) claim memory; an exited one does not.

Foreign use of a device is the larger of

- the memory of listed processes that do not belong to a gpuctl container (nvidia-smi
  compute apps, matched to containers by the container id from their cgroup), and
- `memory_used` minus what gpuctl's containers use there: the memory of their listed processes,
  or their claims when the probe lists none (npu-smi and rocm-smi list no processes; the driver's
  own reservation and processes in other PID namespaces are counted this way too).

The index keeps, for each cluster and device shape (vendor, product, memory, MIG profile), the
devices sorted by free memory and, for each size k, the hosts sorted by the free memory of their
k-th emptiest device of that shape. A best fit is then a bisection and a short walk, not a scan of
the fleet: planning 2,000 deployments on 1,000 hosts stays well under a second.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from gpuctl.backends.common import DIST_PORT_OFFSET
from gpuctl.facts import Device, GpuProcess, HostFacts
from gpuctl.schedule.observed import Observed, belongs_to
from gpuctl.schedule.units import size

Shape = tuple[str, str, int, str]
"""(vendor, product name, memory total, MIG profile or "" for a whole device)."""

HEALTHY = frozenset({"ok", "healthy"})
RESERVED = 256 << 20
"""Memory used outside gpuctl and below this, with no process listed, is the driver's own
reservation: counted, but not named as what makes a device busy."""


def device_order(key: str) -> tuple[int, ...]:
    """Sort key for device keys: "2" < "10", "0/1" after "0"."""
    try:
        return tuple(int(part) for part in key.split("/"))
    except ValueError:
        return (1 << 30,)


@dataclass(slots=True)
class DeviceState:
    key: str
    device: Device
    host_rank: int
    slot: int
    """Position of the device in its host's device list."""
    shape: Shape
    foreign: int
    foreign_processes: tuple[GpuProcess, ...]
    schedulable: bool
    claimed: int = 0
    holders: list[tuple[str, int]] = field(default_factory=list)
    """(who, bytes): "qwen3-8b/0" and the memory it claims here."""

    @property
    def total(self) -> int:
        return self.device.memory_total

    @property
    def free(self) -> int:
        return self.device.memory_total - self.foreign - self.claimed

    @property
    def mig(self) -> bool:
        return "/" in self.key

    def why_busy(self, besides: str = "") -> str:
        """What holds this device's memory, for reasons ("foreign process python (pid 4242)
        30.0 GiB"), leaving out the holder `besides` (the replica asking)."""
        parts = [f"{who} claims {size(n)}" for who, n in self.holders if who != besides]
        if self.foreign_processes or self.foreign >= RESERVED:
            named = ", ".join(
                f"{p.name or 'process'} (pid {p.pid})"
                + (f" {size(p.used_memory)}" if p.used_memory is not None else "")
                for p in self.foreign_processes
            )
            parts.append(f"foreign process {named}" if named else f"{size(self.foreign)} used outside gpuctl")
        return "; ".join(parts) if parts else "free"


@dataclass(slots=True)
class HostState:
    name: str
    rank: int
    facts: HostFacts
    labels: dict[str, str]
    """Cluster spec labels plus the probed os, arch and accelerator."""
    devices: list[DeviceState]
    ram_free: int
    ports: set[int]
    usable: bool
    """Probed, and its Docker daemon answered: gpuctl may place containers here."""
    free_sum: int = 0
    """Free memory of its schedulable devices together (spread prefers the emptiest host)."""

    @property
    def cluster(self) -> str:
        return self.facts.cluster

    def device(self, key: str) -> DeviceState | None:
        for dev in self.devices:
            if dev.key == key:
                return dev
        return None


class ShapeIndex:
    """Devices of one shape in one cluster, sorted by free memory (see module docstring)."""

    def __init__(self, shape: Shape) -> None:
        self.shape = shape
        self.devices: list[tuple[int, int, int]] = []
        """(free, host rank, slot), ascending."""
        self.by_size: dict[int, list[tuple[int, int]]] = {}
        """k → (free of the host's k-th emptiest device, host rank), ascending."""
        self.members: dict[int, list[DeviceState]] = {}
        self._kth: dict[int, list[int]] = {}

    @property
    def multi(self) -> bool:
        """Several devices of this shape may serve one replica (not MIG instances: NCCL cannot
        join MIG instances)."""
        return not self.shape[3]

    def add(self, dev: DeviceState) -> None:
        self.members.setdefault(dev.host_rank, []).append(dev)

    def build(self) -> None:
        self.devices = sorted((d.free, d.host_rank, d.slot) for ds in self.members.values() for d in ds)
        for rank in self.members:
            self._kth[rank] = []
            self._index_host(rank)

    def _index_host(self, rank: int) -> None:
        old = self._kth[rank]
        new = sorted((d.free for d in self.members[rank]), reverse=True)
        if not self.multi:
            new = new[:1]
        for k, value in enumerate(old, start=1):
            lst = self.by_size[k]
            del lst[bisect_left(lst, (value, rank))]
        for k, value in enumerate(new, start=1):
            insort(self.by_size.setdefault(k, []), (value, rank))
        self._kth[rank] = new

    def update(self, dev: DeviceState, old_free: int) -> None:
        del self.devices[bisect_left(self.devices, (old_free, dev.host_rank, dev.slot))]
        insort(self.devices, (dev.free, dev.host_rank, dev.slot))
        self._index_host(dev.host_rank)

    def devices_from(self, need: int) -> Iterator[tuple[int, int, int]]:
        """Devices with at least `need` free, tightest first."""
        lst = self.devices
        for i in range(bisect_left(lst, (need, -1, -1)), len(lst)):
            yield lst[i]

    def hosts_from(self, k: int, need: int) -> list[tuple[int, int]]:
        """(k-th free, host rank) of hosts with k devices of at least `need` free, tightest first."""
        lst = self.by_size.get(k, [])
        return lst[bisect_left(lst, (need, -1)) :]

    def kth(self, rank: int) -> list[int]:
        """Free memory of a host's devices of this shape, emptiest first (a single entry for MIG
        instances, which are never joined)."""
        return self._kth.get(rank, [])

    def max_size(self) -> int:
        return max(self.by_size) if self.by_size else 0


class Fleet:
    """Every host of the planned clusters with its devices' free memory, kept as claims change."""

    def __init__(
        self, hosts: list[HostFacts], spec_labels: dict[str, dict[str, str]], observed: list[Observed]
    ) -> None:
        self.hosts: list[HostState] = []
        self.by_name: dict[str, HostState] = {}
        self.index: dict[tuple[str, Shape], ShapeIndex] = {}
        by_host: dict[str, list[Observed]] = {}
        for obs in observed:
            by_host.setdefault(obs.host, []).append(obs)
        for rank, facts in enumerate(sorted(hosts, key=lambda h: h.host)):
            state = _host_state(rank, facts, spec_labels.get(facts.host, {}), by_host.get(facts.host, []))
            self.hosts.append(state)
            self.by_name[facts.host] = state
            if not state.usable:
                continue
            for dev in state.devices:
                if dev.schedulable:
                    key = (state.cluster, dev.shape)
                    if key not in self.index:
                        self.index[key] = ShapeIndex(dev.shape)
                    self.index[key].add(dev)
        for idx in self.index.values():
            idx.build()

    def claim(self, host: HostState, devices: Iterable[DeviceState], amount: int, who: str) -> None:
        for dev in devices:
            old = dev.free
            dev.claimed += amount
            dev.holders.append((who, amount))
            self._moved(host, dev, old)

    def release(self, host: HostState, devices: Iterable[DeviceState], amount: int, who: str) -> None:
        for dev in devices:
            old = dev.free
            dev.claimed -= amount
            dev.holders.remove((who, amount))
            self._moved(host, dev, old)

    def _moved(self, host: HostState, dev: DeviceState, old_free: int) -> None:
        if host.usable and dev.schedulable:
            host.free_sum += dev.free - old_free
            self.index[(host.cluster, dev.shape)].update(dev, old_free)


def held_ports(obs: Observed) -> tuple[int, ...]:
    """Ports a gpuctl container holds on its host: its backend port, and for the leader of a
    replica across hosts also the next one (Ray GCS, SGLang --dist-init-addr), which no other
    container may get while it runs, be it planned or not (`--target`)."""
    if obs.port is None:
        return ()
    return (obs.port, obs.port + DIST_PORT_OFFSET) if obs.role == "leader" else (obs.port,)


def holder_name(deployment: str, replica: int, role: str = "main") -> str:
    return f"{deployment}/{replica}" + ("" if role == "main" else f"/{role}")


def _shape(device: Device) -> Shape:
    mig = device.mig_profile or ("mig" if "/" in device.key else "")
    return (device.vendor, device.name, device.memory_total, mig)


def _host_state(
    rank: int, facts: HostFacts, spec_labels: dict[str, str], observed: list[Observed]
) -> HostState:
    labels = dict(spec_labels)
    if facts.info is not None:
        labels.update(os=facts.info.os, arch=facts.info.arch)
    if facts.ok:
        labels["accelerator"] = facts.accelerator
    usable = facts.ok and facts.docker is not None and facts.docker.reachable
    managed_ids = [o.container.id for o in observed]
    active = [o for o in observed if o.active]
    devices: list[DeviceState] = []
    for slot, device in enumerate(sorted(facts.devices, key=lambda d: device_order(d.key))):
        claims = [(o, o.memory) for o in active if device.key in o.devices]
        on_device = [p for p in facts.processes if p.device_key == device.key]
        foreign_procs = tuple(p for p in on_device if not belongs_to(p.container_id, managed_ids))
        own_procs = [p for p in on_device if belongs_to(p.container_id, managed_ids)]
        if own_procs and all(p.used_memory is not None for p in own_procs):
            own_use = sum(p.used_memory or 0 for p in own_procs)
        else:
            own_use = sum(n for _, n in claims)
        known = sum(p.used_memory or 0 for p in foreign_procs)
        foreign = max(known, device.memory_used - own_use, 0)
        state = DeviceState(
            key=device.key,
            device=device,
            host_rank=rank,
            slot=slot,
            shape=_shape(device),
            foreign=foreign,
            foreign_processes=foreign_procs,
            schedulable=device.health is None or device.health.lower() in HEALTHY,
        )
        for obs, amount in claims:
            state.claimed += amount
            state.holders.append((holder_name(obs.deployment, obs.replica, obs.role), amount))
        devices.append(state)
    return HostState(
        free_sum=sum(d.free for d in devices if d.schedulable),
        name=facts.host,
        rank=rank,
        facts=facts,
        labels=labels,
        devices=devices,
        ram_free=facts.info.memory_available if facts.info else 0,
        ports={p for o in observed for p in held_ports(o)},
        usable=usable,
    )
