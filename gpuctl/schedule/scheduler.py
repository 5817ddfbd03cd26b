"""The scheduler: on which host and devices every replica runs (pure).

Order, so that the result is stable and running work is not disturbed:

1. Containers the plan deletes (spec removed, scaled down, duplicates) give their memory back.
2. Running replicas stay where they are if they still fit there, their own claim not counted
   against themselves (no churn). One that no longer fits keeps its claim until it has a new place.
3. The rest — new replicas, and running ones that must move — are placed largest first, then by
   name and replica: pinned devices if the deployment pins, else the device-set steps of
   `gpuctl.schedule.select`. A running replica that fits nowhere is left running as it is.

Replicas not seen on any probed host are not created while a host that could run them could not
be probed: they may be running there, and a second copy would be a duplicate. For the same reason
a replica across hosts that does not fit as seen is left alone while such a host may run a part
of it, and scaled-down replicas stay while the replicas that replace them cannot be seen.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from gpuctl.errors import Diagnostic, GpuctlError, Location
from gpuctl.facts import DockerInfo, HostFacts, HostInfo
from gpuctl.schedule import reasons, select
from gpuctl.schedule.capacity import (
    DeviceState,
    Fleet,
    HostState,
    ShapeIndex,
    device_order,
    held_ports,
    holder_name,
)
from gpuctl.schedule.demand import Demand, claim_of
from gpuctl.schedule.filters import DOCKER_DOWN, HostClasses, answerable, selector_problem, status_problem
from gpuctl.schedule.observed import Observed
from gpuctl.schedule.select import Choice, Part, Search
from gpuctl.schedule.types import Placement, Worker
from gpuctl.schedule.units import size
from gpuctl.spec.models import Cluster, PortRange, parse_device_ref

ReplicaKey = tuple[str, str, int]
"""(cluster, deployment, replica)."""


@dataclass
class Request:
    """One deployment to place, with the containers its replicas have now."""

    demand: Demand
    location: Location = field(default_factory=Location)
    current: dict[int, list[Observed]] = field(default_factory=dict)
    """Replica index → its containers (one per role), for replicas the spec still wants."""

    @property
    def name(self) -> str:
        return self.demand.name

    @property
    def cluster(self) -> str:
        return self.demand.cluster.metadata.name

    def key(self, replica: int) -> ReplicaKey:
        return (self.cluster, self.name, replica)


@dataclass
class Schedule:
    placements: list[Placement]
    moved: dict[ReplicaKey, str]
    """Running replicas that must leave their devices, and why ("device 3 now busy (...)")."""
    kept: dict[ReplicaKey, str]
    """Running replicas left exactly as they are although the spec wants a change, and why."""
    diagnostics: list[Diagnostic]
    fleet: Fleet
    before: dict[str, dict[str, tuple[int, tuple[tuple[str, int], ...]]]]
    """Host → device key → (memory in use, holders) before this plan."""
    spared: dict[str, str] = field(default_factory=dict)
    """Containers to delete that stay for now (container id → why): see `_Scheduler._spare`."""


class Ports:
    """Backend ports from each cluster's range, unique per host; a replica keeps its number.

    The leader of a replica spanning hosts also gets the next port, for the backends' distributed
    init (Ray, SGLang --dist-init-addr: `gpuctl.backends.common.DIST_PORT_OFFSET`).

    A new port avoids the host's ephemeral range (net.ipv4.ip_local_port_range, less its reserved
    ports) while the cluster's range has others: an outgoing connection holding the port, even one
    in TIME-WAIT, makes the backend fail with "Address already in use". Ports given out inside it
    anyway are kept in `exposed`, for a warning.
    """

    def __init__(self, clusters: list[Cluster]) -> None:
        self.ranges = {c.metadata.name: (c.spec.port_range.start, c.spec.port_range.end) for c in clusters}
        self.exposed: dict[str, dict[str, list[int]]] = {}
        """Cluster → host → new ports in the host's ephemeral range."""

    def add_foreign(self, host: HostState) -> None:
        """Take the ports of the cluster's range that something other than gpuctl's containers
        listens on (probed): a backend given one would fail with 'Address already in use'. A port
        a gpuctl container holds is counted as that container's."""
        info = host.facts.info
        if info is None or not info.listening_ports:
            return
        start, end = self.ranges.get(host.cluster, (0, -1))
        host.ports.update(p for p in info.listening_ports if start <= p <= end)

    def free(self, host: HostState, span: int = 1, own: frozenset[int] = frozenset()) -> bool:
        """Whether `span` consecutive ports of the cluster's range are free on the host (`own`:
        ports the replica holds there and may keep). Exact, so that `take` never fails after
        the devices are chosen, and cheap: a free run starts at the range's start or just after
        a taken port, and a host holds few."""
        start, end = self.ranges.get(host.cluster, (0, -1))
        taken = host.ports - own if own else host.ports
        if span == 1 and len(taken) <= end - start:
            return True  # fewer ports taken than the range holds, in it or not
        for first in (start, *(p + 1 for p in taken)):
            if (
                start <= first
                and first + span - 1 <= end
                and all(first + i not in taken for i in range(span))
            ):
                return True
        return False

    def take(self, host: HostState, preferred: int | None, own: set[int], span: int = 1) -> int:
        start, end = self.ranges[host.cluster]
        info = host.facts.info

        def usable(port: int) -> bool:
            return all(
                start <= p <= end and (p not in host.ports or p in own) for p in range(port, port + span)
            )

        def safe(port: int) -> bool:
            return info is None or not any(info.port_is_ephemeral(p) for p in range(port, port + span))

        if preferred is not None and usable(preferred):
            port = preferred
        else:
            fresh = (p for p in range(start, end + 1) if usable(p))
            port = next(fresh, -1)
            if port < 0:
                raise GpuctlError(
                    Diagnostic(
                        f"no {span} free consecutive port(s) left in {start}-{end} on {host.name}",
                        location=Location(host=host.name),
                        hint="widen the cluster's spec.portRange",
                        code="ports",
                    )
                )
            if not safe(port) and _exposed_ports(info, start, end) == "some":
                port = next((p for p in fresh if safe(p)), port)
            if not safe(port):
                self.exposed.setdefault(host.cluster, {}).setdefault(host.name, []).extend(
                    range(port, port + span)
                )
        host.ports.update(range(port, port + span))
        return port

    def warnings(self) -> list[Diagnostic]:
        """One warning per cluster whose new ports lie in its hosts' ephemeral port ranges."""
        found = []
        for cluster, hosts in sorted(self.exposed.items()):
            start, end = self.ranges[cluster]
            names = sorted(hosts)
            shown = ", ".join(f"{h} ({', '.join(map(str, sorted(hosts[h])))})" for h in names[:3])
            more = f" and {len(names) - 3} more hosts" if len(names) > 3 else ""
            found.append(
                Diagnostic(
                    f"new backend ports lie in their hosts' ephemeral port range "
                    f"(net.ipv4.ip_local_port_range) on {shown}{more}: an outgoing connection can "
                    "hold such a port, and the backend then fails to start with 'Address already in use'",
                    location=Location(host=names[0]),
                    hint=f"give cluster {cluster} a spec.portRange outside that range (Linux's is "
                    f"32768-60999; gpuctl's default {PortRange().start}-{PortRange().end} is outside it), "
                    "or reserve the ports on its hosts: "
                    f"sysctl -w net.ipv4.ip_local_reserved_ports={start}-{end}",
                    severity="warning",
                    code="ephemeral-ports",
                )
            )
        return found


