"""Make a Plan from specs, models and host facts (pure: every input is a value).

Steps: bind deployments to clusters → choose backends and check parameters → sort the observed
containers into those the plan deletes (spec removed, scaled down, duplicates), those it compares
with, and those it does not touch → schedule → render each placement's containers → diff →
device maps, facts fingerprint, diagnostics.

Nothing is deleted or replaced unless the plan is sure: containers of deployments whose spec could
not be read, bound or resolved, or that `--target` leaves out, are left alone and keep their
memory; a running replica whose new spec fits nowhere is left running as it is.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from gpuctl import backends
from gpuctl.backends.types import ContainerSpec
from gpuctl.errors import Diagnostic, GpuctlError, Location
from gpuctl.facts import HostFacts
from gpuctl.models.info import ModelInfo
from gpuctl.plan import facts as plan_facts
from gpuctl.plan.diff import Desired, Identity, diff
from gpuctl.plan.model import Change, DeviceUse, HostPlan, Plan, PlanDiagnostic, Summary
from gpuctl.schedule.capacity import Fleet
from gpuctl.schedule.demand import Demand, EstimateCache, requested_tensor_parallel
from gpuctl.schedule.observed import Observed, observe
from gpuctl.schedule.scheduler import Request, Schedule, schedule
from gpuctl.schedule.types import Placement
from gpuctl.spec.models import Cluster, ModelDeployment


@dataclass
class PlanInputs:
    clusters: list[Cluster]
    deployments: list[ModelDeployment]
    hosts: list[HostFacts]
    """Facts of the clusters' hosts (probed now, or from an inventory snapshot)."""
    models: dict[str, ModelInfo] = field(default_factory=dict)
    """Deployment name → its model. A deployment without one is not planned (the loader says why)."""
    locations: dict[str, Location] = field(default_factory=dict)
    """Deployment name → where its document starts."""
    targets: list[str] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    """Problems found while loading (lock entries missing or stale ...), carried into the plan."""


def make_plan(inputs: PlanInputs) -> Plan:
    return _Builder(inputs).build()


