"""vLLM (V1 engine) memory: what `vllm serve` will log at start-up.

    Model loading took W GiB                         → weights (weights.py)
    torch peak memory increase A / non-torch N        → activation(), non_torch()
    Available KV cache memory: P GiB                  → gmu × total − W − A − N
    GPU KV cache size: T tokens                       → pool.py

The activation peak is vLLM's profile run: a dummy forward pass over `max_num_batched_tokens`
tokens, then a dummy sampler run over `max_num_seqs` sequences whose logits (vocabulary-wide,
in fp32 as well) dominate for large vocabularies; fused-MoE workspaces and the multimodal encoder
profile add to it. Before vLLM 0.8 (the V0 engine) the profile run is not chunked: it is a forward
pass over the whole context. What the profile holds changed between versions (sampler kernels,
all-reduce buffers), so `backend_version` picks the calibration; None means the newest. All
constants are in constants.py with their source rows.

Pure.
"""

from __future__ import annotations

import re

from gpuctl.estimate import constants as c
from gpuctl.estimate.gpus import compute_capability
from gpuctl.estimate.kv import kv_dtype_bytes, layer_bytes_per_token, stage_groups
from gpuctl.estimate.pool import Engine, Stage, pool_estimate
from gpuctl.estimate.types import Estimate, EstimateRequest
from gpuctl.estimate.weights import DTYPE_BYTES, WeightLayout, layout, pp_layer_range, runtime_dtype
from gpuctl.models.info import ModelInfo

DEFAULT_GPU_MEMORY_UTILIZATION = 0.9
DEFAULT_CONTEXT_CAP = 8192
"""GPUStack (and gpuctl) start vLLM with `--max-model-len 8192` when the model allows more and
the user set nothing."""


def version_tuple(version: str | None) -> tuple[int, ...] | None:
    """ "v0.11.0" → (0, 11, 0); None when absent or unparseable."""
    if not version:
        return None
    numbers = re.findall(r"\d+", version.split("+")[0])
    return tuple(int(n) for n in numbers[:3]) if numbers else None


def default_context(
    model: ModelInfo, requested: int | None, cap: int = DEFAULT_CONTEXT_CAP
) -> tuple[int, str]:
    """The context the backend starts with, and why."""
    if requested:
        return requested, "set by the deployment"
    maximum = model.max_context
    if maximum is None:
        return 2048, "the config names no context length: vLLM assumes 2048"
    if maximum > cap:
        return cap, f"model maximum {maximum} > {cap}: gpuctl starts it with {cap}"
    return maximum, f"model maximum {maximum}"


def is_large_gpu(request: EstimateRequest) -> bool:
    total = min(request.device_memory) if request.device_memory else 0
    return total >= c.LARGE_GPU and "a100" not in (request.device_name or "").lower()


def is_v0(request: EstimateRequest) -> bool:
    """The deployment runs vLLM's V0 engine (before 0.8)."""
    version = version_tuple(request.backend_version)
    return version is not None and version < c.V0_ENGINE_BEFORE


def scheduler_budget(request: EstimateRequest, context: int | None = None) -> tuple[int, int]:
    """(max_num_batched_tokens, max_num_seqs) vLLM starts with: the request's, else the defaults
    of its engine (V0: the whole context unless it exceeds 32K; V1: by GPU size)."""
    if is_v0(request):
        full = max(context or 0, c.V0_CHUNKED_TOKENS)
        tokens = request.max_batched_tokens or (
            c.V0_CHUNKED_TOKENS if (context or 0) > c.V0_CHUNKED_CONTEXT else full
        )
        return tokens, min(request.max_num_seqs or c.V0_MAX_SEQS, tokens)
    large = is_large_gpu(request)
    tokens = request.max_batched_tokens or c.DEFAULT_BATCHED_TOKENS[large]
    return tokens, min(request.max_num_seqs or c.DEFAULT_MAX_SEQS[large], tokens)


def sampler_bytes_per_logit(request: EstimateRequest) -> float:
    """Bytes per logit the dummy sampler run holds beyond the model-dtype logits."""
    version = version_tuple(request.backend_version)
    if version is None or version >= c.ACTIVATION_PROFILE_CHANGE:
        return c.SAMPLER_BYTES_PER_LOGIT
    first, end = c.FLASHINFER_SAMPLER_VERSIONS
    if first <= version < end:
        return c.FLASHINFER_SAMPLER_BYTES_PER_LOGIT
    return c.SAMPLER_BYTES_PER_LOGIT_BEFORE_0_17


