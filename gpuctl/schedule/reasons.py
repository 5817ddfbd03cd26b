"""Why a replica fits nowhere, in one sentence with counted reasons.

"0/3 hosts fit qwen3-32b: 2 × not enough free memory on any device set (need 2 × 38.2 GiB, best
gpu-02 has 2 × 23.6 GiB), 1 × label zone=b does not match"

Each host of the deployment's cluster gets one reason: the first filter it fails, else why no set
of its devices can hold the model. Hosts with the same reason are counted together; for memory,
the host that came closest is named.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from gpuctl.schedule.capacity import DeviceState, HostState, Shape
from gpuctl.schedule.demand import Demand, claim_of
from gpuctl.schedule.select import sizes
from gpuctl.schedule.units import size

NO_MEMORY = "not enough free memory on any device set"


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


def memory_reason(demand: Demand, host: HostState, port_free: bool) -> HostReason:
    """Why no device set of an eligible host can hold the model."""
    groups: dict[Shape, list[DeviceState]] = {}
    unusable: str | None = None
    for dev in host.devices:
        problem = demand.device_problem(dev.device)
        if dev.schedulable and problem is None:
            groups.setdefault(dev.shape, []).append(dev)
        unusable = unusable or problem
    if not groups and unusable:
        return HostReason(unusable)
    if not groups:
        extra = "" if demand.may_offload else " (placement.cpuOffload is off)"
        return HostReason(f"no usable accelerator devices{extra}")
    closest: HostReason | None = None
    too_small: str | None = None
    for shape, devs in sorted(groups.items(), key=lambda item: (-item[0][2], item[0])):
        total = shape[2]
        largest = len(devs) if not shape[3] else 1
        frees = sorted((d.free for d in devs), reverse=True)
        last_est = None
        for k in sizes(demand, largest):
            if demand.parallel_problem(k) is not None:
                continue
            est = demand.estimate((total,) * k, k)
            last_est = (k, est)
            if est.verdict == "fits":
                need = claim_of(est)
                reason = HostReason(NO_MEMORY, host.name, (k, need), (k, frees[k - 1]))
                if frees[k - 1] >= need and not port_free:
                    return HostReason("no free port in the cluster's port range")
                if closest is None or reason.closeness > closest.closeness:
                    closest = reason
                break
        if last_est is None:
            fixed = demand.tensor_parallel
            problem = demand.parallel_problem(fixed or largest) if (fixed or largest) > 1 else None
            too_small = too_small or (
                f"{problem}" if problem else f"has {largest} device(s), parameters ask for {fixed}"
            )
        elif last_est[1].verdict != "fits" and too_small is None:
            k, est = last_est
            if est.verdict == "context-too-long" and est.max_context_that_fits:
                too_small = (
                    f"context {est.context_length} too long for {k} × {size(total)}"
                    f" (at most {est.max_context_that_fits} fits)"
                )
            else:
                too_small = (
                    f"does not fit on {k} × {size(total)} even when empty"
                    f" (needs {size(est.required_per_device)} each)"
                )
    if closest is not None:
        return closest
    return HostReason(too_small or "no device set can hold it")


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
        parts.append(f"{count} × {text}{detail}")
    return f"0/{hosts} hosts fit {subject}: " + ", ".join(parts)
