"""Hugging Face resolution against a local server that speaks the hub's API shape."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from gpuctl.errors import GpuctlError
from gpuctl.models.resolve import resolve
from gpuctl.spec.models import ModelSource

DATA = Path(__file__).parent.parent / "data" / "models"


def source(repo: str, **kwargs: str) -> ModelSource:
    return ModelSource(huggingface=repo, **kwargs)


def gemma_files() -> dict[str, bytes]:
    return {
        "config.json": (DATA / "google__gemma-2-9b-it.config.json").read_bytes(),
        "model.safetensors.index.json": (
            DATA / "google__gemma-2-9b-it.model.safetensors.index.json"
        ).read_bytes(),
        "model-00001-of-00004.safetensors": b"\0" * 16,
        "README.md": b"# gemma",
    }


def test_resolves_revision_config_and_exact_size(hf_hub) -> None:
    repo = hf_hub.add("google/gemma-2-9b-it", gemma_files())
    info = resolve(source("google/gemma-2-9b-it"), None, hf_endpoint=hf_hub.url)
    assert info.revision == repo.commit
    assert info.source == "huggingface:google/gemma-2-9b-it"
    assert (info.weight_bytes, info.weight_bytes_exact) == (18483411968, True)
    assert info.num_layers == 42 and info.category == "llm"
    paths = [path for _, path, _ in hf_hub.requests]
    assert paths[0].startswith("/api/models/google/gemma-2-9b-it")  # the listing, with sizes (blobs=true)
    assert (
        f"/google/gemma-2-9b-it/resolve/{repo.commit}/config.json" in paths
    )  # files read at the pinned commit


def test_revision_can_be_a_commit_and_an_unknown_one_is_reported(hf_hub) -> None:
    repo = hf_hub.add("google/gemma-2-9b-it", gemma_files())
    assert (
        resolve(source("google/gemma-2-9b-it", revision=repo.commit), None, hf_endpoint=hf_hub.url).revision
        == repo.commit
    )
    with pytest.raises(GpuctlError) as error:
        resolve(source("google/gemma-2-9b-it", revision="v9"), None, hf_endpoint=hf_hub.url)
    assert "google/gemma-2-9b-it at revision v9" in str(error.value) and "does not exist" in str(error.value)


def test_missing_repository(hf_hub) -> None:
    with pytest.raises(GpuctlError, match="huggingface:nobody/nothing was not found") as error:
        resolve(source("nobody/nothing"), None, hf_endpoint=hf_hub.url)
    assert error.value.diagnostics[0].code == "model-not-found"


def test_gated_repository_needs_a_token_which_is_sent_as_a_header(hf_hub) -> None:
    hf_hub.add(
        "meta-llama/Llama-3.1-8B-Instruct",
        {"config.json": (DATA / "meta-llama__Llama-3.1-8B-Instruct.config.json").read_bytes()},
        gated=True,
    )
    with pytest.raises(GpuctlError, match="is gated") as error:
        resolve(source("meta-llama/Llama-3.1-8B-Instruct"), None, hf_endpoint=hf_hub.url)
    assert "HF_TOKEN" in error.value.diagnostics[0].hint
    info = resolve(source("meta-llama/Llama-3.1-8B-Instruct"), "hf_secret", hf_endpoint=hf_hub.url)
    assert info.num_layers == 32
    assert info.weight_bytes is None  # no weight files listed: derived from the config later
    assert any(headers.get("authorization") == "Bearer hf_secret" for _, _, headers in hf_hub.requests)
    assert "hf_secret" not in info.model_dump_json()


def test_single_safetensors_file_is_sized_from_its_header(hf_hub) -> None:
    import json
    import struct

    header = json.dumps({"w": {"dtype": "BF16", "shape": [2, 3], "data_offsets": [0, 12]}}).encode()
    blob = struct.pack("<Q", len(header)) + header + b"\0" * 12
    config = (DATA / "Qwen__Qwen3-Embedding-0.6B.config.json").read_bytes()
    hf_hub.add("Qwen/Qwen3-Embedding-0.6B", {"config.json": config, "model.safetensors": blob})
    info = resolve(source("Qwen/Qwen3-Embedding-0.6B"), None, hf_endpoint=hf_hub.url)
    assert (info.weight_bytes, info.weight_bytes_exact, info.category) == (12, True, "embedding")
    assert any(headers.get("range", "").startswith("bytes=0-") for _, _, headers in hf_hub.requests)


def test_gguf_header_is_read_with_ranged_requests(hf_hub, make_gguf, tmp_path: Path) -> None:
    (model,) = make_gguf(tmp_path / "qwen-Q8_0.gguf", layers=3)
    (projector,) = make_gguf(tmp_path / "mmproj-f16.gguf", arch="clip", layers=1)
    hf_hub.add(
        "someone/model-GGUF",
        {"qwen-Q8_0.gguf": model.read_bytes(), "mmproj-f16.gguf": projector.read_bytes(), "README.md": b""},
    )
    info = resolve(source("someone/model-GGUF", file="*Q8_0.gguf"), None, hf_endpoint=hf_hub.url)
    assert info.gguf.name == "qwen-Q8_0.gguf" and info.gguf.layers == 3
    assert info.mmproj.name == "mmproj-f16.gguf"
    ranges = [headers.get("range") for _, path, headers in hf_hub.requests if path.endswith(".gguf")]
    assert ranges and all(r and r.startswith("bytes=") for r in ranges)


def test_diffusers_pipeline_sums_its_components(hf_hub) -> None:
    hf_hub.add(
        "black-forest-labs/FLUX.1-schnell",
        {
            "model_index.json": (DATA / "black-forest-labs__FLUX.1-schnell.model_index.json").read_bytes(),
            "transformer/diffusion_pytorch_model.safetensors": b"\0" * 100,
            "text_encoder/model.safetensors": b"\0" * 10,
            "vae/diffusion_pytorch_model.safetensors": b"\0" * 5,
        },
    )
    info = resolve(source("black-forest-labs/FLUX.1-schnell"), None, hf_endpoint=hf_hub.url)
    assert (info.category, info.weight_bytes, info.architectures) == ("image", 115, ["FluxPipeline"])


def test_voxbox_model_is_sized_from_its_files(hf_hub) -> None:
    hf_hub.add(
        "Systran/faster-whisper-large-v3",
        {"config.json": b'{"alignment_heads": []}', "model.bin": b"\0" * 300},
    )
    info = resolve(source("Systran/faster-whisper-large-v3"), None, hf_endpoint=hf_hub.url)
    assert (info.category, info.weight_bytes) == ("speech-to-text", 300)


def test_repository_without_a_model_is_reported(hf_hub) -> None:
    hf_hub.add("someone/empty", {"README.md": b"hello"})
    with pytest.raises(GpuctlError, match=r"has no config\.json"):
        resolve(source("someone/empty"), None, hf_endpoint=hf_hub.url)


def test_broken_config_is_reported(hf_hub) -> None:
    hf_hub.add("someone/broken", {"config.json": b"{not json"})
    with pytest.raises(GpuctlError, match=r"config\.json of model someone/broken is not valid JSON"):
        resolve(source("someone/broken"), None, hf_endpoint=hf_hub.url)


def test_hf_endpoint_is_read_from_the_environment(hf_hub, monkeypatch) -> None:
    hf_hub.add("google/gemma-2-9b-it", gemma_files())
    monkeypatch.setenv("HF_ENDPOINT", hf_hub.url)
    assert resolve(source("google/gemma-2-9b-it")).num_layers == 42


def test_unreachable_hub_is_a_diagnostic() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again when the block ends: nothing listens there
    with pytest.raises(GpuctlError, match="cannot reach") as error:
        resolve(source("google/gemma-2-9b-it"), None, hf_endpoint=f"http://127.0.0.1:{port}")
    assert error.value.diagnostics[0].code == "model-hub-unreachable"
