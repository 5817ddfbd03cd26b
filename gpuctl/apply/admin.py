"""`gpuctl status`, `gpuctl logs` and `gpuctl force-unlock`: looking at what apply left on the hosts.

`status` asks every host twice over SSH (the probe's connections, all hosts at once): which
containers carry gpuctl's labels, then, for each container serving an API, the readiness poll
apply uses. Nothing is read from a state file: the hosts are the truth.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from gpuctl import labels
from gpuctl.apply import lock, readiness
from gpuctl.errors import Diagnostic, GpuctlError, Location
from gpuctl.facts import ManagedContainer
from gpuctl.spec.models import Cluster

LIST_COMMAND = (
    "ids=$(docker ps -a -q --no-trunc --filter label=gpuctl.managed=true) || exit 1; "
    '[ -z "$ids" ] || docker inspect --format {format} $ids'
)


@dataclass(frozen=True)
class Row:
    deployment: str
    replica: int
    role: str
    host: str
    devices: str
    name: str
    state: str
    ready: str
    """yes, no (with what it answers), or - for workers (their replica's leader serves)."""
    endpoint: str
    backend: str
    served_name: str


def _targets(clusters: list[Cluster]):  # type: ignore[no-untyped-def]
    from gpuctl.probe.inventory import targets_for

    return [t for cluster in clusters for t in targets_for(cluster)]


def list_containers(clusters: list[Cluster]) -> tuple[dict[str, list[ManagedContainer]], list[str]]:
    """gpuctl's containers per host, and the hosts that could not be asked (as sentences)."""
    from gpuctl.probe.parse.docker import INSPECT_FORMAT, parse_containers
    from gpuctl.probe.ssh import run_on_hosts

    command = LIST_COMMAND.format(format=shlex.quote(INSPECT_FORMAT))
    found: dict[str, list[ManagedContainer]] = {}
    problems: list[str] = []
    for outcome in run_on_hosts(_targets(clusters), lambda _: command):
        host = outcome.target.host
        if outcome.status != "ok":
            problems.append(f"{host}: {outcome.message or outcome.status}")
        elif outcome.exit_status != 0:
            said = (outcome.stderr.strip() or "docker failed").splitlines()[-1]
            problems.append(f"{host}: cannot list containers ({said})")
        else:
            found[host] = parse_containers(outcome.stdout).value
    return found, problems


def status(clusters: list[Cluster]) -> tuple[list[Row], list[str]]:
    from gpuctl.probe.ssh import run_on_hosts

    found, problems = list_containers(clusters)
    targets = {t.host: t for t in _targets(clusters)}
    polled: dict[tuple[str, str], readiness.Poll | None] = {}

    def polls(host: str) -> list[tuple[str, str]]:
        out = []
        for c in found.get(host, []):
            port, path = c.labels.get(labels.PORT), c.labels.get(labels.READINESS_PATH)
            if _serves(c) and port and port.isdigit() and path:
                command = readiness.poll_command(c.name, targets[host].address, int(port), path)
                out.append((c.name, command))
        return out

    wanted = {host: polls(host) for host in found}
    asked = [targets[h] for h, items in wanted.items() if items]

    def command(target) -> str:  # type: ignore[no-untyped-def]
        return "; ".join(f"echo @@{name}; {poll}" for name, poll in wanted[target.host])

    for outcome in run_on_hosts(asked, command):
        if outcome.status != "ok":
            continue
        for block in outcome.stdout.split("@@")[1:]:
            name, _, rest = block.partition("\n")
            polled[(outcome.target.host, name.strip())] = readiness.parse_poll(rest)
    rows = [_row(host, c, polled, targets[host].address) for host, cs in found.items() for c in cs]
    rows.sort(
        key=lambda r: (r.deployment, r.replica, r.role != "main" and r.role != "leader", r.role, r.host)
    )
    return rows, problems


def _serves(container: ManagedContainer) -> bool:
    return container.labels.get(labels.ROLE, "main") in ("main", "leader")


def _row(
    host: str, c: ManagedContainer, polled: dict[tuple[str, str], readiness.Poll | None], address: str
) -> Row:
    tags = c.labels
    poll = polled.get((host, c.name))
    if not _serves(c):
        ready = "-"
    elif poll is None:
        ready = "unknown"
    else:
        ready = "yes" if poll.ready else f"no ({poll.failure() or poll.describe()})"
    port = tags.get(labels.PORT, "")
    host_part = f"[{address}]" if ":" in address else address
    endpoint = f"http://{host_part}:{port}" if _serves(c) and port else ""
    replica = tags.get(labels.REPLICA, "")
    return Row(
        deployment=tags.get(labels.DEPLOYMENT, "?"),
        replica=int(replica) if replica.isdigit() else -1,
        role=tags.get(labels.ROLE, "main"),
        host=host,
        devices=tags.get(labels.DEVICES) or "cpu",
        name=c.name,
        state=c.state,
        ready=ready,
        endpoint=endpoint,
        backend=tags.get(labels.BACKEND, ""),
        served_name=tags.get(labels.SERVED_NAME, ""),
    )


def render_status(rows: list[Row], problems: list[str]) -> str:
    headers = ("DEPLOYMENT", "REPLICA", "HOST", "DEVICES", "STATE", "READY", "ENDPOINT", "MODEL NAME")
    table = [
        (
            r.deployment,
            str(r.replica) + ("" if r.role == "main" else f" {r.role}"),
            r.host,
            r.devices,
            r.state,
            r.ready,
            r.endpoint,
            r.served_name if r.endpoint else "",
        )
        for r in rows
    ]
    lines = []
    if table:
        widths = [max(len(row[i]) for row in [headers, *table]) for i in range(len(headers))]
        for row in [headers, *table]:
            lines.append(
                "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            )
    else:
        lines.append("No gpuctl containers on the hosts.")
    lines += [f"error: {problem}" for problem in problems]
    return "\n".join(lines) + "\n"


def find_container(
    clusters: list[Cluster], deployment: str, replica: int, role: str | None
) -> tuple[str, str]:
    """(host, container name) of a deployment's replica; a GpuctlError naming what exists else."""
    found, problems = list_containers(clusters)
    matches = [
        (host, c)
        for host, cs in found.items()
        for c in cs
        if c.labels.get(labels.DEPLOYMENT) == deployment and c.labels.get(labels.REPLICA) == str(replica)
    ]
    chosen = [m for m in matches if (role or "main") == m[1].labels.get(labels.ROLE, "main")]
    if role is None and not chosen:
        chosen = [m for m in matches if m[1].labels.get(labels.ROLE) == "leader"]
    if chosen:
        host, container = sorted(chosen, key=lambda m: (m[1].state != "running", m[0]))[0]
        return host, container.name
    replicas = sorted(
        {
            (c.labels.get(labels.REPLICA), c.labels.get(labels.ROLE))
            for h, cs in found.items()
            for c in cs
            if c.labels.get(labels.DEPLOYMENT) == deployment
        }
    )
    hint = (
        "its containers: " + ", ".join(f"replica {r} ({role})" for r, role in replicas)
        if replicas
        else "`gpuctl status` lists what runs"
    )
    raise GpuctlError(
        Diagnostic(
            f"no container of deployment {deployment} replica {replica}"
            + (f" role {role}" if role else "")
            + " on the hosts"
            + (f" that answered ({'; '.join(problems)})" if problems else ""),
            hint=hint,
            code="container-not-found",
        )
    )


def logs(
    clusters: list[Cluster],
    deployment: str,
    replica: int,
    role: str | None,
    *,
    follow: bool,
    tail: int,
    out: IO[str],
) -> None:
    """Print a container's log from its host (gevent must already be patched: pyinfra streams)."""
    from gpuctl.apply.session import Session

    host, name = find_container(clusters, deployment, replica, role)
    target = next(t for t in _targets(clusters) if t.host == host)
    argv = ["docker", "logs", "--tail", str(tail), *(["--follow"] if follow else []), name]
    session = Session([target])
    session.connect()
    if session.failed:
        raise GpuctlError(Diagnostic(session.failed[host], location=Location(host=host)))
    try:
        if not session.stream(host, shlex.join(argv) + " 2>&1", out.write):
            raise GpuctlError(
                Diagnostic(f"docker logs {name} failed on {host}", location=Location(host=host))
            )
    finally:
        session.close()


def force_unlock(clusters: list[Cluster], host: str, confirm: Callable[[str], bool]) -> None:
    from gpuctl.probe.ssh import run_on_host

    targets = {t.host: t for t in _targets(clusters)}
    target = targets.get(host)
    if target is None:
        raise GpuctlError(
            Diagnostic(
                f"no host {host} in the clusters",
                hint=f"hosts: {', '.join(sorted(targets))}",
                code="host-unknown",
            )
        )
    outcome = run_on_host(target, f"cat {shlex.quote(lock.OWNER)} 2>/dev/null || echo none")
    if outcome.status != "ok":
        raise GpuctlError(Diagnostic(outcome.message or outcome.status, location=Location(host=host)))
    text = outcome.stdout.strip()
    if text == "none":
        exists = run_on_host(target, f"[ -d {shlex.quote(lock.LOCK_DIR)} ] && echo yes || echo no")
        if exists.stdout.strip() != "yes":
            print(f"{host} is not locked.")
            return
        who = "an apply that had not written its owner record"
    else:
        owner = lock.Owner.from_json(text)
        who = owner.describe() if owner else json.dumps(text)
    if not confirm(f"{host} is locked by {who}. Remove the lock? Do this only if that apply is not running."):
        print("Lock kept.")
        return
    removed = run_on_host(target, lock.force_unlock_command())
    if removed.status != "ok" or "removed" not in removed.stdout:
        raise GpuctlError(
            Diagnostic(
                f"could not remove the lock: {removed.message or removed.stderr.strip()}",
                location=Location(host=host),
            )
        )
    print(f"Removed the lock of {host} (held by {who}).")