class _Builder:
    def __init__(self, inputs: PlanInputs) -> None:
        self.inputs = inputs
        self.clusters = {c.metadata.name: c for c in inputs.clusters}
        self.diagnostics: list[Diagnostic] = list(inputs.diagnostics)
        self.hosts = self._hosts_in_scope()

    def build(self) -> Plan:
        inputs = self.inputs
        demands, protected = self._demands()
        observed, problems = observe([h for h in self.hosts if h.ok])
        self.diagnostics += [Diagnostic(p, severity="warning", code="labels") for p in problems]
        self._check_targets(demands, observed)
        requests, current, deletions, create_reason = self._sort_observed(demands, protected, observed)
        result = schedule(requests, self.hosts, inputs.clusters, observed, [o for o, _ in deletions])
        self.diagnostics += result.diagnostics
        desired = self._render(result, demands)
        spared = [(o, result.spared[o.container.id]) for o, _ in deletions if o.container.id in result.spared]
        deletions = [(o, why) for o, why in deletions if o.container.id not in result.spared]
        changes = diff(desired, current, deletions, result.moved, result.kept, create_reason, spared)
        digest = plan_facts.digest(self.hosts)
        return Plan(
            clusters=sorted(self.clusters),
            targets=sorted(inputs.targets),
            placements=[
                p for p in result.placements if (p.cluster, p.deployment, p.replica) not in result.kept
            ],
            changes=changes,
            diagnostics=_sorted_diagnostics(self.diagnostics),
            hosts=_host_maps(result),
            summary=_summary(changes),
            facts=digest,
            facts_fingerprint=plan_facts.fingerprint(digest),
        )

    # ------------------------------------------------------------------ scope

    def _hosts_in_scope(self) -> list[HostFacts]:
        """Facts of every host of the loaded clusters; a host without facts counts as unreachable."""
        found = {h.host: h for h in self.inputs.hosts}
        hosts: list[HostFacts] = []
        for cluster in self.clusters.values():
            for spec in cluster.spec.hosts:
                facts = found.get(spec.name)
                hint = "fix the host or its SSH access and plan again (`gpuctl inventory` shows why)"
                if facts is None:
                    facts = HostFacts(
                        host=spec.name,
                        cluster=cluster.metadata.name,
                        address=spec.address,
                        status="unreachable",
                        message="no facts for this host (not in the inventory snapshot)",
                    )
                    hint = "take a new snapshot with `gpuctl inventory --save FILE`"
                hosts.append(facts)
                if not facts.ok or facts.docker is None or not facts.docker.reachable:
                    self.diagnostics.append(_unprobed(facts, hint))
        return sorted(hosts, key=lambda h: h.host)

    def _demands(self) -> tuple[dict[str, Demand], set[str]]:
        """Deployments to plan, and names whose containers must not be touched (unplannable)."""
        inputs = self.inputs
        targets = set(inputs.targets)
        cache = EstimateCache()
        demands: dict[str, Demand] = {}
        protected: set[str] = set()
        for deployment in sorted(inputs.deployments, key=lambda d: d.metadata.name):
            name = deployment.metadata.name
            location = inputs.locations.get(name, Location())
            cluster = self._bind(deployment, location)
            if cluster is None:
                protected.add(name)
                continue
            if targets and name not in targets:
                continue
            model = inputs.models.get(name)
            if model is None:
                protected.add(name)
                continue
            try:
                backend, reason = backends.select_backend(deployment.spec, model)
                problems = backends.check_parameters(deployment, backend)
            except GpuctlError as error:
                problems = [_at(d, location) for d in error.diagnostics]
                backend, reason = "", ""
            self.diagnostics += [_at(d, location) for d in problems]
            if any(d.severity == "error" for d in problems):
                protected.add(name)
                continue
            demands[name] = Demand(
                deployment=deployment,
                cluster=cluster,
                model=model,
                backend=backend,
                backend_reason=reason,
                cache=cache,
                tensor_parallel=requested_tensor_parallel(deployment, backend),
            )
        return demands, protected

    def _bind(self, deployment: ModelDeployment, location: Location) -> Cluster | None:
        name = deployment.spec.cluster
        if name is not None:
            cluster = self.clusters.get(name)
            if cluster is None:
                self.diagnostics.append(
                    Diagnostic(
                        f"deployment {deployment.metadata.name} is for cluster {name}, which is not loaded; "
                        "it is not planned",
                        location=location,
                        severity="warning",
                        code="binding",
                    )
                )
            return cluster
        if len(self.clusters) == 1:
            return next(iter(self.clusters.values()))
        loaded = ", ".join(sorted(self.clusters)) or "none"
        self.diagnostics.append(
            Diagnostic(
                f"deployment {deployment.metadata.name} has no spec.cluster and "
                f"{len(self.clusters)} clusters are loaded ({loaded})",
                location=location,
                path="spec.cluster",
                code="binding",
                hint="set spec.cluster, or choose one cluster with -i",
            )
        )
        return None

    def _check_targets(self, demands: dict[str, Demand], observed: list[Observed]) -> None:
        known = {d.metadata.name for d in self.inputs.deployments} | {o.deployment for o in observed}
        for target in sorted(set(self.inputs.targets) - known):
            self.diagnostics.append(
                Diagnostic(
                    f"--target {target}: no deployment of that name in the specs or on the hosts",
                    code="target",
                    hint="check the name (`metadata.name` of a ModelDeployment)",
                )
            )

    # ------------------------------------------------------------------ observed containers

    def _sort_observed(
        self, demands: dict[str, Demand], protected: set[str], observed: list[Observed]
    ) -> tuple[
        list[Request],
        dict[Identity, Observed],
        list[tuple[Observed, str]],
        dict[tuple[str, str], str],
    ]:
        inputs = self.inputs
        targets = set(inputs.targets)
        spec_cluster = {
            d.metadata.name: (
                d.spec.cluster or (next(iter(self.clusters)) if len(self.clusters) == 1 else None)
            )
            for d in inputs.deployments
        }
        deletions: list[tuple[Observed, str]] = []
        mine: dict[tuple[str, str], list[Observed]] = defaultdict(list)
        # Containers a host lists while its Docker does not answer (a partial probe, an edited
        # snapshot) are as unknown as the host: left alone, and their replicas held, not moved.
        answered = {h.host for h in self.hosts if h.ok and h.docker is not None and h.docker.reachable}
        for obs in observed:
            if obs.cluster not in self.clusters or (targets and obs.deployment not in targets):
                continue
            if obs.deployment in protected or obs.host not in answered:
                continue
            demand = demands.get(obs.deployment)
            if demand is not None and demand.cluster.metadata.name == obs.cluster:
                mine[(obs.cluster, obs.deployment)].append(obs)
            elif obs.deployment in spec_cluster:
                deletions.append((obs, f"deployment now runs in cluster {spec_cluster[obs.deployment]}"))
            else:
                deletions.append((obs, "spec removed"))
        requests: list[Request] = []
        current: dict[Identity, Observed] = {}
        create_reason: dict[tuple[str, str], str] = {}
        for name, demand in sorted(demands.items()):
            cluster = demand.cluster.metadata.name
            wanted = demand.deployment.spec.replicas
            containers = mine.get((cluster, name), [])
            by_identity: dict[Identity, list[Observed]] = defaultdict(list)
            for obs in containers:
                if obs.replica >= wanted:
                    deletions.append((obs, f"scaled down to {wanted} replica{'s' if wanted != 1 else ''}"))
                else:
                    by_identity[obs.identity].append(obs)
            replicas: dict[int, list[Observed]] = defaultdict(list)
            for ident, found in sorted(by_identity.items()):
                keep, *extra = sorted(found, key=lambda o: (not o.running, not o.active, o.host, o.name))
                deletions += [(o, f"duplicate of {keep.name} on {keep.host}") for o in extra]
                current[ident] = keep
                replicas[ident[2]].append(keep)
            create_reason[(cluster, name)] = _create_reason(wanted, containers, set(replicas))
            requests.append(Request(demand, inputs.locations.get(name, Location()), dict(replicas)))
        return requests, current, deletions, create_reason

    # ------------------------------------------------------------------ containers

    def _render(self, result: Schedule, demands: dict[str, Demand]) -> list[Desired]:
        hosts = {h.host: h for h in self.hosts}
        desired: list[Desired] = []
        for placement in result.placements:
            key = (placement.cluster, placement.deployment, placement.replica)
            if key in result.kept:
                continue
            demand = demands[placement.deployment]
            try:
                specs = backends.render(demand.deployment, demand.cluster, demand.model, placement, hosts)
            except GpuctlError as error:
                location = self.inputs.locations.get(placement.deployment, Location())
                self.diagnostics += [_at(d, location) for d in error.diagnostics]
                result.kept[key] = "left as it is: its containers could not be rendered"
                continue
            desired += _match_workers(placement, specs)
        return desired


