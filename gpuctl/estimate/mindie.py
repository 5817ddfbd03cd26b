"""MindIE (Ascend NPUs) memory, estimated like vLLM: `npu_memory_fraction` of each NPU holds the
weights, a runtime allowance and the KV cache, in blocks of `--cache-block-size` (128) tokens.

There are no MindIE measurements to calibrate against: the runtime allowance
(constants.MINDIE_RUNTIME_OVERHEAD) is an assumption covering the CANN runtime, HCCL buffers and
activations, and every estimate says so in its notes.

Pure.
"""

from __future__ import annotations

from gpuctl.estimate import constants as c
from gpuctl.estimate.kv import kv_dtype_bytes
from gpuctl.estimate.pool import Engine, pool_estimate
from gpuctl.estimate.types import Estimate, EstimateRequest
from gpuctl.estimate.vllm import default_context, stages_for
from gpuctl.estimate.weights import DTYPE_BYTES, layout, runtime_dtype
from gpuctl.models.info import ModelInfo

DEFAULT_NPU_MEMORY_FRACTION = 0.9
CACHE_BLOCK_SIZE = 128


def estimate_mindie(model: ModelInfo, request: EstimateRequest) -> Estimate:
    dtype = runtime_dtype(model, request.dtype)
    dtype_bytes = DTYPE_BYTES.get(dtype, 2)
    weights = layout(model, dtype, request.quantization)
    engine = Engine(
        name="mindie",
        fraction=request.memory_fraction or DEFAULT_NPU_MEMORY_FRACTION,
        block_size=CACHE_BLOCK_SIZE,
        extra_claim=0,
        window=model.sliding_window,
        batched_tokens=request.max_batched_tokens or 8192,
    )
    kv_bytes = kv_dtype_bytes(request.kv_cache_dtype, dtype_bytes)
    stages = stages_for(
        model, request, weights, dtype_bytes, kv_bytes, int(c.MINDIE_RUNTIME_OVERHEAD), with_activation=False
    )
    context, reason = default_context(model, request.context_length)
    notes = [
        f"dtype {dtype}; MindIE is estimated like vLLM with an assumed "
        f"{c.MINDIE_RUNTIME_OVERHEAD / c.GiB:g} GiB runtime allowance (no MindIE measurements yet)"
    ]
    return pool_estimate(model, request, engine, stages, context=context, context_reason=reason, notes=notes)
