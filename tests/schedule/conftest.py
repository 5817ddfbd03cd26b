"""Builders for host facts as the probe reports them (plain values, no I/O)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gpuctl import labels
from gpuctl.facts import Device, DockerInfo, GpuProcess, HostFacts, HostInfo, ManagedContainer

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
def make_host() -> Callable[..., HostFacts]:
    return host


@pytest.fixture
def make_container() -> Callable[..., ManagedContainer]:
    return managed
