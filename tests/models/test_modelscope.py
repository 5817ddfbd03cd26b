"""ModelScope resolution against a local server that speaks its HTTP API."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpuctl.errors import GpuctlError
from gpuctl.models.resolve import resolve
from gpuctl.spec.models import ModelSource

DATA = Path(__file__).parent.parent / "data" / "models"


def test_resolves_listing_commit_and_config(ms_hub) -> None:
    repo = ms_hub.add(
        "Qwen/Qwen3-8B",
        {
            "config.json": (DATA / "Qwen__Qwen3-8B.config.json").read_bytes(),
            "model-00001-of-00005.safetensors": b"\0" * 64,
        },
        branch="master",
    )
    info = resolve(ModelSource(modelscope="Qwen/Qwen3-8B"), None, modelscope_endpoint=ms_hub.url)
    assert (info.source, info.revision, info.num_layers) == ("modelscope:Qwen/Qwen3-8B", repo.commit, 36)
    assert (info.weight_bytes, info.weight_bytes_exact) == (64, False)
    file_reads = [path for _, path, _ in ms_hub.requests if "FilePath=config.json" in path]
    assert file_reads and f"Revision={repo.commit}" in file_reads[0]


def test_gguf_over_modelscope(ms_hub, make_gguf, tmp_path: Path) -> None:
    (model,) = make_gguf(tmp_path / "m-Q8_0.gguf")
    ms_hub.add("someone/m-GGUF", {"Q8_0/m-Q8_0.gguf": model.read_bytes()}, branch="master")
    info = resolve(
        ModelSource(modelscope="someone/m-GGUF", file="*Q8_0.gguf"), None, modelscope_endpoint=ms_hub.url
    )
    assert info.gguf.name == "Q8_0/m-Q8_0.gguf" and info.gguf.layers == 2


def test_missing_model_and_revision(ms_hub) -> None:
    ms_hub.add("Qwen/Qwen3-8B", {"config.json": b"{}"}, branch="master")
    with pytest.raises(GpuctlError, match="modelscope:nobody/nothing at revision master was not found"):
        resolve(ModelSource(modelscope="nobody/nothing"), None, modelscope_endpoint=ms_hub.url)
    with pytest.raises(GpuctlError, match="at revision v2 was not found"):
        resolve(ModelSource(modelscope="Qwen/Qwen3-8B", revision="v2"), None, modelscope_endpoint=ms_hub.url)


def test_private_model_needs_a_token(ms_hub) -> None:
    ms_hub.add(
        "me/private",
        {"config.json": (DATA / "Qwen__Qwen3-8B.config.json").read_bytes()},
        branch="master",
        gated=True,
    )
    with pytest.raises(GpuctlError, match="access denied") as error:
        resolve(ModelSource(modelscope="me/private"), None, modelscope_endpoint=ms_hub.url)
    assert "MODELSCOPE_API_TOKEN" in error.value.diagnostics[0].hint
    assert (
        resolve(ModelSource(modelscope="me/private"), "ms-token", modelscope_endpoint=ms_hub.url).num_layers
        == 36
    )
