"""Free memory per device: totals, gpuctl's claims from labels, foreign use; the fit index."""

from __future__ import annotations

from types import ModuleType

from gpuctl.facts import GpuProcess
from gpuctl.schedule.capacity import Fleet, device_order
from gpuctl.schedule.observed import observe

MiB = 1 << 20
GiB = 1 << 30
TOTAL = 81559 * MiB


def fleet_of(*hosts):  # type: ignore[no-untyped-def]
    observed, problems = observe(list(hosts))
    assert problems == []
    return Fleet(list(hosts), {}, observed)


def test_foreign_processes_from_the_h100_load_capture(build: ModuleType) -> None:
    # nvidia-smi of the H100 load capture: 19818 MiB used by memhog ×2 and gpu_burn, no containers.
    procs = [
        GpuProcess(device_key="0", pid=11327, name="/root/tools/memhog", used_memory=2566 * MiB),
        GpuProcess(device_key="0", pid=11328, name="/root/tools/memhog", used_memory=1542 * MiB),
        GpuProcess(device_key="0", pid=11345, name="./gpu_burn", used_memory=15690 * MiB),
    ]
    fleet = fleet_of(build.host("gpu-01", [("0", TOTAL, 19818 * MiB)], processes=procs))
    dev = fleet.by_name["gpu-01"].devices[0]
    # The 20 MiB nvidia-smi counts beyond the listed processes are the driver's: in use all the same.
    assert dev.foreign == 19818 * MiB
    assert dev.free == TOTAL - 19818 * MiB
    assert "./gpu_burn (pid 11345) 15.3 GiB" in dev.why_busy()


def test_claims_come_from_labels_and_own_processes_are_not_foreign(build: ModuleType) -> None:
    box = build.managed("gpuctl-qwen-0", "qwen", 0, "0", 70 * GiB)
    # vLLM is still loading: 12 GiB used of the 70 GiB it claims; a foreign job holds 5 GiB.
    procs = [
        GpuProcess(device_key="0", pid=10, name="python3", used_memory=12 * GiB, container_id=box.id[:12]),
        GpuProcess(device_key="0", pid=20, name="train.py", used_memory=5 * GiB),
    ]
    fleet = fleet_of(build.host("gpu-01", [("0", TOTAL, 17 * GiB)], processes=procs, containers=[box]))
    dev = fleet.by_name["gpu-01"].devices[0]
    assert dev.claimed == 70 * GiB
    assert dev.foreign == 5 * GiB
    assert dev.free == TOTAL - 75 * GiB
    assert dev.holders == [("qwen/0", 70 * GiB)]


def test_without_a_process_list_foreign_use_is_used_minus_claims(build: ModuleType) -> None:
    # npu-smi and rocm-smi list no processes: what is used beyond gpuctl's claims is foreign.
    box = build.managed("gpuctl-qwen-0", "qwen", 0, "0", 30 * GiB)
    loading = build.host("gpu-01", [("0", TOTAL, 10 * GiB), ("1", TOTAL, 42 * GiB)], containers=[box])
    fleet = fleet_of(loading)
    first, second = fleet.by_name["gpu-01"].devices
    assert first.foreign == 0  # still loading: less used than claimed
    assert second.foreign == 42 * GiB


def test_exited_containers_claim_nothing_but_keep_their_port(build: ModuleType) -> None:
    box = build.managed("gpuctl-qwen-0", "qwen", 0, "0", 30 * GiB, state="exited", port=40007)
    fleet = fleet_of(build.host("gpu-01", 1, containers=[box]))
    state = fleet.by_name["gpu-01"]
    assert state.devices[0].claimed == 0
    assert state.ports == {40007}


def test_index_finds_the_tightest_device_and_host(build: ModuleType) -> None:
    a = build.host("a", 2, containers=[build.managed("gpuctl-x-0", "x", 0, "0", 60 * GiB)])
    b = build.host("b", 2, containers=[build.managed("gpuctl-y-0", "y", 0, "1", 40 * GiB)])
    fleet = fleet_of(b, a)
    (idx,) = fleet.index.values()
    # One device of 15 GiB: a:0 has ~19.6 GiB free, the tightest fit.
    free, rank, slot = next(idx.devices_from(15 * GiB))
    assert free >= 15 * GiB
    assert (fleet.hosts[rank].name, fleet.hosts[rank].devices[slot].key) == ("a", "0")
    # Two devices of 30 GiB each: only b (a:0 is too full).
    assert [fleet.hosts[r].name for _, r in idx.hosts_from(2, 30 * GiB)] == ["b"]
    # Claims move devices in the index.
    b_state = fleet.by_name["b"]
    fleet.claim(b_state, [b_state.devices[0]], 50 * GiB, "z/0")
    assert idx.hosts_from(2, 30 * GiB) == []
    fleet.release(b_state, [b_state.devices[0]], 50 * GiB, "z/0")
    assert [fleet.hosts[r].name for _, r in idx.hosts_from(2, 30 * GiB)] == ["b"]
    assert b_state.free_sum == sum(d.free for d in b_state.devices)


def test_mig_instances_are_never_joined(build: ModuleType) -> None:
    mig = build.host("m", [("0/0", 40448 * MiB, 11 * MiB), ("0/1", 40448 * MiB, 11 * MiB)])
    fleet = Fleet([mig], {}, [])
    (idx,) = fleet.index.values()
    assert not idx.multi
    assert idx.max_size() == 1
    assert device_order("0/1") > device_order("0") and device_order("10") > device_order("9")
