"""The list of command groups. Each module's `register(app)` adds its commands."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    from gpuctl.cli import inventory, sandbox, validate

    validate.register(app)
    inventory.register(app)
    sandbox.register(app)
