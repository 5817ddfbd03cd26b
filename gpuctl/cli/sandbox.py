"""`gpuctl sandbox up|down|status|fault|set-memory`: the local simulated fleet (gpuctl.sandbox)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gpuctl.cli.output import print_json

if TYPE_CHECKING:
    from gpuctl.sandbox.fleet import SandboxStatus

Name = Annotated[str, typer.Option("--name", help="Sandbox name; its host names start with it.")]
Host = Annotated[str, typer.Argument(help="Host name, e.g. sandbox-h100-1.")]


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="A local fleet of real SSH + Docker hosts with simulated GPUs/NPUs (needs root).",
        no_args_is_help=True,
    )
    app.add_typer(group, name="sandbox")

    @group.command()
    def up(
        name: Name = "sandbox",
        hosts: Annotated[
            str | None,
            typer.Option(
                help="Comma-separated host profiles, one host each (default nvidia-8xh100,ascend-8x910b,cpu)."
            ),
        ] = None,
        inventory: Annotated[
            Path | None, typer.Option(help="Cluster file to write (default inventory/NAME.yaml).")
        ] = None,
    ) -> None:
        """Bring a sandbox up (or check and repair it) and write its Cluster file."""
        from gpuctl.sandbox import Sandbox

        profiles = [p.strip() for p in hosts.split(",") if p.strip()] if hosts else None
        sandbox = Sandbox(name, inventory=inventory)
        status = sandbox.up(profiles)
        print(f"sandbox {name!r} is up: {len(status.hosts)} hosts, registry {status.registry}")
        print(f"Cluster file: {_relative(status.inventory)}")
        _print_hosts(status)
        key, known = _relative(str(sandbox.identity_file)), _relative(str(sandbox.known_hosts_file))
        address = status.hosts[0].address
        print(f"\nssh -i {key} -o UserKnownHostsFile={known} -o StrictHostKeyChecking=yes root@{address}")
        if status.hub:
            print(
                f"Model downloads of `gpuctl apply` (placeholder files): export HF_ENDPOINT={status.hub} "
                f"MODELSCOPE_ENDPOINT={status.hub}"
            )

    @group.command()
    def down(name: Name = "sandbox") -> None:
        """Remove the sandbox: namespaces, links, processes, mounts, files, images. Harmless when repeated."""
        from gpuctl.sandbox import Sandbox

        removed = Sandbox(name).down()
        print(f"sandbox {name!r} removed" if removed else f"sandbox {name!r} is not up; nothing to remove")

    @group.command()
    def status(
        name: Name = "sandbox", json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False
    ) -> None:
        """Show the sandbox's hosts and whether their link, sshd and dockerd are up."""
        from gpuctl.sandbox import Sandbox, system

        system.require_root("gpuctl sandbox status")
        result = Sandbox(name).status()
        if json:
            print_json(result.to_json())
        elif not result.up:
            running = Sandbox.running()
            print(f"sandbox {name!r} is not up" + (f"; up: {', '.join(running)}" if running else ""))
        else:
            registry = "running" if result.registry_running else "stopped"
            hub = result.hub or "stopped"
            print(f"sandbox {name!r}: registry {result.registry} ({registry}), model hub {hub}")
            print(f"Cluster file: {_relative(result.inventory)}")
            _print_hosts(result)

    @group.command()
    def fault(
        host: Host,
        action: Annotated[
            str, typer.Argument(help="link-down, link-up, docker-stop, docker-start, ssh-stop or ssh-start.")
        ],
    ) -> None:
        """Inject or heal a fault on one host (for tests and demos)."""
        from gpuctl.sandbox import Sandbox

        Sandbox.owning(host).fault(host, action)
        print(f"{host}: {action}")

    @group.command("set-memory")
    def set_memory(
        host: Host,
        device: Annotated[str, typer.Argument(help='Device key: "3", or "0/1" for MIG device 1 of GPU 0.')],
        mib: Annotated[int, typer.Argument(help="MiB the foreign process holds; 0 frees it.")],
        pid: Annotated[
            int | None, typer.Option(help="Process id to report (default: one per device).")
        ] = None,
        process: Annotated[str | None, typer.Option(help="Process name to report (default python3).")] = None,
    ) -> None:
        """Simulate a process that is not gpuctl's holding device memory (nvidia-smi lists it)."""
        from gpuctl.sandbox import Sandbox

        recorded = Sandbox.owning(host).set_memory(host, device, mib, pid, process)
        print(f"{host} device {device}: {recorded.name} (pid {recorded.pid}) holds {recorded.memory_mib} MiB")


def _relative(path: str | None) -> str:
    if not path:
        return ""
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path


def _print_hosts(status: SandboxStatus) -> None:
    rows = [("HOST", "PROFILE", "ADDRESS", "LINK", "SSH", "DOCKER")]
    rows += [(h.name, h.profile, h.address, h.link, h.ssh, h.docker) for h in status.hosts]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
