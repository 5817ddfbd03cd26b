"""`gpuctl apply`, `destroy`, `force-unlock`, `status` and `logs`: converge hosts and look at them.

Only typer is imported at module level. The apply commands patch the standard library with gevent
first thing (before paramiko or pyinfra are imported), so pyinfra reaches every host at once;
`gpuctl --help` and `gpuctl validate` never import gevent, paramiko or pyinfra.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gpuctl.errors import Diagnostic, GpuctlError

if TYPE_CHECKING:
    from gpuctl.apply.flow import Planned

InventoryOption = Annotated[
    list[Path] | None,
    typer.Option(
        "-i",
        "--inventory",
        metavar="PATH",
        help="Cluster file or directory (repeatable). Default: inventory/.",
        show_default=False,
    ),
]
TargetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--target",
        metavar="NAME",
        help="Only this deployment (repeatable); the others are left as they are.",
        show_default=False,
    ),
]
LockOption = Annotated[
    Path, typer.Option("--lock", metavar="FILE", help="Lock file with the deployments' models.")
]
AutoApproveOption = Annotated[
    bool, typer.Option("--auto-approve", help="Do not ask for confirmation (CI, after reviewing the plan).")
]
LockTimeoutOption = Annotated[
    str,
    typer.Option(
        "--lock-timeout",
        metavar="DURATION",
        help="How long to wait for a host locked by another apply: 0, 30s, 5m, 1h.",
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print the result as JSON (progress stays on stderr).")
]


def register(app: typer.Typer) -> None:
    app.command()(apply)
    app.command()(destroy)
    app.command("force-unlock")(force_unlock)
    app.command()(status)
    app.command()(logs)


def apply(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="[SPECS... | PLANFILE]",
            help="ModelDeployment files or directories (default: specs/), or a plan saved by "
            "`gpuctl plan --out FILE`.",
            show_default=False,
        ),
    ] = None,
    inventory: InventoryOption = None,
    target: TargetOption = None,
    lock: LockOption = Path("gpuctl.lock"),
    auto_approve: AutoApproveOption = False,
    lock_timeout: LockTimeoutOption = "0s",
    json_output: JsonOption = False,
) -> None:
    """Converge the hosts with the specs: plan, ask, pull, start, wait until ready, remove.

    Shows the plan and asks for `yes` (or --auto-approve), then locks the hosts, pulls images,
    starts new containers beside or in place of the old ones, waits for their readiness endpoint,
    rolls back what does not become ready, and removes what the specs no longer want. With a
    PLANFILE the saved plan is carried out, unless the hosts changed since it was made. Exit status
    0 when every change was made, 1 otherwise.
    """
    from gpuctl.apply import flow
    from gpuctl.apply.session import patch_gevent

    patch_gevent()
    with _json_errors(json_output):
        timeout = _duration(lock_timeout)
        inventory = inventory or [Path("inventory")]
        saved = flow.plan_file(paths or [])
        if saved is not None:
            if target:
                raise GpuctlError(
                    Diagnostic("--target cannot narrow a saved plan", hint="plan again with --target")
                )
            planned = flow.read_plan(saved, inventory)
        else:
            planned = flow.make_plan(inventory, paths or [Path("specs")], target or [], lock)
        _carry_out(planned, "gpuctl apply", auto_approve, timeout, json_output)


def destroy(
    inventory: InventoryOption = None,
    target: TargetOption = None,
    lock: LockOption = Path("gpuctl.lock"),
    auto_approve: AutoApproveOption = False,
    lock_timeout: LockTimeoutOption = "0s",
    json_output: JsonOption = False,
) -> None:
    """Remove gpuctl's containers from the clusters' hosts (all, or --target deployments).

    Same plan, confirmation and locks as apply. Containers without gpuctl's labels are never
    touched.
    """
    from gpuctl.apply import flow
    from gpuctl.apply.session import patch_gevent

    patch_gevent()
    with _json_errors(json_output):
        timeout = _duration(lock_timeout)
        planned = flow.destroy_plan(inventory or [Path("inventory")], target or [], lock)
        _carry_out(planned, "gpuctl destroy", auto_approve, timeout, json_output)


@contextmanager
def _json_errors(json_output: bool) -> Iterator[None]:
    """With --json, an apply refused before it changed anything (a stale plan, bad specs, a host
    that cannot be locked ...) still prints a result on stdout, for CI to read; the sentences go to
    stderr as always."""
    try:
        yield
    except GpuctlError as error:
        if json_output:
            from gpuctl.apply.results import ApplyResult
            from gpuctl.plan.model import PlanDiagnostic

            diagnostics = [PlanDiagnostic.of(d) for d in error.diagnostics]
            sys.stdout.write(ApplyResult(ok=False, diagnostics=diagnostics).model_dump_json(indent=2) + "\n")
        raise


def _carry_out(planned: Planned, command: str, auto_approve: bool, timeout: float, json_output: bool) -> None:
    """Show the plan, ask, carry it out, report; exit 0 when every change was made."""
    import os

    from gpuctl.apply import flow, report
    from gpuctl.apply.results import ApplyResult
    from gpuctl.plan.text import render_text

    plan = planned.plan
    out = sys.stderr if json_output else sys.stdout
    out.write(render_text(plan, color=out.isatty()))
    for warning in flow.missing_secrets(plan, dict(os.environ)):
        out.write(f"Warning: {warning}\n")
    if not plan.has_changes:
        if json_output:
            sys.stdout.write(
                ApplyResult(ok=not plan.errors, diagnostics=plan.diagnostics).model_dump_json(indent=2) + "\n"
            )
        else:
            out.write("\nNo changes: the hosts match the specs.\n")
        raise typer.Exit(1 if plan.errors else 0)
    question = "\nDo you want to perform these actions?"
    if plan.errors:
        question = "\nThe plan has errors: their deployments are left as they are. Perform the other actions?"
    if not flow.confirm(question, auto_approve):
        sys.stderr.write("Apply cancelled: nothing was changed.\n")
        raise typer.Exit(1)
    result = flow.execute(planned, lock_timeout=timeout, command=command)
    if json_output:
        sys.stdout.write(result.model_dump_json(indent=2) + "\n")
    else:
        sys.stdout.write("\n" + report.render(result))
    raise typer.Exit(0 if result.ok else 1)


def force_unlock(
    host: Annotated[str, typer.Argument(help="The host whose lock to remove.")],
    inventory: InventoryOption = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Remove a host's apply lock left behind by an apply that was killed.

    Shows who holds the lock and asks first. Check that no apply is running on the host: two
    applies at once can stop each other's containers.
    """
    from gpuctl.apply import admin, flow

    clusters = flow.load_clusters(inventory or [Path("inventory")])
    admin.force_unlock(clusters, host, lambda question: flow.confirm(question, yes))


