"""Probe the hosts of clusters: targets from the specs, the script over SSH, facts back.

This is the probe's public entry point: `targets_for(cluster, spec_file)` turns a Cluster spec
into SSH targets and `probe_inventory(targets)` returns the `Inventory` of all of them, one SSH
connection and one round trip per host, all hosts at once.
"""

from __future__ import annotations

import secrets
import shlex
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from gpuctl.facts import HostFacts, Inventory
from gpuctl.probe.assemble import APP_FIELDS, BASIC_GPU_FIELDS, GPU_FIELDS, host_facts
from gpuctl.probe.parse.docker import INSPECT_FORMAT
from gpuctl.probe.parse.sections import parse_sections
from gpuctl.probe.snapshot import with_fingerprint
from gpuctl.probe.ssh import Outcome, Target, run_on_hosts
from gpuctl.spec.models import Cluster

DEFAULT_KNOWN_HOSTS = Path("~/.ssh/known_hosts")


def _resolve(path: str, base: Path) -> Path:
    expanded = Path(path).expanduser()
    return expanded if expanded.is_absolute() else base / expanded


def targets_for(cluster: Cluster, spec_file: Path | None = None) -> list[Target]:
    """SSH targets of a cluster; relative key and known_hosts paths are relative to its file."""
    ssh = cluster.spec.ssh
    base = spec_file.parent if spec_file else Path.cwd()
    known_hosts = (
        _resolve(ssh.known_hosts_file, base) if ssh.known_hosts_file else DEFAULT_KNOWN_HOSTS.expanduser()
    )
    return [
        Target(
            host=host.name,
            cluster=cluster.metadata.name,
            address=host.address,
            port=host.port or ssh.port,
            user=host.user or ssh.user,
            known_hosts=known_hosts,
            identity_file=_resolve(ssh.identity_file, base) if ssh.identity_file else None,
            connect_timeout=ssh.connect_timeout,
            command_timeout=ssh.command_timeout,
            model_dir=cluster.spec.model_dir,
            cluster_file=spec_file,
        )
        for host in cluster.spec.hosts
    ]


def probe_script() -> bytes:
    return resources.files("gpuctl.probe").joinpath("probe.sh").read_bytes()


def probe_command(target: Target, nonce: str) -> str:
    """`sh -s -- ARGS`: the script itself goes over stdin, so it never shows in process lists."""
    args = [
        nonce,
        target.model_dir,
        ",".join(GPU_FIELDS),
        ",".join(BASIC_GPU_FIELDS),
        ",".join(APP_FIELDS),
        INSPECT_FORMAT,
    ]
    return "sh -s -- " + " ".join(shlex.quote(arg) for arg in args)


def facts_from(outcome: Outcome, nonce: str) -> HostFacts:
    """Turn one host's SSH outcome into its facts (pure)."""
    target = outcome.target
    seconds = round(outcome.seconds, 3)
    if outcome.status != "ok":
        return HostFacts(
            host=target.host,
            cluster=target.cluster,
            address=target.address,
            status=outcome.status,
            message=outcome.message,
            probe_seconds=seconds,
        )
    sections = parse_sections(outcome.stdout, nonce)
    if outcome.exit_status != 0 or not sections:
        said = outcome.stderr.strip().split("\n")[0][:200] or "no output"
        return HostFacts(
            host=target.host,
            cluster=target.cluster,
            address=target.address,
            status="probe-failed",
            message=f"{target.endpoint}: the probe script exited with status {outcome.exit_status} "
            f"({said}); gpuctl needs a POSIX `sh` on the host and a login that prints nothing",
            probe_seconds=seconds,
        )
    facts = host_facts(target.host, target.cluster, target.address, sections)
    return facts.model_copy(update={"probe_seconds": seconds})


def probe_hosts(targets: Sequence[Target]) -> list[HostFacts]:
    nonce = secrets.token_hex(8)
    outcomes = run_on_hosts(targets, lambda t: probe_command(t, nonce), probe_script())
    return [facts_from(outcome, nonce) for outcome in outcomes]


def probe_inventory(targets: Sequence[Target]) -> Inventory:
    """Facts of every target, taken now, with the fingerprint a saved plan records."""
    taken_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    hosts = sorted(probe_hosts(targets), key=lambda h: (h.cluster, h.host))
    return with_fingerprint(Inventory(taken_at=taken_at, hosts=hosts))
