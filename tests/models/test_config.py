"""config.json → ModelInfo over every real config in tests/data/models."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from gpuctl.errors import GpuctlError
from gpuctl.estimate.kv import layer_bytes_per_token
from gpuctl.estimate.weights import checkpoint_bytes
from gpuctl.models.config import max_context, model_info_from_config, parse_quantization, text_config
from gpuctl.models.info import ModelInfo

DATA = Path(__file__).parent.parent / "data" / "models"
CONFIGS = sorted(p for p in DATA.glob("*.config.json") if "FLUX" not in p.name)


def load(name: str) -> ModelInfo:
    config = json.loads((DATA / f"{name}.config.json").read_text())
    return model_info_from_config(config, source=f"huggingface:{name.replace('__', '/')}")


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name.removesuffix(".config.json"))
def test_every_real_config_parses(path: Path) -> None:
    name = path.name.removesuffix(".config.json")
    info = load(name)
    assert info.max_context and info.max_context >= 448
    if info.category != "speech-to-text":
        assert info.params is not None and info.params.total > 100_000_000
        assert info.num_layers == info.params.num_layers


PUBLISHED_PARAMETERS = {
    # The parameter counts the models' Hugging Face pages show (safetensors metadata).
    "meta-llama__Llama-3.1-8B-Instruct": 8_030_261_248,
    "meta-llama__Llama-3.1-70B-Instruct": 70_553_706_496,
    "Qwen__Qwen2.5-7B-Instruct": 7_615_616_512,
    "Qwen__Qwen2.5-VL-7B-Instruct": 8_292_166_656,
    "Qwen__Qwen3-8B": 8_190_735_360,
    "Qwen__Qwen3-32B": 32_762_123_264,
    "Qwen__Qwen3-30B-A3B": 30_532_122_624,
    "Qwen__Qwen3-VL-8B-Instruct": 8_767_123_696,
    "Qwen__Qwen3-VL-30B-A3B-Instruct": 31_070_754_032,
    "Qwen__Qwen3-Embedding-0.6B": 595_776_512,
    "Qwen__Qwen3-Embedding-8B": 7_567_295_488,
    "google__gemma-2-9b-it": 9_241_705_984,
    "google__gemma-3-27b-it": 27_432_406_640,
    "mistralai__Mistral-7B-Instruct-v0.3": 7_248_023_552,
    "mistralai__Mixtral-8x7B-v0.1": 46_702_792_704,
    "openai__gpt-oss-20b": 20_914_757_184,
    "openai__gpt-oss-120b": 116_829_156_672,
    # configs added with tests/estimate/data/held_out.csv (three reconstructed, see SOURCES.md)
    "Qwen__Qwen3-14B": 14_768_307_200,
    "Qwen__Qwen2.5-1.5B-Instruct": 1_543_714_304,
    "microsoft__phi-4": 14_659_507_200,
}


@pytest.mark.parametrize("name", sorted(PUBLISHED_PARAMETERS))
def test_parameter_counts_match_the_published_ones(name: str) -> None:
    assert load(name).params.total == PUBLISHED_PARAMETERS[name]


def test_checkpoint_sizes_match_safetensors_indexes() -> None:
    """weights_total_size.csv: exact `total_size` of checkpoints whose configs are saved."""
    saved = {
        "google/gemma-2-9b-it": "google__gemma-2-9b-it",
        "meta-llama/Llama-3.1-8B(-Instruct)": "meta-llama__Llama-3.1-8B-Instruct",
        "meta-llama/Llama-3.1-70B(-Instruct)": "meta-llama__Llama-3.1-70B-Instruct",
        "Qwen/Qwen2.5-7B-Instruct": "Qwen__Qwen2.5-7B-Instruct",
        "Qwen/Qwen3-8B": "Qwen__Qwen3-8B",
        "deepseek-ai/DeepSeek-V3": "deepseek-ai__DeepSeek-V3",
    }
    rows = {
        r["model"]: int(r["total_size_bytes"])
        for r in csv.DictReader((DATA / "weights_total_size.csv").open())
    }
    for model, name in saved.items():
        info = load(name)
        size = checkpoint_bytes(info.params, info.quantization, 2, info.hidden_size)
        # DeepSeek-V3 mixes fp8 blocks, fp32 scales and bf16 parts: within 0.02 %.
        assert size == pytest.approx(rows[model], rel=2e-4), model


def test_gemma_index_matches_its_verbatim_safetensors_index() -> None:
    index = json.loads((DATA / "google__gemma-2-9b-it.model.safetensors.index.json").read_text())
    info = load("google__gemma-2-9b-it")
    assert checkpoint_bytes(info.params, None, 2, info.hidden_size) == index["metadata"]["total_size"]


KV_BYTES_PER_TOKEN = {
    # SOURCES.md: "KV bytes/token if every layer were full attention", bf16.
    "Qwen__Qwen2.5-7B-Instruct": 57344,
    "Qwen__Qwen3-235B-A22B-FP8": 192512,
    "Qwen__Qwen3-30B-A3B": 98304,
    "Qwen__Qwen3-32B": 262144,
    "Qwen__Qwen3-8B": 147456,
    "Qwen__Qwen3-VL-8B-Instruct": 147456,
    "deepseek-ai__DeepSeek-R1": 70272,
    "google__gemma-2-9b-it": 344064,
    "google__gemma-3-27b-it": 507904,
    "meta-llama__Llama-3.1-70B-Instruct": 327680,
    "meta-llama__Llama-3.1-8B-Instruct": 131072,
    "mistralai__Mixtral-8x7B-v0.1": 131072,
    "openai__gpt-oss-120b": 73728,
}


@pytest.mark.parametrize("name", sorted(KV_BYTES_PER_TOKEN))
def test_kv_bytes_per_token_match_sources(name: str) -> None:
    info = load(name)
    assert layer_bytes_per_token(info, 1, 2) * info.num_layers == KV_BYTES_PER_TOKEN[name]


@pytest.mark.parametrize(
    ("name", "context"),
    [
        ("meta-llama__Llama-3.1-8B-Instruct", 131072),  # llama3 rope scaling is not multiplied
        ("Qwen__Qwen3-8B", 40960),
        ("Qwen__Qwen2.5-VL-7B-Instruct", 128000),  # mrope has no factor
        ("Qwen__Qwen3-VL-8B-Instruct", 262144),  # from text_config
        ("google__gemma-2-9b-it", 8192),
        ("google__gemma-3-27b-it", 131072),  # text_config default; gemma3 is never re-scaled
        ("deepseek-ai__DeepSeek-R1", 163840),  # yarn: 4096 × 40
        ("openai__gpt-oss-20b", 131072),  # yarn: 4096 × 32
        ("openai__whisper-large-v3", 448),  # max_target_positions
        ("BAAI__bge-m3", 8194),
    ],
)
def test_max_context(name: str, context: int) -> None:
    assert load(name).max_context == context


def test_max_context_takes_the_smallest_key_and_scales_linear_rope() -> None:
    config = {
        "max_position_embeddings": 32768,
        "seq_length": 8192,
        "rope_scaling": {"type": "linear", "factor": 2},
    }
    assert max_context(config, "llama") == 16384
    assert max_context({"rope_scaling": {"type": "yarn", "factor": 4}}, "qwen2") is None


@pytest.mark.parametrize(
    ("name", "category"),
    [
        ("BAAI__bge-m3", "embedding"),
        ("BAAI__bge-reranker-v2-m3", "reranker"),
        ("Qwen__Qwen3-Embedding-8B", "embedding"),
        ("Qwen__Qwen2.5-VL-7B-Instruct", "vision-language"),
        ("google__gemma-3-27b-it", "vision-language"),
        ("openai__whisper-large-v3", "speech-to-text"),
        ("deepseek-ai__DeepSeek-V3", "llm"),
    ],
)
def test_category(name: str, category: str) -> None:
    info = load(name)
    assert info.category == category
    assert info.category_reason


def test_quantization_schemes() -> None:
    qwen = load("Qwen__Qwen3-235B-A22B-FP8").quantization
    assert (qwen.method, qwen.block_size, qwen.unquantized) == ("fp8", [128, 128], [])
    oss = load("openai__gpt-oss-120b").quantization
    assert (oss.method, oss.bits, oss.group_size, oss.unquantized) == ("mxfp4", 4, 32, ["attention"])
    flux = json.loads((DATA / "black-forest-labs__FLUX.1-schnell.transformer.config.json").read_text())
    assert parse_quantization(flux["quantization_config"]).bits == 4
    gptq = parse_quantization({"quant_method": "gptq", "bits": 4, "group_size": 128, "sym": True})
    assert (gptq.method, gptq.group_size, gptq.zero_point) == ("gptq", 128, False)
    w8a8 = parse_quantization(
        {
            "quant_method": "compressed-tensors",
            "config_groups": {"group_0": {"weights": {"num_bits": 8, "type": "int", "strategy": "channel"}}},
            "ignore": ["lm_head"],
        }
    )
    assert (w8a8.method, w8a8.unquantized) == ("int8", [])


def test_hybrid_attention_layer_kinds() -> None:
    gemma2 = load("google__gemma-2-9b-it")
    assert gemma2.layer_types[:2] == ["sliding_attention", "full_attention"]
    assert gemma2.layer_types.count("full_attention") == 21
    assert gemma2.sliding_window == 4096
    gemma3 = load("google__gemma-3-27b-it")
    assert gemma3.layer_types.count("full_attention") == 10  # every sixth of 62
    assert gemma3.sliding_window == 1024
    assert load("Qwen__Qwen2.5-7B-Instruct").layer_types is None  # use_sliding_window: false


def test_mla_and_moe_fields() -> None:
    r1 = load("deepseek-ai__DeepSeek-R1")
    assert (r1.kv_lora_rank, r1.qk_rope_head_dim, r1.num_experts, r1.num_experts_per_token) == (
        512,
        64,
        256,
        8,
    )
    assert r1.params.layers[0].count == 3 and r1.params.layers[1].count == 58  # 3 dense, 58 MoE
    assert r1.params.unloaded > 0  # the MTP layer is in the checkpoint, not loaded


def test_vlm_text_config_is_merged_over_the_top_level() -> None:
    config = json.loads((DATA / "google__gemma-3-27b-it.config.json").read_text())
    text = text_config(config)
    assert text["vocab_size"] == 262208 and text["hidden_size"] == 5376
    assert text["torch_dtype"] == "bfloat16"


def test_incomplete_config_names_the_model_and_the_missing_fields() -> None:
    with pytest.raises(GpuctlError) as error:
        model_info_from_config(
            {"architectures": ["LlamaForCausalLM"], "hidden_size": 4096}, source="huggingface:a/b"
        )
    message = str(error.value)
    assert "a/b" in message and "num_hidden_layers" in message and "vocab_size" in message


def test_config_without_architecture_is_an_error() -> None:
    with pytest.raises(GpuctlError, match="names no architecture"):
        model_info_from_config({"hidden_size": 1}, source="huggingface:a/b")


def test_config_that_is_not_an_object_is_an_error() -> None:
    with pytest.raises(GpuctlError, match="not a JSON object"):
        model_info_from_config([1, 2], source="huggingface:a/b")  # type: ignore[arg-type]


def test_unknown_model_type_is_estimated_with_a_warning() -> None:
    config = json.loads((DATA / "Qwen__Qwen3-8B.config.json").read_text())
    assert load("Qwen__Qwen3-8B").warnings == []
    other = model_info_from_config(dict(config, model_type="olmo3"), source="huggingface:a/b")
    assert other.params.total > 8_000_000_000
    assert "olmo3 is counted as a standard decoder" in other.warnings[0]
    indexed = model_info_from_config(
        dict(config, model_type="olmo3"), source="huggingface:a/b", weight_bytes=1, weight_bytes_exact=True
    )
    assert indexed.warnings == []
