"""GGUF headers: what llama-box needs to know about a GGUF model without downloading it.

A GGUF file starts with its metadata and the table of its tensors (name, shape, type); the
weights follow. gpuctl reads only that header, from a local file or with ranged HTTP reads
(`ByteSource`), growing the window until the table is complete: a few MB for large
vocabularies, against tens of GB of weights. The `gguf` package supplies the format's constants
(value types, quantization block sizes, file-type names); its reader maps whole files into
memory, which a remote header cannot be, so the parsing loop is here.

Pure apart from the byte source the caller passes in.
"""

from __future__ import annotations

import fnmatch
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gpuctl.errors import Diagnostic, GpuctlError
from gpuctl.models.info import GgufFile

ByteSource = Callable[[int, int], bytes]
"""read(offset, size) → up to `size` bytes at `offset` (fewer at the end of the file)."""

FIRST_READ = 1 << 20
MAX_HEADER = 256 << 20

SPLIT_NAME = re.compile(r"^(?P<prefix>.*)-(?P<index>\d{5})-of-(?P<count>\d{5})\.gguf$")

MMPROJ_PRECISION = ("f32", "fp32", "f16", "fp16", "bf16", "q8")
"""Projector precision preference (seed: "higher precision, e.g. f32 over f16"): earlier wins."""


class _Reader:
    """Sequential reads over a ByteSource, fetching larger windows as the header grows."""

    def __init__(self, read: ByteSource, name: str) -> None:
        self._read = read
        self._name = name
        self._buffer = b""
        self._window = FIRST_READ
        self.offset = 0

    def take(self, size: int) -> bytes:
        end = self.offset + size
        while end > len(self._buffer):
            if len(self._buffer) >= MAX_HEADER:
                raise _error(self._name, f"its header is larger than {MAX_HEADER >> 20} MiB")
            chunk = self._read(len(self._buffer), max(self._window, end - len(self._buffer)))
            if not chunk:
                raise _error(self._name, "the file ends inside its header (truncated download?)")
            self._buffer += chunk
            self._window *= 2
        data = self._buffer[self.offset : end]
        self.offset = end
        return data

    def unpack(self, fmt: str) -> Any:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))[0]

    def string(self) -> str:
        return self.take(self.unpack("Q")).decode("utf-8", errors="replace")


def _error(name: str, what: str) -> GpuctlError:
    return GpuctlError(
        Diagnostic(
            f"GGUF file {name}: {what}",
            hint="check that `file` names a GGUF model file and that it is complete",
            code="gguf-invalid",
        )
    )


@dataclass
class GgufHeader:
    metadata: dict[str, Any] = field(default_factory=dict)
    tensors: dict[str, int] = field(default_factory=dict)
    """Tensor name → bytes."""


def read_header(read: ByteSource, name: str) -> GgufHeader:
    """Parse the metadata and tensor table of a GGUF file (versions 2 and 3)."""
    from gguf import GGML_QUANT_SIZES, GGUF_MAGIC, GGMLQuantizationType, GGUFValueType

    reader = _Reader(read, name)
    if reader.unpack("I") != GGUF_MAGIC:
        raise _error(name, "it does not start with the GGUF magic")
    version = reader.unpack("I")
    if version not in (2, 3):
        raise _error(name, f"GGUF version {version} is not supported (2 and 3 are)")
    n_tensors, n_kv = reader.unpack("Q"), reader.unpack("Q")
    scalar = {
        GGUFValueType.UINT8: "B",
        GGUFValueType.INT8: "b",
        GGUFValueType.UINT16: "H",
        GGUFValueType.INT16: "h",
        GGUFValueType.UINT32: "I",
        GGUFValueType.INT32: "i",
        GGUFValueType.FLOAT32: "f",
        GGUFValueType.BOOL: "?",
        GGUFValueType.UINT64: "Q",
        GGUFValueType.INT64: "q",
        GGUFValueType.FLOAT64: "d",
    }

    def value(kind: int) -> Any:
        kind = GGUFValueType(kind)
        if kind == GGUFValueType.STRING:
            return reader.string()
        if kind == GGUFValueType.ARRAY:
            item, count = GGUFValueType(reader.unpack("I")), reader.unpack("Q")
            if item in scalar:  # read fixed-size arrays in one go
                size = struct.calcsize(scalar[item])
                data = reader.take(size * count)
                return list(struct.unpack(f"<{count}{scalar[item]}", data)) if count <= 4096 else count
            items = [value(item) for _ in range(count)]
            return items if count <= 4096 else count  # vocabularies: only their length matters
        return reader.unpack(scalar[kind])

    header = GgufHeader()
    for _ in range(n_kv):
        key = reader.string()
        header.metadata[key] = value(reader.unpack("I"))
    for _ in range(n_tensors):
        tensor = reader.string()
        dims = [reader.unpack("Q") for _ in range(reader.unpack("I"))]
        kind = reader.unpack("I")
        reader.unpack("Q")  # data offset
        elements = 1
        for dim in dims:
            elements *= dim
        try:
            block, size = GGML_QUANT_SIZES[GGMLQuantizationType(kind)]
        except (ValueError, KeyError) as exc:
            raise _error(name, f"tensor {tensor} has unknown type {kind}") from exc
        header.tensors[tensor] = elements // block * size
    return header


