"""`gpuctl.lock`: every deployment's model pinned to a commit, with what gpuctl learned about it.

`gpuctl lock` writes it (YAML, in the directory gpuctl runs from, next to `specs/` and
`inventory/`); `gpuctl plan` reads it and needs no network for locked models, so a plan in CI is
reproducible. An entry is keyed by the source as the spec writes it (hub, repository or path,
requested revision, GGUF file): when the spec changes any of them the entry is stale, and a spec
source with no entry is missing; both are reported by deployment name.

    version: 1
    models:
    - source: {huggingface: Qwen/Qwen3-8B, revision: main}
      info: {source: huggingface:Qwen/Qwen3-8B, revision: 9c9a..., num_layers: 36, ...}

File listings are left out of the lock (they change nothing in a plan once the files are chosen
and would make every diff huge).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from gpuctl.errors import Diagnostic, GpuctlError, Location
from gpuctl.models.info import ModelInfo
from gpuctl.spec.models import ModelSource

LOCK_FILE = "gpuctl.lock"
VERSION = 1
HEADER = (
    "# Written by `gpuctl lock`: model revisions pinned to commits, with their metadata.\n"
    "# Commit it; regenerate it with `gpuctl lock` rather than editing it.\n"
)


def source_key(source: ModelSource) -> tuple[str, str, str | None, str | None]:
    return (source.kind, source.ref, source.revision, source.file)


def _source_dict(source: ModelSource) -> dict[str, str]:
    data: dict[str, str] = {source.kind: source.ref}
    if source.revision:
        data["revision"] = source.revision
    if source.file:
        data["file"] = source.file
    return data


@dataclass
class Lock:
    entries: dict[tuple[str, str, str | None, str | None], ModelInfo] = field(default_factory=dict)
    path: str = LOCK_FILE

    def add(self, source: ModelSource, info: ModelInfo) -> None:
        self.entries[source_key(source)] = info


def lookup(lock: Lock, source: ModelSource) -> ModelInfo | None:
    """The locked ModelInfo for exactly this source (same repository, revision and file)."""
    return lock.entries.get(source_key(source))


def check(lock: Lock, sources: dict[str, ModelSource]) -> list[Diagnostic]:
    """Warnings for deployments (name → source) whose model is not locked or locked stale."""
    problems: list[Diagnostic] = []
    for name, source in sorted(sources.items()):
        if lookup(lock, source) is not None:
            continue
        same_repo = [key for key in lock.entries if key[:2] == source_key(source)[:2]]
        if same_repo:
            _, ref, revision, file = same_repo[0]
            message = (
                f"deployment {name}: the lock pins {source.kind}:{ref} for revision {revision or 'default'}"
                + (f", file {file}" if file else "")
                + f"; the spec now asks for revision {source.revision or 'default'}"
                + (f", file {source.file}" if source.file else "")
            )
            code = "lock-stale"
        else:
            message = f"deployment {name}: model {source.kind}:{source.ref} is not in {lock.path}"
            code = "lock-missing"
        problems.append(
            Diagnostic(
                message,
                location=Location(file=lock.path),
                hint="run `gpuctl lock` to pin it (plans then need no network for it)",
                severity="warning",
                code=code,
            )
        )
    return problems


def load_lock(path: str | Path) -> Lock:
    """Read a lock file; a missing file is an empty lock, a damaged one an error."""
    import yaml

    path = Path(path)
    if not path.exists():
        return Lock(path=str(path))
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise _damaged(path, f"cannot be read as YAML ({exc})") from exc
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise _damaged(path, f"is not a version {VERSION} gpuctl lock")
    lock = Lock(path=str(path))
    for index, entry in enumerate(data.get("models") or []):
        try:
            source = ModelSource.model_validate(entry["source"])
            lock.add(source, ModelInfo.model_validate(entry["info"]))
        except (KeyError, TypeError, ValidationError) as exc:
            raise _damaged(path, f"has an unreadable entry #{index + 1} ({exc.__class__.__name__})") from exc
    return lock


def dump_lock(lock: Lock) -> str:
    """The lock as YAML, entries and keys sorted so that unchanged models give unchanged text."""
    import yaml

    models = []
    for key in sorted(lock.entries, key=lambda k: tuple(part or "" for part in k)):
        kind, ref, revision, file = key
        source = ModelSource.model_validate({kind: ref, "revision": revision, "file": file})
        info = lock.entries[key].model_dump(mode="json", exclude={"files"}, exclude_defaults=True)
        models.append({"source": _source_dict(source), "info": info})
    return HEADER + yaml.safe_dump({"version": VERSION, "models": models}, sort_keys=True, width=100)


def write_lock(lock: Lock, path: str | Path | None = None) -> Path:
    target = Path(path or lock.path)
    temporary = target.with_name(target.name + ".tmp")
    temporary.write_text(dump_lock(lock))
    temporary.replace(target)
    return target


def _damaged(path: Path, what: str) -> GpuctlError:
    return GpuctlError(
        Diagnostic(
            f"lock file {what}",
            location=Location(file=str(path)),
            hint="regenerate it with `gpuctl lock` (or delete it)",
            code="lock-invalid",
        )
    )
