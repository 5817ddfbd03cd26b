"""llama-box (llama.cpp) memory for GGUF models: which layers fit on the devices.

llama.cpp keeps the input layer (token embedding) in host memory and offloads transformer layers
one by one; the output layer joins the last device once every layer is there. Each device holds
its layers' weights and their KV cache for the whole context (f16 unless `kv_cache_dtype` says
q8_0 / q4_0) plus a compute buffer, and the multimodal projector sits on the first device. With
CPU offloading allowed, the largest number of layers that fits goes to the devices and the rest
runs on the CPU; without it, the model must fit entirely. Layers are spread over several devices
in proportion to their memory (llama.cpp's tensor split).

Compute buffers are the measured llama.cpp figures per architecture (gguf-parser-go's sweep,
tests/data/models/gguf/llamacpp_compute_buffer_measured_subset.csv).

Pure.
"""

from __future__ import annotations

import math

from gpuctl.estimate import constants as c
from gpuctl.estimate.types import DeviceBreakdown, Estimate, EstimateRequest, Verdict
from gpuctl.models.info import GgufFile, ModelInfo

COMPUTE_BUFFER_MIB: dict[str, tuple[float, float]] = {
    # architecture: (partial offload, full offload) MiB, measured at 2048-4096 tokens of context
    "bert": (5.62, 4.5),
    "deepseek2": (213.49, 99.38),
    "gemma2": (93.42, 75.55),
    "gemma3": (59.29, 52.55),
    "gemma-embedding": (12.45, 12.75),
    "gpt-oss": (219.73, 91.58),
    "llama": (72.44, 58.09),
    "llama4": (255.96, 96.18),
    "nomic-bert": (23.0, 21.51),
    "phi3": (108.25, 70.01),
    "qwen2": (96.68, 80.59),
    "qwen2vl": (179.52, 136.09),
    "qwen3": (98.74, 79.09),
    "qwen3moe": (224.53, 88.09),
    "qwen3next": (358.0, 86.28),
    "qwen3vl": (152.07, 124.09),
    "qwen3vlmoe": (236.53, 96.59),
    "t5encoder": (233.5, 248.5),
}
"""Measured llama.cpp compute buffers (gguf-parser-go testdata sweep @ 71c933de, transcribed in
tests/data/models/gguf/llamacpp_compute_buffer_measured_subset.csv)."""

KV_TYPE_BYTES = {
    "f16": 2.0,
    "auto": 2.0,
    "f32": 4.0,
    "bf16": 2.0,
    "q8_0": 34 / 32,
    "q4_0": 18 / 32,
    "q4_1": 20 / 32,
}
KV_TYPE_BYTES |= {"q5_0": 22 / 32, "q5_1": 24 / 32, "iq4_nl": 18 / 32}


def compute_buffer(architecture: str, full_offload: bool) -> int:
    partial, full = COMPUTE_BUFFER_MIB.get(architecture, (0.0, 0.0))
    if not partial:
        return int(c.LLAMA_BOX_COMPUTE_BUFFER_DEFAULT)
    return int((full if full_offload else partial) * c.MiB)


def kv_bytes_per_token_per_layer(gguf: GgufFile, kv_cache_dtype: str) -> float:
    per_value = KV_TYPE_BYTES.get(kv_cache_dtype.lower(), 2.0)
    if gguf.kv_lora_rank:
        return (gguf.kv_lora_rank + (gguf.rope_dimension or 0)) * per_value
    heads = gguf.head_count or 1
    head_dim = (gguf.embedding_length or 0) // heads
    kv_heads = gguf.head_count_kv or heads
    return kv_heads * ((gguf.key_length or head_dim) + (gguf.value_length or head_dim)) * per_value


