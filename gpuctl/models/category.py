"""What kind of model a repository holds: LLM, embedding, reranker, vision-language, omni, image,
speech-to-text or text-to-speech. The backends are chosen from it (speech → VoxBox, image →
SGLang, GGUF → llama-box, the rest → vLLM), so the rule that decided is kept as a reason.

Pure: names and config dicts in, (category, reason) out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gpuctl.models.info import Category

VOXBOX_MODELS: dict[str, Category] = {
    "faster-whisper-large-v3": "speech-to-text",
    "faster-whisper-large-v2": "speech-to-text",
    "faster-whisper-large-v1": "speech-to-text",
    "faster-whisper-medium": "speech-to-text",
    "faster-whisper-medium.en": "speech-to-text",
    "faster-whisper-small": "speech-to-text",
    "faster-whisper-small.en": "speech-to-text",
    "faster-distil-whisper-large-v3": "speech-to-text",
    "faster-distil-whisper-large-v2": "speech-to-text",
    "faster-distil-whisper-medium.en": "speech-to-text",
    "faster-whisper-tiny": "speech-to-text",
    "faster-whisper-tiny.en": "speech-to-text",
    "cosyvoice-300m-instruct": "text-to-speech",
    "cosyvoice-300m-sft": "text-to-speech",
    "cosyvoice-300m": "text-to-speech",
    "cosyvoice-300m-25hz": "text-to-speech",
    "cosyvoice2-0.5b": "text-to-speech",
    "dia-1.6b": "text-to-speech",
}
"""VoxBox's supported models (seed document "Built-in Inference Backends", VoxBox table), by
repository name, lower case: the same names on Hugging Face (Systran/..., FunAudioLLM/...,
gpustack/...) and ModelScope (gpustack/..., iic/...)."""

OMNI_MARKERS = ("omni",)
SPEECH_TO_TEXT_ARCHITECTURES = ("WhisperForConditionalGeneration", "Qwen2AudioForConditionalGeneration")
TEXT_TO_SPEECH_MARKERS = ("tts", "cosyvoice", "vits", "speecht5", "bark", "parler")
TEXT_TO_SPEECH_TYPES = ("dia", "vits", "speecht5", "bark")
EMBEDDING_NAME_MARKERS = ("embedding", "embed-", "-embed", "bge-", "gte-", "-e5-")


def categorize(
    repo_name: str,
    config: Mapping[str, Any] | None,
    model_index: Mapping[str, Any] | None = None,
) -> tuple[Category, str]:
    """The category of a model and why (a short phrase shown in plans)."""
    name = repo_name.rsplit("/", 1)[-1].lower()
    if name in VOXBOX_MODELS:
        return VOXBOX_MODELS[name], f"VoxBox table: {name}"
    if model_index is not None:
        pipeline = str(model_index.get("_class_name", "diffusers pipeline"))
        return "image", f"model_index.json ({pipeline})"
    config = config or {}
    architectures = [str(a) for a in config.get("architectures") or []]
    model_type = str(config.get("model_type") or "")
    arch_text = " ".join(architectures) or model_type
    lowered = arch_text.lower()
    why = f"architectures {arch_text}" if architectures else f"model_type {model_type}"
    if any(marker in lowered or marker in model_type for marker in OMNI_MARKERS):
        return "omni", why
    if any(a in SPEECH_TO_TEXT_ARCHITECTURES for a in architectures) or model_type == "whisper":
        return "speech-to-text", why
    if any(marker in lowered for marker in TEXT_TO_SPEECH_MARKERS) or model_type in TEXT_TO_SPEECH_TYPES:
        return "text-to-speech", why
    if "rerank" in name:
        return "reranker", f"name {name}"
    if lowered.endswith("forsequenceclassification"):
        return "reranker", why
    if any(marker in name for marker in EMBEDDING_NAME_MARKERS) or name.startswith("e5-"):
        return "embedding", f"name {name}"
    if architectures and all(a.endswith("Model") for a in architectures):
        return "embedding", f"{why} (no language-model head)"
    if isinstance(config.get("vision_config"), dict) or "vl" in model_type.split("_"):
        return "vision-language", why
    return "llm", why
