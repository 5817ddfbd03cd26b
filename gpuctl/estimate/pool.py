"""The KV-pool engines (vLLM, SGLang, MindIE): a fraction of each device is the budget; weights,
activations and runtime overhead come off it; the rest becomes KV blocks.

    pool   = fraction × device total − weights − activation − overhead      (per device)
    blocks = ⌊pool ÷ (block size × layer slots × KV bytes per layer and token)⌋
    tokens = ⌊blocks ÷ groups⌋ × block size                                 (vLLM's "GPU KV cache size")

With pipeline parallelism every stage computes its own pool and the engine keeps the smallest
block count. The engine starts only if one request of the configured context fits; the largest
context that would fit is reported either way.

Pure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gpuctl.estimate.kv import KvGroups, blocks_per_request
from gpuctl.estimate.types import DeviceBreakdown, Estimate, EstimateRequest, Verdict
from gpuctl.models.info import ModelInfo


@dataclass(frozen=True, slots=True)
class Stage:
    """One pipeline stage's devices (all alike)."""

    weights: int
    activation: int
    overhead: int
    """Runtime memory inside the budget that is neither weights nor activations."""
    groups: KvGroups
    layer_bytes: int
    """KV bytes per layer and token on one device."""

    @property
    def block_bytes_per_token(self) -> int:
        return self.groups.group_size * self.layer_bytes


@dataclass(frozen=True, slots=True)
class Engine:
    name: str
    fraction: float
    block_size: int
    extra_claim: int
    """Memory claimed outside the budget (vLLM's CUDA graphs)."""
    window: int | None
    batched_tokens: int


def pool_estimate(
    model: ModelInfo,
    request: EstimateRequest,
    engine: Engine,
    stages: list[Stage],
    *,
    context: int,
    context_reason: str,
    notes: list[str],
) -> Estimate:
    devices = len(request.device_memory)
    tp, pp = request.tensor_parallel, request.pipeline_parallel
    if not devices:
        return _no_devices(engine.name, request, context, context_reason, notes)
    budget = int(engine.fraction * min(request.device_memory))
    pools = [budget - s.weights - s.activation - s.overhead for s in stages]
    has_kv = model.kv_cache and all(s.groups.group_size for s in stages)
    if has_kv:
        blocks = [
            max(0, pool) // (engine.block_size * s.block_bytes_per_token)
            for pool, s in zip(pools, stages, strict=True)
        ]
        num_blocks = min(blocks)
        binding = blocks.index(num_blocks)
    else:
        num_blocks = 0
        binding = pools.index(min(pools))
    stage = stages[binding]
    groups = stage.groups
    per_request = (
        blocks_per_request(groups, context, engine.block_size, engine.window, engine.batched_tokens)
        if has_kv
        else 0
    )
    block_bytes = engine.block_size * stage.block_bytes_per_token
    kv_pool_bytes = num_blocks * block_bytes if has_kv else 0
    tokens = num_blocks // len(groups.kinds) * engine.block_size if has_kv else None
    model_max = model.max_context or context

    verdict: Verdict
    if min(pools) <= 0:
        verdict, largest = "does-not-fit", None
        notes.append(
            f"weights, activations and runtime overhead ({_gib(max(budget - p for p in pools))}) exceed "
            f"the {engine.fraction:g} × {_gib(min(request.device_memory))} budget of a device"
        )
    elif not has_kv:
        verdict, largest = "fits", model_max
    else:
        largest = _largest_context(groups, engine, num_blocks, model_max)
        verdict = "fits" if per_request <= num_blocks else "context-too-long"
        if largest is None:
            verdict = "does-not-fit"
            notes.append("the KV cache pool cannot hold a single block per layer group")
        elif verdict == "context-too-long":
            notes.append(
                f"one {context}-token request needs {per_request} KV blocks; the pool holds {num_blocks}"
            )

    required = max(
        math.ceil(
            (
                s.weights
                + s.activation
                + s.overhead
                + per_request * engine.block_size * s.block_bytes_per_token
            )
            / engine.fraction
        )
        for s in stages
    )
    breakdowns = [
        _breakdown(s, num_blocks * engine.block_size * s.block_bytes_per_token if has_kv else 0, engine)
        for s in stages
    ]
    per_device = breakdowns[binding]
    return Estimate(
        backend=engine.name,
        devices=devices,
        tensor_parallel=tp,
        pipeline_parallel=pp,
        context_length=context,
        context_length_reason=context_reason,
        per_device=per_device,
        device_breakdowns=[b for b in breakdowns for _ in range(tp)] if pp > 1 else [],
        required_per_device=required,
        kv_bytes_per_token=groups.slots * stage.layer_bytes if has_kv else None,
        kv_pool_bytes=kv_pool_bytes if has_kv else None,
        kv_pool_tokens=tokens,
        max_concurrency=round(num_blocks / per_request, 2) if has_kv and per_request else None,
        verdict=verdict,
        max_context_that_fits=largest,
        gpu_layers=None,
        total_layers=model.num_layers,
        cpu_memory=0,
        on_cpu=False,
        notes=notes,
    )


def _largest_context(groups: KvGroups, engine: Engine, num_blocks: int, model_max: int) -> int | None:
    """Largest context (a whole number of blocks, at most the model's maximum) whose one request
    fits in `num_blocks`."""

    def fits(context: int) -> bool:
        return (
            blocks_per_request(groups, context, engine.block_size, engine.window, engine.batched_tokens)
            <= num_blocks
        )

    if fits(model_max):
        return model_max
    low, high = 0, model_max  # fits(low) holds (0 tokens), fits(high) does not
    while high - low > engine.block_size:
        middle = (low + high) // 2 // engine.block_size * engine.block_size
        if middle <= low:
            break
        low, high = (middle, high) if fits(middle) else (low, middle)
    return low or None


def _breakdown(stage: Stage, kv_bytes: int, engine: Engine) -> DeviceBreakdown:
    overhead = stage.overhead + engine.extra_claim
    return DeviceBreakdown(
        weights=stage.weights,
        kv_cache=kv_bytes,
        activation=stage.activation,
        overhead=overhead,
        total=stage.weights + kv_bytes + stage.activation + overhead,
    )


def _no_devices(
    backend: str, request: EstimateRequest, context: int, reason: str, notes: list[str]
) -> Estimate:
    notes.append(f"{backend} needs accelerators; the request names no device")
    return Estimate(
        backend=backend,
        devices=0,
        tensor_parallel=request.tensor_parallel,
        pipeline_parallel=request.pipeline_parallel,
        context_length=context,
        context_length_reason=reason,
        per_device=None,
        device_breakdowns=[],
        required_per_device=0,
        kv_bytes_per_token=None,
        kv_pool_bytes=None,
        kv_pool_tokens=None,
        max_concurrency=None,
        verdict="does-not-fit",
        max_context_that_fits=None,
        gpu_layers=None,
        total_layers=None,
        cpu_memory=0,
        on_cpu=False,
        notes=notes,
    )


def _gib(value: int) -> str:
    return f"{value / (1 << 30):.2f} GiB"
