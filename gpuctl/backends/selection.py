"""Which backend serves a model, and the VoxBox model table from the seed documents.

Rules in order (the first that matches wins; the plan shows which one chose):

1. `backend:` set in the spec → that backend ("explicit").
2. a GGUF file → llama-box.
3. a model of VoxBox's table (speech-to-text / text-to-speech) → voxbox.
4. an image (diffusion) model → sglang (SGLang Diffusion).
5. everything else → vllm.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from gpuctl.models.info import ModelInfo
from gpuctl.spec.models import ModelDeploymentSpec


@dataclass(frozen=True)
class VoxBoxModel:
    name: str
    """As the seed's table spells it, e.g. "Faster-whisper-large-v3"."""
    kind: str
    """speech-to-text or text-to-speech."""
    platforms: tuple[str, ...]
    """Docker architectures the model runs on."""


_STT = "speech-to-text"
_TTS = "text-to-speech"
_ANY = ("amd64", "arm64")
_AMD64 = ("amd64",)

VOXBOX_MODELS: tuple[VoxBoxModel, ...] = (
    VoxBoxModel("Faster-whisper-large-v3", _STT, _ANY),
    VoxBoxModel("Faster-whisper-large-v2", _STT, _ANY),
    VoxBoxModel("Faster-whisper-large-v1", _STT, _ANY),
    VoxBoxModel("Faster-whisper-medium", _STT, _ANY),
    VoxBoxModel("Faster-whisper-medium.en", _STT, _ANY),
    VoxBoxModel("Faster-whisper-small", _STT, _ANY),
    VoxBoxModel("Faster-whisper-small.en", _STT, _ANY),
    VoxBoxModel("Faster-distil-whisper-large-v3", _STT, _ANY),
    VoxBoxModel("Faster-distil-whisper-large-v2", _STT, _ANY),
    VoxBoxModel("Faster-distil-whisper-medium.en", _STT, _ANY),
    VoxBoxModel("Faster-whisper-tiny", _STT, _ANY),
    VoxBoxModel("Faster-whisper-tiny.en", _STT, _ANY),
    VoxBoxModel("CosyVoice-300M-Instruct", _TTS, _AMD64),
    VoxBoxModel("CosyVoice-300M-SFT", _TTS, _AMD64),
    VoxBoxModel("CosyVoice-300M", _TTS, _AMD64),
    VoxBoxModel("CosyVoice-300M-25Hz", _TTS, _AMD64),
    VoxBoxModel("CosyVoice2-0.5B", _TTS, _AMD64),
    VoxBoxModel("Dia-1.6B", _TTS, _AMD64),
)
"""The seed's supported-model table (000, "Voxbox"): every hub repository of a row has the row's
name as its repository name (Systran/faster-whisper-large-v3, iic/CosyVoice-300M-SFT ...)."""

_BY_NAME = {model.name.lower(): model for model in VOXBOX_MODELS}


def voxbox_model(source: str) -> VoxBoxModel | None:
    """The table row for a model reference: `ORG/NAME`, `huggingface:ORG/NAME`, a local path or a
    plain name; matched on the last path component, case-insensitively."""
    ref = source.split(":", 1)[1] if ":" in source and not source.startswith("/") else source
    return _BY_NAME.get(posixpath.basename(ref.rstrip("/")).lower())


def select_backend(spec: ModelDeploymentSpec, model: ModelInfo) -> tuple[str, str]:
    """The backend name and the rule that chose it."""
    if spec.backend != "auto":
        return spec.backend, "explicit"
    if model.is_gguf or spec.model.file:
        return "llama-box", "GGUF file → llama-box"
    row = voxbox_model(spec.model.ref) or voxbox_model(model.source)
    if row is not None:
        return "voxbox", f"VoxBox table: {row.name} → voxbox"
    if model.category == "image":
        why = model.category_reason.split(" (")[0] if model.category_reason else "category image"
        return "sglang", f"image model ({why}) → sglang"
    return "vllm", "default → vllm"