def activation(
    model: ModelInfo,
    request: EstimateRequest,
    dtype_bytes: int,
    *,
    first_stage: bool,
    last_stage: bool,
    context: int | None = None,
) -> int:
    """vLLM's profiled activation peak on one device of a stage (`context`: the max_model_len,
    which sizes V0's profile run)."""
    tokens, seqs = scheduler_budget(request, context)
    tp = request.tensor_parallel
    hidden = model.hidden_size or 0
    inter = model.intermediate_size or model.moe_intermediate_size or 4 * hidden
    version = version_tuple(request.backend_version)
    old = version is not None and version < c.ACTIVATION_PROFILE_CHANGE
    if is_v0(request):
        per_token = inter / tp * c.V0_FORWARD_COPIES + hidden * c.V0_FORWARD_HIDDEN_COPIES
        forward = c.V0_FORWARD_BASE + tokens * per_token * dtype_bytes
    else:
        forward = c.FORWARD_BASE + tokens * inter / tp * dtype_bytes * c.FORWARD_COPIES
    if not last_stage:
        forward += c.PP_SEND_COPIES * tokens * hidden * dtype_bytes
    peak = forward
    if last_stage and model.category not in ("embedding", "reranker"):
        sampler = seqs * (model.vocab_size or 0) * (dtype_bytes + sampler_bytes_per_logit(request))
        sampler += tokens * hidden * dtype_bytes * c.HIDDEN_COPIES + c.ACTIVATION_BASE
        peak = max(peak, sampler)
    if model.num_experts and model.num_experts_per_token and model.moe_intermediate_size and not old:
        expert = model.moe_intermediate_size / tp
        peak += tokens * model.num_experts_per_token * (max(2 * expert, hidden) + expert) * dtype_bytes
    if first_stage and (model.vision is not None or model.category in ("vision-language", "omni")):
        peak += c.VLM_PROFILE_ACTIVATION
    return int(peak)


def large_tp_buffers(request: EstimateRequest) -> bool:
    """vLLM allocates its ~2 GiB tensor-parallel buffers: from NON_TORCH_TP_CHANGE on, on Hopper
    and newer GPUs (or GPUs it cannot name)."""
    version = version_tuple(request.backend_version)
    if version is not None and version < c.NON_TORCH_TP_CHANGE:
        return False
    capability = compute_capability(request.device_name)
    return capability is None or capability >= 9.0


def pcie_only(device_name: str | None) -> bool:
    """A product line without NVLink all-reduce (L40S, L4, A10, GeForce/RTX: compute capability
    7.5, 8.6, 8.9); unknown GPUs count as NVLink ones."""
    return compute_capability(device_name) in (7.5, 8.6, 8.9)


def non_torch(request: EstimateRequest) -> int:
    if request.tensor_parallel > 1:
        if large_tp_buffers(request):
            return int(c.NON_TORCH_TP_BASE + c.NON_TORCH_TP_PER_RANK * request.tensor_parallel)
        return int(c.NON_TORCH_TP_PCIE if pcie_only(request.device_name) else c.NON_TORCH_TP_SMALL)
    version = version_tuple(request.backend_version)
    if version is not None and version < (0, 18):
        return int(c.NON_TORCH_SINGLE_GPU_BEFORE_0_18)
    return int(c.NON_TORCH_SINGLE_GPU)


def mxfp4_on_marlin(request: EstimateRequest) -> bool:
    """MXFP4 experts run on the Marlin kernels (GPUs without FP4 support, compute capability < 9)."""
    capability = compute_capability(request.device_name)
    return capability is not None and capability < 9.0


def stages_for(
    model: ModelInfo,
    request: EstimateRequest,
    weights: WeightLayout,
    dtype_bytes: int,
    kv_bytes: int,
    overhead: int,
    *,
    with_activation: bool = True,
    context: int | None = None,
) -> list[Stage]:
    """Per-stage weights, activations and KV layout under the request's TP × PP."""
    tp, pp = request.tensor_parallel, request.pipeline_parallel
    layers = model.num_layers or weights.layers
    layer_bytes = layer_bytes_per_token(model, tp, kv_bytes)
    result = []
    for stage in range(pp):
        start, end = pp_layer_range(layers, pp, stage)
        act = (
            activation(
                model,
                request,
                dtype_bytes,
                first_stage=stage == 0,
                last_stage=stage == pp - 1,
                context=context,
            )
            if with_activation
            else 0
        )
        result.append(
            Stage(
                weights=weights.stage_bytes(tp, pp, stage),
                activation=act,
                overhead=overhead,
                groups=stage_groups(model, start, end),
                layer_bytes=layer_bytes,
            )
        )
    return result


def estimate_vllm(model: ModelInfo, request: EstimateRequest) -> Estimate:
    dtype = runtime_dtype(model, request.dtype)
    dtype_bytes = DTYPE_BYTES.get(dtype, 2)
    weights = layout(model, dtype, request.quantization, mxfp4_marlin=mxfp4_on_marlin(request))
    context, reason = default_context(model, request.context_length)
    notes = [f"dtype {dtype}, KV cache {request.kv_cache_dtype}"]
    if model.max_context and context > model.max_context:
        notes.append(
            f"context {context} exceeds the model's maximum {model.max_context}: vLLM refuses it unless "
            "VLLM_ALLOW_LONG_MAX_MODEL_LEN=1"
        )
    kv_bytes = kv_dtype_bytes(request.kv_cache_dtype, dtype_bytes)
    batched_tokens, _ = scheduler_budget(request, context)
    engine = Engine(
        name="vllm",
        fraction=request.memory_fraction or DEFAULT_GPU_MEMORY_UTILIZATION,
        block_size=c.BLOCK_SIZE,
        extra_claim=int(c.CUDA_GRAPH_MEMORY),
        window=model.sliding_window,
        batched_tokens=batched_tokens,
    )
    stages = stages_for(model, request, weights, dtype_bytes, kv_bytes, non_torch(request), context=context)
    return pool_estimate(model, request, engine, stages, context=context, context_reason=reason, notes=notes)
