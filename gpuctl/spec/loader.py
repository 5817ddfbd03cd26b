"""Loading specs: files and directories → validated `Cluster`s and `ModelDeployment`s.

    specs = load_specs(["inventory", "specs"])      # raises GpuctlError with every problem
    result = read_specs(paths)                      # the same, as data: diagnostics, counts

Each document goes through four stages, and every problem of every stage is collected before
anything is reported: YAML (documents.py), its header (`apiVersion`, `kind`), the pydantic model
(strict; its validators check what a schema cannot) and, for a document the model refuses, the
JSON Schema of its kind (all errors, via jsonschema's `iter_errors`), which says each structural
problem at its place. Documents that pass are then checked against each other (checks.py).
Documents that are plainly not gpuctl's (a docker-compose file in the tree) are skipped with a
warning.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gpuctl.errors import Diagnostic, GpuctlError, Location
from gpuctl.spec.checks import cross_check
from gpuctl.spec.diagnose import SchemaErrors, model_diagnostics, show, suggestion
from gpuctl.spec.documents import FieldPath, SourceDocument, read_file
from gpuctl.spec.models import API_VERSION, KINDS, Cluster, Document, HostSpec, ModelDeployment
from gpuctl.spec.schema import packaged_schema

DEFAULT_PATHS = ("inventory", "specs")
"""Where specs are when no path is given: relative to the current directory."""
SPEC_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Specs:
    """Everything loaded: clusters and deployments in file order, and where each came from."""

    clusters: tuple[Cluster, ...] = ()
    deployments: tuple[ModelDeployment, ...] = ()
    warnings: tuple[Diagnostic, ...] = ()
    sources: dict[tuple[str, str], SourceDocument] = field(default_factory=dict, repr=False, compare=False)
    """(kind, name) → the document it was read from."""

    def location(self, document: Document, path: str | FieldPath = ()) -> Location:
        """Where `document` (or a field of it: "spec.placement.devices[1]") is in its file, so
        that later stages (plan) can point their diagnostics at the spec. Empty when the document
        was not read from a file."""
        source = self.sources.get((document.kind, document.metadata.name))
        if source is None:
            return Location()
        if isinstance(path, str):
            parts = re.findall(r"[^.\[\]]+", path)
            path = tuple(int(part) if part.isdigit() else part for part in parts)
        return source.location(path, key=True)

    def cluster(self, name: str) -> Cluster | None:
        return next((cluster for cluster in self.clusters if cluster.metadata.name == name), None)

    def host(self, name: str) -> tuple[Cluster, HostSpec] | None:
        """The cluster and entry of host `name` (host names are unique across clusters)."""
        for cluster in self.clusters:
            for host in cluster.spec.hosts:
                if host.name == name:
                    return cluster, host
        return None

    def cluster_of(self, deployment: ModelDeployment) -> Cluster:
        """The cluster a deployment runs in: the one it names, or the only one loaded."""
        if deployment.spec.cluster:
            found = self.cluster(deployment.spec.cluster)
            if found:
                return found
            problem, hint = f"cluster {deployment.spec.cluster!r} is not defined", "load its inventory"
        elif len(self.clusters) == 1:
            return self.clusters[0]
        elif not self.clusters:
            problem, hint = "no Cluster is loaded", "pass the inventory directory too"
        else:
            names = ", ".join(cluster.metadata.name for cluster in self.clusters)
            problem = f"{len(self.clusters)} clusters are loaded ({names}) and the deployment names none"
            hint = "set spec.cluster"
        raise GpuctlError(
            Diagnostic(
                problem,
                self.location(deployment, "spec"),
                path="spec.cluster",
                hint=hint,
                code="unknown-cluster",
            )
        )


@dataclass(frozen=True)
class LoadResult:
    """What `read_specs` found: the specs (valid documents only), every diagnostic, and counts."""

    specs: Specs
    diagnostics: tuple[Diagnostic, ...]
    files: int
    documents: int

    @property
    def errors(self) -> list[Diagnostic]:
        return [diagnostic for diagnostic in self.diagnostics if diagnostic.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors


def load_specs(paths: Sequence[str | Path] | None = None) -> Specs:
    """Load and validate specs; raise `GpuctlError` with all diagnostics when any is an error.

    `paths` are files or directories (searched recursively for *.yaml / *.yml); default
    `inventory/` and `specs/` of the current directory.
    """
    result = read_specs(paths)
    if not result.ok:
        raise GpuctlError(*result.diagnostics)
    return result.specs


def read_specs(paths: Sequence[str | Path] | None = None) -> LoadResult:
    """Load and validate specs, returning every diagnostic instead of raising."""
    files, diagnostics = discover(paths)
    valid: list[tuple[Document, SourceDocument]] = []
    typed: list[tuple[str, SourceDocument]] = []  # every document of a known kind, valid or not
    invalid: list[SourceDocument] = []
    unread: list[str] = []  # files whose YAML could not be read (whole or in part)
    documents = 0
    for path, display in files:
        source = read_file(path, display)
        diagnostics += source.diagnostics
        if any(diagnostic.code != "file-empty" for diagnostic in source.diagnostics):
            unread.append(display)
        ours = [(doc, _classify(doc)) for doc in source.documents]
        if source.documents and all(kind is None for _, kind in ours) and not source.diagnostics:
            diagnostics.append(
                Diagnostic(
                    f"no gpuctl documents in this file (none has apiVersion: {API_VERSION}); it was skipped",
                    Location(display, source.documents[0].start.line, source.documents[0].start.column),
                    severity="warning",
                    hint="move it out of the spec directories to silence this warning",
                    code="not-gpuctl",
                )
            )
            continue
        for doc, kind in ours:
            documents += 1
            model, problems = _validate(doc, kind)
            diagnostics += problems
            if model is not None and not problems:
                valid.append((model, doc))
            else:
                invalid.append(doc)
            if kind in KINDS and isinstance(doc.data, dict):
                typed.append((kind, doc))
    diagnostics += cross_check(typed, unread, invalid)
    if files and documents == 0 and not any(d.severity == "error" for d in diagnostics):
        shown = ", ".join(str(path) for path in paths or DEFAULT_PATHS)
        diagnostics.append(
            Diagnostic(
                f"no gpuctl documents found in {shown}",
                hint="write a Cluster (inventory/) and ModelDeployments (specs/); see README.md",
                code="no-documents",
            )
        )
    specs = _specs(valid, [d for d in diagnostics if d.severity == "warning"])
    return LoadResult(
        specs, tuple(_ordered(diagnostics, [display for _, display in files])), len(files), documents
    )


def discover(paths: Sequence[str | Path] | None) -> tuple[list[tuple[Path, str]], list[Diagnostic]]:
    """The spec files under `paths` (path, name to show), in a stable order, each once."""
    diagnostics: list[Diagnostic] = []
    if not paths:
        paths = [name for name in DEFAULT_PATHS if Path(name).is_dir()]
        if not paths:
            return [], [
                Diagnostic(
                    f"no {' or '.join(p + '/' for p in DEFAULT_PATHS)} directory in {Path.cwd()}",
                    hint="run gpuctl where your specs are, or pass spec files or directories",
                    code="no-specs",
                )
            ]
    found: list[tuple[Path, str]] = []
    seen: set[str] = set()
    for given in paths:
        root = Path(given)
        if root.is_dir():
            files, problems = _walk(root)
            diagnostics += problems
            if not files and not any(problem.severity == "error" for problem in problems):
                diagnostics.append(
                    Diagnostic(
                        "no spec files (*.yaml, *.yml) in this directory",
                        Location(str(given)),
                        hint="write a Cluster or ModelDeployment there, or pass another directory",
                        code="no-specs",
                    )
                )
        elif root.exists():
            files = [(root, str(given))]  # whatever it is: `gpuctl validate <(...)` reads a pipe
        else:
            diagnostics.append(_not_found(root, str(given)))
            continue
        for path, display in files:
            resolved = os.path.realpath(path)  # unlike Path.resolve, never raises on a symlink loop
            if resolved not in seen:
                seen.add(resolved)
                found.append((path, display))
    return found, diagnostics


def _walk(root: Path) -> tuple[list[tuple[Path, str]], list[Diagnostic]]:
    """*.yaml and *.yml files under `root`, sorted; hidden files and directories are skipped.

    Symbolic links to directories are followed, each directory visited once (a link loop ends
    there). Only regular files are returned: a named pipe would block the run for ever. What
    cannot be read (a directory, a broken link) is a problem, never silently left out.
    """
    found: list[tuple[Path, str]] = []
    problems: list[Diagnostic] = []
    visited: set[str] = set()

    def unreadable(error: OSError) -> None:
        where = Location(os.path.normpath(error.filename or root))
        message = f"cannot read this directory: {error.strerror or error}"
        problems.append(Diagnostic(message, where, code="file-unreadable"))

    for directory, dirnames, filenames in os.walk(root, onerror=unreadable, followlinks=True):
        real = os.path.realpath(directory)
        if real in visited:
            dirnames[:] = []
            continue
        visited.add(real)
        dirnames[:] = sorted(name for name in dirnames if not name.startswith("."))
        for name in sorted(filenames):
            if not name.endswith(SPEC_SUFFIXES) or name.startswith("."):
                continue
            path = Path(directory, name)
            display = os.path.normpath(path)
            if path.is_file():
                found.append((path, display))
            elif not path.exists():
                problems.append(_not_found(path, display))
            else:
                problems.append(
                    Diagnostic(
                        "not a regular file (a named pipe, socket or device); it was skipped",
                        Location(display),
                        severity="warning",
                        hint="keep only spec files in the spec directories",
                        code="not-a-file",
                    )
                )
    return found, problems


def _not_found(path: Path, display: str) -> Diagnostic:
    """A path that does not exist: missing, a broken symbolic link, or a symbolic link loop."""
    if not path.is_symlink():
        return Diagnostic(
            "no such file or directory",
            Location(display),
            hint="check the path; given no paths, gpuctl reads inventory/ and specs/ in the current "
            "directory",
            code="no-specs",
        )
    try:
        os.stat(path)
        message = "the symbolic link cannot be followed"
    except OSError as error:
        if error.errno == errno.ELOOP:
            message = "a symbolic link loop: it leads back to itself"
        else:
            message = f"a broken symbolic link: it points to {os.readlink(path)}, which does not exist"
    return Diagnostic(message, Location(display), hint="fix or remove it", code="no-specs")


def _classify(doc: SourceDocument) -> str | None:
    """The kind a document is meant to be; None for documents that are not gpuctl's at all.

    A document is gpuctl's when its apiVersion names gpuctl (even misspelt: gpuctl/v1alpha1), when
    its kind is one of ours and its apiVersion is not another API group's, or when it has no
    apiVersion and a kind close to ours. Kubernetes manifests that happen to share a kind
    (cluster.x-k8s.io/v1beta1 Cluster, apps/v1 Deployment) are someone else's.
    """
    data = doc.data
    if not isinstance(data, dict):
        return "?"
    api, kind = data.get("apiVersion"), data.get("kind")
    kind_name = kind if isinstance(kind, str) else "?"
    if isinstance(api, str) and "gpuctl" in api.split("/")[0].lower():
        return kind_name
    if kind_name in KINDS and not (isinstance(api, str) and "." in api.split("/")[0]):
        return kind_name
    if api is None and isinstance(kind, str) and suggestion(kind, KINDS, cutoff=0.85):
        return kind
    if api is None and kind is None and {"metadata", "spec"} & data.keys():
        return "?"
    return None


def _validate(doc: SourceDocument, kind: str | None) -> tuple[Document | None, list[Diagnostic]]:
    """One document through header, schema and model checks."""
    problems = list(doc.problems)
    data = doc.data
    if not isinstance(data, dict):
        return None, [
            *problems,
            Diagnostic(
                f"a spec document must be a mapping (apiVersion, kind, metadata, spec), not {_what(data)}",
                doc.location(),
                code="not-a-mapping",
            ),
        ]
    header = _header_problems(doc, data)
    if kind not in KINDS:
        return None, problems + header
    data = {**data, "apiVersion": API_VERSION, "kind": kind}
    try:
        model = KINDS[kind].model_validate(data, strict=True)
    except ValidationError as error:
        # Strict pydantic accepts exactly what the schema generated from it accepts (a test keeps
        # the packaged schema equal to the models), so the schema is consulted only for invalid
        # documents: it names every structural problem well, and jsonschema stays unimported on
        # the happy path (~40 ms of start-up).
        validator = _validator(kind)
        schema_errors = list(validator.iter_errors(data))
        problems += SchemaErrors(doc, validator.schema).diagnostics(schema_errors)
        problems += model_diagnostics(doc, error.errors(include_url=False), only_custom=bool(schema_errors))
        return None, _unique(problems + header)
    if header or problems:
        return None, _unique(problems + header)
    if isinstance(model, Cluster):
        model = _resolve_paths(model, doc)
    return model, []


@cache
def _validator(kind: str) -> Any:
    """A jsonschema validator for the packaged schema of `kind` (jsonschema is imported here, on
    first use, to keep it off the start-up path of commands that do not validate)."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(packaged_schema(kind))


