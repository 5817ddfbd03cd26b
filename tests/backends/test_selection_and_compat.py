"""Backend auto-selection and the reasons a backend cannot run a model on a host."""

from __future__ import annotations

from types import ModuleType

import pytest

from gpuctl import backends
from gpuctl.models.info import GgufFile, ModelInfo, VisionInfo


def _spec(build: ModuleType, **model: object) -> object:
    return build.deployment(model=model or {"huggingface": "Qwen/Qwen3-8B"}).spec


@pytest.mark.parametrize(
    ("model", "source", "expected"),
    [
        (
            ModelInfo(source="huggingface:Qwen/Qwen3-8B"),
            {"huggingface": "Qwen/Qwen3-8B"},
            ("vllm", "default → vllm"),
        ),
        (
            ModelInfo(
                source="huggingface:Qwen/Qwen3-8B-GGUF",
                gguf=GgufFile(name="q.gguf", size=1, architecture="qwen3"),
            ),
            {"huggingface": "Qwen/Qwen3-8B-GGUF", "file": "*Q4_K_M.gguf"},
            ("llama-box", "GGUF file → llama-box"),
        ),
        (
            ModelInfo(source="huggingface:Systran/faster-whisper-large-v3", category="speech-to-text"),
            {"huggingface": "Systran/faster-whisper-large-v3"},
            ("voxbox", "VoxBox table: Faster-whisper-large-v3 → voxbox"),
        ),
        (
            ModelInfo(source="modelscope:iic/CosyVoice-300M-SFT", category="text-to-speech"),
            {"modelscope": "iic/CosyVoice-300M-SFT"},
            ("voxbox", "VoxBox table: CosyVoice-300M-SFT → voxbox"),
        ),
        (
            ModelInfo(source="local:/models/dia-1.6b", category="text-to-speech"),
            {"local": "/models/dia-1.6b"},
            ("voxbox", "VoxBox table: Dia-1.6B → voxbox"),
        ),
        (
            ModelInfo(
                source="huggingface:black-forest-labs/FLUX.1-dev",
                category="image",
                category_reason="model_index.json (FluxPipeline)",
            ),
            {"huggingface": "black-forest-labs/FLUX.1-dev"},
            ("sglang", "image model (model_index.json) → sglang"),
        ),
        (
            ModelInfo(source="huggingface:openai/whisper-large-v3", category="speech-to-text"),
            {"huggingface": "openai/whisper-large-v3"},
            ("vllm", "default → vllm"),
        ),
    ],
)
def test_auto_selection_rules(
    build: ModuleType, model: ModelInfo, source: dict, expected: tuple[str, str]
) -> None:
    spec = build.deployment(model=source).spec
    assert backends.select_backend(spec, model) == expected


def test_explicit_choice_wins(build: ModuleType) -> None:
    spec = build.deployment(model={"huggingface": "Systran/faster-whisper-small"}, backend="vllm").spec
    model = ModelInfo(source="huggingface:Systran/faster-whisper-small", category="speech-to-text")
    assert backends.select_backend(spec, model) == ("vllm", "explicit")


def test_voxbox_table_is_the_seeds() -> None:
    names = [row.name for row in backends.VOXBOX_MODELS]
    assert len(names) == 18
    amd64_only = {row.name for row in backends.VOXBOX_MODELS if row.platforms == ("amd64",)}
    assert amd64_only == {
        "CosyVoice-300M-Instruct",
        "CosyVoice-300M-SFT",
        "CosyVoice-300M",
        "CosyVoice-300M-25Hz",
        "CosyVoice2-0.5B",
        "Dia-1.6B",
    }


