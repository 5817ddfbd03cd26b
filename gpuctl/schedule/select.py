"""Device-set selection for one replica, in the order that wastes least.

1. one device; 2. several devices of one host with tensor parallelism (sizes the model's heads and
vocabulary allow, fewest devices first); 3. CPU offload where the deployment allows it (llama-box
layers partly on a device, or the whole model on the CPU for llama-box and VoxBox); 4. across
hosts when `placement.distributed` is set (the same number of devices on each host; the first host
by name leads). Each step returns the best candidate by the deployment's strategy, or None.

Scores (lower is better; the host rank — its position by name — breaks ties):

- binpack: the smallest memory left over on the chosen devices (best fit), so whole devices stay
  free for large models and the fleet uses as few devices as it can;
- spread: the fewest replicas of the same deployment on the host, then the emptiest host, and on
  that host the emptiest devices.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from gpuctl.estimate.types import Estimate
from gpuctl.schedule.capacity import DeviceState, Fleet, HostState, ShapeIndex
from gpuctl.schedule.demand import Demand, claim_of

MAX_DISTRIBUTED_HOSTS = 64
"""Most hosts one replica may span (pipeline stages); beyond it a model is not worth serving."""
OFFLOAD_GRANULARITY = 256 << 20
"""Free memory offered to the estimator for partial offload is rounded down to this step, so that
hosts with nearly the same free memory share one estimate."""


@dataclass
class Part:
    """The share of one replica on one host."""

    host: HostState
    devices: list[DeviceState]
    role: str = "main"


@dataclass
class Choice:
    """A place for one replica: its parts, the estimate on their devices, and how it scored."""

    parts: list[Part]
    estimate: Estimate
    tensor_parallel: int = 1
    pipeline_parallel: int = 1
    overcommit: bool = False
    score: tuple[int, ...] = ()

    @property
    def claim(self) -> int:
        return claim_of(self.estimate)


@dataclass
class Search:
    """What a search for one replica needs to know besides the fleet."""

    fleet: Fleet
    demand: Demand
    mask: bytearray
    """Eligible hosts by rank (the filters' verdict)."""
    shapes: list[ShapeIndex]
    """Device shapes found on eligible hosts, largest devices first."""
    replicas_on: Callable[[int], int]
    """Replicas of this deployment already placed on a host (by rank)."""
    port_free: Callable[[HostState, int], bool]
    """Whether a host has this many consecutive backend ports free for the replica."""
    spread: bool = field(init=False)

    def __post_init__(self) -> None:
        self.spread = self.demand.placement.strategy == "spread"

    def host_score(self, host: HostState) -> tuple[int, ...]:
        return (self.replicas_on(host.rank), -host.free_sum, host.rank)


def sizes(demand: Demand, largest: int) -> list[int]:
    """Tensor-parallel sizes to try on one host, fewest devices first."""
    if demand.tensor_parallel is not None:
        return [demand.tensor_parallel] if demand.tensor_parallel <= largest else []
    return list(range(1, largest + 1))


def on_devices(search: Search) -> Choice | None:
    """Steps 1 and 2: the fewest devices of one host that hold the whole model."""
    shapes = search.shapes
    largest = max((idx.max_size() for idx in shapes), default=0)
    for k in sizes(search.demand, largest):
        if search.demand.parallel_problem(k) is not None:
            continue
        best: Choice | None = None
        for idx in shapes:
            if k > idx.max_size() or (k > 1 and not idx.multi):
                continue
            est = search.demand.estimate((idx.shape[2],) * k, k)
            if est.verdict != "fits":
                continue
            found = _best_in_shape(search, idx, k, claim_of(est))
            if found is not None and (best is None or found[0] < best.score):
                score, part = found
                best = Choice([part], est, tensor_parallel=k, score=score)
        if best is not None:
            return best
    return None


def _best_in_shape(search: Search, idx: ShapeIndex, k: int, need: int) -> tuple[tuple[int, ...], Part] | None:
    fleet, mask = search.fleet, search.mask
    if search.spread:
        best: tuple[tuple[int, ...], HostState] | None = None
        for _, rank in idx.hosts_from(k, need):
            host = fleet.hosts[rank]
            if mask[rank] and search.port_free(host, 1):
                score = search.host_score(host)
                if best is None or score < best[0]:
                    best = (score, host)
        if best is None:
            return None
        score, host = best
        devices = sorted(
            (d for d in idx.members[host.rank] if d.free >= need), key=lambda d: (-d.free, d.slot)
        )
        return score, Part(host, sorted(devices[:k], key=lambda d: d.slot))
    if k == 1:
        for free, rank, slot in idx.devices_from(need):
            host = fleet.hosts[rank]
            if mask[rank] and search.port_free(host, 1):
                return (free - need, rank, slot), Part(host, [host.devices[slot]])
        return None
    for _, rank in idx.hosts_from(k, need):
        host = fleet.hosts[rank]
        if mask[rank] and search.port_free(host, 1):
            fitting = sorted((d for d in idx.members[rank] if d.free >= need), key=lambda d: (d.free, d.slot))
            devices = fitting[:k]
            leftover = sum(d.free - need for d in devices)
            return (leftover, rank), Part(host, sorted(devices, key=lambda d: d.slot))
    return None


def with_offload(search: Search) -> Choice | None:
    """Step 3: llama-box with some layers on the host's emptiest device, else the CPU alone."""
    demand = search.demand
    if not demand.may_offload:
        return None
    best: Choice | None = None
    for host in search.fleet.hosts:
        if not search.mask[host.rank] or not search.port_free(host, 1):
            continue
        candidates: list[tuple[list[DeviceState], Estimate]] = []
        devices = sorted(
            (d for d in host.devices if d.schedulable and d.free > 0), key=lambda d: (-d.free, d.slot)
        )
        if demand.backend == "llama-box" and devices:
            offered = devices[0].free // OFFLOAD_GRANULARITY * OFFLOAD_GRANULARITY
            if offered > 0:
                candidates.append(([devices[0]], demand.estimate((offered,), 1, offload=True)))
        candidates.append(([], demand.estimate((), 1, offload=True)))
        for chosen, est in candidates:
            if est.verdict != "fits" or est.cpu_memory > host.ram_free:
                continue
            if chosen and claim_of(est) > chosen[0].free:
                continue
            leftover = host.ram_free - est.cpu_memory
            placed = search.host_score(host) if search.spread else (leftover, host.rank)
            score = (-(est.gpu_layers or 0), *placed)
            if best is None or score < best.score:
                best = Choice([Part(host, chosen)], est, score=score)
            break
    return best


def across_hosts(search: Search) -> Choice | None:
    """Step 4: the same number of devices on each of several hosts, fewest devices in all first."""
    demand = search.demand
    if not demand.placement.distributed:
        return None
    shapes = [idx for idx in search.shapes if idx.multi]
    largest = max((idx.max_size() for idx in shapes), default=0)
    hosts = sum(1 for rank, ok in enumerate(search.mask) if ok)
    # llama-box workers are RPC servers of one device each.
    per_host = [1] if demand.backend == "llama-box" else sizes(demand, largest)
    most = min(hosts, MAX_DISTRIBUTED_HOSTS)
    splits = sorted((m * n, n, m) for m in per_host for n in range(2, most + 1))
    for _, n, m in splits:
        if demand.parallel_problem(m, n) is not None:
            continue
        best: Choice | None = None
        for idx in shapes:
            if m > idx.max_size():
                continue
            est = demand.estimate((idx.shape[2],) * (m * n), m, n)
            if est.verdict != "fits":
                continue
            found = _hosts_in_shape(search, idx, m, n, claim_of(est))
            if found is not None and (best is None or found[0] < best.score):
                score, parts = found
                best = Choice(parts, est, tensor_parallel=m, pipeline_parallel=n, score=score)
        if best is not None:
            return best
    return None


def _hosts_in_shape(
    search: Search, idx: ShapeIndex, m: int, n: int, need: int
) -> tuple[tuple[int, ...], list[Part]] | None:
    ranks = [
        (value, rank)
        for value, rank in idx.hosts_from(m, need)
        if search.mask[rank] and search.port_free(search.fleet.hosts[rank], 2)
    ]
    if len(ranks) < n:
        return None
    if search.spread:
        hosts = sorted((search.fleet.hosts[r] for _, r in ranks), key=search.host_score)[:n]
        score: tuple[int, ...] = tuple(x for h in hosts for x in search.host_score(h))
    else:
        chosen = ranks[:n]
        hosts = [search.fleet.hosts[r] for _, r in chosen]
        score = (sum(v - need for v, _ in chosen), *(r for _, r in chosen))
    parts: list[Part] = []
    for i, host in enumerate(sorted(hosts, key=lambda h: h.rank)):
        order = (lambda d: (-d.free, d.slot)) if search.spread else (lambda d: (d.free, d.slot))
        devices = sorted((d for d in idx.members[host.rank] if d.free >= need), key=order)[:m]
        role = "leader" if i == 0 else f"worker-{i}"
        parts.append(Part(host, sorted(devices, key=lambda d: d.slot), role))
    return score, parts
