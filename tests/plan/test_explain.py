"""Replace reasons from the `gpuctl.spec` label: image, parameters, env, secrets, files."""

from __future__ import annotations

import json

from gpuctl.backends.types import ContainerSpec, HostFile, Readiness
from gpuctl.plan.explain import apply_labels, command_changes, parse_flags, spec_changes, spec_label


def spec(**changes: object) -> ContainerSpec:
    base: dict[str, object] = {
        "name": "gpuctl-qwen3-8b-0",
        "host": "gpu-01",
        "image": "gpustack/runner:cuda12.8-vllm0.11.0",
        "command": ["vllm", "serve", "/models/Qwen3-8B", "--port", "40000", "--max-model-len", "8192"],
        "env": {"VLLM_LOGGING_LEVEL": "INFO"},
        "secret_env": {"HF_TOKEN": "HF_TOKEN"},
        "port": 40000,
        "readiness": Readiness(path="/health", port=40000, timeout=600),
        "labels": {"gpuctl.managed": "true"},
    }
    base.update(changes)
    return ContainerSpec.model_validate(base)


def test_flags_read_the_same_with_or_without_equals() -> None:
    positional, flags = parse_flags(["vllm", "serve", "m", "--a=1", "--b", "2", "--c", "--d", "-1"])
    assert positional == ["vllm", "serve", "m"]
    assert flags == {"--a": ["1"], "--b": ["2"], "--c": [], "--d": ["-1"]}


def test_parameter_changes_are_named() -> None:
    old = ["vllm", "serve", "m", "--max-model-len", "8192", "--enforce-eager"]
    new = ["vllm", "serve", "m", "--max-model-len=32768", "--enable-prefix-caching"]
    assert command_changes(old, new) == [
        "parameter --enable-prefix-caching added",
        "parameter --enforce-eager removed",
        "parameter --max-model-len changed 8192 → 32768",
    ]


def test_spec_changes_from_the_label() -> None:
    old = spec()
    new = spec(
        image="gpustack/runner:cuda12.8-vllm0.11.1",
        command=["vllm", "serve", "/models/Qwen3-8B", "--port", "40000", "--max-model-len", "32768"],
        env={"VLLM_LOGGING_LEVEL": "DEBUG", "NEW": "1"},
        secret_env={},
    )
    assert spec_changes(spec_label(old), new) == [
        "parameter --max-model-len changed 8192 → 32768",
        "env NEW added",
        "env VLLM_LOGGING_LEVEL changed INFO → DEBUG",
        "image changed gpustack/runner:cuda12.8-vllm0.11.0 → gpustack/runner:cuda12.8-vllm0.11.1",
        "secret HF_TOKEN removed",
    ]
    assert spec_changes(spec_label(old), old) == []
    assert spec_changes(None, new) == []
    assert spec_changes("not json", new) == []


def test_label_leaves_out_labels_and_file_contents() -> None:
    config = HostFile(path="/var/lib/gpuctl/run/x/config.json", content='{"secret-looking": "long text"}')
    added = apply_labels(spec(files=[config]))
    assert added["gpuctl.spec-hash"] == spec(files=[config]).spec_hash()
    data = json.loads(added["gpuctl.spec"])
    assert "labels" not in data
    assert data["files"][0]["content"].startswith("sha256:")
    changed = spec(files=[config.model_copy(update={"content": "{}"})])
    assert spec_changes(added["gpuctl.spec"], changed) == [f"file {config.path} changed"]
