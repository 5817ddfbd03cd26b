"""The facts a saved plan depends on: what makes it stale and what does not."""

from __future__ import annotations

from gpuctl.facts import Device, DockerInfo, GpuProcess, HostFacts, ManagedContainer
from gpuctl.plan.facts import digest, fingerprint, what_changed

GiB = 1 << 30


def host(used: int = 0, processes: tuple[GpuProcess, ...] = (), state: str = "running") -> HostFacts:
    return HostFacts(
        host="gpu-01",
        cluster="lab",
        address="10.0.0.1",
        status="ok",
        devices=[
            Device(
                key="0", vendor="nvidia", index=0, name="NVIDIA L40S", memory_total=48 * GiB, memory_used=used
            )
        ],
        processes=list(processes),
        docker=DockerInfo(reachable=True),
        containers=[
            ManagedContainer(
                id="c0ffee" * 10 + "c0ff",
                name="gpuctl-qwen-0",
                image="i",
                state=state,
                labels={"gpuctl.managed": "true", "gpuctl.spec-hash": "abc"},
            )
        ],
    )


def test_live_figures_do_not_make_a_plan_stale() -> None:
    base = digest([host(used=1 * GiB)])
    assert fingerprint(base) == fingerprint(digest([host(used=40 * GiB)]))
    assert what_changed(base, digest([host(used=40 * GiB)])) == []
    assert fingerprint(base).startswith("sha256:")


def test_new_foreign_process_and_exited_container_do() -> None:
    base = digest([host()])
    now = digest(
        [
            host(
                processes=(GpuProcess(device_key="0", pid=4242, name="train.py", used_memory=GiB),),
                state="exited",
            )
        ]
    )
    assert fingerprint(base) != fingerprint(now)
    assert what_changed(base, now) == [
        "gpu-01: foreign process new: 0 pid 4242 train.py",
        f"gpu-01: container gpuctl-qwen-0 was {'c0ffee' * 2} abc running, is {'c0ffee' * 2} abc exited",
    ]


def test_processes_of_gpuctl_containers_are_not_foreign() -> None:
    own = GpuProcess(device_key="0", pid=7, name="python3", used_memory=GiB, container_id="c0ffeec0ffee")
    assert digest([host(processes=(own,))])[0].foreign == []


def test_unreachable_host() -> None:
    down = HostFacts(
        host="gpu-01", cluster="lab", address="10.0.0.1", status="unreachable", message="timed out"
    )
    assert "gpu-01: status ok → unreachable" in what_changed(digest([host()]), digest([down]))
