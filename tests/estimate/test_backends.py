"""SGLang, MindIE, llama-box (GGUF), VoxBox and image estimates, and the GPU table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gpuctl.errors import GpuctlError
from gpuctl.estimate import estimate
from gpuctl.estimate.gpus import parse_gpu
from gpuctl.estimate.llamabox import compute_buffer, split_layers
from gpuctl.estimate.types import EstimateRequest
from gpuctl.models.config import model_info_from_config
from gpuctl.models.info import GgufFile, ModelInfo

DATA = Path(__file__).resolve().parents[1] / "data" / "models"
GiB = 1 << 30
MiB = 1 << 20


def load(name: str) -> ModelInfo:
    config = json.loads((DATA / f"{name}.config.json").read_text())
    return model_info_from_config(config, source=f"huggingface:{name.replace('__', '/')}")


def test_sglang_runs_the_full_context_and_falls_back_to_8192() -> None:
    qwen = load("Qwen__Qwen3-8B")
    h100 = EstimateRequest(backend="sglang", device_memory=(int(79.19 * GiB),))
    assert estimate(qwen, h100).context_length == 40960
    small = EstimateRequest(backend="sglang", device_memory=(int(23.6 * GiB),), memory_fraction=0.9)
    result = estimate(qwen, small)
    assert result.verdict == "fits" and result.context_length == 8192
    assert "--context-length 8192" in result.context_length_reason
    assert result.kv_pool_tokens == result.kv_pool_bytes // result.kv_bytes_per_token  # token-granular pool


def test_mindie_is_estimated_like_vllm_and_says_so() -> None:
    result = estimate(load("Qwen__Qwen3-8B"), EstimateRequest(backend="mindie", device_memory=(64 * GiB,)))
    assert result.verdict == "fits" and result.context_length == 8192
    assert result.kv_pool_tokens % 128 == 0  # --cache-block-size 128
    assert any("no MindIE measurements" in note for note in result.notes)


def gguf_model(layers: int = 32, layer_bytes: int = 200 * MiB, mmproj: int = 0) -> ModelInfo:
    gguf = GgufFile(
        name="model-Q4_K_M.gguf",
        size=layers * layer_bytes + 700 * MiB,
        architecture="llama",
        file_type="Q4_K_M",
        layers=layers,
        context_length=131072,
        embedding_length=4096,
        head_count=32,
        head_count_kv=8,
        layer_bytes=[layer_bytes] * layers,
        non_layer_bytes=700 * MiB,
        output_bytes=400 * MiB,
    )
    projector = GgufFile(name="mmproj-f16.gguf", size=mmproj, architecture="clip") if mmproj else None
    return ModelInfo(source="huggingface:x/y-GGUF", gguf=gguf, mmproj=projector, num_layers=layers)


def llama_box(memory: tuple[int, ...], **kwargs: object) -> EstimateRequest:
    return EstimateRequest(backend="llama-box", device_memory=memory, **kwargs)  # type: ignore[arg-type]


def test_gguf_fits_entirely_on_a_large_gpu() -> None:
    result = estimate(gguf_model(), llama_box((24 * GiB,)))
    assert (result.verdict, result.gpu_layers, result.total_layers, result.context_length) == (
        "fits",
        32,
        32,
        8192,
    )
    kv = 32 * 8192 * 8 * (128 + 128) * 2  # layers × context × KV heads × (K + V head dims) × f16
    assert result.per_device.kv_cache == kv
    assert result.per_device.total == 32 * 200 * MiB + kv + 400 * MiB + compute_buffer("llama", True)
    assert result.cpu_memory == 300 * MiB  # the input embedding stays in host memory


def test_gguf_offloads_layers_to_the_cpu_when_allowed() -> None:
    model = gguf_model()
    without = estimate(model, llama_box((4 * GiB,)))
    assert without.verdict in ("context-too-long", "does-not-fit") and without.gpu_layers == 0
    with_offload = estimate(model, llama_box((4 * GiB,), cpu_offload=True))
    assert with_offload.verdict == "fits"
    assert 0 < with_offload.gpu_layers < 32
    assert with_offload.per_device.total <= 4 * GiB
    assert with_offload.cpu_memory > (32 - with_offload.gpu_layers) * 200 * MiB


def test_gguf_context_that_fits_without_offload() -> None:
    result = estimate(gguf_model(), llama_box((8 * GiB,), context_length=131072))
    assert result.verdict == "context-too-long"
    assert 8192 < result.max_context_that_fits < 131072


def test_gguf_without_devices_runs_on_the_cpu() -> None:
    result = estimate(gguf_model(), llama_box(()))
    assert result.on_cpu and result.gpu_layers == 0 and result.verdict == "fits"
    assert result.cpu_memory >= 32 * 200 * MiB + 700 * MiB


def test_gguf_layers_split_by_device_memory_with_the_projector_first() -> None:
    assert split_layers(32, [24, 8]) == [24, 8]
    result = estimate(gguf_model(mmproj=600 * MiB), llama_box((16 * GiB, 8 * GiB)))
    first, second = result.device_breakdowns
    assert (
        first.weights == 22 * 200 * MiB and second.weights == 10 * 200 * MiB
    )  # 2:1, remainder to the larger
    assert (
        first.overhead - second.overhead == 600 * MiB - 400 * MiB
    )  # projector on the first, output on the last


def test_quantized_gguf_kv_cache_is_smaller() -> None:
    f16 = estimate(gguf_model(), llama_box((24 * GiB,)))
    q8 = estimate(gguf_model(), llama_box((24 * GiB,), kv_cache_dtype="q8_0"))
    assert q8.per_device.kv_cache == pytest.approx(f16.per_device.kv_cache * 34 / 64, rel=0.001)


def test_llama_box_needs_a_gguf_model() -> None:
    with pytest.raises(GpuctlError, match="llama-box runs GGUF models"):
        estimate(load("Qwen__Qwen3-8B"), llama_box((24 * GiB,)))


def test_voxbox_falls_back_to_the_cpu() -> None:
    whisper = ModelInfo(
        source="huggingface:Systran/faster-whisper-large-v3", category="speech-to-text", weight_bytes=3 * GiB
    )
    on_gpu = estimate(whisper, EstimateRequest(backend="voxbox", device_memory=(8 * GiB,)))
    assert on_gpu.verdict == "fits" and not on_gpu.on_cpu
    assert on_gpu.per_device.total == 3 * GiB + int(GiB + 0.2 * 3 * GiB)
    small = EstimateRequest(backend="voxbox", device_memory=(2 * GiB,), cpu_offload=True)
    assert estimate(whisper, small).on_cpu
    assert (
        estimate(whisper, EstimateRequest(backend="voxbox", device_memory=(2 * GiB,))).verdict
        == "does-not-fit"
    )


def test_image_pipeline_is_weights_plus_allowance() -> None:
    flux = ModelInfo(
        source="huggingface:black-forest-labs/FLUX.1-dev", category="image", weight_bytes=31 * GiB
    )
    result = estimate(flux, EstimateRequest(backend="sglang", device_memory=(int(79.19 * GiB),)))
    assert result.verdict == "fits"
    assert result.per_device.total == 31 * GiB + int(4 * GiB + 0.1 * 31 * GiB)
    assert (
        estimate(flux, EstimateRequest(backend="sglang", device_memory=(int(23.6 * GiB),))).verdict
        == "does-not-fit"
    )


@pytest.mark.parametrize(
    ("text", "name", "gib"),
    [
        ("H100-80GB", "H100-80GB", 79.19),
        ("NVIDIA H100 80GB HBM3", "H100-80GB", 79.19),
        ("H200", "H200", 140.4),
        ("RTX 4090", "RTX 4090", 23.6),
        ("NVIDIA L40S", "L40S", 44.42),
        ("NVIDIA A100-SXM4-80GB", "A100-80GB", 79.25),
        ("80GiB", "80GiB", 80),
        ("24GB", "24GB", 24e9 / GiB),
        ("81559MiB", "81559MiB", 81559 / 1024),
    ],
)
def test_gpu_names_and_sizes(text: str, name: str, gib: float) -> None:
    found, size = parse_gpu(text)
    assert found == name and size / GiB == pytest.approx(gib, abs=0.01)


def test_unknown_gpu_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown GPU 'B9000'.*H100-80GB"):
        parse_gpu("B9000")
