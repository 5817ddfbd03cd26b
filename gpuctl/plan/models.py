"""Each deployment's model for a plan: from gpuctl.lock when it has the entry (no network), else
resolved from its hub now. Missing and stale entries are reported; a model that cannot be
resolved makes its deployment unplannable (its running containers are then left alone).
"""

from __future__ import annotations

import os
from pathlib import Path

from gpuctl.errors import Diagnostic, GpuctlError, Location
from gpuctl.models.info import ModelInfo
from gpuctl.spec.models import ModelDeployment, ModelSource


def hub_token(source: ModelSource, deployment: ModelDeployment) -> str | None:
    """The hub token: the deployment's secret reference for it, else the usual variable."""
    variable = "HF_TOKEN" if source.kind == "huggingface" else "MODELSCOPE_API_TOKEN"
    reference = deployment.spec.secrets.get(variable)
    return os.environ.get(reference.from_env if reference is not None else variable) or None


def load_models(
    deployments: list[ModelDeployment], lock_path: Path, locations: dict[str, Location]
) -> tuple[dict[str, ModelInfo], list[Diagnostic]]:
    from gpuctl.models.lock import check, load_lock, lookup

    lock = load_lock(lock_path)
    problems = check(lock, {d.metadata.name: d.spec.model for d in deployments})
    models: dict[str, ModelInfo] = {}
    for deployment in deployments:
        name, source = deployment.metadata.name, deployment.spec.model
        info = lookup(lock, source)
        if info is None:
            from gpuctl.models.resolve import resolve

            try:
                info = resolve(source, hub_token(source, deployment))
            except GpuctlError as error:
                where = locations.get(name, Location())
                problems += [
                    Diagnostic(
                        f"deployment {name}: {d.message}; it is not planned",
                        location=where,
                        path="spec.model",
                        hint=d.hint or "run `gpuctl lock` where the hub is reachable",
                        code=d.code or "model",
                    )
                    for d in error.diagnostics
                ]
                continue
        models[name] = info
    return models, problems