def _exposed_ports(info: HostInfo | None, start: int, end: int) -> Literal["none", "some", "all"]:
    """How much of the port range start-end the host's ephemeral range (less reserved ports) holds."""
    if info is None or info.ephemeral_ports is None:
        return "none"
    low, high = info.ephemeral_ports
    if end < low or high < start:
        return "none"
    if low <= start and end <= high and not any(a <= end and start <= b for a, b in info.reserved_ports):
        return "all"
    return "some"


def schedule(
    requests: list[Request],
    hosts: list[HostFacts],
    clusters: list[Cluster],
    observed: list[Observed],
    releasing: list[Observed],
) -> Schedule:
    """Place every replica of `requests` on the probed `hosts`; see the module docstring."""
    return _Scheduler(hosts, clusters, observed).run(requests, releasing)


class _Scheduler:
    def __init__(self, hosts: list[HostFacts], clusters: list[Cluster], observed: list[Observed]) -> None:
        spec_labels = {h.name: h.labels for c in clusters for h in c.spec.hosts}
        self.fleet = Fleet(hosts, spec_labels, observed)
        self.observed = observed
        self.spared_replicas: dict[str, list[int]] = {}
        """Deployment → scaled-down replicas kept while wanted ones cannot be seen."""
        self.classes = HostClasses(self.fleet)
        self.ports = Ports(clusters)
        for host in self.fleet.hosts:
            self.ports.add_foreign(host)
        self.counts: dict[str, Counter[int]] = {}
        self.pins_taken: dict[str, set[tuple[tuple[str, str], ...]]] = {}
        self.placements: list[Placement] = []
        self.moved: dict[ReplicaKey, str] = {}
        self.kept: dict[ReplicaKey, str] = {}
        self.diagnostics: list[Diagnostic] = []
        self.cluster_hosts = Counter(h.cluster for h in self.fleet.hosts)
        self.unprobed = [h for h in self.fleet.hosts if not h.usable]
        self.failed: set[str] = set()
        self.unplaced: dict[str, list[tuple[Request, int, str, str | None]]] = {}
        """Deployment → replicas that fit nowhere, with the sentence and hint for each."""

    # ------------------------------------------------------------------ the passes

    def run(self, requests: list[Request], releasing: list[Observed]) -> Schedule:
        before = self._usage()
        unseen = {id(r): self._unprobed_candidates(r) for r in requests}
        spared = self._spare(requests, unseen, releasing)
        self._release_deleted([o for o in releasing if o.container.id not in spared])
        masks = {id(r): self._mask(r) for r in requests}
        shapes = {id(r): self._shapes(r) for r in requests}
        pool: list[tuple[Request, int]] = []
        for req in sorted(requests, key=lambda r: (r.cluster, r.name)):
            for replica in sorted(req.current):
                why = self._keep(req, replica, masks[id(req)])
                if why is not None and unseen[id(req)] and _distributed(req.current[replica]):
                    self._hold_part(req, replica, unseen[id(req)])
                elif why is not None:
                    self.moved[req.key(replica)] = why
                    pool.append((req, replica))
            missing = _missing(req)
            if missing and unseen[id(req)]:
                self._hold(req, missing, unseen[id(req)])
            else:
                pool.extend((req, i) for i in missing)
        sizes = {id(r): self._guarded_size(r, shapes[id(r)]) for r in requests}
        pool.sort(key=lambda item: (-sizes[id(item[0])], item[0].cluster, item[0].name, item[1]))
        for req, replica in pool:
            self._place(req, replica, masks[id(req)], shapes[id(req)])
        self._report_unplaced()
        self.diagnostics.extend(self.ports.warnings())
        self.placements.sort(key=lambda p: (p.cluster, p.deployment, p.replica))
        return Schedule(self.placements, self.moved, self.kept, self.diagnostics, self.fleet, before, spared)

    def _release_deleted(self, deleted: list[Observed]) -> None:
        """Containers the plan deletes give back their memory and ports first (apply removes them
        before starting a container that needs either: `Change.displaces`)."""
        if not deleted:
            return
        gone = {o.container.id for o in deleted}
        still = {(o.host, p) for o in self.observed if o.container.id not in gone for p in held_ports(o)}
        for obs in deleted:
            self._release_observed(obs)
            host = self.fleet.by_name.get(obs.host)
            if host is not None:
                host.ports.difference_update(p for p in held_ports(obs) if (obs.host, p) not in still)

    def _spare(
        self, requests: list[Request], unseen: dict[int, list[str]], releasing: list[Observed]
    ) -> dict[str, str]:
        """Scaled-down containers kept while replicas the spec still wants cannot be seen.

        Replica 0 of a deployment scaled from 3 to 1 may run on a host that could not be probed,
        or may be gone with it: deleting replicas 1 and 2 now could leave nothing serving. As many
        scaled-down replicas as are unseen stay (lowest first) until the host answers again.
        Container id → why it stays.
        """
        spared: dict[str, str] = {}
        for req in requests:
            hosts = unseen[id(req)]
            missing = _missing(req) if hosts else []
            if not missing:
                continue
            wanted = req.demand.deployment.spec.replicas
            extra: dict[int, list[Observed]] = {}
            for obs in releasing:
                if (obs.cluster, obs.deployment) == (req.cluster, req.name) and obs.replica >= wanted:
                    extra.setdefault(obs.replica, []).append(obs)
            serving = [r for r in sorted(extra) if any(o.running for o in extra[r])][: len(missing)]
            which = ", ".join(map(str, missing))
            plural = "s" if len(missing) > 1 else ""
            why = f"kept while replica{plural} {which} cannot be seen: {self._unprobed_phrase(hosts)}"
            spared.update((obs.container.id, why) for r in serving for obs in extra[r])
            self.spared_replicas[req.name] = serving
        return spared

    def _keep(self, req: Request, replica: int, mask: bytearray) -> str | None:
        """Keep a running replica where it is; None when kept, else why it must move."""
        parts = sorted(req.current[replica], key=lambda o: (o.role != "leader", o.role != "main", o.role))
        try:
            choice = self._fit_in_place(req, parts, mask)
        except GpuctlError as error:
            self.kept[req.key(replica)] = "left as it is: " + self._failed(req, error)
            return None
        if isinstance(choice, str):
            return choice
        # A replica that claims what it did, as it did, keeps its claim as it stands: releasing and
        # claiming it again would move every device of a converged fleet in the index twice.
        held = len(parts) == len(choice.parts) and all(
            o.active and o.memory == choice.claim and o.role == p.role
            for o, p in zip(parts, choice.parts, strict=True)
        )
        if not held:
            for obs in parts:
                self._release_observed(obs)
        self._commit(req, replica, choice, parts, claimed=held)
        return None

    def _fit_in_place(self, req: Request, parts: list[Observed], mask: bytearray) -> Choice | str:
        demand = req.demand
        fleet = self.fleet
        chosen: list[Part] = []
        for obs in parts:
            host = fleet.by_name.get(obs.host)
            if host is None or host.cluster != req.cluster:
                return f"host {obs.host} is no longer in cluster {req.cluster}"
            if not mask[host.rank]:
                why = self._filter_reason(req, host) or "it is no longer eligible"
                return f"host {host.name} no longer qualifies: {why}"
            devices: list[DeviceState] = []
            for key in obs.devices:
                dev = host.device(key)
                if dev is None:
                    return f"device {key} is gone from {host.name}"
                problem = demand.device_problem(dev.device)
                if problem is not None:
                    return problem
                devices.append(dev)
            chosen.append(Part(host, devices, obs.role if len(parts) > 1 else "main"))
        if len(parts) > 1 and not demand.placement.distributed:
            return "placement.distributed is off"
        if demand.placement.devices:
            groups = _pin_groups(demand)
            for part in chosen:
                if sorted(d.key for d in part.devices) != sorted(groups.get(part.host.name, [])):
                    return "placement.devices pins other devices"
        m = len(chosen[0].devices)
        if any(len(p.devices) != m for p in chosen):
            return "its hosts hold different numbers of devices"
        if m == 0:
            return self._cpu_in_place(req, chosen[0])
        n = len(chosen)
        problem = demand.parallel_problem(m, n)
        if problem is not None:
            return f"{m} device(s) per host no longer allowed: {problem}"
        own = {o.host: o for o in parts}
        est = demand.estimate(tuple(d.total for p in chosen for d in p.devices), m, n)
        if est.verdict != "fits" and demand.may_offload and n == 1 and m == 1:
            dev, mine = chosen[0].devices[0], own[chosen[0].host.name]
            offered = dev.free + (mine.memory if mine.active else 0)
            est = demand.estimate(
                (offered // select.OFFLOAD_GRANULARITY * select.OFFLOAD_GRANULARITY,), 1, offload=True
            )
        if est.verdict != "fits":
            return (
                f"the new spec needs {size(est.required_per_device)} per device, "
                f"more than its {m * n} device(s) of {size(chosen[0].devices[0].total)} hold"
            )
        need = claim_of(est)
        for part in chosen:
            mine = own[part.host.name]
            back = mine.memory if mine.active else 0
            who = holder_name(req.name, mine.replica, mine.role)
            for dev in part.devices:
                if dev.free + back < need:
                    return (
                        f"device {dev.key} on {part.host.name} now busy ({dev.why_busy(who)}): "
                        f"needs {size(need)}, {size(max(dev.free + back, 0))} free"
                    )
        return Choice(chosen, est, tensor_parallel=m, pipeline_parallel=n)

    def _cpu_in_place(self, req: Request, part: Part) -> Choice | str:
        demand = req.demand
        if not demand.may_offload:
            return "it runs on the CPU and placement.cpuOffload is off"
        est = demand.estimate((), 1, offload=True)
        if est.verdict != "fits":
            return "it no longer fits on the CPU"
        return Choice([part], est)

    def _place(self, req: Request, replica: int, mask: bytearray, shapes: list[ShapeIndex]) -> None:
        key = req.key(replica)
        try:
            found = self._search(req, replica, mask, shapes)
        except GpuctlError as error:
            if req.current.get(replica):
                self.kept[key] = "left as it is: " + self._failed(req, error)
            else:
                self._failed(req, error)
            return
        if isinstance(found, reasons.Unplaced):
            message = found.message
            if req.current.get(replica):
                why = f" (it must move: {self.moved[key]})" if key in self.moved else ""
                self.kept[key] = f"left as it is: {message}{why}"
                message += f"; the running replica is left as it is{why}"
            self.unplaced.setdefault(req.name, []).append((req, replica, message, found.hint))
            return
        current = req.current.get(replica, [])
        for obs in current:
            self._release_observed(obs)
        self._commit(req, replica, found, current)

    def _search(
        self, req: Request, replica: int, mask: bytearray, shapes: list[ShapeIndex]
    ) -> Choice | reasons.Unplaced:
        demand = req.demand
        if demand.placement.devices:
            return self._pinned(req, replica, mask)
        counts = self.counts.setdefault(req.name, Counter())
        current = req.current.get(replica, [])

        def port_free(host: HostState, span: int) -> bool:
            return self.ports.free(host, span, _own_ports(current, host.name))

        search = Search(
            self.fleet, demand, mask, shapes, counts.__getitem__, port_free if current else self.ports.free
        )
        return (
            select.on_devices(search)
            or select.with_offload(search)
            or select.across_hosts(search)
            or self._unschedulable(req, replica, shapes)
        )

    def _report_unplaced(self) -> None:
        """One diagnostic per deployment and reason: "qwen replicas 8-11: ..." rather than four."""
        for failures in self.unplaced.values():
            groups: dict[tuple[str, str | None], list[int]] = {}
            for req, replica, message, hint in failures:
                groups.setdefault((message.replace(_subject(req, replica), "\0"), hint), []).append(replica)
            req = failures[0][0]
            for (message, hint), replicas in groups.items():
                text = message.replace("\0", _subject(req, *replicas))
                self.diagnostics.append(
                    Diagnostic(text, location=req.location, code="unschedulable", hint=hint)
                )

    def _failed(self, req: Request, error: GpuctlError) -> str:
        """Report, once per deployment, an error of the estimator or a backend; return its text."""
        text = "; ".join(d.message for d in error.diagnostics)
        if req.name not in self.failed:
            self.failed.add(req.name)
            self.diagnostics += [
                Diagnostic(
                    f"{req.name}: {d.message}",
                    location=req.location,
                    hint=d.hint,
                    code=d.code or "estimate",
                )
                for d in error.diagnostics
            ]
        return text

    # ------------------------------------------------------------------ pinned devices

    def _pinned(self, req: Request, replica: int, mask: bytearray) -> Choice | reasons.Unplaced:
        demand = req.demand
        groups = _pin_groups(demand)
        slots = (
            [dict(groups)] if demand.placement.distributed else [{h: k} for h, k in sorted(groups.items())]
        )
        taken = self.pins_taken.setdefault(req.name, set())
        problems: list[str] = []
        for slot in slots:
            if _pin_ident(slot) in taken:
                continue
            found = self._pinned_slot(req, replica, slot, mask)
            if isinstance(found, str):
                problems.append(found)
                continue
            return found
        subject = _subject(req, replica)
        if not problems:
            replicas = demand.deployment.spec.replicas
            return reasons.Unplaced(
                f"{subject}: all {len(slots)} pinned device sets are taken by its other replicas"
                f" ({replicas} wanted)",
                hint="pin a device set per replica, or lower replicas",
            )
        return reasons.Unplaced(f"{subject}: " + "; ".join(problems))

    def _pinned_slot(
        self, req: Request, replica: int, slot: dict[str, list[str]], mask: bytearray
    ) -> Choice | str:
        demand = req.demand
        parts: list[Part] = []
        for i, (host_name, keys) in enumerate(sorted(slot.items())):
            host = self.fleet.by_name.get(host_name)
            if host is None or host.cluster != req.cluster:
                return f"pinned host {host_name} is not a host of cluster {req.cluster}"
            if not mask[host.rank]:
                return f"pinned host {host_name}: {self._filter_reason(req, host) or 'not eligible'}"
            devices: list[DeviceState] = []
            for key in keys:
                dev = host.device(key)
                if dev is None:
                    return _no_device(host, key)
                problem = demand.device_problem(dev.device)
                if problem is not None:
                    return problem
                devices.append(dev)
            role = "main" if len(slot) == 1 else ("leader" if i == 0 else f"worker-{i}")
            parts.append(Part(host, devices, role))
        m, n = len(parts[0].devices), len(parts)
        if any(len(p.devices) != m for p in parts):
            return (
                "pinned hosts have different numbers of devices; distributed replicas need the same on each"
            )
        if any(d.mig for p in parts for d in p.devices) and m * n > 1:
            return "MIG instances cannot be joined for tensor parallelism; pin one instance per replica"
        problem = demand.parallel_problem(m, n)
        if problem is not None:
            return f"pinned devices cannot split the model {m * n} ways: {problem}"
        current = req.current.get(replica, [])
        for part in parts:
            if not self.ports.free(part.host, _span(part.role), _own_ports(current, part.host.name)):
                start, end = self.ports.ranges[req.cluster]
                return (
                    f"no free port in {start}-{end} on {part.host.name} (widen the cluster's spec.portRange)"
                )
        est = demand.estimate(tuple(d.total for p in parts for d in p.devices), m, n)
        need = claim_of(est)
        mine = _own_claims(current)
        free = {
            (p.host.name, d.key): d.free + mine.get((p.host.name, d.key), 0) for p in parts for d in p.devices
        }
        short = [(p.host, d) for p in parts for d in p.devices if free[(p.host.name, d.key)] < need]
        if est.verdict == "fits" and not short:
            return Choice(parts, est, tensor_parallel=m, pipeline_parallel=n)
        if est.verdict != "fits":
            detail = reasons.too_small(est, m * n, parts[0].devices[0].total)
        else:
            host, tightest = min(short, key=lambda item: free[(item[0].name, item[1].key)])
            left = size(max(free[(host.name, tightest.key)], 0))
            busy = tightest.why_busy(holder_name(req.name, replica, _role_on(current, host.name)))
            detail = f"need {m * n} × {size(need)}, {left} free on {host.name}:{tightest.key}: {busy}"
        where = ",".join(f"{p.host.name}:{d.key}" for p in parts for d in p.devices)
        message = f"pinned devices {where} cannot hold it ({detail})"
        if demand.placement.allow_overcommit:
            self.diagnostics.append(
                Diagnostic(
                    f"{_subject(req, replica)}: {message}; placed anyway as placement.allowOvercommit is set",
                    location=req.location,
                    severity="warning",
                    code="overcommit",
                )
            )
            return Choice(parts, est, tensor_parallel=m, pipeline_parallel=n, overcommit=True)
        return message + "; set placement.allowOvercommit to place it anyway"

    # ------------------------------------------------------------------ helpers

    def _commit(
        self, req: Request, replica: int, choice: Choice, current: list[Observed], claimed: bool = False
    ) -> None:
        """Claim the memory and ports of a place; `current`: the replica's containers now (a
        replica keeps its port number where it can); `claimed`: the devices hold its claim
        already."""
        need = choice.claim
        workers: list[Worker] = []
        counts = self.counts.setdefault(req.name, Counter())
        numbers = sorted(o.port for o in current if o.port is not None)
        for part in choice.parts:
            who = holder_name(req.name, replica, part.role)
            if part.devices and not claimed:
                self.fleet.claim(part.host, part.devices, need, who)
            part.host.ram_free -= choice.estimate.cpu_memory
            here = [o.port for o in current if o.host == part.host.name and o.port is not None]
            preferred = next(iter(here or numbers), None)
            own = set(_own_ports(current, part.host.name))
            port = self.ports.take(part.host, preferred, own, span=_span(part.role))
            counts[part.host.rank] += 1
            workers.append(
                Worker(
                    host=part.host.name,
                    address=part.host.facts.address,
                    devices=[d.key for d in part.devices],
                    role=part.role,
                    port=port,
                )
            )
        if req.demand.placement.devices:
            slot = {part.host.name: [d.key for d in part.devices] for part in choice.parts}
            self.pins_taken.setdefault(req.name, set()).add(_pin_ident(slot))
        self.placements.append(
            Placement(
                deployment=req.name,
                cluster=req.cluster,
                replica=replica,
                backend=req.demand.backend,
                backend_reason=req.demand.backend_reason,
                workers=workers,
                tensor_parallel=choice.tensor_parallel,
                pipeline_parallel=choice.pipeline_parallel,
                estimate=choice.estimate,
                overcommit=choice.overcommit,
            )
        )

    def _release_observed(self, obs: Observed) -> None:
        host = self.fleet.by_name.get(obs.host)
        if host is None or not obs.active:
            return
        devices = [d for d in (host.device(k) for k in obs.devices) if d is not None]
        who = holder_name(obs.deployment, obs.replica, obs.role)
        if all((who, obs.memory) in d.holders for d in devices):
            self.fleet.release(host, devices, obs.memory, who)

    def _verdicts(self, req: Request) -> list[str | None]:
        demand = req.demand
        return self.classes.verdicts(
            demand.identity,
            req.cluster,
            demand.selector,
            lambda host: demand.host_problem(host.facts),
        )

    def _mask(self, req: Request) -> bytearray:
        only = set(req.demand.placement.hosts) or None
        return self.classes.eligible(self._verdicts(req), only)

    def _filter_reason(self, req: Request, host: HostState) -> str | None:
        only = set(req.demand.placement.hosts) or None
        return self.classes.reasons(self._verdicts(req), only, req.cluster).get(host.name)

    def _shapes(self, req: Request) -> list[ShapeIndex]:
        """Indexes of the device shapes on hosts that pass the filters, largest devices first."""
        shapes = {
            dev.shape
            for hosts, verdict in zip(self.classes.classes, self._verdicts(req), strict=True)
            if verdict is None
            for dev in hosts[0].devices
            if dev.schedulable and req.demand.device_problem(dev.device) is None
        }
        found = [
            self.fleet.index[(req.cluster, shape)]
            for shape in shapes
            if (req.cluster, shape) in self.fleet.index
        ]
        return sorted(found, key=lambda idx: (-idx.shape[2], idx.shape))

    def _guarded_size(self, req: Request, shapes: list[ShapeIndex]) -> int:
        try:
            return self._size(req, shapes)
        except GpuctlError:
            return 0  # reported when the replica is placed

    def _size(self, req: Request, shapes: list[ShapeIndex]) -> int:
        """Memory one replica claims on the largest eligible devices (for largest-first order)."""
        demand = req.demand
        for idx in shapes:
            for k in select.sizes(demand, idx.max_size() if idx.multi else 1):
                if demand.parallel_problem(k) is None:
                    est = demand.estimate((idx.shape[2],) * k, k)
                    if est.verdict == "fits":
                        return k * claim_of(est)
        return demand.model.weight_bytes or 0

    def _unschedulable(self, req: Request, replica: int, shapes: list[ShapeIndex]) -> reasons.Unplaced:
        demand = req.demand
        only = set(demand.placement.hosts) or None
        filtered = self.classes.reasons(self._verdicts(req), only, req.cluster)
        needs = reasons.shape_needs(demand, shapes)
        per_host: list[reasons.HostReason] = []
        for name, why in sorted(filtered.items()):
            host = self.fleet.by_name[name]
            if why is not None:
                per_host.append(reasons.HostReason(why, name))
            else:
                per_host.append(reasons.memory_reason(needs, demand, host, self.ports.free))
        text = reasons.sentence(_subject(req, replica), self.cluster_hosts[req.cluster], per_host)
        if demand.placement.distributed:
            text += "; no group of hosts holds it together either"
        hint = reasons.hint_for(per_host)
        if hint is None and demand.tensor_parallel is not None:
            hint = reasons.PARALLEL_HINT  # the size the user fixed is what stands in the way
        return reasons.Unplaced(text, hint)

    def _unprobed_candidates(self, req: Request) -> list[str]:
        """Hosts that could not be probed but might run this deployment."""
        if not self.unprobed:
            return []
        demand = req.demand
        placement = demand.placement
        pinned = {parse_device_ref(ref)[0] for ref in placement.devices}
        found = []
        for host in self.unprobed:
            if host.cluster != req.cluster:
                continue
            if placement.hosts and host.name not in placement.hosts:
                continue
            if pinned and host.name not in pinned:
                continue
            if selector_problem(answerable(demand.selector, host.labels), host.labels) is not None:
                continue
            if not host.facts.ok or demand.host_problem(_as_if_docker_answered(host.facts)) is None:
                found.append(host.name)
        return found

    def _unprobed_phrase(self, hosts: list[str]) -> str:
        """ "b could not be probed (unreachable)", "Docker on c did not answer", or both."""
        groups: dict[str, list[str]] = {}
        for name in hosts:
            groups.setdefault(status_problem(self.fleet.by_name[name]) or "", []).append(name)
        return " and ".join(
            f"Docker on {', '.join(names)} did not answer"
            if problem == DOCKER_DOWN
            else f"{', '.join(names)} {problem}"
            for problem, names in sorted(groups.items())
        )

    def _hold(self, req: Request, missing: list[int], hosts: list[str]) -> None:
        which = ", ".join(str(i) for i in missing)
        text = (
            f"{req.name}: replica{'s' if len(missing) > 1 else ''} {which} not created: "
            f"{self._unprobed_phrase(hosts)} and may already run {'them' if len(missing) > 1 else 'it'}"
        )
        spared = self.spared_replicas.get(req.name, [])
        if spared:
            text += f"; scaled-down replica{'s' if len(spared) > 1 else ''} {', '.join(map(str, spared))}"
            text += " kept meanwhile"
        self.diagnostics.append(
            Diagnostic(
                text,
                location=req.location,
                code="held",
                hint=_hold_hint(req),
            )
        )

    def _hold_part(self, req: Request, replica: int, hosts: list[str]) -> None:
        """Leave a replica across hosts alone when it does not fit as seen and part of it may run
        on a host that could not be probed: moving it would start a second copy of that part."""
        text = f"{self._unprobed_phrase(hosts)} and may run part of it"
        self.kept[req.key(replica)] = f"left as it is: {text}"
        self.diagnostics.append(
            Diagnostic(
                f"{_subject(req, replica)}: left as it is: {text}",
                location=req.location,
                code="held",
                hint=_hold_hint(req),
            )
        )

    def _usage(self) -> dict[str, dict[str, tuple[int, tuple[tuple[str, int], ...]]]]:
        return {
            host.name: {d.key: (d.foreign + d.claimed, tuple(d.holders)) for d in host.devices}
            for host in self.fleet.hosts
        }


def _hold_hint(req: Request) -> str:
    """What ends a hold: the host back, or a placement that leaves it out."""
    if req.demand.placement.devices:
        return "bring the host back, or pin devices of another host"
    return "bring the host back, or exclude it with placement.hosts or a selector"


def _missing(req: Request) -> list[int]:
    """Replicas the spec wants that no probed host runs."""
    return [i for i in range(req.demand.deployment.spec.replicas) if i not in req.current]


def _distributed(parts: list[Observed]) -> bool:
    return any(o.role != "main" for o in parts)


def _as_if_docker_answered(facts: HostFacts) -> HostFacts:
    """A probed host whose Docker did not answer, judged on what is known (accelerators, OS,
    architecture) as if Docker had answered with every runtime: VoxBox is not held back by an
    Ascend host, nor MindIE by an NVIDIA one."""
    docker = DockerInfo(reachable=True, gpus_supported=True, runtimes=["runc", "nvidia", "ascend"])
    return facts.model_copy(update={"docker": docker})


def _span(role: str) -> int:
    """Consecutive ports a part takes: a leader also holds its distributed-init port."""
    return 2 if role == "leader" else 1


def _own_ports(current: list[Observed], host: str) -> frozenset[int]:
    """Ports the replica's containers hold on `host`: it may keep them."""
    return frozenset(p for o in current if o.host == host for p in held_ports(o))


def _own_claims(current: list[Observed]) -> dict[tuple[str, str], int]:
    """(host, device key) → memory the replica's running containers claim there: a replica
    judged again for its pinned devices does not compete with itself."""
    return {(o.host, key): o.memory for o in current if o.active for key in o.devices}


def _role_on(current: list[Observed], host: str) -> str:
    return next((o.role for o in current if o.host == host), "main")


def _no_device(host: HostState, key: str) -> str:
    """Why a pinned device key names nothing: a GPU in MIG mode is its instances."""
    instances = [d.key for d in host.devices if d.key.startswith(f"{key}/")]
    if instances:
        return f"GPU {key} of {host.name} is split into MIG instances; pin one of {', '.join(instances)}"
    have = ", ".join(d.key for d in host.devices) or "none"
    return f"{host.name} has no device {key} (devices: {have})"


def _pin_ident(slot: dict[str, list[str]]) -> tuple[tuple[str, str], ...]:
    """A pinned device set, whatever order the spec or a container's label lists it in."""
    return tuple(sorted((h, ",".join(sorted(keys, key=device_order))) for h, keys in slot.items()))


def _pin_groups(demand: Demand) -> dict[str, list[str]]:
    """Pinned device keys per host, as the spec lists them (host order by name)."""
    groups: dict[str, list[str]] = {}
    for ref in demand.placement.devices:
        host, key = parse_device_ref(ref)
        groups.setdefault(host, []).append(key)
    return dict(sorted(groups.items()))


def _subject(req: Request, *replicas: int) -> str:
    """How a message names replicas: "qwen" (the only one), "qwen replica 2", "qwen replicas 8-11"."""
    if req.demand.deployment.spec.replicas <= 1:
        return req.name
    if len(replicas) == 1:
        return f"{req.name} replica {replicas[0]}"
    runs: list[list[int]] = []
    for replica in sorted(replicas):
        if runs and replica == runs[-1][-1] + 1:
            runs[-1].append(replica)
        else:
            runs.append([replica])
    listed = ", ".join(f"{run[0]}-{run[-1]}" if len(run) > 2 else ", ".join(map(str, run)) for run in runs)
    return f"{req.name} replicas {listed}"
