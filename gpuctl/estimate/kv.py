"""KV cache per token and how vLLM groups hybrid models' layers into its block pool.

Per layer and token a device stores K and V for its share of the KV heads (GQA/MQA/MHA; heads are
replicated once TP exceeds them), or, for MLA models, one compressed latent that every TP rank
holds whole. Models mixing attention kinds (Gemma 2/3 and gpt-oss sliding windows, Llama 4
chunked attention) go through vLLM's hybrid allocator: the layers of each kind are cut into
groups of the size of the rarest kind, every group gets its own block table over one shared pool,
and the "GPU KV cache size" vLLM reports is blocks ÷ groups × block size. A layer count that
does not divide evenly costs padding slots (gemma-3-4b: 29 sliding + 5 full layers = 35 slots).

Pure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from gpuctl.models.info import ModelInfo

KV_DTYPE_BYTES = {
    "fp8": 1,
    "fp8_e4m3": 1,
    "fp8_e5m2": 1,
    "fp8_inc": 1,
    "int8": 1,
    "bfloat16": 2,
    "float16": 2,
    "half": 2,
    "float32": 4,
    "float": 4,
}

ATTENTION_KINDS = {"full_attention", "sliding_attention", "chunked_attention", "attention"}


def kv_dtype_bytes(kv_cache_dtype: str, model_dtype_bytes: int) -> int:
    if kv_cache_dtype in ("auto", ""):
        return model_dtype_bytes
    return KV_DTYPE_BYTES.get(kv_cache_dtype.lower(), model_dtype_bytes)


def layer_bytes_per_token(model: ModelInfo, tp: int, dtype_bytes: int) -> int:
    """KV bytes one attention layer stores per token on one device."""
    if model.kv_lora_rank:
        return (model.kv_lora_rank + (model.qk_rope_head_dim or 0)) * dtype_bytes
    kv_heads = model.num_kv_heads or model.num_attention_heads or 1
    head_dim = model.head_dim or ((model.hidden_size or 0) // (model.num_attention_heads or 1))
    return 2 * max(1, kv_heads // tp) * head_dim * dtype_bytes


@dataclass(frozen=True, slots=True)
class KvGroups:
    """vLLM's KV cache groups for the layers of one pipeline stage."""

    kinds: tuple[str, ...]
    """Attention kind of each group."""
    group_size: int
    """Layers per group (layer slots per block)."""

    @property
    def slots(self) -> int:
        """Layer slots per token: layers plus padding."""
        return self.group_size * len(self.kinds)


@lru_cache(maxsize=1024)
def kv_groups(layer_kinds: tuple[str, ...]) -> KvGroups:
    """Group layers the way vLLM's `_get_kv_cache_groups_uniform_page_size` does: group size =
    the fewest layers of any kind (or the most, when no kind has 1.5× another's count), each
    kind cut into ceil(n / size) groups."""
    counts: dict[str, int] = {}
    for kind in layer_kinds:
        if kind in ATTENTION_KINDS:
            counts[kind] = counts.get(kind, 0) + 1
    if not counts:
        return KvGroups(kinds=(), group_size=0)
    if len(counts) == 1:
        kind, count = next(iter(counts.items()))
        return KvGroups(kinds=(kind,), group_size=count)
    smallest, largest = min(counts.values()), max(counts.values())
    size = largest if largest < smallest * 1.5 else smallest
    kinds: list[str] = []
    for kind, count in counts.items():
        kinds.extend([kind] * math.ceil(count / size))
    return KvGroups(kinds=tuple(kinds), group_size=size)


def blocks_per_request(
    groups: KvGroups, context: int, block_size: int, window: int | None, batched_tokens: int
) -> int:
    """Blocks one request of `context` tokens needs across all groups (vLLM's
    `max_memory_usage_bytes`): full attention the whole context, sliding / chunked attention at
    most window − 1 + one batch of tokens, plus one block."""
    full = math.ceil(context / block_size)
    total = 0
    for kind in groups.kinds:
        if kind == "full_attention" or not window:
            total += full
        else:
            tokens = min(window - 1 + batched_tokens, context)
            total += math.ceil(tokens / block_size) + 1
    return total


def stage_groups(model: ModelInfo, start: int, end: int) -> KvGroups:
    """KV groups of the layers [start, end) of one pipeline stage."""
    if model.layer_types is None:
        return KvGroups(kinds=("full_attention",), group_size=end - start) if end > start else KvGroups((), 0)
    return kv_groups(tuple(model.layer_types[start:end]))