def _meta_int(metadata: dict[str, Any], key: str) -> int | None:
    value = metadata.get(key)
    if isinstance(value, list):  # per-layer values (e.g. head_count_kv): the largest binds
        value = max((v for v in value if isinstance(v, int)), default=None)
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def file_type_name(metadata: dict[str, Any]) -> str | None:
    from gguf import LlamaFileType

    value = metadata.get("general.file_type")
    if not isinstance(value, int):
        return None
    try:
        name = LlamaFileType(value).name
    except ValueError:
        return None
    return name.removeprefix("MOSTLY_").removeprefix("ALL_")


def gguf_file(
    name: str, size: int, headers: list[GgufHeader], split_files: list[str] | None = None
) -> GgufFile:
    """One GgufFile from the headers of a file and its split shards."""
    metadata = headers[0].metadata
    tensors: dict[str, int] = {}
    for header in headers:
        tensors.update(header.tensors)
    arch = str(metadata.get("general.architecture") or "unknown")
    layers = _meta_int(metadata, f"{arch}.block_count")
    layer_bytes = [0] * (layers or 0)
    non_layer = output = 0
    for tensor, nbytes in tensors.items():
        match = re.match(r"(?:blk|v\.blk)\.(\d+)\.", tensor)
        if match and layers and int(match.group(1)) < layers:
            layer_bytes[int(match.group(1))] += nbytes
        else:
            non_layer += nbytes
            if tensor.startswith(("output.", "output_norm.")):
                output += nbytes
    if "output.weight" not in tensors and "token_embd.weight" in tensors and arch != "clip":
        output += tensors["token_embd.weight"]  # tied head: llama.cpp puts a copy of the embedding there
    return GgufFile(
        name=name,
        size=size,
        architecture=arch,
        file_type=file_type_name(metadata),
        layers=layers,
        context_length=_meta_int(metadata, f"{arch}.context_length"),
        embedding_length=_meta_int(metadata, f"{arch}.embedding_length"),
        head_count=_meta_int(metadata, f"{arch}.attention.head_count"),
        head_count_kv=_meta_int(metadata, f"{arch}.attention.head_count_kv"),
        key_length=_meta_int(metadata, f"{arch}.attention.key_length"),
        value_length=_meta_int(metadata, f"{arch}.attention.value_length"),
        kv_lora_rank=_meta_int(metadata, f"{arch}.attention.kv_lora_rank"),
        rope_dimension=_meta_int(metadata, f"{arch}.rope.dimension_count"),
        layer_bytes=layer_bytes,
        non_layer_bytes=non_layer,
        output_bytes=output,
        split_files=split_files or [],
    )


def split_shards(name: str) -> list[str]:
    """All shard names of a split GGUF file given any one of them (empty if not split)."""
    match = SPLIT_NAME.match(name)
    if not match:
        return []
    count = int(match.group("count"))
    return [f"{match.group('prefix')}-{i:05d}-of-{count:05d}.gguf" for i in range(1, count + 1)]


def choose_model_file(files: dict[str, int], pattern: str, model: str) -> str:
    """The GGUF file a `file` pattern names: exact path, or a glob matching one model file (or
    the first shard of one split model). Projector files are never chosen as the model."""
    if pattern in files:
        return pattern
    candidates = sorted(
        path
        for path in files
        if path.endswith(".gguf")
        and "mmproj" not in path.lower()
        and (fnmatch.fnmatch(path, pattern) or fnmatch.fnmatch(path.rsplit("/", 1)[-1], pattern))
    )
    first_shards = sorted({(split_shards(path) or [path])[0] for path in candidates})
    if len(first_shards) == 1:
        return first_shards[0]
    available = sorted(p for p in files if p.endswith(".gguf"))
    if not first_shards:
        listing = ", ".join(available[:12]) + (" ..." if len(available) > 12 else "") or "none"
        raise GpuctlError(
            Diagnostic(
                f"model {model}: no GGUF file matches {pattern!r} (GGUF files: {listing})",
                hint="set `file` to one of the listed names or a glob that matches exactly one",
                code="gguf-file-not-found",
            )
        )
    raise GpuctlError(
        Diagnostic(
            f"model {model}: {pattern!r} matches {len(first_shards)} GGUF models: "
            + ", ".join(first_shards[:8]),
            hint="make `file` specific enough to match one model (e.g. '*Q4_K_M.gguf')",
            code="gguf-file-ambiguous",
        )
    )


def choose_mmproj(files: dict[str, int], model_file: str) -> str | None:
    """The multimodal projector to use with `model_file`: a `*mmproj*.gguf` file (preferring the
    model's own directory), highest precision first (f32 > f16 > bf16 > q8 > the rest)."""
    projectors = [path for path in files if "mmproj" in path.lower() and path.endswith(".gguf")]
    if not projectors:
        return None
    folder = model_file.rsplit("/", 1)[0] if "/" in model_file else ""
    local = [p for p in projectors if (p.rsplit("/", 1)[0] if "/" in p else "") == folder]
    candidates = local or projectors

    def rank(path: str) -> tuple[int, str]:
        tokens = re.split(r"[-_.]", path.rsplit("/", 1)[-1].lower())
        for index, precision in enumerate(MMPROJ_PRECISION):
            if any(token.startswith(precision) for token in tokens):
                return index, path
        return len(MMPROJ_PRECISION), path

    return min(candidates, key=rank)
