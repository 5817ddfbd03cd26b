"""How long the backend layer takes per call: the scheduler calls host_incompatibility and
estimate_request for every candidate, render once per replica. Prints microseconds per call.

    python benchmarks/backends.py
"""

from __future__ import annotations

import timeit

from gpuctl import backends
from gpuctl.estimate.types import DeviceBreakdown, Estimate
from gpuctl.facts import Device, DockerInfo, HostFacts, HostInfo
from gpuctl.models.info import ModelInfo
from gpuctl.schedule.types import Placement, Worker
from gpuctl.spec.models import Cluster, ModelDeployment

GiB = 1 << 30


def _inputs(
    backend: str, vendor: str, name: str
) -> tuple[ModelDeployment, Cluster, ModelInfo, Placement, HostFacts]:
    deployment = ModelDeployment.model_validate(
        {
            "metadata": {"name": "bench"},
            "spec": {
                "model": {"huggingface": "Qwen/Qwen3-32B"},
                "backend": backend,
                "parameters": ["--max-batch-size=64", "--enable-prefix-caching"]
                if backend == "mindie"
                else [],
            },
        }
    )
    cluster = Cluster.model_validate(
        {"metadata": {"name": "lab"}, "spec": {"hosts": [{"name": "h", "address": "10.0.0.1"}]}}
    )
    model = ModelInfo(
        source="huggingface:Qwen/Qwen3-32B",
        revision="9216db5781bf21249d130ec9da846c4624c16137",
        num_layers=64,
        num_attention_heads=64,
        num_kv_heads=8,
        vocab_size=151936,
        max_context=40960,
    )
    devices = [
        Device(
            key=str(i),
            vendor=vendor,
            index=i,
            name=name,
            memory_total=80 * GiB,
            memory_used=0,
            compute_capability="9.0",
        )
        for i in range(8)
    ]
    host = HostFacts(
        host="h",
        cluster="lab",
        address="10.0.0.1",
        status="ok",
        info=HostInfo(
            hostname="h", arch="amd64", cpu_count=64, memory_total=512 * GiB, memory_available=512 * GiB
        ),
        devices=devices,
        docker=DockerInfo(reachable=True, runtimes=["runc", "ascend"], gpus_supported=True),
    )
    breakdown = DeviceBreakdown(
        weights=16 * GiB, kv_cache=50 * GiB, activation=2 * GiB, overhead=2 * GiB, total=70 * GiB
    )
    estimate = Estimate(backend=backend, devices=4, tensor_parallel=4, verdict="fits", per_device=breakdown)
    placement = Placement(
        deployment="bench",
        cluster="lab",
        replica=0,
        backend=backend,
        backend_reason="explicit",
        workers=[Worker(host="h", address="10.0.0.1", devices=["0", "1", "2", "3"], port=40000)],
        tensor_parallel=4,
        estimate=estimate,
    )
    return deployment, cluster, model, placement, host


def _microseconds(backend: str, vendor: str, name: str) -> list[float]:
    deployment, cluster, model, placement, host = _inputs(backend, vendor, name)
    calls = (
        lambda: backends.check_parameters(deployment, backend),
        lambda: backends.host_incompatibility(backend, model, host),
        lambda: backends.estimate_request(deployment, model, backend, (80 * GiB,) * 4, 4, 1, None),
        lambda: backends.render(deployment, cluster, model, placement, {"h": host}),
    )
    number = 2000
    return [min(timeit.repeat(call, number=number, repeat=3)) / number * 1e6 for call in calls]


def main() -> None:
    print(f"{'backend':<8} {'check':>8} {'host':>8} {'request':>8} {'render':>8}   (µs per call)")
    h100, ascend = ("nvidia", "NVIDIA H100 80GB HBM3"), ("ascend", "910B3")
    for backend, (vendor, name) in (("vllm", h100), ("sglang", h100), ("mindie", ascend)):
        figures = _microseconds(backend, vendor, name)
        print(f"{backend:<8} " + " ".join(f"{value:>8.1f}" for value in figures))


if __name__ == "__main__":
    main()
