"""The memory estimator: `estimate(model, request) -> Estimate`, pure and fast.

One function per backend: vLLM (vllm.py), SGLang (sglang.py), MindIE (mindie.py), llama-box for
GGUF models (llamabox.py), VoxBox and diffusion pipelines (simple.py). Results are cached per
model object and request (both immutable), because the scheduler asks the same question for
every candidate device set of the same shape; constants and their sources are in constants.py.
"""

from __future__ import annotations

from gpuctl.errors import Diagnostic, GpuctlError
from gpuctl.estimate.types import DeviceBreakdown, Estimate, EstimateRequest
from gpuctl.models.info import ModelInfo

__all__ = ["DeviceBreakdown", "Estimate", "EstimateRequest", "estimate"]

_CACHE: dict[int, tuple[ModelInfo, dict[EstimateRequest, Estimate]]] = {}
_CACHE_MODELS = 4096


def estimate(model: ModelInfo, request: EstimateRequest) -> Estimate:
    """Memory one replica of `model` needs with `request`'s backend, devices and settings."""
    entry = _CACHE.get(id(model))
    if entry is None or entry[0] is not model:
        if len(_CACHE) >= _CACHE_MODELS:
            _CACHE.clear()
        entry = (model, {})
        _CACHE[id(model)] = entry
    results = entry[1]
    result = results.get(request)
    if result is None:
        result = results[request] = _estimate(model, request)
    return result


def _estimate(model: ModelInfo, request: EstimateRequest) -> Estimate:
    if request.backend == "llama-box":
        if model.gguf is None:
            raise _unsupported(
                model, "llama-box runs GGUF models; set `file` to a GGUF file of the repository"
            )
        from gpuctl.estimate.llamabox import estimate_llama_box

        return estimate_llama_box(model, request)
    if request.backend == "voxbox" or model.category == "image":
        from gpuctl.estimate.simple import estimate_weights_plus_overhead

        return estimate_weights_plus_overhead(model, request)
    if model.params is None and not model.weight_bytes:
        raise _unsupported(
            model,
            "its config is not known here (a local path read on the host, or an unresolved model); "
            "run `gpuctl lock` where the files are readable, or pass --config",
        )
    if model.params is None and (model.num_layers is None or model.hidden_size is None):
        raise _unsupported(model, "the KV cache needs the model's layer count and sizes from config.json")
    if request.backend == "sglang":
        from gpuctl.estimate.sglang import estimate_sglang

        return estimate_sglang(model, request)
    if request.backend == "mindie":
        from gpuctl.estimate.mindie import estimate_mindie

        return estimate_mindie(model, request)
    from gpuctl.estimate.vllm import estimate_vllm

    return estimate_vllm(model, request)


def _unsupported(model: ModelInfo, why: str) -> GpuctlError:
    return GpuctlError(
        Diagnostic(f"cannot estimate the memory of model {model.source}: {why}", code="estimate-unsupported")
    )
