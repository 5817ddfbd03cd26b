"""Builders for backend tests: specs, models (from the real configs in tests/data/models), host
facts and placements, written compactly in YAML cases or Python."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from gpuctl.estimate.types import DeviceBreakdown, Estimate
from gpuctl.facts import Device, DockerInfo, HostFacts, HostInfo
from gpuctl.models.info import GgufFile, ModelInfo, VisionInfo
from gpuctl.schedule.types import Placement, Worker
from gpuctl.spec.models import Cluster, ModelDeployment

MODELS = Path(__file__).parents[1] / "data" / "models"
MiB = 1 << 20
GiB = 1 << 30

DEVICE_PRESETS: dict[str, dict[str, Any]] = {
    # Product names and totals as the captures in tests/data/fixtures print them.
    "h100": {
        "vendor": "nvidia",
        "name": "NVIDIA H100 80GB HBM3",
        "memory_total": 81559 * MiB,
        "compute_capability": "9.0",
    },
    "l40s": {
        "vendor": "nvidia",
        "name": "NVIDIA L40S",
        "memory_total": 46068 * MiB,
        "compute_capability": "8.9",
    },
    "t4": {"vendor": "nvidia", "name": "Tesla T4", "memory_total": 15360 * MiB, "compute_capability": "7.5"},
    "910b3": {"vendor": "ascend", "name": "910B3", "memory_total": 65536 * MiB},
    "310p3": {"vendor": "ascend", "name": "310P3", "memory_total": 44280 * MiB},
    "mi300x": {"vendor": "amd", "name": "AMD Instinct MI300X", "memory_total": 196592 * MiB},
}


def device(preset: str, index: int, **overrides: Any) -> Device:
    fields = {
        "key": str(index),
        "index": index,
        "memory_used": 0,
        "uuid": f"GPU-{index:08d}-0000-0000-0000-000000000000",
    }
    return Device(**(fields | DEVICE_PRESETS[preset] | overrides))


def mig_device(gpu: int, instance: int, profile: str = "3g.40gb") -> Device:
    return Device(
        key=f"{gpu}/{instance}",
        vendor="nvidia",
        index=gpu,
        name="NVIDIA H100 80GB HBM3",
        uuid=f"MIG-{gpu:04d}{instance:04d}-0000-0000-0000-000000000000",
        memory_total=40192 * MiB,
        memory_used=0,
        compute_capability="9.0",
        mig_profile=profile,
    )


def host(
    name: str,
    address: str,
    devices: list[Device] | None = None,
    *,
    arch: str = "amd64",
    docker: dict[str, Any] | None = None,
    memory: int = 512 * GiB,
) -> HostFacts:
    devices = devices or []
    vendor = devices[0].vendor if devices else None
    runtimes = (
        ["io.containerd.runc.v2", "runc"]
        + (["nvidia"] if vendor == "nvidia" else [])
        + (["ascend"] if vendor == "ascend" else [])
    )
    docker_info = {
        "reachable": True,
        "server_version": "26.1.5",
        "runtimes": runtimes,
        "gpus_supported": vendor == "nvidia",
    }
    return HostFacts(
        host=name,
        cluster="lab",
        address=address,
        status="ok",
        info=HostInfo(hostname=name, arch=arch, cpu_count=64, memory_total=memory, memory_available=memory),
        devices=devices,
        docker=DockerInfo(**(docker_info | (docker or {}))),
    )


def model_from_config(config_file: str, **overrides: Any) -> ModelInfo:
    """ModelInfo with the shape of a real config.json (text decoder for VLMs) plus overrides."""
    config = json.loads((MODELS / config_file).read_text())
    text = config.get("text_config") or config
    heads = text.get("num_attention_heads")
    vision = config.get("vision_config")
    fields: dict[str, Any] = {
        "architectures": config.get("architectures", []),
        "model_type": config.get("model_type"),
        "num_layers": text.get("num_hidden_layers"),
        "hidden_size": text.get("hidden_size"),
        "num_attention_heads": heads,
        "num_kv_heads": text.get("num_key_value_heads", heads),
        "head_dim": text.get("head_dim") or (text["hidden_size"] // heads if heads else None),
        "vocab_size": text.get("vocab_size") or config.get("vocab_size"),
        "max_context": text.get("max_position_embeddings"),
        "dtype": text.get("torch_dtype") or config.get("torch_dtype") or text.get("dtype"),
        "num_experts": text.get("num_experts")
        or text.get("n_routed_experts")
        or text.get("num_local_experts"),
        "kv_lora_rank": text.get("kv_lora_rank"),
        "qk_rope_head_dim": text.get("qk_rope_head_dim"),
    }
    if vision:
        fields["vision"] = VisionInfo(
            num_heads=vision.get("num_heads") or vision.get("num_attention_heads"),
            hidden_size=vision.get("hidden_size"),
            num_layers=vision.get("depth") or vision.get("num_hidden_layers"),
        )
    return ModelInfo(**(fields | overrides))


def model(spec: dict[str, Any]) -> ModelInfo:
    """From a case's `model:` mapping: `config` names a file in tests/data/models, the rest are
    ModelInfo fields (gguf/mmproj as mappings)."""
    spec = dict(spec)
    for key in ("gguf", "mmproj"):
        if key in spec:
            spec[key] = GgufFile(**spec[key])
    config = spec.pop("config", None)
    return model_from_config(config, **spec) if config else ModelInfo(**spec)


def deployment(name: str = "demo", **spec: Any) -> ModelDeployment:
    spec.setdefault("model", {"huggingface": "Qwen/Qwen3-8B"})
    return ModelDeployment.model_validate({"metadata": {"name": name}, "spec": spec})


def cluster(**spec: Any) -> Cluster:
    hosts = spec.pop("hosts", [{"name": "gpu-01", "address": "10.0.0.11"}])
    return Cluster.model_validate({"metadata": {"name": "lab"}, "spec": {"hosts": hosts, **spec}})


def placement(
    backend: str,
    workers: list[dict[str, Any]],
    *,
    deployment_name: str = "demo",
    tp: int = 1,
    pp: int = 1,
    replica: int = 0,
    reason: str = "explicit",
    **estimate: Any,
) -> Placement:
    """Workers as {host, address, devices, port[, role]}; estimate fields, with `total` for the
    per-device claim."""
    total = estimate.pop("total", None)
    per_device = (
        DeviceBreakdown(weights=total, kv_cache=0, activation=0, overhead=0, total=total) if total else None
    )
    devices = sum(len(w.get("devices", [])) for w in workers)
    built = Estimate(
        backend=backend,
        devices=devices,
        verdict=estimate.pop("verdict", "fits"),
        per_device=per_device,
        **estimate,
    )
    roles = ["main"] if len(workers) == 1 else ["leader", *(f"worker-{i}" for i in range(1, len(workers)))]
    return Placement(
        deployment=deployment_name,
        cluster="lab",
        replica=replica,
        backend=backend,
        backend_reason=reason,
        workers=[Worker(**({"role": role} | w)) for role, w in zip(roles, workers, strict=True)],
        tensor_parallel=tp,
        pipeline_parallel=pp,
        estimate=built,
    )


@pytest.fixture
def build() -> ModuleType:
    """This module: its builders (host, device, model, placement ...) for tests to call."""
    return sys.modules[__name__]


@pytest.fixture
def qwen3_8b() -> ModelInfo:
    return model_from_config(
        "Qwen__Qwen3-8B.config.json",
        source="huggingface:Qwen/Qwen3-8B",
        revision="b968826d9c46dd6066d109eabc6255188de91218",
    )
