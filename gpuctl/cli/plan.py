"""`gpuctl plan`: what apply would change, and why; Terraform's exit codes for CI.

The command gathers its inputs (specs, host facts over SSH or from a snapshot, models from the
lock), asks the pure planner for a Plan and prints it: text for people (colour on a terminal),
JSON for machines. Heavy imports happen inside the command so `gpuctl --help` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    app.command()(plan)


def plan(
    specs: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="PATH", help="ModelDeployment files or directories. Default: specs/.", show_default=False
        ),
    ] = None,
    inventory: Annotated[
        list[Path] | None,
        typer.Option(
            "-i",
            "--inventory",
            metavar="PATH",
            help="Cluster file or directory (repeatable). Default: inventory/.",
            show_default=False,
        ),
    ] = None,
    snapshot: Annotated[
        Path | None,
        typer.Option(
            "--inventory-snapshot",
            metavar="FILE",
            help="Plan offline from host facts saved by `gpuctl inventory --save FILE` (no SSH).",
        ),
    ] = None,
    target: Annotated[
        list[str] | None,
        typer.Option(
            "--target",
            metavar="NAME",
            help="Plan only this deployment (repeatable); the others are left as they are.",
            show_default=False,
        ),
    ] = None,
    lock: Annotated[
        Path, typer.Option("--lock", metavar="FILE", help="Lock file with the deployments' models.")
    ] = Path("gpuctl.lock"),
    json_output: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
    out: Annotated[
        Path | None, typer.Option("--out", metavar="FILE", help="Save the plan for `gpuctl apply FILE`.")
    ] = None,
    detailed_exitcode: Annotated[
        bool,
        typer.Option(
            "--detailed-exitcode",
            help="Exit 0 when there is nothing to change, 2 when there are changes, 1 on errors.",
        ),
    ] = False,
) -> None:
    """Show what apply would create, replace and delete: placements, memory estimates and reasons.

    Exit status 1 when the plan has errors (a replica that fits nowhere, a host that could not
    be probed, bad input), else 0; with --detailed-exitcode, 0 means no changes and 2 changes.
    """
    from gpuctl.plan.build import make_plan
    from gpuctl.plan.file import save_plan
    from gpuctl.plan.inputs import gather
    from gpuctl.plan.text import render_text

    inputs = gather(inventory or [Path("inventory")], specs or [Path("specs")], snapshot, target or [], lock)
    result = make_plan(inputs)
    if out is not None:
        save_plan(result, out)
    if json_output:
        sys.stdout.write(result.to_json())
    else:
        sys.stdout.write(render_text(result, color=sys.stdout.isatty()))
        if out is not None:
            sys.stdout.write(f"Saved the plan to {out}: `gpuctl apply {out}` carries it out.\n")
    code = result.exit_code()
    raise typer.Exit(code if detailed_exitcode else (1 if code == 1 else 0))
