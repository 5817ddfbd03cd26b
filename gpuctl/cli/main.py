"""The `gpuctl` entry point: builds the typer app and turns GpuctlError into exit status 1."""

from __future__ import annotations

import sys

import typer

from gpuctl import __version__
from gpuctl.errors import GpuctlError

app = typer.Typer(
    name="gpuctl",
    help="Run LLM and speech inference on your own GPU/NPU servers, from specs in git.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"gpuctl {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """gpuctl: plan and apply model deployments on SSH hosts."""


def _register_commands() -> None:
    # One module per command group; each adds its commands to `app`.
    from gpuctl.cli import commands

    commands.register(app)


def run() -> None:
    """Console-script entry point."""
    _register_commands()
    try:
        app()
    except GpuctlError as error:
        from gpuctl.cli.output import print_diagnostics

        print_diagnostics(error.diagnostics)
        sys.exit(1)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
