"""Weight bytes per device: the checkpoint split the way vLLM and SGLang split it.

Tensor parallelism shards projections, experts and the vocabulary; it replicates norms, routers,
MLA down-projections and, beyond TP = KV heads, whole KV heads. Pipeline parallelism gives each
stage a run of layers (vLLM's `get_pp_indices`), the embedding to the first stage and the output
head to the last (a tied head is a second copy there). The parameter counts come from the model's
config; when the checkpoint's exact size is known (safetensors index) the counts are scaled to it,
so the total is exact and only its distribution is derived.

Pure, and cached per model: the scheduler asks for the same splits many times.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gpuctl.estimate.constants import (
    AWQ_MARLIN_OVERHEAD,
    MARLIN_INT4_OVERHEAD,
    MXFP4_MARLIN_PADDING,
    MXFP4_PADDING,
    VISION_TP_REPLICATED,
    WEIGHT_LOADING_OVERHEAD,
)
from gpuctl.models.info import LayerParams, ModelInfo, ParamCounts, Quantization

DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}


def runtime_dtype(model: ModelInfo, requested: str | None) -> str:
    """The dtype the backend computes in: the request's, else the checkpoint's, with float32
    checkpoints run in 16-bit (vLLM's "auto" downcasts them) and bfloat16 when unknown."""
    if requested and requested != "auto":
        return {"half": "float16", "float": "float32", "bf16": "bfloat16", "fp16": "float16"}.get(
            requested, requested
        )
    if model.dtype in ("bfloat16", "float16"):
        return model.dtype
    return (
        "float16" if model.dtype == "float32" and model.category in ("embedding", "reranker") else "bfloat16"
    )


def quantized_bytes_per_param(quant: Quantization, hidden: int, *, loaded: bool = True) -> float:
    """Bytes per weight of a quantized linear layer, scales and zero points included; `loaded`
    adds what the Marlin kernels' repacking costs on top of the checkpoint form."""
    per_channel = 4 / max(hidden, 1)  # one fp32 scale per output channel
    bits = quant.bits or 8
    if quant.method in ("fp8", "int8"):
        if quant.block_size and len(quant.block_size) == 2:
            return 1 + 4 / (quant.block_size[0] * quant.block_size[1])
        return 1 + per_channel
    if quant.method == "mxfp4":
        return 0.5 + 1 / 32
    if quant.method == "nvfp4":
        return 0.5 + 1 / (quant.group_size or 16) + per_channel
    if quant.method == "bitsandbytes":
        return 0.5 + 4 / 64 if bits == 4 else 1 + per_channel
    if quant.method in ("gptq", "awq"):
        group = quant.group_size or hidden
        scale = 2 + (bits / 8 if quant.zero_point else 0)
        packed = bits / 8 + scale / group
        overhead = AWQ_MARLIN_OVERHEAD if quant.method == "awq" else MARLIN_INT4_OVERHEAD
        return packed * (1 + overhead) if loaded and bits == 4 else packed
    return 2.0  # unknown method: count it as 16-bit, the safe side


@dataclass(frozen=True, slots=True)
class LayerBytes:
    sharded: float
    """Divided by TP."""
    experts: float
    """Routed experts: divided by TP, padded per rank for MXFP4 kernels."""
    kv: float
    """Divided by min(TP, KV heads)."""
    replicated: float
    """On every rank."""


@dataclass(frozen=True, slots=True)
class WeightLayout:
    """Bytes of each part of one model for one (dtype, quantization) choice. Layer parts are
    kept as prefix sums, so a stage's share is two subtractions whatever the layer count."""

    embedding: float
    lm_head: float
    tied: bool
    layers: int
    sharded: tuple[float, ...]
    """Prefix sums over layers (len = layers + 1) of the TP-sharded bytes; likewise below."""
    experts: tuple[float, ...]
    kv: tuple[float, ...]
    replicated: tuple[float, ...]
    vision: float
    other: float
    buffers: float
    kv_heads: int
    expert_intermediate: int = 0
    """Intermediate size of one expert where the kernels pad it per rank (MXFP4), else 0."""
    expert_hidden: int = 0
    """Hidden size of the experts where the Marlin MXFP4 kernels pad it too, else 0."""

    def stage_bytes(self, tp: int, pp: int, stage: int) -> int:
        """Weight bytes on one device of pipeline stage `stage` (0-based) under TP × PP."""
        start, end = pp_layer_range(self.layers, pp, stage)
        kv_share = max(1 / tp, 1 / self.kv_heads) if self.kv_heads else 1 / tp
        expert_share = 1 / tp
        if self.expert_intermediate:
            per_rank = self.expert_intermediate / tp
            multiple = MXFP4_MARLIN_PADDING[0] if self.expert_hidden else MXFP4_PADDING
            expert_share *= math.ceil(per_rank / multiple) * multiple / per_rank
        if self.expert_hidden:
            multiple = MXFP4_MARLIN_PADDING[1]
            expert_share *= math.ceil(self.expert_hidden / multiple) * multiple / self.expert_hidden
        total = self.buffers
        total += (self.sharded[end] - self.sharded[start]) / tp
        total += (self.experts[end] - self.experts[start]) * expert_share
        total += (self.kv[end] - self.kv[start]) * kv_share
        total += self.replicated[end] - self.replicated[start]
        if stage == 0:
            total += self.embedding / tp + self.other
            total += self.vision * (VISION_TP_REPLICATED + (1 - VISION_TP_REPLICATED) / tp)
        if stage == pp - 1:
            total += (self.embedding if self.tied and pp > 1 else self.lm_head) / tp
        return math.ceil(total * (1 + WEIGHT_LOADING_OVERHEAD))


def _prefix(values: list[float]) -> tuple[float, ...]:
    sums = [0.0]
    for value in values:
        sums.append(sums[-1] + value)
    return tuple(sums)


def pp_layer_range(layers: int, pp: int, stage: int) -> tuple[int, int]:
    """vLLM's `get_pp_indices`: an even split, the remainder given to the stages before the last."""
    per_stage = [layers // pp] * pp
    for index in range(2, layers % pp + 2):
        per_stage[-index] += 1
    start = sum(per_stage[:stage])
    return start, start + per_stage[stage]


def _layer_bytes(
    layer: LayerParams, quant: Quantization | None, dtype_bytes: int, hidden: int, *, loaded: bool
) -> LayerBytes:
    """Bytes of one layer of a run: quantized parts at the method's size, the rest in dtype."""
    per = quantized_bytes_per_param(quant, hidden, loaded=loaded) if quant else dtype_bytes
    skip = set(quant.unquantized) if quant else set()
    attention = dtype_bytes if "attention" in skip else per
    mlp = dtype_bytes if "mlp" in skip else per
    experts = dtype_bytes if "experts" in skip else per
    absorbed = layer.absorbed * dtype_bytes if loaded else 0
    return LayerBytes(
        sharded=layer.attention * attention + layer.mlp * mlp + absorbed,
        experts=layer.experts * experts,
        kv=layer.kv * attention,
        replicated=layer.replicated * attention + layer.unquantized * dtype_bytes,
    )


def checkpoint_bytes(counts: ParamCounts, quant: Quantization | None, dtype_bytes: int, hidden: int) -> float:
    """Bytes of the checkpoint as stored, unloaded (MTP) layers included: what a safetensors
    index's `total_size` should be if the counts are right."""
    layers = 0.0
    for run in counts.layers:
        part = _layer_bytes(run, quant, dtype_bytes, hidden, loaded=False)
        layers += run.count * (part.sharded + part.experts + part.kv + part.replicated)
    layer_params = sum(run.total for run in counts.layers)
    dense = counts.embedding + counts.lm_head + counts.vision + counts.other + counts.unloaded_unquantized
    unloaded_layers = counts.unloaded - counts.unloaded_unquantized
    return layers * (1 + unloaded_layers / max(layer_params, 1)) + dense * dtype_bytes


_LAYOUTS: dict[tuple[int, str, str | None, bool], tuple[ModelInfo, WeightLayout]] = {}


def layout(
    model: ModelInfo, dtype: str, runtime_quantization: str | None = None, *, mxfp4_marlin: bool = False
) -> WeightLayout:
    """Byte layout of `model` run in `dtype` (with `--quantization fp8` style runtime
    quantization when the checkpoint is not quantized already), cached per model object.
    `mxfp4_marlin`: MXFP4 experts run on the Marlin kernels (GPUs without FP4 support), which
    pad them differently.

    With an exact checkpoint size the parameter counts are scaled so that the checkpoint they
    describe has exactly that size; the scale then carries over to the dtype and quantization
    the backend runs with.
    """
    key = (id(model), dtype, runtime_quantization, mxfp4_marlin)
    hit = _LAYOUTS.get(key)
    if hit is not None and hit[0] is model:
        return hit[1]
    if len(_LAYOUTS) >= 4096:
        _LAYOUTS.clear()
    result = _build_layout(model, dtype, runtime_quantization, mxfp4_marlin)
    _LAYOUTS[key] = (model, result)
    return result


def _build_layout(
    model: ModelInfo, dtype: str, runtime_quantization: str | None, mxfp4_marlin: bool = False
) -> WeightLayout:
    dtype_bytes = DTYPE_BYTES.get(dtype, 2)
    counts = model.params
    if counts is None:
        return _opaque_layout(model)
    hidden = model.hidden_size or 4096
    quant = model.quantization
    if quant is None and runtime_quantization in ("fp8", "fp8_e4m3"):
        quant = Quantization(method="fp8", bits=8, float_weights=True)
    scale = 1.0
    if model.weight_bytes_exact and model.weight_bytes:
        stored = checkpoint_bytes(counts, model.quantization, DTYPE_BYTES.get(model.dtype or "", 2), hidden)
        scale = model.weight_bytes / stored if stored else 1.0
    mxfp4 = quant is not None and quant.method == "mxfp4"
    per_layer: list[LayerBytes] = []
    for run in counts.layers:
        per_layer.extend([_layer_bytes(run, quant, dtype_bytes, hidden, loaded=True)] * run.count)
    return WeightLayout(
        embedding=counts.embedding * dtype_bytes * scale,
        lm_head=counts.lm_head * dtype_bytes * scale,
        tied=counts.tied_embeddings,
        layers=len(per_layer),
        sharded=_prefix([layer.sharded * scale for layer in per_layer]),
        experts=_prefix([layer.experts * scale for layer in per_layer]),
        kv=_prefix([layer.kv * scale for layer in per_layer]),
        replicated=_prefix([layer.replicated * scale for layer in per_layer]),
        vision=counts.vision * dtype_bytes * scale,
        other=counts.other * dtype_bytes * scale,
        buffers=counts.buffers * dtype_bytes,
        kv_heads=model.num_kv_heads or 0,
        expert_intermediate=(model.moe_intermediate_size or 0) if mxfp4 else 0,
        expert_hidden=(model.hidden_size or 0) if mxfp4 and mxfp4_marlin else 0,
    )


def _opaque_layout(model: ModelInfo) -> WeightLayout:
    """Only a byte total is known (no config): it is split evenly, as if every byte were a
    sharded layer weight."""
    total = float(model.weight_bytes or 0)
    layers = max(model.num_layers or 1, 1)
    zeros = tuple(0.0 for _ in range(layers + 1))
    return WeightLayout(
        embedding=0.0,
        lm_head=0.0,
        tied=False,
        layers=layers,
        sharded=_prefix([total / layers] * layers),
        experts=zeros,
        kv=zeros,
        replicated=zeros,
        vision=0.0,
        other=0.0,
        buffers=0.0,
        kv_heads=model.num_kv_heads or 0,
    )
