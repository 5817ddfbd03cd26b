"""Local model directories and GGUF files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gpuctl.errors import GpuctlError
from gpuctl.models.resolve import READ_ON_HOST, resolve
from gpuctl.spec.models import ModelSource

DATA = Path(__file__).parent.parent / "data" / "models"


def test_directory_with_config_and_index(tmp_path: Path) -> None:
    shutil.copy(DATA / "google__gemma-2-9b-it.config.json", tmp_path / "config.json")
    shutil.copy(
        DATA / "google__gemma-2-9b-it.model.safetensors.index.json", tmp_path / "model.safetensors.index.json"
    )
    info = resolve(ModelSource(local=str(tmp_path)))
    assert info.source == f"local:{tmp_path}"
    assert (info.weight_bytes, info.weight_bytes_exact, info.revision) == (18483411968, True, None)


def test_path_missing_here_is_read_on_the_host() -> None:
    info = resolve(ModelSource(local="/data/models/faster-whisper-large-v3"))
    assert info.warnings == [READ_ON_HOST]
    assert info.category == "speech-to-text"  # the VoxBox table still knows the name
    assert info.params is None


def test_single_gguf_file(tmp_path: Path, make_gguf) -> None:
    (path,) = make_gguf(tmp_path / "model.gguf")
    info = resolve(ModelSource(local=str(path)))
    assert info.source == f"local:{path}" and info.gguf.layers == 2


def test_a_file_that_is_not_gguf_is_an_error(tmp_path: Path) -> None:
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"\0")
    with pytest.raises(GpuctlError, match="not a GGUF file"):
        resolve(ModelSource(local=str(weights)))