def _header_problems(doc: SourceDocument, data: dict[str, Any]) -> list[Diagnostic]:
    """apiVersion and kind, whatever YAML value they hold (a list or mapping included)."""
    api, kind = data.get("apiVersion"), data.get("kind")
    problems = []
    if api is None:
        problems.append(_missing(doc, "apiVersion", f"start the document with apiVersion: {API_VERSION}"))
    elif api != API_VERSION:
        problems.append(
            Diagnostic(
                f"unknown apiVersion {show(api)}",
                doc.location(("apiVersion",)),
                path="apiVersion",
                hint=f"gpuctl reads apiVersion: {API_VERSION}",
                code="unknown-api-version",
            )
        )
    if kind is None:
        problems.append(_missing(doc, "kind", f"add kind: {' or kind: '.join(KINDS)}"))
    elif not isinstance(kind, str) or kind not in KINDS:
        near = suggestion(kind, KINDS) if isinstance(kind, str) else None
        problems.append(
            Diagnostic(
                f"unknown kind {show(kind)}",
                doc.location(("kind",)),
                path="kind",
                hint=f"did you mean {near!r}?" if near else f"gpuctl knows {' and '.join(KINDS)}",
                code="unknown-kind",
            )
        )
    return problems


def _missing(doc: SourceDocument, name: str, hint: str) -> Diagnostic:
    """A header field that is absent (said at the document's start) or empty (said at its key)."""
    if name in doc.data:
        return Diagnostic(f"{name} is empty", doc.location((name,)), hint=hint, code="missing-field")
    return Diagnostic(f"missing {name}", doc.location(), hint=hint, code="missing-field")


