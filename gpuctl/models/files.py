"""Which files of a model repository are its weights, and how many bytes they hold.

Repositories carry more than one copy of some weights: Mistral's `consolidated.safetensors` next
to the transformers shards, Meta's `original/` folder of `.pth` files, diffusers' `.fp16`
variants, `.bin` files next to `.safetensors`. The backends load one set; these helpers pick the
same one. Safetensors headers (8-byte length + JSON) give exact tensor bytes without the
download.

Pure, apart from the byte source passed to `safetensors_bytes`.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Callable, Mapping

ByteSource = Callable[[int, int], bytes]

SPEECH_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".onnx", ".ckpt")

INDEX = "model.safetensors.index.json"
VARIANT = re.compile(r"\.(fp16|bf16|fp32)[.-]")
"""diffusers weight variants: `x.fp16.safetensors`, `x.fp16-00001-of-00002.safetensors`."""


def transformers_weight_files(files: Mapping[str, int]) -> list[str]:
    """The checkpoint files a transformers loader reads: top-level safetensors shards (else
    PyTorch `.bin` shards), never Mistral's consolidated copy or subfolders."""
    top = [path for path in files if "/" not in path]
    safetensors = [p for p in top if p.endswith(".safetensors") and not p.startswith("consolidated")]
    if safetensors:
        return sorted(safetensors)
    consolidated = [p for p in top if p.startswith("consolidated") and p.endswith(".safetensors")]
    if consolidated:
        return sorted(consolidated)
    return sorted(p for p in top if p.endswith(".bin") and ("pytorch_model" in p or p.startswith("model")))


def diffusers_weight_files(files: Mapping[str, int], model_index: Mapping[str, object]) -> list[str]:
    """Weights of each pipeline component named in model_index.json (transformer/, unet/, vae/,
    text_encoder*/): its safetensors files, the plain variant when `.fp16` / `.bf16` variants
    exist too."""
    chosen: list[str] = []
    for component, spec in model_index.items():
        if component.startswith("_") or not isinstance(spec, list) or spec[0] is None:
            continue
        prefix = f"{component}/"
        inside = [p for p in files if p.startswith(prefix) and p.endswith((".safetensors", ".bin"))]
        safetensors = [p for p in inside if p.endswith(".safetensors")] or inside
        plain = [p for p in safetensors if not VARIANT.search(p)]
        chosen.extend(sorted(plain or safetensors))
    return chosen


def speech_weight_files(files: Mapping[str, int]) -> list[str]:
    """VoxBox models (CTranslate2 `model.bin`, CosyVoice `.pt` / `.onnx`): every weight file."""
    return sorted(p for p in files if p.endswith(SPEECH_WEIGHT_SUFFIXES))


def index_total_size(index: Mapping[str, object]) -> int | None:
    """`metadata.total_size` of a safetensors index."""
    metadata = index.get("metadata")
    if isinstance(metadata, dict):
        total = metadata.get("total_size")
        if isinstance(total, int | float) and total > 0:
            return int(total)
    return None


def safetensors_bytes(read: ByteSource) -> int:
    """Tensor bytes of a safetensors file, from its header: the end of the last tensor's data."""
    (length,) = struct.unpack("<Q", read(0, 8))
    if length > 100 << 20:
        raise ValueError(f"safetensors header of {length} bytes is implausible")
    header = json.loads(read(8, length))
    ends = [
        int(entry["data_offsets"][1])
        for name, entry in header.items()
        if name != "__metadata__" and isinstance(entry, dict)
    ]
    return max(ends, default=0)
