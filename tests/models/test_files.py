"""Picking a repository's weight files and reading safetensors headers."""

from __future__ import annotations

import json
import struct
from pathlib import Path

from gpuctl.models.files import (
    diffusers_weight_files,
    safetensors_bytes,
    speech_weight_files,
    transformers_weight_files,
)

DATA = Path(__file__).parent.parent / "data" / "models"


def test_transformers_weights_skip_duplicate_copies() -> None:
    mistral = {
        "consolidated.safetensors": 14,
        "model-00001-of-00003.safetensors": 5,
        "model-00002-of-00003.safetensors": 5,
        "model-00003-of-00003.safetensors": 4,
        "original/consolidated.00.pth": 14,
        "pytorch_model.bin": 14,
    }
    assert transformers_weight_files(mistral) == [f"model-0000{i}-of-00003.safetensors" for i in (1, 2, 3)]
    assert transformers_weight_files({"consolidated.safetensors": 1, "params.json": 1}) == [
        "consolidated.safetensors"
    ]
    assert transformers_weight_files({"pytorch_model.bin": 3, "training_args.bin": 1}) == [
        "pytorch_model.bin"
    ]


def test_diffusers_weights_follow_model_index_and_skip_variants() -> None:
    index = json.loads((DATA / "black-forest-labs__FLUX.1-schnell.model_index.json").read_text())
    files = {
        "transformer/diffusion_pytorch_model-00001-of-00003.safetensors": 10,
        "transformer/diffusion_pytorch_model.fp16-00001-of-00003.safetensors": 5,
        "text_encoder/model.safetensors": 2,
        "text_encoder_2/model-00001-of-00002.safetensors": 4,
        "vae/diffusion_pytorch_model.safetensors": 1,
        "vae/diffusion_pytorch_model.fp16.safetensors": 1,
        "tokenizer/vocab.json": 1,
        "flux1-schnell.safetensors": 24,
    }
    chosen = diffusers_weight_files(files, index)
    assert chosen == [
        "text_encoder/model.safetensors",
        "text_encoder_2/model-00001-of-00002.safetensors",
        "transformer/diffusion_pytorch_model-00001-of-00003.safetensors",
        "vae/diffusion_pytorch_model.safetensors",
    ]


def test_speech_weights() -> None:
    files = {"model.bin": 3_087_284_237, "config.json": 2_000, "vocabulary.json": 1_000, "llm.pt": 5}
    assert speech_weight_files(files) == ["llm.pt", "model.bin"]


def test_safetensors_header_gives_exact_tensor_bytes() -> None:
    header = {
        "__metadata__": {"format": "pt"},
        "a": {"dtype": "BF16", "shape": [4, 8], "data_offsets": [0, 64]},
        "b": {"dtype": "F32", "shape": [10], "data_offsets": [64, 104]},
    }
    blob = json.dumps(header).encode()
    data = struct.pack("<Q", len(blob)) + blob + b"\0" * 104
    assert safetensors_bytes(lambda start, size: data[start : start + size]) == 104
