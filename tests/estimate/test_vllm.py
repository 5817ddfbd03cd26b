"""vLLM estimates: context rule, verdicts, parallelism, KV layouts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gpuctl.errors import GpuctlError
from gpuctl.estimate import estimate
from gpuctl.estimate.kv import KvGroups, blocks_per_request, kv_groups
from gpuctl.estimate.types import EstimateRequest
from gpuctl.models.config import model_info_from_config
from gpuctl.models.info import ModelInfo

DATA = Path(__file__).resolve().parents[1] / "data" / "models"
GiB = 1 << 30
H100 = int(79.19 * GiB)
RTX4090 = int(23.6 * GiB)


def load(name: str) -> ModelInfo:
    config = json.loads((DATA / f"{name}.config.json").read_text())
    return model_info_from_config(config, source=f"huggingface:{name.replace('__', '/')}")


def vllm(**kwargs: object) -> EstimateRequest:
    return EstimateRequest(backend="vllm", **kwargs)  # type: ignore[arg-type]


def test_default_context_is_capped_at_8192() -> None:
    result = estimate(load("Qwen__Qwen3-8B"), vllm(device_memory=(H100,)))
    assert result.context_length == 8192
    assert "40960 > 8192" in result.context_length_reason
    assert result.verdict == "fits" and result.max_context_that_fits == 40960
    assert result.max_concurrency == pytest.approx(result.kv_pool_tokens / 8192, rel=0.01)


def test_breakdown_adds_up_to_the_budget_plus_cuda_graphs() -> None:
    result = estimate(
        load("meta-llama__Llama-3.1-8B-Instruct"), vllm(device_memory=(H100,), memory_fraction=0.95)
    )
    d = result.per_device
    assert d.total == d.weights + d.kv_cache + d.activation + d.overhead
    assert d.total == pytest.approx(0.95 * H100 + 0.9 * GiB, rel=0.002)  # the pool is whole blocks
    assert result.kv_pool_bytes == result.kv_pool_tokens * result.kv_bytes_per_token


def test_context_too_long_reports_the_largest_that_fits() -> None:
    llama = load("meta-llama__Llama-3.1-8B-Instruct")
    result = estimate(llama, vllm(device_memory=(RTX4090,), context_length=131072))
    assert result.verdict == "context-too-long"
    assert 16384 < result.max_context_that_fits < 131072
    assert result.max_context_that_fits <= result.kv_pool_tokens
    assert result.required_per_device > RTX4090
    at_largest = estimate(llama, vllm(device_memory=(RTX4090,), context_length=result.max_context_that_fits))
    assert at_largest.verdict == "fits"


def test_does_not_fit_when_weights_exceed_the_budget() -> None:
    result = estimate(
        load("meta-llama__Llama-3.1-70B-Instruct"), vllm(device_memory=(RTX4090,) * 2, tensor_parallel=2)
    )
    assert result.verdict == "does-not-fit"
    assert result.max_context_that_fits is None
    assert any("exceed" in note for note in result.notes)


def test_tensor_parallel_replicates_kv_heads_beyond_their_count() -> None:
    qwen = load("Qwen__Qwen3-235B-A22B-FP8")  # 4 KV heads
    tp4 = estimate(qwen, vllm(device_memory=(H100,) * 4, tensor_parallel=4))
    tp8 = estimate(qwen, vllm(device_memory=(H100,) * 8, tensor_parallel=8))
    assert tp4.kv_bytes_per_token == tp8.kv_bytes_per_token == 94 * 1 * 128 * 2 * 2


def test_mla_cache_is_not_split_by_tensor_parallelism() -> None:
    r1 = load("deepseek-ai__DeepSeek-R1")
    h200 = int(140.4 * GiB)
    result = estimate(r1, vllm(device_memory=(h200,) * 8, tensor_parallel=8))
    assert result.kv_bytes_per_token == 70272
    assert result.verdict == "fits"


def test_fp8_kv_cache_halves_the_bytes_per_token() -> None:
    llama = load("meta-llama__Llama-3.1-8B-Instruct")
    auto = estimate(llama, vllm(device_memory=(H100,)))
    fp8 = estimate(llama, vllm(device_memory=(H100,), kv_cache_dtype="fp8"))
    assert fp8.kv_bytes_per_token * 2 == auto.kv_bytes_per_token
    assert fp8.kv_pool_tokens == pytest.approx(2 * auto.kv_pool_tokens, rel=0.001)


def test_pipeline_stages_are_reported_and_the_last_binds() -> None:
    result = estimate(
        load("meta-llama__Llama-3.1-8B-Instruct"), vllm(device_memory=(H100,) * 2, pipeline_parallel=2)
    )
    first, last = result.device_breakdowns
    assert last.activation > first.activation  # only the last stage runs the sampler
    assert result.per_device == last


def test_hybrid_grouping_follows_vllm() -> None:
    # gemma-3-4b: 29 sliding + 5 full layers → groups of 5, 7 groups, 35 slots (row 6 of measurements).
    groups = kv_groups(("sliding_attention",) * 29 + ("full_attention",) * 5)
    assert (groups.group_size, len(groups.kinds), groups.slots) == (5, 7, 35)
    pool = int(62.51 * GiB)
    blocks = pool // (16 * groups.group_size * 4 * 256 * 2 * 2)
    assert blocks // len(groups.kinds) * 16 == pytest.approx(468144, rel=1e-4)
    # gemma-2: alternating 21 + 21 → two groups of 21, no padding.
    assert kv_groups(("sliding_attention", "full_attention") * 21) == KvGroups(
        ("sliding_attention", "full_attention"), 21
    )
    # gpt-oss-20b + a drafter layer (12 sliding + 13 full): one group size of 13.
    assert kv_groups(("sliding_attention",) * 12 + ("full_attention",) * 13).group_size == 13


def test_sliding_window_requests_need_fewer_blocks() -> None:
    groups = KvGroups(("full_attention", "sliding_attention"), 21)
    # vLLM's max concurrency for gemma-2 (rows 3, 4): a full group 512 blocks, a sliding one 513.
    assert blocks_per_request(groups, 8192, 16, 4096, 8192) == 512 + 513
    assert blocks_per_request(groups, 32768, 16, 1024, 2048) == 2048 + 192 + 1


def test_encoder_only_models_have_no_kv_cache() -> None:
    result = estimate(load("BAAI__bge-m3"), vllm(device_memory=(RTX4090,)))
    assert result.verdict == "fits"
    assert result.kv_pool_tokens is None and result.kv_bytes_per_token is None
    assert result.per_device.weights < 1.2 * GiB  # float32 checkpoint run in 16-bit


def test_runtime_fp8_quantization_shrinks_the_linear_layers() -> None:
    llama = load("meta-llama__Llama-3.1-8B-Instruct")
    result = estimate(llama, vllm(device_memory=(H100,), quantization="fp8"))
    assert 8.49 <= result.per_device.weights / GiB <= 8.49 * 1.01  # row 14


def test_no_devices_is_an_answer_not_a_crash() -> None:
    result = estimate(load("Qwen__Qwen3-8B"), vllm())
    assert result.verdict == "does-not-fit" and result.devices == 0


def test_results_are_cached_per_model_and_request() -> None:
    qwen = load("Qwen__Qwen3-8B")
    request = vllm(device_memory=(H100,))
    assert estimate(qwen, request) is estimate(qwen, vllm(device_memory=(H100,)))


def test_model_without_config_cannot_be_estimated() -> None:
    unknown = ModelInfo(source="local:/data/models/x", warnings=["read on the host"])
    with pytest.raises(GpuctlError, match="cannot estimate the memory of model local:/data/models/x"):
        estimate(unknown, vllm(device_memory=(H100,)))


def test_exact_size_scales_the_parameter_counts() -> None:
    qwen = load("Qwen__Qwen3-8B")
    bigger = qwen.model_copy(update={"weight_bytes": 17_000_000_000, "weight_bytes_exact": True})
    base = estimate(qwen, vllm(device_memory=(H100,))).per_device.weights
    scaled = estimate(bigger, vllm(device_memory=(H100,))).per_device.weights
    assert scaled / base == pytest.approx(17_000_000_000 / 16_381_470_720, rel=0.002)
