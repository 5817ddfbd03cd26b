"""SGLang memory: a static pool of `mem_fraction_static` × device memory holds weights and the
token-granular KV pool; activations and CUDA graphs live in the rest.

    KV pool = mem_fraction_static × total − weights − runtime overhead      (per device)
    tokens  = KV pool ÷ KV bytes per token                                  (page size 1)

The runtime overhead (CUDA context, NCCL, what was in use when SGLang measured) is calibrated in
constants.py. Without `--context-length` SGLang runs the model's full context; when that does
not fit, gpuctl (like GPUStack) starts it with 8192.

Pure.
"""

from __future__ import annotations

from gpuctl.estimate import constants as c
from gpuctl.estimate.kv import kv_dtype_bytes
from gpuctl.estimate.pool import Engine, pool_estimate
from gpuctl.estimate.types import Estimate, EstimateRequest
from gpuctl.estimate.vllm import DEFAULT_CONTEXT_CAP, stages_for
from gpuctl.estimate.weights import DTYPE_BYTES, layout, runtime_dtype
from gpuctl.models.info import ModelInfo

DEFAULT_MEM_FRACTION_STATIC = 0.9


def estimate_sglang(model: ModelInfo, request: EstimateRequest) -> Estimate:
    dtype = runtime_dtype(model, request.dtype)
    dtype_bytes = DTYPE_BYTES.get(dtype, 2)
    weights = layout(model, dtype, request.quantization)
    kv_bytes = kv_dtype_bytes(request.kv_cache_dtype, dtype_bytes)
    engine = Engine(
        name="sglang",
        fraction=request.memory_fraction or DEFAULT_MEM_FRACTION_STATIC,
        block_size=1,
        extra_claim=int(c.CUDA_GRAPH_MEMORY),
        window=model.sliding_window,
        batched_tokens=request.max_batched_tokens or 8192,
    )
    stages = stages_for(
        model, request, weights, dtype_bytes, kv_bytes, int(c.SGLANG_RUNTIME_OVERHEAD), with_activation=False
    )
    notes = [f"dtype {dtype}, KV cache {request.kv_cache_dtype}"]

    def run(context: int, reason: str) -> Estimate:
        return pool_estimate(
            model, request, engine, stages, context=context, context_reason=reason, notes=list(notes)
        )

    if request.context_length:
        return run(request.context_length, "set by the deployment")
    maximum = model.max_context or DEFAULT_CONTEXT_CAP
    full = run(maximum, f"model maximum {maximum}")
    if full.verdict != "context-too-long" or maximum <= DEFAULT_CONTEXT_CAP:
        return full
    return run(
        DEFAULT_CONTEXT_CAP,
        f"model maximum {maximum} does not fit: gpuctl starts SGLang with "
        f"--context-length {DEFAULT_CONTEXT_CAP}",
    )