def _hosts(build: ModuleType) -> dict[str, object]:
    return {
        "nvidia": build.host("gpu", "10.0.0.1", [build.device("h100", 0)]),
        "old-nvidia": build.host("old", "10.0.0.2", [build.device("t4", 0), build.device("t4", 1)]),
        "ascend": build.host("npu", "10.0.0.3", [build.device("910b3", 0)], arch="arm64"),
        "ascend-310p": build.host("duo", "10.0.0.4", [build.device("310p3", 0)]),
        "amd": build.host("amd", "10.0.0.5", [build.device("mi300x", 0)]),
        "cpu": build.host("cpu", "10.0.0.6"),
        "cpu-arm64": build.host("cpu-arm", "10.0.0.7", arch="arm64"),
    }


LLM = ModelInfo(source="huggingface:Qwen/Qwen3-8B", category="llm")
EMBEDDING = ModelInfo(source="huggingface:Qwen/Qwen3-Embedding-8B", category="embedding")
COSYVOICE = ModelInfo(source="huggingface:FunAudioLLM/CosyVoice2-0.5B", category="text-to-speech")
WHISPER = ModelInfo(source="huggingface:Systran/faster-whisper-large-v3", category="speech-to-text")


@pytest.mark.parametrize(
    ("backend", "model", "host", "reason"),
    [
        ("mindie", LLM, "nvidia", "MindIE runs only on Ascend NPUs; host gpu has NVIDIA GPUs"),
        ("mindie", LLM, "cpu", "MindIE runs only on Ascend NPUs; host cpu has no accelerator"),
        (
            "mindie",
            EMBEDDING,
            "ascend",
            "MindIE does not serve embedding or reranker models (Qwen/Qwen3-Embedding-8B)",
        ),
        ("voxbox", WHISPER, "amd", "VoxBox runs on NVIDIA GPUs or on the CPU; host amd has AMD GPUs"),
        ("voxbox", WHISPER, "ascend", "VoxBox runs on NVIDIA GPUs or on the CPU; host npu has Ascend NPUs"),
        ("voxbox", COSYVOICE, "cpu-arm64", "CosyVoice2-0.5B runs only on amd64 hosts; host cpu-arm is arm64"),
        ("voxbox", LLM, "nvidia", "VoxBox serves speech-to-text and text-to-speech models"),
        (
            "sglang",
            LLM,
            "old-nvidia",
            "SGLang needs NVIDIA compute capability 8.0 or newer; host old has Tesla T4 (7.5)",
        ),
        ("sglang", LLM, "ascend-310p", "SGLang does not support Ascend 310P NPUs (host duo)"),
        ("sglang", LLM, "cpu", "SGLang needs NVIDIA, AMD or Ascend accelerators; host cpu has none"),
        ("vllm", LLM, "cpu", "vLLM needs NVIDIA, AMD or Ascend accelerators; host cpu has none"),
        ("llama-box", LLM, "nvidia", "llama-box serves GGUF files"),
    ],
)
def test_host_incompatibility_reasons(
    build: ModuleType, backend: str, model: ModelInfo, host: str, reason: str
) -> None:
    found = backends.host_incompatibility(backend, model, _hosts(build)[host])
    assert found is not None and found.startswith(reason), found


@pytest.mark.parametrize(
    ("backend", "model", "host"),
    [
        ("vllm", LLM, "nvidia"),
        ("vllm", LLM, "amd"),
        ("sglang", LLM, "nvidia"),
        ("mindie", LLM, "ascend"),
        ("mindie", LLM, "ascend-310p"),
        ("voxbox", WHISPER, "cpu-arm64"),
        ("voxbox", COSYVOICE, "nvidia"),
        ("voxbox", COSYVOICE, "cpu"),
    ],
)
def test_compatible_hosts(build: ModuleType, backend: str, model: ModelInfo, host: str) -> None:
    assert backends.host_incompatibility(backend, model, _hosts(build)[host]) is None


