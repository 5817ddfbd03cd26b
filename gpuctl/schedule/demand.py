"""What one deployment asks of a device set: the estimator and the backend, asked once per shape.

The scheduler tries many device sets; the memory a deployment needs depends only on the devices'
totals, the parallel sizes and the deployment's own parameters, so each question is asked once and
remembered. Deployments of the same model with the same relevant parameters build equal (hashable)
estimate requests and share one answer through `EstimateCache`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gpuctl import backends
from gpuctl import estimate as estimator
from gpuctl.estimate.types import Estimate, EstimateRequest
from gpuctl.facts import Device, HostFacts
from gpuctl.models.info import ModelInfo
from gpuctl.spec.models import Cluster, ModelDeployment
from gpuctl.spec.models import Placement as PlacementSpec

OFFLOAD_BACKENDS = frozenset({"llama-box", "voxbox"})
"""Backends that can run layers (llama-box) or the whole model (VoxBox) on the CPU."""

TENSOR_PARALLEL_FLAGS = {
    "vllm": ("--tensor-parallel-size", "-tp"),
    "sglang": ("--tp-size", "--tensor-parallel-size"),
    "mindie": ("--tensor-parallel-size", "-tp"),
}


def model_key(model: ModelInfo) -> tuple[str | None, ...]:
    """What identifies a model's estimates: its source, revision and chosen files."""
    return (
        model.source,
        model.revision,
        model.gguf.name if model.gguf else None,
        model.mmproj.name if model.mmproj else None,
    )


class EstimateCache:
    """Estimates by (model, request): one plan asks each distinct question once."""

    def __init__(self) -> None:
        self._answers: dict[tuple[object, ...], Estimate] = {}
        self.asked = 0

    def get(self, model: ModelInfo, request: EstimateRequest) -> Estimate:
        key = (model_key(model), request)
        answer = self._answers.get(key)
        if answer is None:
            self.asked += 1
            answer = self._answers[key] = estimator.estimate(model, request)
        return answer


def requested_tensor_parallel(deployment: ModelDeployment, backend: str) -> int | None:
    """A tensor-parallel size the user set in `parameters` (the placement must then agree)."""
    flags = TENSOR_PARALLEL_FLAGS.get(backend, ())
    params = deployment.spec.parameters
    for i, param in enumerate(params):
        name, eq, value = param.partition("=")
        if name in flags:
            if not eq:
                value = params[i + 1] if i + 1 < len(params) else ""
            try:
                size = int(value)
            except ValueError:
                return None
            return size if size > 0 else None
    return None


@dataclass
class Demand:
    """One deployment, its model and backend, and what it needs on each device set asked about."""

    deployment: ModelDeployment
    cluster: Cluster
    model: ModelInfo
    backend: str
    backend_reason: str
    cache: EstimateCache
    tensor_parallel: int | None = None
    """Fixed by the user's parameters, or None: the scheduler chooses."""
    _estimates: dict[tuple[object, ...], Estimate] = field(default_factory=dict)
    _parallel: dict[tuple[int, int], str | None] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.deployment.metadata.name

    @property
    def placement(self) -> PlacementSpec:
        return self.deployment.spec.placement

    @property
    def may_offload(self) -> bool:
        return self.placement.cpu_offload and self.backend in OFFLOAD_BACKENDS

    @property
    def selector(self) -> dict[str, str]:
        """Host labels required: the backend's defaults (vLLM: linux/amd64) under the user's."""
        return {**backends.default_selector(self.backend), **self.placement.selector}

    @property
    def identity(self) -> tuple[object, ...]:
        """Deployments with equal identity get equal filter verdicts."""
        selector = tuple(sorted(self.selector.items()))
        return (self.cluster.metadata.name, selector, self.backend, *model_key(self.model))

    def parallel_problem(self, tensor_parallel: int, pipeline_parallel: int = 1) -> str | None:
        """Why this split cannot serve the model (heads, vocabulary), or None."""
        key = (tensor_parallel, pipeline_parallel)
        if key not in self._parallel:
            problem = None
            fixed = self.tensor_parallel
            if fixed is not None and fixed != tensor_parallel:
                problem = f"parameters ask for tensor parallel size {fixed}"
            else:
                problem = backends.parallelism_incompatibility(
                    self.backend, self.model, tensor_parallel, pipeline_parallel
                )
            self._parallel[key] = problem
        return self._parallel[key]

    def host_problem(self, host: HostFacts) -> str | None:
        return backends.host_incompatibility(self.backend, self.model, host)

    def device_problem(self, device: Device) -> str | None:
        return backends.device_incompatibility(self.backend, device)

    def estimate(
        self,
        device_memory: tuple[int, ...],
        tensor_parallel: int = 1,
        pipeline_parallel: int = 1,
        *,
        offload: bool = False,
        host_memory: int | None = None,
    ) -> Estimate:
        """The estimate on these devices: whole model on the devices unless `offload`."""
        key = (device_memory, tensor_parallel, pipeline_parallel, offload, host_memory)
        found = self._estimates.get(key)
        if found is None:
            request = backends.estimate_request(
                self.deployment,
                self.model,
                self.backend,
                device_memory,
                tensor_parallel,
                pipeline_parallel,
                host_memory if offload else None,
            )
            request = request.model_copy(
                update={"cpu_offload": offload, "host_memory": host_memory if offload else None}
            )
            found = self._estimates[key] = self.cache.get(self.model, request)
        return found


def claim_of(est: Estimate) -> int:
    """Bytes the deployment claims on each of its devices."""
    return est.per_device.total if est.per_device is not None else 0
