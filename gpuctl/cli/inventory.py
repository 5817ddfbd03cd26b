"""`gpuctl inventory` (probe every host, print or save the facts) and `gpuctl trust` (record host
keys after showing their fingerprints).

Heavy imports (paramiko through the probe, rich, yaml) happen inside the commands, so that
`gpuctl --help` does not pay for them.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gpuctl.errors import Diagnostic, GpuctlError

if TYPE_CHECKING:
    from gpuctl.facts import HostFacts, Inventory
    from gpuctl.probe.ssh import Target
    from gpuctl.spec.models import Cluster

DEFAULT_INVENTORY = Path("inventory")
GIB = 1024**3


@dataclass(frozen=True)
class ClusterFile:
    cluster: Cluster
    path: Path


def load_clusters(paths: list[Path]) -> list[ClusterFile]:
    """Cluster documents of spec files and directories (validated by the spec loader, all
    diagnostics at once); other kinds are ignored here."""
    from gpuctl.spec.loader import load_specs

    specs = load_specs(paths)
    return [ClusterFile(c, Path(specs.location(c).file or ".")) for c in specs.clusters]


def _size(value: int) -> str:
    return f"{value / GIB:.1f}"


def _host(host: HostFacts) -> str:
    lines = [host.host, host.address]
    if host.info:
        info = host.info
        lines.append(f"{info.arch}, {info.cpu_count} CPUs, {_size(info.memory_total)} GiB")
    return "\n".join(lines)


def _devices(host: HostFacts) -> str:
    """One line per device: key, name, memory used/total."""
    if not host.devices:
        return "none" if host.ok else ""
    return "\n".join(
        f"{d.key}  {d.name}  {_size(d.memory_used)}/{_size(d.memory_total)} GiB" for d in host.devices
    )


def _runtime(host: HostFacts) -> str:
    docker = host.docker
    if docker is None:
        return ""
    if not docker.reachable:
        return "docker: not answering"
    gpus = " (--gpus)" if docker.gpus_supported else ""
    extra = [r for r in docker.runtimes if r not in ("runc", "io.containerd.runc.v2")]
    return f"docker {docker.server_version}{gpus}" + (f"\nruntimes: {', '.join(extra)}" if extra else "")


def _containers(host: HostFacts) -> str:
    return "\n".join(f"{c.name} ({c.state})" for c in host.containers)


def print_table(inventory: Inventory) -> None:
    """The table, then what went wrong per host: messages, Docker errors, parser warnings."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console()
    if not console.is_terminal:
        console.width = max(console.width, 160)
    table = Table(show_lines=True)
    table.add_column("host", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("accelerators (memory used/total)")
    table.add_column("runtime")
    table.add_column("gpuctl containers")
    for host in inventory.hosts:
        status = Text(host.status, style="green" if host.ok else "red")
        table.add_row(_host(host), status, _devices(host), _runtime(host), _containers(host))
    console.print(table)
    for host in inventory.hosts:
        notes = [(host.message, "red")] if host.message else []
        if host.docker and host.docker.error:
            notes.append((f"docker: {host.docker.error}", "yellow"))
        notes += [(f"warning: {w}", "yellow") for w in host.warnings]
        for note, style in notes:
            console.print(Text.assemble((host.host, style), f": {note}"), highlight=False)


def _targets(paths: list[Path] | None) -> list[Target]:
    from gpuctl.probe.inventory import targets_for

    return [t for c in load_clusters(paths or [DEFAULT_INVENTORY]) for t in targets_for(c.cluster, c.path)]


InventoryOption = Annotated[
    list[Path] | None,
    typer.Option("-i", "--inventory", help="Cluster spec file or directory (default: inventory/)."),
]


def register(app: typer.Typer) -> None:
    @app.command()
    def inventory(
        paths: InventoryOption = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the facts as JSON.")] = False,
        save: Annotated[
            Path | None,
            typer.Option(metavar="FILE", help="Write an inventory snapshot for `plan --inventory-snapshot`."),
        ] = None,
    ) -> None:
        """Probe every host over SSH: accelerators, host facts, Docker and gpuctl's containers.

        Exits 1 when any host could not be probed (the others are still shown).
        """
        from gpuctl.cli.output import print_json
        from gpuctl.probe.inventory import probe_inventory
        from gpuctl.probe.snapshot import save_snapshot

        facts = probe_inventory(_targets(paths))
        if save:
            save_snapshot(facts, save)
        if as_json:
            print_json(facts.model_dump(mode="json"))
        else:
            print_table(facts)
        raise typer.Exit(0 if all(host.ok for host in facts.hosts) else 1)

    @app.command()
    def trust(
        hosts: Annotated[list[str], typer.Argument(help="Host names from the Cluster spec.")],
        paths: InventoryOption = None,
        yes: Annotated[
            bool, typer.Option("--yes", "-y", help="Record without asking (for scripts).")
        ] = False,
        replace: Annotated[
            bool, typer.Option("--replace", help="Replace a different key already recorded for the host.")
        ] = False,
        hashed: Annotated[bool, typer.Option("--hash", help="Hash host names, like HashKnownHosts.")] = False,
    ) -> None:
        """Record SSH host keys in the cluster's known_hosts, after showing their fingerprints.

        gpuctl never accepts an unknown host key by itself: this command is how a key becomes known.
        """
        from gpuctl.probe.known_hosts import fetch_key, find_entries, fingerprint, record

        targets = {t.host: t for t in _targets(paths)}
        unknown = [h for h in hosts if h not in targets]
        if unknown:
            raise GpuctlError(
                *(
                    Diagnostic(
                        f"no host named {name!r} in the Cluster specs",
                        hint="known hosts: "
                        + ", ".join(difflib.get_close_matches(name, targets, n=3) or sorted(targets)[:10]),
                        code="unknown-host",
                    )
                    for name in unknown
                )
            )
        failed = False
        for name in hosts:
            target = targets[name]
            try:
                key = fetch_key(target.address, target.port, target.connect_timeout)
            except Exception as error:  # any failure to reach the host is reported, not raised
                typer.echo(f"{name}: cannot fetch the host key from {target.address}:{target.port}: {error}")
                failed = True
                continue
            shown = f"{key.get_name()} {fingerprint(key)}"
            typer.echo(f"{name} ({target.address}:{target.port}) presents {shown}")
            entries = find_entries(target.known_hosts, target.address, target.port)
            if any(e.key_type == key.get_name() and e.key_base64 == key.get_base64() for e in entries):
                typer.echo(f"  already trusted in {target.known_hosts}")
                continue
            changed = [e for e in entries if e.key_type == key.get_name()]
            if changed and not replace:
                lines = ", ".join(f"line {e.line} ({e.fingerprint})" for e in changed)
                typer.echo(
                    f"  HOST KEY CHANGED: {target.known_hosts} {lines} records another {key.get_name()} "
                    "key. Verify the new fingerprint with the host's owner; --replace records it."
                )
                failed = True
                continue
            if not yes and not typer.confirm(f"  record it in {target.known_hosts}?", default=False):
                failed = True
                continue
            record(target.known_hosts, target.address, target.port, key, hashed=hashed, replace=bool(changed))
            typer.echo(f"  recorded in {target.known_hosts}")
        raise typer.Exit(1 if failed else 0)
