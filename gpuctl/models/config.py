"""A Hugging Face `config.json` → ModelInfo: every number the estimator and backends need.

Configs come in many shapes: multimodal models nest the language model (`text_config`,
`llm_config`, `thinker_config`), some leave fields at their class defaults (Gemma 3), the
context length hides behind half a dozen names, quantization behind several schemas. This module
reads them the way vLLM does (`_get_and_verify_max_len`, `get_hf_text_config`), so the context it
derives is the one the backend will start with.

Pure: dicts in, ModelInfo out; a config that lacks what is needed raises a GpuctlError that names
the model and the missing fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gpuctl.errors import Diagnostic, GpuctlError
from gpuctl.models import params as param_counts
from gpuctl.models.category import categorize
from gpuctl.models.info import ModelInfo, Quantization, VisionInfo

Config = Mapping[str, Any]

NESTED_TEXT_CONFIGS = ("text_config", "llm_config", "language_config", "thinker_config")

TYPE_DEFAULTS: dict[str, dict[str, Any]] = {
    # Gemma3TextConfig class defaults the hub configs of gemma-3-*-it leave out.
    "gemma3_text": {
        "vocab_size": 262208,
        "max_position_embeddings": 131072,
        "sliding_window": 4096,
        "sliding_window_pattern": 6,
        "head_dim": 256,
        "num_key_value_heads": 4,
    },
}

POSITION_KEYS = (
    "max_position_embeddings",
    "n_positions",
    "max_seq_len",
    "seq_length",
    "model_max_length",
    "max_target_positions",
    "max_sequence_length",
    "max_seq_length",
    "seq_len",
)
"""vLLM's `possible_keys` for the model's context length; the smallest one present wins."""

DTYPES = {
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
    "float16": "float16",
    "fp16": "float16",
    "half": "float16",
    "float32": "float32",
    "fp32": "float32",
    "float": "float32",
}

REQUIRED = ("num_hidden_layers", "hidden_size", "num_attention_heads", "vocab_size")

KNOWN_MODEL_TYPES = {
    "llama", "llama4_text", "mistral", "mixtral", "qwen2", "qwen2_moe", "qwen2_vl", "qwen2_5_vl", "qwen3",
    "qwen3_moe", "qwen3_vl_text", "qwen3_vl_moe_text", "gemma", "gemma2", "gemma3", "gemma3_text",
    "deepseek_v2", "deepseek_v3", "gpt_oss", "phi", "phi3", "granite", "xlm-roberta", "bert", "roberta",
}  # fmt: skip
"""Model types whose parameter layout `params.py` follows exactly (tested against published
counts); others are counted as a standard decoder, which a checkpoint index corrects."""


def text_config(config: Config) -> dict[str, Any]:
    """The language-model part of a config: a nested text config merged over the top level (so
    dtype, quantization and tying set at the top still apply), class defaults filled in."""
    text: dict[str, Any] = {k: v for k, v in config.items() if k not in NESTED_TEXT_CONFIGS}
    for key in NESTED_TEXT_CONFIGS:
        nested = config.get(key)
        if isinstance(nested, dict) and nested:
            if key == "thinker_config" and isinstance(nested.get("text_config"), dict):
                nested = nested["text_config"]
            text.update(nested)
            break
    for key, value in TYPE_DEFAULTS.get(str(text.get("model_type")), {}).items():
        text.setdefault(key, value)
    return text


def _int(config: Config, key: str) -> int | None:
    value = config.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def max_context(text: Config, model_type: str) -> int | None:
    """The longest context vLLM accepts: the smallest length key present, times the rope
    scaling factor (from `original_max_position_embeddings` for YaRN) except for the rope types
    vLLM does not scale (llama3, longrope, su, mrope/default) and Gemma 3, whose length is
    already scaled."""
    lengths = [value for key in POSITION_KEYS if (value := _int(text, key))]
    if not lengths:
        return None
    derived: float = min(lengths)
    rope = text.get("rope_scaling") or text.get("rope_parameters")
    if isinstance(rope, dict) and "gemma3" not in model_type:
        kind = rope.get("rope_type") or rope.get("type") or "default"
        if kind not in ("su", "longrope", "llama3", "default", "mrope"):
            factor = rope.get("factor", 1.0)
            if kind == "yarn" and isinstance(rope.get("original_max_position_embeddings"), int):
                derived = rope["original_max_position_embeddings"]
            if isinstance(factor, int | float):
                derived *= factor
    return int(derived)


def attention_layer_types(text: Config, model_type: str, layers: int) -> list[str] | None:
    """Per-layer attention kind when layers differ: "full_attention", "sliding_attention",
    "chunked_attention" (Llama 4), or the config's own names (linear attention ...). None when
    every layer is full attention."""
    listed = text.get("layer_types")
    if isinstance(listed, list) and len(listed) == layers:
        kinds = [str(kind) for kind in listed]
    elif model_type == "gemma2":
        kinds = ["sliding_attention" if i % 2 == 0 else "full_attention" for i in range(layers)]
    elif model_type in ("gemma3", "gemma3_text") and _int(text, "sliding_window"):
        pattern = _int(text, "sliding_window_pattern") or 6
        kinds = ["sliding_attention" if (i + 1) % pattern else "full_attention" for i in range(layers)]
    elif model_type == "llama4_text" and _int(text, "attention_chunk_size"):
        no_rope = text.get("no_rope_layers")
        if isinstance(no_rope, list) and len(no_rope) == layers:
            kinds = ["chunked_attention" if use_rope else "full_attention" for use_rope in no_rope]
        else:
            kinds = ["full_attention" if (i + 1) % 4 == 0 else "chunked_attention" for i in range(layers)]
    elif (
        _int(text, "sliding_window")
        and text.get("use_sliding_window") is not False
        and model_type
        in (
            "mistral",
            "mixtral",
            "starcoder2",
            "phi3",
        )
    ):
        kinds = ["sliding_attention"] * layers
    else:
        return None
    return None if all(kind == "full_attention" for kind in kinds) else kinds


def _part_names(patterns: list[str]) -> list[str]:
    """Decoder parts a quantization ignore-list keeps unquantized ("attention", "mlp", "experts");
    entries naming norms, routers, embeddings or the output head change nothing (never
    quantized anyway)."""
    parts: set[str] = set()
    for pattern in patterns:
        text = str(pattern).lower()
        if any(word in text for word in ("norm", "lm_head", "embed", "router", "vision", "visual")):
            continue
        if text.endswith(".gate") or text.endswith("gate$"):
            continue
        if "attn" in text or "attention" in text:
            parts.add("attention")
        elif "expert" in text and "shared" not in text:
            parts.add("experts")
        elif "mlp" in text or "shared_expert" in text:
            parts.update(("mlp", "experts") if "expert" not in text else ("mlp",))
    return sorted(parts)


def parse_quantization(qc: Config | None) -> Quantization | None:
    """`quantization_config` (or compressed-tensors' `compression_config`) → Quantization."""
    if not isinstance(qc, Mapping) or not qc:
        return None
    method = str(qc.get("quant_method") or qc.get("quant_algo") or "").lower()
    ignore = [str(x) for x in qc.get("modules_to_not_convert") or qc.get("ignored_layers") or []]
    ignore += [str(x) for x in qc.get("ignore") or []]
    unquantized = _part_names(ignore)
    if method in ("fp8", "fbgemm_fp8", "ptpc_fp8"):
        block = qc.get("weight_block_size")
        return Quantization(
            method="fp8",
            bits=8,
            block_size=[int(b) for b in block] if isinstance(block, list) else None,
            float_weights=True,
            unquantized=unquantized,
        )
    if method in ("gptq", "awq", "gptq_marlin", "awq_marlin", "marlin", "auto-round", "auto_round"):
        group = qc.get("group_size")
        return Quantization(
            method="awq" if "awq" in method else "gptq",
            bits=int(qc.get("bits") or qc.get("w_bit") or 4),
            group_size=int(group) if isinstance(group, int) and group > 0 else None,
            zero_point=bool(qc.get("zero_point", True)) if "awq" in method else not qc.get("sym", True),
            unquantized=unquantized,
        )
    if method == "mxfp4":
        return Quantization(
            method="mxfp4", bits=4, group_size=32, float_weights=True, unquantized=unquantized
        )
    if method in ("modelopt", "modelopt_fp4", "nvfp4"):
        algo = str(qc.get("quant_algo") or method).lower()
        if "fp4" in algo:
            return Quantization(
                method="nvfp4", bits=4, group_size=16, float_weights=True, unquantized=unquantized
            )
        return Quantization(method="fp8", bits=8, float_weights=True, unquantized=unquantized)
    if method == "bitsandbytes":
        four = bool(qc.get("load_in_4bit") or qc.get("_load_in_4bit"))
        return Quantization(method="bitsandbytes", bits=4 if four else 8, group_size=64 if four else None)
    if method == "compressed-tensors":
        return _compressed_tensors(qc, unquantized)
    if method:
        return Quantization(method=method, unquantized=unquantized)
    return None


def _compressed_tensors(qc: Config, unquantized: list[str]) -> Quantization:
    groups = qc.get("config_groups") or {}
    weights: Config = {}
    for group in groups.values() if isinstance(groups, dict) else []:
        if isinstance(group, dict) and isinstance(group.get("weights"), dict):
            weights = group["weights"]
            break
    bits = int(weights.get("num_bits") or 8)
    is_float = str(weights.get("type") or "int") == "float"
    strategy = str(weights.get("strategy") or "channel")
    group_size = weights.get("group_size") if strategy in ("group", "tensor_group") else None
    block = weights.get("block_structure")
    if bits == 4 and is_float:
        method = "nvfp4"
        group_size = group_size or 16
    elif bits == 8 and is_float:
        method = "fp8"
    elif bits == 8:
        method = "int8"
    else:
        method = "gptq"  # packed int4/int2/int3 weights + group scales, run by Marlin kernels
    return Quantization(
        method=method,
        bits=bits,
        group_size=int(group_size) if isinstance(group_size, int) and group_size > 0 else None,
        block_size=[int(b) for b in block] if isinstance(block, list) else None,
        float_weights=is_float,
        zero_point=weights.get("symmetric") is False,
        unquantized=unquantized,
    )


def model_dtype(text: Config, top: Config) -> str | None:
    for config in (text, top):
        for key in ("torch_dtype", "dtype"):
            value = config.get(key)
            if isinstance(value, str) and value.lower() in DTYPES:
                return DTYPES[value.lower()]
    return None


def _vision(top: Config) -> VisionInfo | None:
    vision = top.get("vision_config")
    if not isinstance(vision, dict) or not vision:
        return None
    return VisionInfo(
        num_heads=_int(vision, "num_heads") or _int(vision, "num_attention_heads"),
        hidden_size=_int(vision, "embed_dim") or _int(vision, "hidden_size"),
        num_layers=_int(vision, "depth") or _int(vision, "num_hidden_layers"),
        intermediate_size=_int(vision, "intermediate_size"),
        patch_size=_int(vision, "patch_size"),
    )


def _missing(text: Config) -> list[str]:
    aliases = {
        "num_hidden_layers": ("num_hidden_layers", "n_layer", "num_layers", "decoder_layers"),
        "hidden_size": ("hidden_size", "d_model", "n_embd"),
        "num_attention_heads": ("num_attention_heads", "n_head", "decoder_attention_heads"),
        "vocab_size": ("vocab_size", "padded_vocab_size"),
    }
    return [field for field in REQUIRED if not any(_int(text, alias) for alias in aliases[field])]


def model_info_from_config(
    config: Config,
    *,
    source: str,
    revision: str | None = None,
    name: str | None = None,
    files: dict[str, int] | None = None,
    weight_bytes: int | None = None,
    weight_bytes_exact: bool = False,
    config_path: str = "config.json",
) -> ModelInfo:
    """Everything gpuctl needs to know about a transformers model, from its config.

    `name` is the repository name used for the category table; `weight_bytes` the exact checkpoint
    size when the caller knows it (safetensors index / file sizes), otherwise the size is derived
    from the parameter counts and quantization.
    """
    name = name or source.split(":", 1)[-1]
    if not isinstance(config, Mapping):
        raise GpuctlError(
            Diagnostic(
                f"{config_path} of model {name} is not a JSON object",
                hint="check that the file is a transformers config.json",
                code="model-config-invalid",
            )
        )
    category, reason = categorize(name, config)
    text = text_config(config)
    model_type = str(text.get("model_type") or config.get("model_type") or "")
    if not config.get("architectures") and not model_type:
        raise GpuctlError(
            Diagnostic(
                f"{config_path} of model {name} names no architecture (neither `architectures` "
                "nor `model_type`)",
                hint="point gpuctl at the model's transformers config.json",
                code="model-config-incomplete",
            )
        )
    if category in ("llm", "embedding", "reranker", "vision-language", "omni") and (
        missing := _missing(text)
    ):
        raise GpuctlError(
            Diagnostic(
                f"{config_path} of model {name} lacks {', '.join(missing)}, which the memory estimate needs",
                hint="check that this is the model's transformers config.json (multimodal models "
                "nest it under text_config)",
                code="model-config-incomplete",
            )
        )
    layers = _int(text, "num_hidden_layers") or _int(text, "n_layer") or _int(text, "num_layers")
    layers = layers or _int(text, "decoder_layers")
    hidden = _int(text, "hidden_size") or _int(text, "d_model") or _int(text, "n_embd")
    heads = _int(text, "num_attention_heads") or _int(text, "n_head") or _int(text, "decoder_attention_heads")
    kv_heads = _int(text, "num_key_value_heads") or _int(text, "num_kv_heads") or heads
    head_dim = _int(text, "head_dim") or (hidden // heads if hidden and heads else None)
    kinds = attention_layer_types(text, model_type, layers or 0)
    local = kinds is not None and ("sliding_attention" in kinds or "chunked_attention" in kinds)
    window = _int(text, "sliding_window") or _int(text, "attention_chunk_size")
    quantization = parse_quantization(config.get("quantization_config") or config.get("compression_config"))
    counts = None
    warnings: list[str] = []
    if category in ("llm", "embedding", "reranker", "vision-language", "omni") and layers and hidden:
        counts = param_counts.count_params(text, config, category=category, model_type=model_type)
        if model_type not in KNOWN_MODEL_TYPES and not weight_bytes_exact:
            warnings.append(
                f"model type {model_type} is counted as a standard decoder; without the checkpoint's "
                "safetensors index its weight size is an approximation"
            )
    rope = text.get("rope_scaling") or text.get("rope_parameters")
    return ModelInfo(
        source=source,
        revision=revision,
        architectures=[str(a) for a in config.get("architectures") or []],
        model_type=str(config.get("model_type") or model_type) or None,
        category=category,
        category_reason=reason,
        num_layers=layers,
        hidden_size=hidden,
        intermediate_size=_int(text, "intermediate_size"),
        num_attention_heads=heads,
        num_kv_heads=kv_heads,
        head_dim=head_dim,
        vocab_size=_int(text, "vocab_size") or _int(text, "padded_vocab_size"),
        kv_lora_rank=_int(text, "kv_lora_rank"),
        qk_rope_head_dim=_int(text, "qk_rope_head_dim") if _int(text, "kv_lora_rank") else None,
        sliding_window=window if local else None,
        layer_types=kinds,
        num_experts=_int(text, "num_experts")
        or _int(text, "n_routed_experts")
        or _int(text, "num_local_experts"),
        num_experts_per_token=_int(text, "num_experts_per_tok") or _int(text, "experts_per_token"),
        moe_intermediate_size=_int(text, "moe_intermediate_size")
        or (_int(text, "intermediate_size") if model_type in ("mixtral", "gpt_oss", "llama4_text") else None),
        kv_cache=model_type not in param_counts.ENCODER_ONLY,
        vision=_vision(config),
        max_context=max_context(text, model_type),
        rope_scaling=dict(rope) if isinstance(rope, dict) else None,
        dtype=model_dtype(text, config),
        quantization=quantization,
        params=counts,
        weight_bytes=weight_bytes,
        weight_bytes_exact=weight_bytes_exact and weight_bytes is not None,
        files=dict(files or {}),
        warnings=warnings,
    )
