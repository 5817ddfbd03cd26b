"""`gpuctl validate` (check specs offline) and `gpuctl schema` (the JSON Schemas and the reference).

Only typer is imported at module level: `gpuctl --help` imports this module, and the loader
(pydantic, jsonschema, PyYAML) is needed only when a command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from gpuctl.spec.loader import LoadResult


def register(app: typer.Typer) -> None:
    app.command()(validate)
    app.command()(schema)


def validate(
    paths: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="PATH",
            help="Spec files or directories (searched recursively for *.yaml and *.yml). "
            "Default: inventory/ and specs/ in the current directory.",
            show_default=False,
        ),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help='Print {"valid", "documents", "files", "diagnostics"} as JSON.')
    ] = False,
) -> None:
    """Check specs without touching any host: syntax, fields, names and references.

    Exit status 0 when they are valid (warnings allowed), 1 otherwise. Each problem is printed as
    FILE:LINE:COLUMN: error: FIELD: MESSAGE (HINT).
    """
    from gpuctl.spec.loader import read_specs

    result = read_specs(paths)
    if json_output:
        from gpuctl.cli.output import print_json

        print_json(
            {
                "valid": result.ok,
                "documents": result.documents,
                "files": result.files,
                "diagnostics": [diagnostic.to_json() for diagnostic in result.diagnostics],
            }
        )
    else:
        for diagnostic in result.diagnostics:
            print(diagnostic)
        print(_summary(result))
    raise typer.Exit(0 if result.ok else 1)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' * (count != 1)}"


def _summary(result: LoadResult) -> str:
    """`valid: 6 documents in 6 files`, or `invalid: 2 errors, 1 warning in 3 documents in 2 files`."""
    counted = f"{_plural(result.documents, 'document')} in {_plural(result.files, 'file')}"
    errors = len(result.errors)
    warnings = len(result.diagnostics) - errors
    problems = ", ".join(_plural(n, word) for n, word in ((errors, "error"), (warnings, "warning")) if n)
    if result.ok:
        return f"valid: {counted}" + (f" ({problems})" if problems else "")
    return f"invalid: {problems} in {counted}"


def schema(
    name: Annotated[
        str | None,
        typer.Argument(
            metavar="NAME",
            help="cluster or model-deployment. Default: both, as one JSON object by file name.",
        ),
    ] = None,
    write: Annotated[
        Path | None,
        typer.Option(
            "--write",
            metavar="DIR",
            help="Write cluster.schema.json and model-deployment.schema.json into DIR.",
        ),
    ] = None,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print the spec reference (every field) as Markdown instead.")
    ] = False,
) -> None:
    """Print or write the JSON Schemas of the spec files, generated from gpuctl's models.

    Point your editor at them (first line of a spec file:
    `# yaml-language-server: $schema=../schemas/model-deployment.schema.json`) for completion and help.
    """
    from gpuctl.errors import Diagnostic, GpuctlError
    from gpuctl.spec.schema import SCHEMA_FILES, generate_schemas, render

    if markdown:
        from gpuctl.spec.reference import markdown_reference

        print(markdown_reference(), end="")
        return
    if write is not None:
        from gpuctl.spec.schema import write_schemas

        for path in write_schemas(write):
            print(f"wrote {path}")
        return
    schemas = generate_schemas()
    if name is None:
        print(render(schemas), end="")
        return
    files = {file.removesuffix(".schema.json"): file for file in SCHEMA_FILES.values()}
    files |= {kind: files[file.removesuffix(".schema.json")] for kind, file in SCHEMA_FILES.items()}
    if name not in files:
        raise GpuctlError(
            Diagnostic(f"no schema named {name!r}", hint="choose cluster or model-deployment", code="usage")
        )
    print(render(schemas[files[name]]), end="")
