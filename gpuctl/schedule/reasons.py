"""Why a replica fits nowhere, in one sentence with counted reasons.

"0/3 hosts fit qwen3-32b: 2 × not enough free memory on any device set (need 2 × 38.2 GiB, best
gpu-02 has 2 × 23.6 GiB), 1 × label zone=b does not match"

Each host of the deployment's cluster gets one reason: the first filter it fails, else why no set
of its devices can hold the model. Hosts with the same reason are counted together; for memory,
the host that came closest is named.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from gpuctl.estimate.types import Estimate
from gpuctl.schedule.capacity import HostState, ShapeIndex
from gpuctl.schedule.demand import Demand, claim_of
from gpuctl.schedule.select import sizes
from gpuctl.schedule.units import size

NO_MEMORY = "not enough free memory on any device set"
MEMORY_HINT = "free devices, lower what it needs (e.g. --max-model-len), or allow more devices or hosts"
SELECTOR_HINT = "compare placement.selector with the hosts' labels (`gpuctl inventory` shows the probed ones)"
NO_PORT = "no free port in the cluster's port range"
NO_RAM = "not enough free host memory to run it on the CPU"
RAM_HINT = "free host memory (RAM) there, or lower what it needs"
PORT_HINT = "widen the cluster's spec.portRange"
PARALLEL_HINT = "set a tensor-parallel size the model and the hosts allow, or leave it out and gpuctl chooses"


@dataclass(frozen=True)
class Unplaced:
    """Why a replica could not be placed: one sentence, and what to do when that is clear."""

    message: str
    hint: str | None = None


@dataclass(frozen=True)
class HostReason:
    text: str
    host: str = ""
    need: tuple[int, int] | None = None
    """(devices, bytes each) the model needs."""
    have: tuple[int, int] | None = None
    """(devices, bytes free on the k-th emptiest of them) the host offers."""

    @property
    def closeness(self) -> float:
        if not self.need or not self.have or self.need[1] <= 0:
            return 0.0
        return self.have[1] / self.need[1]


@dataclass(frozen=True)
class ShapeNeed:
    """What one replica needs on devices of one shape: k devices of `need` bytes free each, or
    why no number of them can hold it even when empty."""

    index: ShapeIndex
    k: int = 0
    need: int = 0
    problem: str | None = None


def shape_needs(demand: Demand, shapes: list[ShapeIndex]) -> list[ShapeNeed]:
    """Per eligible shape, the fewest devices that hold the model when empty (asked once per
    deployment; each host is then judged by its k-th emptiest device alone)."""
    needs: list[ShapeNeed] = []
    for idx in shapes:
        total = idx.shape[2]
        largest = idx.max_size() if idx.multi else 1
        tried = None
        found = None
        for k in sizes(demand, largest):
            if demand.parallel_problem(k) is not None:
                continue
            est = demand.estimate((total,) * k, k)
            tried = (k, est)
            if est.verdict == "fits":
                found = ShapeNeed(idx, k, claim_of(est))
                break
        if found is not None:
            needs.append(found)
            continue
        if tried is None:
            fixed = demand.tensor_parallel
            if fixed is not None and fixed > largest:
                text = (
                    f"has {largest} device(s) of this kind, parameters ask for tensor parallel size {fixed}"
                )
            else:
                text = demand.parallel_problem(fixed or 2) or "no device set of this kind suits the model"
        else:
            k, est = tried
            more = demand.parallel_problem(k + 1) if k < largest and demand.tensor_parallel is None else None
            text = too_small(est, k, total)
            if more:
                text += f"; {more}"
        needs.append(ShapeNeed(idx, problem=text))
    return needs


def too_small(est: Estimate, k: int, total: int) -> str:
    """Why k empty devices of `total` bytes cannot hold the model, as the estimate says: a
    context that is too long names the longest that fits (the figure to set)."""
    if est.verdict == "context-too-long" and est.max_context_that_fits:
        fits = est.max_context_that_fits
        return f"context {est.context_length} too long for {k} × {size(total)} (at most {fits} fits)"
    each = size(est.required_per_device)
    return f"does not fit on {k} × {size(total)} even when empty (needs {each} each)"


def memory_reason(
    needs: list[ShapeNeed], demand: Demand, host: HostState, port_free: Callable[[HostState, int], bool]
) -> HostReason:
    """Why no device set of an eligible host can hold the model."""
    closest: HostReason | None = None
    too_small: str | None = None
    for need in needs:
        frees = need.index.kth(host.rank)
        if not frees:
            continue
        if need.problem is not None:
            too_small = too_small or need.problem
            continue
        have = frees[need.k - 1] if len(frees) >= need.k else 0
        if have >= need.need and not port_free(host, 1):
            return HostReason(NO_PORT)
        reason = HostReason(NO_MEMORY, host.name, (need.k, need.need), (need.k, have))
        if closest is None or reason.closeness > closest.closeness:
            closest = reason
    if closest is not None:
        return closest
    if too_small is not None:
        return HostReason(too_small)
    cpu = cpu_reason(demand, host, port_free) if demand.may_offload else None
    if cpu is not None:
        return cpu
    unusable = next((p for p in map(demand.device_problem, (d.device for d in host.devices)) if p), None)
    if unusable:
        return HostReason(unusable)
    if any(not d.schedulable for d in host.devices):
        return HostReason("its devices are unhealthy")
    return HostReason(
        "no accelerator devices" + ("" if demand.may_offload else " (placement.cpuOffload is off)")
    )


def cpu_reason(
    demand: Demand, host: HostState, port_free: Callable[[HostState, int], bool]
) -> HostReason | None:
    """Why a host without a usable device cannot run the model on its CPU either, though
    placement.cpuOffload allows it (rather than "no accelerator devices", which it knows)."""
    est = demand.estimate((), 1, offload=True)
    if est.verdict != "fits":
        return HostReason(f"does not fit on the CPU ({est.verdict})")
    if est.cpu_memory > host.ram_free:
        return HostReason(NO_RAM, host.name, (0, est.cpu_memory), (0, host.ram_free))
    if not port_free(host, 1):
        return HostReason(NO_PORT)
    return None


def hint_for(reasons: list[HostReason]) -> str | None:
    """What to do about the most common reason, when it is clear: memory (device or host),
    labels or ports."""
    if not reasons:
        return None
    top = Counter(r.text for r in reasons).most_common(1)[0][0]
    if top == NO_MEMORY or top.startswith(("does not fit", "context ")):
        return MEMORY_HINT
    if top.startswith("label "):
        return SELECTOR_HINT
    if top == NO_PORT:
        return PORT_HINT
    if top == NO_RAM:
        return RAM_HINT
    return None


def sentence(subject: str, hosts: int, reasons: list[HostReason]) -> str:
    """ "0/3 hosts fit SUBJECT: 2 × ..., 1 × ..." """
    counts = Counter(r.text for r in reasons)
    parts: list[str] = []
    for text, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        detail = ""
        if text == NO_MEMORY:
            best = min((r for r in reasons if r.text == NO_MEMORY), key=lambda r: (-r.closeness, r.host))
            if best.need and best.have:
                detail = (
                    f" (need {best.need[0]} × {size(best.need[1])},"
                    f" best {best.host} has {best.have[0]} × {size(max(best.have[1], 0))})"
                )
        if text == NO_RAM:
            best = min((r for r in reasons if r.text == NO_RAM), key=lambda r: (-r.closeness, r.host))
            if best.need and best.have:
                detail = f" (needs {size(best.need[1])}, best {best.host} has {size(max(best.have[1], 0))})"
        parts.append(f"{count} × {text}{detail}")
    return f"0/{hosts} hosts fit {subject}: " + ", ".join(parts)
