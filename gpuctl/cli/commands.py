"""The list of command groups. Each module's `register(app)` adds its commands."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    from gpuctl.cli import apply, estimate, inventory, plan, sandbox, validate

    validate.register(app)
    inventory.register(app)
    estimate.register(app)
    sandbox.register(app)
    plan.register(app)
    apply.register(app)
