"""GGUF headers read from real (tiny) GGUF files written with the gguf package."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpuctl.errors import GpuctlError
from gpuctl.models.gguf import choose_mmproj, choose_model_file, read_header, split_shards
from gpuctl.models.local import LocalRepository
from gpuctl.models.repository import describe


def file_source(path: Path):
    data = path.read_bytes()
    reads: list[tuple[int, int]] = []

    def read(start: int, size: int) -> bytes:
        reads.append((start, size))
        return data[start : start + size]

    return read, reads


def test_header_gives_layers_sizes_and_quantization(tmp_path: Path, make_gguf) -> None:
    make_gguf(tmp_path / "model-Q8_0.gguf", layers=3, hidden=64, vocab=96)
    info = describe(LocalRepository(tmp_path), "*Q8_0.gguf")
    gguf = info.gguf
    assert (gguf.architecture, gguf.file_type, gguf.layers, gguf.context_length) == ("llama", "Q8_0", 3, 4096)
    assert (gguf.head_count, gguf.head_count_kv, gguf.embedding_length) == (4, 2, 64)
    # Q8_0: 34 bytes per 32 weights; per layer q 64 rows, k/v 32, up 128 rows of 64 weights + an F32 norm.
    per_layer = (64 + 32 + 32 + 128) * (64 // 32 * 34) + 64 * 4
    assert gguf.layer_bytes == [per_layer] * 3
    assert gguf.output_bytes == 96 * 64 * 2 + 64 * 4  # output.weight (F16) + output_norm
    assert gguf.non_layer_bytes == gguf.output_bytes + 96 * 64 * 2  # + token_embd
    assert info.weight_bytes == (tmp_path / "model-Q8_0.gguf").stat().st_size
    assert info.category == "llm" and info.num_layers == 3


def test_tied_output_uses_the_embedding(tmp_path: Path, make_gguf) -> None:
    make_gguf(tmp_path / "tied.gguf", tied=True)
    gguf = describe(LocalRepository(tmp_path), "tied.gguf").gguf
    assert gguf.output_bytes == 96 * 64 * 2 + 64 * 4  # a copy of token_embd + output_norm


def test_header_is_read_in_growing_windows_only(tmp_path: Path, make_gguf) -> None:
    (path,) = make_gguf(tmp_path / "m.gguf", vocab=30000)  # a vocabulary makes the header large
    read, reads = file_source(path)
    header = read_header(read, "m.gguf")
    assert header.metadata["tokenizer.ggml.tokens"] == 30000
    assert reads[0] == (0, 1 << 20)


def test_split_model_reads_every_shard(tmp_path: Path, make_gguf) -> None:
    shards = make_gguf(tmp_path / "big.gguf", layers=4, split_max_tensors=6)
    assert len(shards) > 1
    info = describe(LocalRepository(tmp_path), "big*.gguf")
    assert info.gguf.name == shards[0].name
    assert info.gguf.split_files == [s.name for s in shards[1:]]
    assert len(info.gguf.layer_bytes) == 4 and all(info.gguf.layer_bytes)
    assert info.weight_bytes == sum(s.stat().st_size for s in shards)


def test_projector_is_chosen_with_higher_precision_first(tmp_path: Path, make_gguf) -> None:
    make_gguf(tmp_path / "qwen2-vl-Q4_K_M.gguf")
    for name in ("mmproj-model-f16.gguf", "mmproj-model-f32.gguf", "mmproj-model-q8_0.gguf"):
        make_gguf(tmp_path / name, arch="clip", layers=1)
    info = describe(LocalRepository(tmp_path), "*Q4_K_M.gguf")
    assert info.mmproj is not None and info.mmproj.name == "mmproj-model-f32.gguf"
    assert info.category == "vision-language"
    files = {"m/q.gguf": 1, "m/mmproj-bf16.gguf": 1, "m/mmproj-q8_0.gguf": 1, "other/mmproj-f32.gguf": 1}
    assert choose_mmproj(files, "m/q.gguf") == "m/mmproj-bf16.gguf"  # the model's own folder first


def test_model_file_pattern_must_match_exactly_one_model() -> None:
    files = {
        "a-Q4_K_M.gguf": 1,
        "a-Q8_0.gguf": 1,
        "a-Q2_K-00001-of-00002.gguf": 1,
        "a-Q2_K-00002-of-00002.gguf": 1,
    }
    assert choose_model_file(files, "*Q4_K_M.gguf", "org/a") == "a-Q4_K_M.gguf"
    assert choose_model_file(files, "*Q2_K*", "org/a") == "a-Q2_K-00001-of-00002.gguf"
    with pytest.raises(GpuctlError, match="matches 3 GGUF models"):
        choose_model_file(files, "*.gguf", "org/a")
    with pytest.raises(GpuctlError, match="no GGUF file matches") as error:
        choose_model_file(files, "*IQ1_S*", "org/a")
    assert "a-Q8_0.gguf" in str(error.value)


def test_split_shard_names() -> None:
    assert split_shards("d/x-00002-of-00003.gguf") == [f"d/x-0000{i}-of-00003.gguf" for i in (1, 2, 3)]
    assert split_shards("x.gguf") == []


def test_truncated_and_foreign_files_are_diagnosed(tmp_path: Path, make_gguf) -> None:
    (path,) = make_gguf(tmp_path / "m.gguf")
    data = path.read_bytes()
    with pytest.raises(GpuctlError, match="ends inside its header"):
        read_header(lambda start, size: data[:200][start : start + size], "m.gguf")
    with pytest.raises(GpuctlError, match="GGUF magic"):
        read_header(lambda start, size: b"PK\x03\x04" + b"\0" * 100, "m.gguf")
