"""Everything a plan is made from, gathered from disk and the network (the I/O edge of planning).

- specs: Cluster and ModelDeployment documents (`gpuctl.spec.loader`), with their positions;
- host facts: probed now over SSH, or read from a snapshot saved by `gpuctl inventory --save`;
- models: from `gpuctl.lock` (no network), resolved from the hubs otherwise.
"""

from __future__ import annotations

import gc
from pathlib import Path

from gpuctl.errors import Diagnostic, GpuctlError
from gpuctl.facts import HostFacts
from gpuctl.plan.build import PlanInputs
from gpuctl.spec.models import Cluster


def gather(
    inventory: list[Path], specs: list[Path], snapshot: Path | None, targets: list[str], lock: Path
) -> PlanInputs:
    from gpuctl.spec.loader import load_specs

    loaded = load_specs([*inventory, *specs])
    if not loaded.clusters:
        where = ", ".join(str(p) for p in inventory)
        raise GpuctlError(
            Diagnostic(
                f"no Cluster document in {where}",
                hint="pass the inventory file with -i (e.g. -i inventory/lab.yaml)",
                code="no-cluster",
            )
        )
    clusters = list(loaded.clusters)
    deployments = list(loaded.deployments)
    locations = {d.metadata.name: loaded.location(d) for d in deployments}
    if snapshot is not None:
        hosts = _snapshot_hosts(snapshot, clusters)
    else:
        hosts = _probe(clusters, {c.metadata.name: loaded.location(c).file for c in clusters})
    from gpuctl.plan.models import load_models

    wanted = [d for d in deployments if not targets or d.metadata.name in targets]
    models, problems = load_models(wanted, lock, locations)
    # What was just loaded lives as long as the command; planning a large fleet allocates many
    # short-lived objects, and without this each full collection would walk all of it again.
    gc.freeze()
    return PlanInputs(
        clusters=clusters,
        deployments=deployments,
        hosts=hosts,
        models=models,
        locations=locations,
        targets=targets,
        diagnostics=[*loaded.warnings, *problems],
    )


def _snapshot_hosts(path: Path, clusters: list[Cluster]) -> list[HostFacts]:
    from gpuctl.probe.snapshot import load_snapshot

    wanted = {h.name for c in clusters for h in c.spec.hosts}
    return [h for h in load_snapshot(path).hosts if h.host in wanted]


def _probe(clusters: list[Cluster], files: dict[str, str | None]) -> list[HostFacts]:
    from gpuctl.probe.inventory import probe_inventory, targets_for

    targets = []
    for cluster in clusters:
        file = files.get(cluster.metadata.name)
        targets += targets_for(cluster, Path(file) if file else None)
    return list(probe_inventory(targets).hosts)