def split_layers(layers: int, capacities: list[int]) -> list[int]:
    """Layers per device in proportion to capacity (llama.cpp `--tensor-split`)."""
    total = sum(capacities)
    if not total:
        return [0] * len(capacities)
    shares = [layers * cap // total for cap in capacities]
    for index in sorted(range(len(capacities)), key=lambda i: -capacities[i])[: layers - sum(shares)]:
        shares[index] += 1
    return shares


def _device_needs(
    gguf: GgufFile, mmproj: int, counts: list[int], kv_per_layer: int, all_layers: bool
) -> list[int]:
    """Bytes each device needs when device i holds counts[i] consecutive layers."""
    needs = []
    start = 0
    full = all_layers and sum(counts) == len(gguf.layer_bytes)
    buffer = compute_buffer(gguf.architecture, full)
    for index, count in enumerate(counts):
        weights = sum(gguf.layer_bytes[start : start + count])
        start += count
        need = weights + count * kv_per_layer + (buffer if count else 0)
        if index == 0:
            need += mmproj
        if full and index == len(counts) - 1:
            need += gguf.output_bytes
        needs.append(need)
    return needs


def estimate_llama_box(model: ModelInfo, request: EstimateRequest) -> Estimate:
    gguf = model.gguf
    if gguf is None or not gguf.layer_bytes:
        raise ValueError("llama-box estimates need a GGUF model (ModelInfo.gguf with layer sizes)")
    layers = len(gguf.layer_bytes)
    model_max = gguf.context_length or c.LLAMA_BOX_DEFAULT_CONTEXT
    if request.context_length:
        context, reason = request.context_length, "set by the deployment"
    else:
        context = min(model_max, c.LLAMA_BOX_DEFAULT_CONTEXT)
        reason = f"model maximum {model_max}" + (
            f" > {c.LLAMA_BOX_DEFAULT_CONTEXT}: gpuctl starts llama-box with --ctx-size {context}"
            if model_max > context
            else ""
        )
    per_token_layer = kv_bytes_per_token_per_layer(gguf, request.kv_cache_dtype)
    kv_per_layer = math.ceil(per_token_layer * context)
    mmproj = model.mmproj.size if model.mmproj else 0
    fraction = request.memory_fraction or 1.0
    capacities = [int(m * fraction) for m in request.device_memory]
    notes = [f"{gguf.file_type or 'GGUF'} {gguf.architecture}, {layers} layers, KV {request.kv_cache_dtype}"]

    def fits(n: int, kv: int) -> tuple[bool, list[int]]:
        counts = split_layers(n, capacities)
        needs = _device_needs(gguf, mmproj, counts, kv, all_layers=n == layers)
        return all(need <= cap for need, cap in zip(needs, capacities, strict=True)), needs

    offloaded = 0
    needs: list[int] = [0] * len(capacities)
    if capacities:
        ok, needs = fits(layers, kv_per_layer)
        if ok:
            offloaded = layers
        elif request.cpu_offload:
            low, high = 0, layers  # fits(low) holds
            while high - low > 1:
                middle = (low + high) // 2
                low, high = (middle, high) if fits(middle, kv_per_layer)[0] else (low, middle)
            offloaded = low
            needs = fits(offloaded, kv_per_layer)[1]
    input_bytes = gguf.non_layer_bytes - gguf.output_bytes
    cpu_layers = range(offloaded, layers)
    cpu_memory = input_bytes + sum(gguf.layer_bytes[i] for i in cpu_layers) + len(cpu_layers) * kv_per_layer
    if offloaded < layers:
        cpu_memory += (
            gguf.output_bytes + compute_buffer(gguf.architecture, False) + (0 if capacities else mmproj)
        )

    verdict: Verdict
    largest: int | None = context
    if offloaded == layers:
        verdict = "fits"
        largest = _largest_context(gguf, model_max, per_token_layer, capacities, mmproj, layers)
    elif not capacities or request.cpu_offload:
        verdict = "fits"
        if request.host_memory is not None and cpu_memory > request.host_memory:
            verdict = "does-not-fit"
            notes.append(f"the CPU part needs {cpu_memory / c.GiB:.2f} GiB of host memory")
        if offloaded < layers:
            notes.append(f"{layers - offloaded} of {layers} layers run on the CPU")
    else:
        largest = _largest_context(gguf, model_max, per_token_layer, capacities, mmproj, layers)
        verdict = "context-too-long" if largest else "does-not-fit"
        notes.append("the model does not fit on the devices; allow CPU offloading to run the rest on the CPU")

    breakdowns = []
    start = 0
    counts = split_layers(offloaded, capacities)
    for count, need in zip(counts, needs, strict=True):
        weights = sum(gguf.layer_bytes[start : start + count])
        start += count
        kv = count * kv_per_layer
        breakdowns.append(
            DeviceBreakdown(
                weights=weights, kv_cache=kv, activation=0, overhead=max(need - weights - kv, 0), total=need
            )
        )
    per_device = max(breakdowns, key=lambda b: b.total) if breakdowns else None
    total_weights = sum(gguf.layer_bytes) + gguf.non_layer_bytes + mmproj
    return Estimate(
        backend="llama-box",
        devices=len(capacities),
        tensor_parallel=1,
        pipeline_parallel=1,
        context_length=context,
        context_length_reason=reason,
        per_device=per_device,
        device_breakdowns=breakdowns if len(breakdowns) > 1 else [],
        required_per_device=math.ceil(max(needs, default=total_weights) / fraction),
        kv_bytes_per_token=math.ceil(per_token_layer * layers),
        kv_pool_bytes=kv_per_layer * layers,
        kv_pool_tokens=context,
        max_concurrency=None,
        verdict=verdict,
        max_context_that_fits=largest,
        gpu_layers=offloaded,
        total_layers=layers,
        cpu_memory=cpu_memory,
        on_cpu=offloaded == 0,
        notes=notes,
    )


def _largest_context(
    gguf: GgufFile, model_max: int, per_token_layer: float, capacities: list[int], mmproj: int, layers: int
) -> int | None:
    """Largest context with every layer on the devices (multiples of 256 tokens)."""

    def fits(context: int) -> bool:
        counts = split_layers(layers, capacities)
        needs = _device_needs(gguf, mmproj, counts, math.ceil(per_token_layer * context), all_layers=True)
        return all(need <= cap for need, cap in zip(needs, capacities, strict=True))

    if not capacities or not fits(256):
        return None
    if fits(model_max):
        return model_max
    low, high = 256, model_max
    while high - low > 256:
        middle = (low + high) // 2 // 256 * 256
        if middle <= low:
            break
        low, high = (middle, high) if fits(middle) else (low, middle)
    return low
