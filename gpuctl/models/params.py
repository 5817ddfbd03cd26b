"""Parameter counts from a Hugging Face config: the shape of the checkpoint by part.

Why count at all when `model.safetensors.index.json` gives the exact byte total? Because the
estimator must know *where* those bytes go: which part tensor parallelism shards, which it
replicates (MLA down-projections, KV heads beyond TP = kv_heads), which sits on the first or
the last pipeline stage (embedding, output head), and which a quantization method shrinks. The
exact total then scales these counts (see `gpuctl.estimate.profile`). Without an index (a
`--config` file, a lock written from a config) the counts are the weight estimate, so they follow
the architectures' real layouts closely: tests compare them with published parameter counts.

Pure: a config dict in, `ParamCounts` out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gpuctl.models.info import LayerParams, ParamCounts

Config = Mapping[str, Any]

NON_GATED_MLP = {
    "phi",
    "gpt2",
    "gpt_bigcode",
    "starcoder2",
    "falcon",
    "gpt_neox",
    "opt",
    "bloom",
    "mpt",
    "bert",
    "xlm-roberta",
    "roberta",
    "nomic_bert",
    "whisper",
}
"""Model types whose MLP is two projections (fc1, fc2) instead of gate/up/down."""

QKV_BIAS = {"qwen2", "qwen2_moe", "qwen2_vl", "qwen2_5_vl", "qwen2_5_omni_thinker"}
"""Model types with q/k/v biases although their config says nothing about it."""

LAYER_NORM_WITH_BIAS = {"phi", "gpt2", "gpt_bigcode", "starcoder2", "falcon", "gpt_neox", "opt", "bloom"}
LAYER_NORM_WITH_BIAS |= {"bert", "xlm-roberta", "roberta", "whisper"}

FOUR_NORMS = {"gemma2", "gemma3", "gemma3_text", "olmo2"}
"""Model types with pre- and post- norms around attention and MLP."""

ENCODER_ONLY = {"bert", "xlm-roberta", "roberta", "nomic_bert", "modernbert"}


def _int(config: Config, *keys: str, default: int | None = None) -> int | None:
    for key in keys:
        value = config.get(key)
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            return int(value)
    return default


def layer_norm_params(model_type: str, width: int) -> int:
    return 2 * width if model_type in LAYER_NORM_WITH_BIAS else width


def count_params(text: Config, top: Config, *, category: str, model_type: str) -> ParamCounts:
    """Parameter counts of a decoder (or encoder) model.

    `text` is the language-model config (the `text_config` of a VLM merged over the top level),
    `top` the whole config (vision tower, MTP layers); `category` decides whether an output head
    is loaded (embedding and reranker models run without one).
    """
    hidden = _int(text, "hidden_size", "d_model", "n_embd") or 0
    vocab = _int(text, "vocab_size", "padded_vocab_size") or 0
    layers = _int(text, "num_hidden_layers", "n_layer", "num_layers") or 0
    norm = layer_norm_params(model_type, hidden)

    runs = _collapse([_layer_counts(text, model_type, index, hidden, norm) for index in range(layers)])
    tied = tie_word_embeddings(text, top, model_type)
    lm_head = 0 if tied or category in ("embedding", "reranker") else vocab * hidden
    if model_type == "phi" and lm_head:
        lm_head += vocab  # PhiForCausalLM's output head has a bias
    other = norm + _position_embeddings(text, model_type, hidden) + _heads(text, model_type, hidden, category)
    counts = ParamCounts(
        embedding=vocab * hidden,
        lm_head=lm_head,
        tied_embeddings=tied,
        layers=runs,
        vision=vision_params(top, hidden),
        other=other,
        buffers=rotary_cache_elements(text, model_type),
        unloaded=mtp_params(text, model_type),
        unloaded_unquantized=2 * vocab * hidden * (_int(text, "num_nextn_predict_layers", default=0) or 0),
    )
    return counts


def mtp_params(text: Config, model_type: str) -> int:
    """Parameters of DeepSeek's multi-token-prediction layers: in the checkpoint, not loaded by
    vLLM or SGLang unless speculative decoding is switched on."""
    extra = _int(text, "num_nextn_predict_layers", default=0) or 0
    if not extra:
        return 0
    hidden = _int(text, "hidden_size") or 0
    norm = layer_norm_params(model_type, hidden)
    # The last decoder layer is a MoE layer; an MTP layer adds enorm, hnorm, eh_proj and a norm.
    vocab = _int(text, "vocab_size") or 0
    last = (_int(text, "num_hidden_layers") or 1) - 1
    layer = sum(_layer_counts(text, model_type, last, hidden, norm)[:6])  # absorbed copies are not stored
    # Each MTP module is a MoE layer plus eh_proj, three norms and its own copy of the
    # embedding and output head (shared_head).
    return extra * (layer + 2 * hidden * hidden + 3 * hidden + 2 * vocab * hidden)


def tie_word_embeddings(text: Config, top: Config, model_type: str) -> bool:
    """Whether the output head reuses the embedding.

    An explicit `tie_word_embeddings` wins; otherwise the config class default: transformers ties
    by default, but the Llama-style classes (the majority of configs that omit the key) do not,
    so only the families known to tie are assumed to: counting an untied head where there is
    none errs on the safe side (more memory), the opposite would not.
    """
    for config in (text, top):
        value = config.get("tie_word_embeddings")
        if isinstance(value, bool):
            return value
    return model_type in {"gemma", "gemma2", "gemma3", "gemma3_text", "cohere", "cohere2", "gpt2"} | {
        "starcoder2",
        "opt",
        "bloom",
        "whisper",
    }


LayerTuple = tuple[int, int, int, int, int, int, int]
"""(attention, kv, mlp, experts, replicated, unquantized, absorbed) of one layer."""


def _layer_counts(text: Config, model_type: str, index: int, hidden: int, norm: int) -> LayerTuple:
    attention, kv, replicated, unquantized = _attention(text, model_type, hidden)
    absorbed = 0
    if kv_lora := _int(text, "kv_lora_rank"):
        heads = _int(text, "num_attention_heads") or 1
        nope = _int(text, "qk_nope_head_dim", default=128) or 0
        absorbed = kv_lora * heads * (nope + (_int(text, "v_head_dim", default=128) or 0))
    mlp, experts, router = _mlp(text, model_type, index, hidden)
    norms = (4 if model_type in FOUR_NORMS else 2) * norm
    return attention, kv, mlp, experts, replicated, unquantized + router + norms, absorbed


def _attention(text: Config, model_type: str, hidden: int) -> tuple[int, int, int, int]:
    """(sharded q/o, k/v, replicated, unquantized) parameters of one attention block."""
    heads = _int(text, "num_attention_heads", "n_head", "encoder_attention_heads") or 1
    kv_lora = _int(text, "kv_lora_rank")
    if kv_lora:  # MLA (DeepSeek-V2/V3/R1, Kimi)
        nope = _int(text, "qk_nope_head_dim", default=128) or 0
        rope = _int(text, "qk_rope_head_dim", default=64) or 0
        v_head = _int(text, "v_head_dim", default=128) or 0
        q_lora = _int(text, "q_lora_rank")
        replicated = hidden * (kv_lora + rope)
        unquantized = kv_lora
        if q_lora:
            replicated += hidden * q_lora
            unquantized += q_lora
            sharded = q_lora * heads * (nope + rope)
        else:
            sharded = hidden * heads * (nope + rope)
        sharded += kv_lora * heads * (nope + v_head) + heads * v_head * hidden
        return sharded, 0, replicated, unquantized
    head_dim = _int(text, "head_dim") or (hidden // heads if heads else 0)
    kv_heads = _int(text, "num_key_value_heads", "num_kv_heads", "n_head_kv", default=heads) or heads
    q = heads * head_dim
    kv = 2 * kv_heads * head_dim
    bias = text.get("attention_bias") is True or model_type in QKV_BIAS | {"phi", "gpt2", "gpt_bigcode"}
    bias |= model_type in ENCODER_ONLY | {"starcoder2", "whisper"}
    unquantized = 0
    if bias:
        unquantized += q + kv
        if model_type not in QKV_BIAS:
            unquantized += hidden  # output projection bias
    if model_type in {"qwen3", "qwen3_moe", "qwen3_vl_text", "qwen3_vl_moe_text", "gemma3", "gemma3_text"}:
        unquantized += 2 * head_dim  # q_norm, k_norm
    if model_type == "gpt_oss":
        unquantized += heads  # attention sinks
    return hidden * q + q * hidden, hidden * kv, 0, unquantized


def _is_moe_layer(text: Config, model_type: str, index: int) -> bool:
    experts = _int(text, "num_experts", "n_routed_experts", "num_local_experts", default=0) or 0
    if experts <= 1:
        return False
    if index in (text.get("mlp_only_layers") or []):
        return False
    first_dense = _int(text, "first_k_dense_replace", default=0) or 0
    if index < first_dense:
        return False
    step = _int(text, "moe_layer_freq", "decoder_sparse_step", "interleave_moe_layer_step", default=1) or 1
    if model_type == "llama4_text" or "interleave_moe_layer_step" in text:
        return (index + 1) % step == 0
    return (index - first_dense) % step == 0 if model_type.startswith("deepseek") else (index + 1) % step == 0


def _mlp(text: Config, model_type: str, index: int, hidden: int) -> tuple[int, int, int]:
    """(dense or shared-expert, routed-expert, router) parameters of one MLP block."""
    inter = _int(text, "intermediate_size", "ffn_dim", "n_inner", "encoder_ffn_dim", default=4 * hidden) or 0
    gated = model_type not in NON_GATED_MLP
    if not _is_moe_layer(text, model_type, index):
        if model_type == "llama4_text":
            inter = _int(text, "intermediate_size_mlp", default=inter) or inter
        if gated:
            return 3 * hidden * inter, 0, 0
        bias = inter + hidden if model_type in LAYER_NORM_WITH_BIAS | ENCODER_ONLY | {"phi"} else 0
        return 2 * hidden * inter + bias, 0, 0
    experts = _int(text, "num_experts", "n_routed_experts", "num_local_experts") or 0
    expert_inter = _int(text, "moe_intermediate_size", default=inter) or inter
    routed = experts * 3 * hidden * expert_inter
    router = hidden * experts
    shared = 0
    if n_shared := _int(text, "n_shared_experts", "num_shared_experts", default=0):
        shared = n_shared * 3 * hidden * expert_inter
    if shared_inter := _int(text, "shared_expert_intermediate_size", default=0):
        shared = 3 * hidden * shared_inter
        router += hidden  # the shared expert's sigmoid gate
    if model_type == "llama4_text":
        shared = 3 * hidden * expert_inter
    if model_type == "gpt_oss":
        routed += experts * (2 * expert_inter + hidden)  # expert biases
        router += experts
    return shared, routed, router


def _collapse(layers: list[LayerTuple]) -> list[LayerParams]:
    """Runs of identical consecutive layers, one LayerParams per run."""
    runs: list[list] = []
    for layer in layers:
        if runs and runs[-1][0] == layer:
            runs[-1][1] += 1
        else:
            runs.append([layer, 1])
    fields = ("attention", "kv", "mlp", "experts", "replicated", "unquantized", "absorbed")
    return [LayerParams(count=count, **dict(zip(fields, layer, strict=True))) for layer, count in runs]


def _position_embeddings(text: Config, model_type: str, hidden: int) -> int:
    if model_type in ENCODER_ONLY:
        positions = _int(text, "max_position_embeddings", default=512) or 0
        token_types = _int(text, "type_vocab_size", default=2) or 0
        return (positions + token_types) * hidden + 2 * hidden  # + embedding LayerNorm
    if model_type in {"gpt2", "gpt_bigcode", "opt"}:
        return (_int(text, "n_positions", "max_position_embeddings", default=0) or 0) * hidden
    return 0


def _heads(text: Config, model_type: str, hidden: int, category: str) -> int:
    """Pooler / classification heads of encoder models."""
    if model_type not in ENCODER_ONLY:
        return 0
    if category == "reranker":
        labels = len(text.get("id2label") or {"0": ""})
        return hidden * hidden + hidden + hidden * labels + labels
    return hidden * hidden + hidden  # pooler


def rotary_cache_elements(text: Config, model_type: str) -> int:
    """Elements of the rotary cos/sin cache vLLM allocates with the model (positions × rotary
    dim): 32 MiB for Llama-3.1 (131072 × 128 × 2 B), visible in its "Model loading took"."""
    if model_type in ENCODER_ONLY | {"gpt2", "gpt_bigcode", "opt", "whisper", "bloom", "mpt"}:
        return 0
    heads = _int(text, "num_attention_heads") or 1
    hidden = _int(text, "hidden_size") or 0
    head_dim = _int(text, "qk_rope_head_dim") or _int(text, "head_dim") or (hidden // heads)
    rotary_dim = int(head_dim * float(text.get("partial_rotary_factor") or 1.0))
    positions = _int(text, "max_position_embeddings", default=2048) or 2048
    local = positions * rotary_dim if model_type in ("gemma3", "gemma3_text") else 0  # sliding layers' rope
    scaling = text.get("rope_scaling") or {}
    if isinstance(scaling, dict):
        kind = scaling.get("rope_type") or scaling.get("type")
        factor = scaling.get("factor")
        original = scaling.get("original_max_position_embeddings")
        if (
            kind in ("yarn", "deepseek_yarn")
            and isinstance(original, int)
            and isinstance(factor, int | float)
        ):
            positions = int(original * factor)
        elif kind in ("linear", "dynamic") and isinstance(factor, int | float):
            positions = int(positions * factor)
    return positions * rotary_dim + local


VISION_FAMILIES: dict[str, tuple[bool, bool, bool]] = {
    # model_type fragment: (gated MLP, RMSNorm, biases)
    "qwen2_5": (True, True, True),
    "pixtral": (True, True, False),
    "mistral3": (True, True, False),
}
"""Vision towers that differ from the common ViT block (LayerNorm, GELU fc1/fc2, biases)."""


def vision_params(top: Config, text_hidden: int) -> int:
    """Vision tower + projector of a VLM, from `vision_config` (0 for text models)."""
    vision = top.get("vision_config")
    if not isinstance(vision, dict) or not vision:
        return 0
    kind = str(vision.get("model_type") or top.get("model_type") or "")
    depth = _int(vision, "depth", "num_hidden_layers", "num_layers", default=0) or 0
    # Qwen2-VL names the tower width embed_dim and the projector output hidden_size.
    width = _int(vision, "embed_dim", "hidden_size", "width", default=0) or 0
    if not depth or not width:
        return 0
    out = _int(vision, "out_hidden_size", default=0) or 0
    if not out:
        out = (_int(vision, "hidden_size") or text_hidden) if "embed_dim" in vision else text_hidden
    inter = _int(vision, "intermediate_size", default=0) or int(width * float(vision.get("mlp_ratio") or 4))
    family = next((v for k, v in VISION_FAMILIES.items() if k in kind), (False, False, True))
    gated, rms, bias = family
    mlp = (3 if gated else 2) * width * inter + ((2 if gated else 1) * inter + width if bias else 0)
    norm = width if rms else 2 * width
    block = 4 * width * width + (4 * width if bias else 0) + mlp + 2 * norm
    patch = _int(vision, "patch_size", "spatial_patch_size", default=14) or 14
    channels = _int(vision, "in_chans", "in_channels", "num_channels", default=3) or 3
    temporal = _int(vision, "temporal_patch_size", default=1) or 1
    total = depth * block + channels * temporal * patch * patch * width
    if bias and "qwen2" not in kind:
        total += width  # patch-embedding bias
    if "qwen" not in kind:
        total += norm  # the tower's pre- or post-norm (the Qwen towers end in their merger)
    if positions := _int(vision, "num_position_embeddings", default=0):
        total += positions * width
    elif (image := _int(vision, "image_size", default=0)) and not rms:
        total += (image // patch) ** 2 * width  # learned position embeddings (ViT, SigLIP, CLIP)
    merge = _int(vision, "spatial_merge_size", default=0) or 0
    if merge:  # Qwen-VL patch merger: norm + two-layer MLP over merge² neighbouring patches
        merged = width * merge * merge
        mlp_out = merged * merged + merged + merged * out + out
        projector = norm + mlp_out
        deepstack = len(vision.get("deepstack_visual_indexes") or [])
        projector += deepstack * (2 * merged + mlp_out)
    elif "gemma3" in str(top.get("model_type")):
        projector = width * text_hidden + width  # mm_input_projection + soft-embedding norm
    else:  # LLaVA-style two-layer projector (Mistral 3 adds a patch merger first)
        projector = width * text_hidden + text_hidden * text_hidden + (0 if rms else 2 * text_hidden)
        if merge := _int(top, "spatial_merge_size", default=0) or 0:
            projector += merge * merge * width * width + width
    return total + projector