def test_container_runtime_is_required(build: ModuleType) -> None:
    no_toolkit = build.host("gpu", "10.0.0.1", [build.device("h100", 0)], docker={"gpus_supported": False})
    assert "install the NVIDIA Container Toolkit" in (
        backends.host_incompatibility("vllm", LLM, no_toolkit) or ""
    )
    no_ascend = build.host("npu", "10.0.0.3", [build.device("910b3", 0)], docker={"runtimes": ["runc"]})
    assert "has no `ascend` runtime" in (backends.host_incompatibility("mindie", LLM, no_ascend) or "")
    down = build.host(
        "gpu",
        "10.0.0.1",
        [build.device("h100", 0)],
        docker={"reachable": False, "error": "connection refused"},
    )
    assert (
        backends.host_incompatibility("vllm", LLM, down)
        == "Docker is not reachable on host gpu (connection refused)"
    )


def test_device_incompatibility_for_mixed_generations(build: ModuleType) -> None:
    assert backends.device_incompatibility("sglang", build.device("t4", 1)) == (
        "SGLang needs NVIDIA compute capability 8.0 or newer; device 1 (Tesla T4) has 7.5"
    )
    assert backends.device_incompatibility("sglang", build.device("h100", 0)) is None
    assert backends.device_incompatibility("vllm", build.device("t4", 0)) is None


def test_vllm_default_selector(build: ModuleType) -> None:
    assert backends.default_selector("vllm") == {"os": "linux", "arch": "amd64"}
    assert backends.default_selector("sglang") == {}
    arm64 = build.host("npu", "10.0.0.3", [build.device("910b3", 0)], arch="arm64")
    assert backends.host_incompatibility("vllm", LLM, arm64) == (
        "vLLM's default host selector is arch=amd64; host npu is arch=arm64 "
        "(set placement.selector.arch: arm64 to allow it)"
    )
    assert backends.host_incompatibility("vllm", LLM, arm64, {"arch": "arm64"}) is None
    assert backends.host_incompatibility("sglang", LLM, arm64) is None


@pytest.mark.parametrize(
    ("backend", "config", "tp", "pp", "reason"),
    [
        (
            "vllm",
            "Qwen__Qwen3-8B.config.json",
            3,
            1,
            "tensor parallel size 3 does not divide the model's 32 attention heads",
        ),
        (
            "vllm",
            "Qwen__Qwen2.5-VL-7B-Instruct.config.json",
            8,
            1,
            "tensor parallel size 8 does not divide the model's 28 attention heads",
        ),
        (
            "vllm",
            "Qwen__Qwen3-8B.config.json",
            1,
            40,
            "pipeline parallel size 40 exceeds the model's 36 layers",
        ),
        (
            "mindie",
            "Qwen__Qwen3-32B.config.json",
            6,
            1,
            "MindIE needs a power-of-2 tensor parallel size; 6 is not",
        ),
        ("voxbox", "openai__whisper-large-v3.config.json", 2, 1, "VoxBox runs a model on one GPU, not 2"),
    ],
)
def test_parallelism_incompatibility(
    build: ModuleType, backend: str, config: str, tp: int, pp: int, reason: str
) -> None:
    model = build.model_from_config(config, source="huggingface:x/y")
    assert backends.parallelism_incompatibility(backend, model, tp, pp) == reason


def test_vision_heads_and_vocabulary_must_divide() -> None:
    vision = ModelInfo(source="x", num_attention_heads=32, vocab_size=32000, vision=VisionInfo(num_heads=12))
    assert backends.parallelism_incompatibility("sglang", vision, 8, 1) == (
        "tensor parallel size 8 does not divide the model's 12 vision attention heads"
    )
    vocabulary = ModelInfo(source="x", num_attention_heads=32, vocab_size=32001)
    assert backends.parallelism_incompatibility("vllm", vocabulary, 2, 1) == (
        "tensor parallel size 2 does not divide the model's 32001 vocabulary size"
    )
    assert backends.parallelism_incompatibility("mindie", vocabulary, 2, 1) is None


def test_parallelism_that_divides_is_fine(build: ModuleType) -> None:
    model = build.model_from_config(
        "meta-llama__Llama-3.1-70B-Instruct.config.json", source="huggingface:x/y"
    )
    assert backends.parallelism_incompatibility("vllm", model, 8, 2) is None
    assert backends.parallelism_incompatibility("mindie", model, 8, 1) is None
