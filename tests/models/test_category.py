"""Model categories: the VoxBox table, diffusers pipelines, architectures and names."""

from __future__ import annotations

import pytest

from gpuctl.models.category import categorize


@pytest.mark.parametrize(
    ("repo", "category"),
    [
        ("Systran/faster-whisper-large-v3", "speech-to-text"),
        ("gpustack/faster-whisper-large-v3", "speech-to-text"),
        ("Systran/faster-distil-whisper-medium.en", "speech-to-text"),
        ("FunAudioLLM/CosyVoice2-0.5B", "text-to-speech"),
        ("iic/CosyVoice-300M-25Hz", "text-to-speech"),
        ("nari-labs/Dia-1.6B", "text-to-speech"),
    ],
)
def test_voxbox_table_matches_hugging_face_and_modelscope_names(repo: str, category: str) -> None:
    found, reason = categorize(repo, None)
    assert found == category
    assert reason.startswith("VoxBox table")


def test_diffusers_pipeline_is_an_image_model() -> None:
    assert categorize("black-forest-labs/FLUX.1-dev", None, {"_class_name": "FluxPipeline"}) == (
        "image",
        "model_index.json (FluxPipeline)",
    )


@pytest.mark.parametrize(
    ("repo", "config", "category"),
    [
        ("Qwen/Qwen3-Reranker-8B", {"architectures": ["Qwen3ForCausalLM"]}, "reranker"),
        ("intfloat/e5-mistral-7b-instruct", {"architectures": ["MistralModel"]}, "embedding"),
        ("Qwen/Qwen2.5-Omni-7B", {"architectures": ["Qwen2_5OmniModel"]}, "omni"),
        ("some/tts", {"architectures": ["Qwen3TTSForConditionalGeneration"]}, "text-to-speech"),
        ("meta-llama/Llama-3.1-8B", {"architectures": ["LlamaForCausalLM"]}, "llm"),
        (
            "Qwen/Qwen2-VL-7B",
            {"architectures": ["Qwen2VLForConditionalGeneration"], "vision_config": {}},
            "vision-language",
        ),
    ],
)
def test_architecture_and_name_rules(repo: str, config: dict, category: str) -> None:
    assert categorize(repo, config)[0] == category
