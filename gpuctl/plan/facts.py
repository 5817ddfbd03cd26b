"""The facts a plan depends on, their fingerprint, and what changed since a plan was made.

A saved plan is only valid while the hosts are as they were when it was made. What counts:

- each host's probe status (and whether its Docker daemon answered);
- its devices: key, product and total memory;
- the processes on its devices that are not gpuctl's, by device, pid and name;
- gpuctl's containers: name, id, spec hash and state.

What does not count: live figures that move every second (memory used, utilisation, available
RAM, the memory a foreign process holds at this instant). A foreign job that starts or stops, a
container that exits, a device that disappears make a plan stale; a model that allocates its KV
cache does not.
"""

from __future__ import annotations

import hashlib
import json

from gpuctl import labels
from gpuctl.facts import HostFacts
from gpuctl.plan.model import HostDigest
from gpuctl.schedule.observed import belongs_to


def digest(hosts: list[HostFacts]) -> list[HostDigest]:
    out: list[HostDigest] = []
    for host in sorted(hosts, key=lambda h: h.host):
        status: str = host.status
        if host.ok and (host.docker is None or not host.docker.reachable):
            status = "docker-unreachable"
        managed = [c.id for c in host.containers]
        foreign = sorted(
            f"{p.device_key} pid {p.pid} {p.name}".rstrip()
            for p in host.processes
            if not belongs_to(p.container_id, managed)
        )
        out.append(
            HostDigest(
                host=host.host,
                status=status,
                devices=[f"{d.key} {d.name} {d.memory_total}" for d in host.devices],
                foreign=foreign,
                containers=sorted(
                    f"{c.name} {c.id[:12]} {c.labels.get(labels.SPEC_HASH, '-')} {c.state}"
                    for c in host.containers
                ),
            )
        )
    return out


def fingerprint(facts: list[HostDigest]) -> str:
    blob = json.dumps([f.model_dump(mode="json") for f in facts], sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


def what_changed(saved: list[HostDigest], now: list[HostDigest]) -> list[str]:
    """Sentences saying how the hosts differ from when a plan was made (empty: not stale)."""
    before = {f.host: f for f in saved}
    after = {f.host: f for f in now}
    changes: list[str] = []
    for host in sorted(before.keys() | after.keys()):
        old, new = before.get(host), after.get(host)
        if old is None:
            changes.append(f"{host}: host is new")
            continue
        if new is None:
            changes.append(f"{host}: host is no longer in the inventory")
            continue
        if old.status != new.status:
            changes.append(f"{host}: status {old.status} → {new.status}")
        for field, what in (("devices", "device"), ("foreign", "foreign process")):
            was, now_ = set(getattr(old, field)), set(getattr(new, field))
            changes += [f"{host}: {what} gone: {item}" for item in sorted(was - now_)]
            changes += [f"{host}: {what} new: {item}" for item in sorted(now_ - was)]
        was_c, now_c = _by_name(old.containers), _by_name(new.containers)
        for name in sorted(was_c.keys() | now_c.keys()):
            if name not in now_c:
                changes.append(f"{host}: container {name} is gone")
            elif name not in was_c:
                changes.append(f"{host}: container {name} is new")
            elif was_c[name] != now_c[name]:
                changes.append(f"{host}: container {name} was {was_c[name]}, is {now_c[name]}")
    return changes


def _by_name(containers: list[str]) -> dict[str, str]:
    """`NAME ID HASH STATE` entries by name (container names are unique on a host)."""
    return dict(entry.split(" ", 1) for entry in containers)