def _what(value: Any) -> str:
    return "a list" if isinstance(value, list) else "a single value"


def _resolve_paths(cluster: Cluster, doc: SourceDocument) -> Cluster:
    """identityFile and knownHostsFile: `~` expanded, relative paths made relative to the spec
    file, so that whoever opens them later does not depend on the current directory."""
    ssh = cluster.spec.ssh
    base = Path(doc.file).resolve().parent
    update = {
        name: str(base / os.path.expanduser(value))
        for name in ("identity_file", "known_hosts_file")
        if (value := getattr(ssh, name))
    }
    if not update:
        return cluster
    spec = cluster.spec.model_copy(update={"ssh": ssh.model_copy(update=update)})
    return cluster.model_copy(update={"spec": spec})


def _unique(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """Diagnostics that say the same thing at the same place once (an anchor used many times)."""
    seen: set[tuple[Any, ...]] = set()
    unique = []
    for diagnostic in diagnostics:
        key = (diagnostic.location, diagnostic.message, diagnostic.severity)
        if key not in seen:
            seen.add(key)
            unique.append(diagnostic)
    return unique


def _ordered(diagnostics: list[Diagnostic], files: list[str]) -> list[Diagnostic]:
    """File order as found, then line and column: how a person reads through them."""
    rank = {name: index for index, name in enumerate(files)}

    def key(diagnostic: Diagnostic) -> tuple[int, int, int]:
        loc = diagnostic.location
        file_rank = rank.get(loc.file, -1) if loc.file else len(files)  # run-wide problems last
        return (file_rank, loc.line or 0, loc.column or 0)

    return sorted(_unique(diagnostics), key=key)


def _specs(valid: list[tuple[Document, SourceDocument]], warnings: list[Diagnostic]) -> Specs:
    return Specs(
        clusters=tuple(model for model, _ in valid if isinstance(model, Cluster)),
        deployments=tuple(model for model, _ in valid if isinstance(model, ModelDeployment)),
        warnings=tuple(warnings),
        sources={(model.kind, model.metadata.name): doc for model, doc in valid},
    )
