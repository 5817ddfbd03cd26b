"""gpuctl's own containers as the probe saw them, read back from their labels.

A container is gpuctl's iff it carries `gpuctl.managed=true` (the probe reports no others). Its
labels say which replica of which deployment it is, which devices it holds, how much memory it
claims on each and which port it serves on; that is all the planner needs to keep a running
replica where it is, to account for its memory, and to diff it against what the specs want.
"""

from __future__ import annotations

from dataclasses import dataclass

from gpuctl import labels
from gpuctl.facts import HostFacts, ManagedContainer

ACTIVE_STATES = frozenset({"running", "restarting", "paused", "created"})
"""States in which a container holds (or is about to hold) its devices' memory."""


@dataclass(frozen=True, slots=True)
class Observed:
    """One managed container on one probed host, with its labels parsed."""

    host: str
    container: ManagedContainer
    cluster: str
    deployment: str
    replica: int
    role: str
    devices: tuple[str, ...]
    memory: int
    """Bytes claimed on each device of `devices`."""
    port: int | None
    spec_hash: str | None

    @property
    def identity(self) -> tuple[str, str, int, str]:
        return (self.cluster, self.deployment, self.replica, self.role)

    @property
    def active(self) -> bool:
        return self.container.state in ACTIVE_STATES

    @property
    def running(self) -> bool:
        return self.container.state == "running"

    @property
    def name(self) -> str:
        return self.container.name


def belongs_to(container_id: str | None, container_ids: list[str]) -> bool:
    """Whether a process's container id (full or short) is one of `container_ids`."""
    if not container_id:
        return False
    return any(c.startswith(container_id) or container_id.startswith(c) for c in container_ids)


def parse_container(host: HostFacts, container: ManagedContainer) -> Observed | str:
    """The container's identity from its labels, or why they cannot be read (a sentence)."""
    tags = container.labels
    missing = [k for k in (labels.DEPLOYMENT, labels.REPLICA) if not tags.get(k)]
    if missing:
        return f"container {container.name} on {host.host} has no {', '.join(missing)} label; left alone"
    try:
        replica = int(tags[labels.REPLICA])
        memory = int(tags.get(labels.MEMORY) or 0)
        port = int(tags[labels.PORT]) if tags.get(labels.PORT) else None
    except ValueError:
        return f"container {container.name} on {host.host} has malformed gpuctl labels; left alone"
    devices = tuple(d for d in (tags.get(labels.DEVICES) or "").split(",") if d)
    return Observed(
        host=host.host,
        container=container,
        cluster=tags.get(labels.CLUSTER) or host.cluster,
        deployment=tags[labels.DEPLOYMENT],
        replica=replica,
        role=tags.get(labels.ROLE) or "main",
        devices=devices,
        memory=memory,
        port=port,
        spec_hash=tags.get(labels.SPEC_HASH),
    )


def observe(hosts: list[HostFacts]) -> tuple[list[Observed], list[str]]:
    """Every managed container of the probed hosts, sorted by host and name, and label problems."""
    found: list[Observed] = []
    problems: list[str] = []
    for host in hosts:
        for container in host.containers:
            parsed = parse_container(host, container)
            if isinstance(parsed, str):
                problems.append(parsed)
            else:
                found.append(parsed)
    found.sort(key=lambda o: (o.host, o.name, o.container.id))
    return found, problems
