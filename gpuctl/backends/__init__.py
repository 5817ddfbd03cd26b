"""Backends: from (deployment, model, placement, host facts) to container specs. Pure, no I/O.

The planner calls, in this order:

- `select_backend(spec, model)` → (backend, the rule that chose it);
- `check_parameters(deployment, backend)` → diagnostics visible before any placement;
- `host_incompatibility` / `device_incompatibility` / `parallelism_incompatibility` and
  `default_selector` while filtering candidates;
- `estimate_request(...)` → what the estimator is asked for a candidate;
- `render(deployment, cluster, model, placement, hosts)` → one ContainerSpec per worker.

One module per backend (vllm, sglang, mindie, voxbox, llama_box) implements `check`,
`estimate_options` and `render`; `common` holds what they share.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import ModuleType

from gpuctl.backends import common, images, llama_box, mindie, params, sglang, vllm, voxbox
from gpuctl.backends.compat import (
    default_selector,
    device_incompatibility,
    host_incompatibility,
    model_incompatibility,
    parallelism_incompatibility,
)
from gpuctl.backends.selection import VOXBOX_MODELS, select_backend, voxbox_model
from gpuctl.backends.types import ContainerSpec
from gpuctl.errors import Diagnostic, GpuctlError
from gpuctl.estimate.types import EstimateRequest
from gpuctl.facts import HostFacts
from gpuctl.models.info import ModelInfo
from gpuctl.schedule.types import Placement
from gpuctl.spec.models import Cluster, ModelDeployment

__all__ = [
    "VOXBOX_MODELS",
    "check_parameters",
    "default_selector",
    "device_incompatibility",
    "estimate_request",
    "host_incompatibility",
    "model_incompatibility",
    "parallelism_incompatibility",
    "render",
    "select_backend",
    "voxbox_model",
]

BACKENDS: dict[str, ModuleType] = {
    "vllm": vllm,
    "sglang": sglang,
    "mindie": mindie,
    "voxbox": voxbox,
    "llama-box": llama_box,
}


def _module(backend: str) -> ModuleType:
    try:
        return BACKENDS[backend]
    except KeyError:
        raise GpuctlError(
            Diagnostic(
                f"unknown backend {backend!r}",
                hint=f"use one of {', '.join(BACKENDS)}",
                code="backend-unknown",
            )
        ) from None


def check_parameters(deployment: ModelDeployment, backend: str) -> list[Diagnostic]:
    """Parameter and environment problems independent of placement: ill-formed or unknown flags
    (MindIE and VoxBox have closed flag sets), MindIE ranges and exclusive features, values that
    contradict what gpuctl owns (served name, the model), refused environment variables."""
    parsed, problems = params.parse(deployment.spec.parameters)
    module = _module(backend)
    refused_env = getattr(module, "REFUSED_ENV", {})
    return problems + module.check(deployment, parsed) + common.env_checks(deployment.spec, refused_env)


def estimate_request(
    deployment: ModelDeployment,
    model: ModelInfo,
    backend: str,
    device_memory: tuple[int, ...],
    tensor_parallel: int,
    pipeline_parallel: int,
    host_memory: int | None,
) -> EstimateRequest:
    """What to ask the estimator for one candidate: the user's parameters that change memory
    (memory fraction, context length, KV cache dtype, batched tokens) and the placement options."""
    parsed, problems = params.parse(deployment.spec.parameters)
    common.fail_on(problems)
    options = _module(backend).estimate_options(parsed, model, deployment)
    spec = deployment.spec
    # The estimate follows the engine version that will run: an explicit image's is unknown.
    version = spec.backend_version or (None if spec.image else images.DEFAULT_VERSIONS.get(backend))
    return EstimateRequest(
        backend=backend,  # type: ignore[arg-type]
        device_memory=device_memory,
        tensor_parallel=tensor_parallel,
        pipeline_parallel=pipeline_parallel,
        cpu_offload=deployment.spec.placement.cpu_offload,
        host_memory=host_memory,
        backend_version=version,
        **{key: value for key, value in options.items() if value is not None},
    )


def render(
    deployment: ModelDeployment,
    cluster: Cluster,
    model: ModelInfo,
    placement: Placement,
    hosts: Mapping[str, HostFacts],
) -> list[ContainerSpec]:
    """One ContainerSpec per worker of the placement; conflicts raise GpuctlError."""
    parsed, problems = params.parse(deployment.spec.parameters)
    common.fail_on(problems)
    ctx = common.Context(deployment, cluster, model, placement, hosts, parsed)
    renderer: Callable[[common.Context], list[ContainerSpec]] = _module(placement.backend).render
    return renderer(ctx)