def _create_reason(wanted: int, containers: list[Observed], seen: set[int]) -> str:
    """Why a deployment's missing replicas are created: it is new, it was scaled up (replicas
    0..n-1 run and nothing was scaled down), or some replica has no container (it was removed,
    or the deployment was scaled down past it)."""
    if not containers:
        return "new deployment"
    exist = f"{len(seen)} exist{'s' if len(seen) == 1 else ''}"
    if seen == set(range(len(seen))) and all(o.replica < wanted for o in containers):
        return f"scaled up to {wanted} replica{'s' if wanted != 1 else ''} ({exist})"
    return f"no container for this replica ({wanted} wanted, {exist})"


def _match_workers(placement: Placement, specs: list[ContainerSpec]) -> list[Desired]:
    workers = {w.host: w for w in placement.workers}
    out: list[Desired] = []
    for spec in specs:
        worker = workers[spec.host]
        out.append(
            Desired(
                identity=(placement.cluster, placement.deployment, placement.replica, worker.role),
                host=spec.host,
                devices=tuple(worker.devices),
                spec=spec,
            )
        )
    return out


def _unprobed(facts: HostFacts, hint: str) -> Diagnostic:
    what: str
    if not facts.ok:
        what, why = facts.status, facts.message or "no details"
    else:
        what = "docker"
        why = facts.docker.error if facts.docker and facts.docker.error else "Docker did not answer"
        hint = "start Docker there (e.g. `systemctl start docker`) and plan again"
    return Diagnostic(
        f"{facts.host} could not be probed ({what}): {why}; nothing on it is changed",
        location=Location(host=facts.host),
        code="unreachable",
        hint=hint,
    )


def _at(diagnostic: Diagnostic, location: Location) -> Diagnostic:
    """The diagnostic, pointing at the deployment's document unless it already points somewhere."""
    if diagnostic.location.file or not location.file:
        return diagnostic
    return Diagnostic(
        diagnostic.message,
        location=location,
        path=diagnostic.path,
        hint=diagnostic.hint,
        severity=diagnostic.severity,
        code=diagnostic.code,
    )


def _sorted_diagnostics(diagnostics: list[Diagnostic]) -> list[PlanDiagnostic]:
    """Errors first, then by file, line and host; in the order they were found within one place."""
    values = list(dict.fromkeys(PlanDiagnostic.of(d) for d in diagnostics))
    return sorted(values, key=lambda d: (d.severity != "error", d.file or "", d.line or 0, d.host or ""))


def _summary(changes: list[Change]) -> Summary:
    count = {a: sum(1 for c in changes if c.action == a) for a in ("create", "replace", "delete", "no-op")}
    return Summary(
        create=count["create"], replace=count["replace"], delete=count["delete"], unchanged=count["no-op"]
    )


def _host_maps(result: Schedule) -> list[HostPlan]:
    fleet: Fleet = result.fleet
    out: list[HostPlan] = []
    for host in fleet.hosts:
        before = result.before.get(host.name, {})
        devices = []
        for dev in host.devices:
            used_before, holders_before = before.get(dev.key, (0, ()))
            devices.append(
                DeviceUse(
                    key=dev.key,
                    name=dev.device.name,
                    total=dev.total,
                    before=used_before,
                    after=dev.foreign + dev.claimed,
                    foreign=dev.foreign,
                    holders_before=sorted(who for who, _ in holders_before),
                    holders_after=sorted(who for who, _ in dev.holders),
                    schedulable=dev.schedulable,
                )
            )
        facts = host.facts
        out.append(
            HostPlan(
                name=host.name,
                cluster=host.cluster,
                address=facts.address,
                status=facts.status if host.usable or not facts.ok else "docker-unreachable",
                message=facts.message,
                accelerator=facts.accelerator if facts.ok else "unknown",
                devices=devices,
            )
        )
    return out