def status(
    inventory: InventoryOption = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the rows as JSON.")] = False,
) -> None:
    """Show what runs: deployments, replicas, hosts, devices, state, readiness, endpoints.

    Asks every host of the clusters over SSH (no state file). Exit status 1 if a host could not be
    asked.
    """
    from gpuctl.apply import admin, flow

    clusters = flow.load_clusters(inventory or [Path("inventory")])
    rows, problems = admin.status(clusters)
    if json_output:
        from gpuctl.cli.output import print_json

        print_json({"containers": [row.__dict__ for row in rows], "problems": problems})
    else:
        sys.stdout.write(admin.render_status(rows, problems))
    raise typer.Exit(1 if problems else 0)


def logs(
    deployment: Annotated[str, typer.Argument(help="The deployment's name.")],
    replica: Annotated[int, typer.Option("--replica", help="Which replica.")] = 0,
    role: Annotated[
        str | None, typer.Option("--role", help="leader, worker-1, ... of a distributed replica.")
    ] = None,
    inventory: InventoryOption = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new lines.")] = False,
    tail: Annotated[int, typer.Option("--tail", help="Lines from the end to start with.")] = 100,
) -> None:
    """Print a replica's container log (docker logs on its host, over SSH)."""
    from gpuctl.apply import admin, flow
    from gpuctl.apply.session import patch_gevent

    patch_gevent()
    clusters = flow.load_clusters(inventory or [Path("inventory")])
    admin.logs(clusters, deployment, replica, role, follow=follow, tail=tail, out=sys.stdout)


_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600}


def _duration(text: str) -> float:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if not match:
        raise GpuctlError(
            Diagnostic(f"--lock-timeout {text!r} is not a duration", hint="write e.g. 0, 30s, 5m or 1h")
        )
    return float(match.group(1)) * _UNITS[match.group(2)]
