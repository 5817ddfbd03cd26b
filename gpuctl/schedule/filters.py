"""Host filters: which hosts may run a deployment at all, and why the others may not.

Filters look only at what a host *is* (cluster, labels, status, container runtime, accelerators,
drivers), never at what is free on it, so hosts that are alike are judged once: hosts are grouped
into classes by those facts, and each (deployment kind, class) pair is evaluated once. On 1,000
hosts of a few kinds, this keeps filtering 2,000 deployments to a few hundred evaluations.

Order (the first filter that fails is the host's reason, as in kube-scheduler):
`placement.hosts` → `placement.selector` → probed → Docker answers → backend supports the host.
"""

from __future__ import annotations

from collections.abc import Callable

from gpuctl.schedule.capacity import Fleet, HostState

ClassKey = tuple[object, ...]

PROBED_LABELS = frozenset({"os", "arch", "accelerator"})
"""Labels the probe adds to a host; a host that could not be probed has none of them."""


def class_key(host: HostState) -> ClassKey:
    """Everything a filter may look at, nothing that changes from one probe to the next."""
    facts = host.facts
    info = facts.info
    docker = facts.docker
    return (
        facts.cluster,
        facts.status,
        host.usable,
        tuple(sorted(host.labels.items())),
        (info.os, info.arch, info.distro, info.kernel, info.cpu_count, info.memory_total) if info else None,
        facts.drivers,
        (docker.reachable, docker.server_version, tuple(docker.runtimes), docker.gpus_supported)
        if docker
        else None,
        tuple((d.shape, d.device.compute_capability, d.schedulable) for d in host.devices),
    )


DOCKER_DOWN = "Docker did not answer"


def status_problem(host: HostState) -> str | None:
    facts = host.facts
    if not facts.ok:
        return f"could not be probed ({facts.status})"
    if facts.docker is None or not facts.docker.reachable:
        return DOCKER_DOWN
    return None


def answerable(selector: dict[str, str], labels: dict[str, str]) -> dict[str, str]:
    """The part of a selector a host's labels can answer: a host that could not be probed has no
    probed labels, so it is judged by its status ("could not be probed"), not by "label
    arch=amd64 does not match", which would send the reader to the selector."""
    return {k: v for k, v in selector.items() if k in labels or k not in PROBED_LABELS}


def selector_problem(selector: dict[str, str], labels: dict[str, str]) -> str | None:
    for key, value in sorted(selector.items()):
        if labels.get(key) != value:
            return f"label {key}={value} does not match"
    return None


class HostClasses:
    """The hosts of a fleet grouped by `class_key`, with filter verdicts cached per class."""

    def __init__(self, fleet: Fleet) -> None:
        groups: dict[ClassKey, list[HostState]] = {}
        for host in fleet.hosts:
            groups.setdefault(class_key(host), []).append(host)
        self.classes = list(groups.values())
        self._verdicts: dict[tuple[object, ...], list[str | None]] = {}
        self._masks: dict[tuple[int, frozenset[str] | None], bytearray] = {}
        self.size = len(fleet.hosts)

    def verdicts(
        self,
        signature: tuple[object, ...],
        cluster: str,
        selector: dict[str, str],
        backend_problem: Callable[[HostState], str | None],
    ) -> list[str | None]:
        """Per class: None when its hosts may run the deployment, else the reason they may not.

        `signature` must identify (cluster, selector, backend, model): deployments that share it
        share the verdicts.
        """
        cached = self._verdicts.get(signature)
        if cached is None:
            cached = []
            for hosts in self.classes:
                first = hosts[0]
                if first.cluster != cluster:
                    cached.append("in another cluster")
                    continue
                cached.append(
                    selector_problem(answerable(selector, first.labels), first.labels)
                    or status_problem(first)
                    or backend_problem(first)
                )
            self._verdicts[signature] = cached
        return cached

    def eligible(self, verdicts: list[str | None], only: set[str] | None) -> bytearray:
        """Mask by host rank of hosts that pass every filter (`only`: placement.hosts). Shared by
        deployments with the same verdicts: read it, never write it."""
        key = (id(verdicts), frozenset(only) if only is not None else None)
        if key in self._masks:
            return self._masks[key]
        mask = self._masks[key] = bytearray(self.size)
        for hosts, verdict in zip(self.classes, verdicts, strict=True):
            if verdict is None:
                for host in hosts:
                    if only is None or host.name in only:
                        mask[host.rank] = 1
        return mask

    def reasons(
        self, verdicts: list[str | None], only: set[str] | None, cluster: str
    ) -> dict[str, str | None]:
        """Host name → why it is filtered out (None: it passes), for the hosts of `cluster`."""
        out: dict[str, str | None] = {}
        for hosts, verdict in zip(self.classes, verdicts, strict=True):
            for host in hosts:
                if host.cluster != cluster:
                    continue
                if only is not None and host.name not in only:
                    out[host.name] = "not in placement.hosts"
                else:
                    out[host.name] = verdict
        return out
