"""`gpuctl validate` and `gpuctl schema` (placeholder: the foundation work fills it in)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def validate() -> None:
        """Validate specs (not implemented yet)."""
        raise typer.Exit(0)
