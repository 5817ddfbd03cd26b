"""Builders of planner inputs as plain values: host facts as the probe reports them, clusters,
deployments, and models from the real configs in tests/data/models."""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest

from gpuctl import labels
from gpuctl.facts import Device, DockerInfo, GpuProcess, HostFacts, HostInfo, ManagedContainer
from gpuctl.models.config import model_info_from_config
from gpuctl.models.info import ModelInfo
from gpuctl.models.lock import load_lock
from gpuctl.plan.build import PlanInputs, make_plan
from gpuctl.plan.explain import apply_labels
from gpuctl.plan.model import Change, Plan
from gpuctl.spec.models import Cluster, ModelDeployment

MiB = 1 << 20
GiB = 1 << 30
H100 = ("NVIDIA H100 80GB HBM3", 81559 * MiB)


def managed(
    name: str,
    deployment: str,
    replica: int,
    devices: str,
    memory: int,
    *,
    state: str = "running",
    port: int = 40000,
    cid: str | None = None,
    role: str = "main",
) -> ManagedContainer:
    return ManagedContainer(
        id=cid or (name.encode().hex() * 8)[:64],
        name=name,
        image="gpustack/runner:cuda12.8-vllm0.11.0",
        state=state,
        labels={
            labels.MANAGED: "true",
            labels.CLUSTER: "lab",
            labels.DEPLOYMENT: deployment,
            labels.REPLICA: str(replica),
            labels.ROLE: role,
            labels.DEVICES: devices,
            labels.MEMORY: str(memory),
            labels.PORT: str(port),
            labels.SPEC_HASH: "0123456789abcdef",
        },
    )


def host(
    name: str,
    devices: list[tuple[str, int, int]] | int = 1,
    *,
    product: str = H100[0],
    total: int = H100[1],
    processes: list[GpuProcess] | None = None,
    containers: list[ManagedContainer] | None = None,
    status: str = "ok",
    docker: bool = True,
) -> HostFacts:
    """A host with `devices` (a count of idle devices, or (key, total, used) triples)."""
    if isinstance(devices, int):
        devices = [(str(i), total, 4 * MiB) for i in range(devices)]
    return HostFacts(
        host=name,
        cluster="lab",
        address=f"10.0.0.{sum(name.encode()) % 250}",
        status=status,  # type: ignore[arg-type]
        info=HostInfo(
            hostname=name, arch="amd64", cpu_count=64, memory_total=512 * GiB, memory_available=480 * GiB
        )
        if status == "ok"
        else None,
        devices=[
            Device(
                key=k,
                vendor="nvidia",
                index=int(k.split("/")[0]),
                name=product,
                memory_total=t,
                memory_used=u,
            )
            for k, t, u in devices
        ],
        processes=processes or [],
        docker=DockerInfo(reachable=docker, gpus_supported=True, runtimes=["runc", "nvidia"])
        if status == "ok"
        else None,
        containers=containers or [],
    )


@pytest.fixture
def build() -> ModuleType:
    """This module: its builders (host, managed, cluster, deployment, model, plan_for)."""
    return sys.modules[__name__]


ROOT = Path(__file__).resolve().parents[2]


@cache
def model(stem: str) -> ModelInfo:
    """A model as gpuctl.lock would hold it, from a real config in tests/data/models
    (`Qwen__Qwen3-8B`), or an entry of the example lock (`huggingface:Qwen/Qwen3-8B-GGUF`)."""
    if ":" in stem:
        lock = load_lock(ROOT / "gpuctl.lock")
        return next(info for info in lock.entries.values() if info.source == stem)
    config = json.loads((ROOT / "tests" / "data" / "models" / f"{stem}.config.json").read_text())
    repo = stem.replace("__", "/")
    return model_info_from_config(config, source=f"huggingface:{repo}", name=repo.split("/")[1])


def cluster(*hosts: str | tuple[str, dict[str, str]], name: str = "lab") -> Cluster:
    entries = []
    for entry in hosts:
        host_name, host_labels = (entry, {}) if isinstance(entry, str) else entry
        entries.append({"name": host_name, "address": f"10.0.0.{len(entries) + 1}", "labels": host_labels})
    return Cluster.model_validate({"metadata": {"name": name}, "spec": {"hosts": entries}})


def deployment(name: str, source: ModelInfo, **spec: object) -> ModelDeployment:
    kind, _, ref = source.source.partition(":")
    model_spec: dict[str, object] = {kind: ref}
    if source.gguf:
        model_spec["file"] = source.gguf.name
    return ModelDeployment.model_validate({"metadata": {"name": name}, "spec": {"model": model_spec, **spec}})


def plan_for(
    the_cluster: Cluster,
    hosts: list[HostFacts],
    deployments: list[tuple[ModelDeployment, ModelInfo]],
    **inputs: object,
) -> Plan:
    return make_plan(
        PlanInputs(
            clusters=[the_cluster],
            deployments=[d for d, _ in deployments],
            hosts=hosts,
            models={d.metadata.name: m for d, m in deployments},
            **inputs,  # type: ignore[arg-type]
        )
    )


def started(change: Change, state: str = "running") -> ManagedContainer:
    """The container apply starts for a create or replace change: its spec's labels plus the two
    apply adds (spec hash and canonical spec)."""
    assert change.container is not None
    spec = change.container
    return ManagedContainer(
        id=(spec.name.encode().hex() * 8)[:64],
        name=spec.name,
        image=spec.image,
        state=state,
        labels={**spec.labels, **apply_labels(spec)},
    )
