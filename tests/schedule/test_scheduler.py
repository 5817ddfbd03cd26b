"""The scheduler through the whole planner, with the real estimator and backends and real configs.

Each test builds its fleet and deployments as plain values and checks where replicas land and
what the plan says; the golden cases (tests/plan/golden) pin the full output of richer scenarios.
"""

from __future__ import annotations

from types import ModuleType

from gpuctl.facts import GpuProcess
from gpuctl.plan.model import Plan
from gpuctl.spec.models import Cluster

GiB = 1 << 30
MiB = 1 << 20


def where(plan: Plan) -> dict[str, list[tuple[str, list[str]]]]:
    """deployment/replica → [(host, devices)] of its placement."""
    return {f"{p.deployment}/{p.replica}": [(w.host, w.devices) for w in p.workers] for p in plan.placements}


def test_one_device_best_fit_then_tensor_parallel_on_one_host(build: ModuleType) -> None:
    lab = build.cluster("a", "b")
    busy = [GpuProcess(device_key="0", pid=7, name="train.py", used_memory=40 * GiB)]
    hosts = [
        build.host("a", [("0", build.H100[1], 40 * GiB), ("1", build.H100[1], 4 * MiB)], processes=busy),
        build.host("b", 2),
    ]
    small = build.model("Qwen__Qwen3-Embedding-0.6B")
    big = build.model("meta-llama__Llama-3.1-70B-Instruct")
    plan = build.plan_for(
        lab,
        hosts,
        [
            (build.deployment("embed", small, parameters=["--gpu-memory-utilization=0.3"]), small),
            # vLLM 0.11 (the default image) needs the 0.95 fraction for 70B on two 80 GB cards
            (build.deployment("llama-70b", big, parameters=["--gpu-memory-utilization=0.95"]), big),
        ],
    )
    assert plan.errors == []
    placed = where(plan)
    # 70B needs two H100s: only b has two free. The embedding model (0.3 × 79.6 GiB) goes to the
    # tightest device that holds it: a:0, beside the foreign 40 GiB job.
    assert placed["llama-70b/0"] == [("b", ["0", "1"])]
    assert placed["embed/0"] == [("a", ["0"])]
    (seventy,) = [p for p in plan.placements if p.deployment == "llama-70b"]
    assert seventy.tensor_parallel == 2
    (created,) = [c for c in plan.changes if c.deployment == "llama-70b"]
    assert created.container is not None
    command = created.container.command
    assert command[command.index("--tensor-parallel-size") + 1] == "2"


def test_a_running_replica_stays_and_one_on_a_busy_device_moves(build: ModuleType) -> None:
    lab = build.cluster("a")
    qwen = build.model("Qwen__Qwen3-8B")
    first = build.plan_for(lab, [build.host("a", 3)], [(build.deployment("q", qwen, replicas=2), qwen)])
    containers = [build.started(c) for c in first.changes]
    # Replica 0 holds device 0, replica 1 device 1. Now a foreign job takes device 1.
    used = {"0": 4 * MiB, "1": 40 * GiB, "2": 4 * MiB}
    devices = [(k, build.H100[1], used[k]) for k in ("0", "1", "2")]
    job = [GpuProcess(device_key="1", pid=4242, name="train.py", used_memory=40 * GiB)]
    again = build.plan_for(
        lab,
        [build.host("a", devices, processes=job, containers=containers)],
        [(build.deployment("q", qwen, replicas=2), qwen)],
    )
    by_name = {c.name: c for c in again.changes}
    assert (by_name["gpuctl-q-0"].action, by_name["gpuctl-q-0"].devices) == ("no-op", ["0"])
    moved = by_name["gpuctl-q-1"]
    assert moved.action == "replace" and moved.moved and moved.devices == ["2"]
    assert moved.reasons[0].startswith(
        "moved a:1 → a:2: device 1 on a now busy (foreign process train.py (pid 4242)"
    )


def test_unschedulable_is_one_sentence_with_counted_reasons(build: ModuleType) -> None:
    lab = build.cluster(("a", {"zone": "a"}), ("b", {"zone": "a"}), ("c", {"zone": "b"}))
    fill = [GpuProcess(device_key=k, pid=10 + int(k), name="train.py", used_memory=60 * GiB) for k in "01"]
    hosts = [
        build.host("a", [(k, build.H100[1], 60 * GiB) for k in "01"], processes=fill),
        build.host("b", [(k, build.H100[1], 60 * GiB) for k in "01"], processes=fill),
        build.host("c", 2),
    ]
    big = build.model("Qwen__Qwen3-32B")
    plan = build.plan_for(
        lab, hosts, [(build.deployment("qwen3-32b", big, placement={"selector": {"zone": "a"}}), big)]
    )
    (error,) = plan.errors
    assert error.code == "unschedulable"
    assert error.message.startswith(
        "0/3 hosts fit qwen3-32b: 2 × not enough free memory on any device set (need "
    )
    assert error.message.endswith(", 1 × label zone=a does not match")
    assert plan.exit_code() == 1


def test_pinned_devices_fit_refuse_or_overcommit(build: ModuleType) -> None:
    lab = build.cluster("a")
    job = [GpuProcess(device_key="1", pid=9, name="train.py", used_memory=50 * GiB)]
    hosts = [build.host("a", [("0", build.H100[1], 4 * MiB), ("1", build.H100[1], 50 * GiB)], processes=job)]
    qwen = build.model("Qwen__Qwen3-8B")
    plan = build.plan_for(
        lab,
        hosts,
        [
            (build.deployment("fits", qwen, placement={"devices": ["a:0"]}), qwen),
            (build.deployment("refused", qwen, placement={"devices": ["a:1"]}), qwen),
            (
                build.deployment("allowed", qwen, placement={"devices": ["a:1"], "allowOvercommit": True}),
                qwen,
            ),
        ],
    )
    placed = where(plan)
    assert placed["fits/0"] == [("a", ["0"])]
    assert placed["allowed/0"] == [("a", ["1"])]
    assert "refused/0" not in placed
    messages = {d.code: d.message for d in plan.diagnostics}
    # "allowed" was placed first (names in order), so a:1 has nothing left for "refused".
    assert messages["unschedulable"].startswith("refused: pinned devices a:1 cannot hold it (need 1 × ")
    assert messages["unschedulable"].endswith(
        ", 0 B free on a:1); set placement.allowOvercommit to place it anyway"
    )
    assert messages["overcommit"].startswith("allowed: pinned devices a:1 cannot hold it (need 1 × ")
    assert messages["overcommit"].endswith(
        "29.6 GiB free on a:1); placed anyway as placement.allowOvercommit is set"
    )
    assert [p.overcommit for p in plan.placements if p.deployment == "allowed"] == [True]


def test_replicas_spread_over_hosts_or_pack_together(build: ModuleType) -> None:
    lab = build.cluster("a", "b")
    embed = build.model("Qwen__Qwen3-Embedding-0.6B")
    params = ["--gpu-memory-utilization=0.2"]
    plan = build.plan_for(
        lab,
        [build.host("a", 2), build.host("b", 2)],
        [
            (build.deployment("packed", embed, replicas=2, parameters=params), embed),
            (
                build.deployment(
                    "spread", embed, replicas=2, parameters=params, placement={"strategy": "spread"}
                ),
                embed,
            ),
        ],
    )
    placed = where(plan)
    assert {placed["spread/0"][0][0], placed["spread/1"][0][0]} == {"a", "b"}
    assert placed["packed/0"] == placed["packed/1"]  # both on one device: best fit


def test_a_host_that_could_not_be_probed_holds_replicas_that_may_run_there(build: ModuleType) -> None:
    lab = build.cluster("a", "b")
    qwen = build.model("Qwen__Qwen3-8B")
    plan = build.plan_for(
        lab,
        [build.host("a", 2), build.host("b", 0, status="unreachable")],
        [
            (build.deployment("anywhere", qwen), qwen),
            (build.deployment("only-a", qwen, placement={"hosts": ["a"]}), qwen),
        ],
    )
    placed = where(plan)
    assert placed == {"only-a/0": [("a", ["0"])]}
    codes = sorted(d.code or "" for d in plan.errors)
    assert codes == ["held", "unreachable"]
    held = next(d for d in plan.errors if d.code == "held")
    assert (
        held.message
        == "anywhere: replica 0 not created: b could not be probed (unreachable) and may already run it"
    )


def test_removed_and_scaled_down_containers_are_deleted_and_free_their_devices(build: ModuleType) -> None:
    lab = build.cluster("a")
    qwen = build.model("Qwen__Qwen3-8B")
    claim = 70 * GiB
    containers = [
        build.managed("gpuctl-gone-0", "gone", 0, "0", claim, port=40000),
        build.managed("gpuctl-q-0", "q", 0, "1", claim, port=40001),
        build.managed("gpuctl-q-1", "q", 1, "2", claim, port=40002),
    ]
    hosts = [build.host("a", [(k, build.H100[1], claim) for k in "012"], containers=containers)]
    new = build.model("Qwen__Qwen3-Embedding-0.6B")
    plan = build.plan_for(
        lab,
        hosts,
        [(build.deployment("q", qwen), qwen), (build.deployment("new", new), new)],
    )
    by_name = {c.name: c for c in plan.changes}
    assert by_name["gpuctl-gone-0"].reasons == ["spec removed"]
    assert by_name["gpuctl-q-1"].reasons == ["scaled down to 1 replica"]
    assert by_name["gpuctl-q-0"].action == "replace"  # the label carries no gpuctl.spec: hash differs
    created = by_name["gpuctl-new-0"]
    assert created.action == "create" and created.devices in (["0"], ["2"])
    assert created.displaces and created.displaces[0].startswith("a/gpuctl-")


def test_same_inputs_give_the_same_bytes(build: ModuleType) -> None:
    lab = build.cluster("a", "b")
    qwen = build.model("Qwen__Qwen3-8B")
    inputs = ([build.host("a", 2), build.host("b", 2)], [(build.deployment("q", qwen, replicas=3), qwen)])
    assert build.plan_for(lab, *inputs).to_json() == build.plan_for(lab, *inputs).to_json()


def test_replicas_that_fit_nowhere_for_the_same_reason_are_one_sentence(build: ModuleType) -> None:
    lab = build.cluster("a")
    qwen = build.model("Qwen__Qwen3-8B")
    plan = build.plan_for(lab, [build.host("a", 2)], [(build.deployment("q", qwen, replicas=5), qwen)])
    assert len(plan.placements) == 2
    (error,) = plan.errors
    assert error.message.startswith(
        "0/1 hosts fit q replicas 2-4: 1 × not enough free memory on any device set"
    )


def test_new_ports_avoid_the_hosts_ephemeral_range_and_a_forced_one_is_a_warning(build: ModuleType) -> None:
    """An outgoing connection can hold a port of the ephemeral range (net.ipv4.ip_local_port_range):
    new backends get ports outside it, and a warning when the cluster's range leaves no choice."""
    qwen = build.model("Qwen__Qwen3-8B")
    host = build.host("a", 2)
    assert host.info is not None
    # ports 29000-30500 are ephemeral but 30001, reserved: 30001, then 30501, are the safe ones
    info = host.info.model_copy(
        update={"ephemeral_ports": (29000, 30500), "reserved_ports": [(30001, 30001)]}
    )
    some = host.model_copy(update={"info": info})
    lab = build.cluster("a")
    plan = build.plan_for(lab, [some], [(build.deployment("q", qwen, replicas=2), qwen)])
    assert sorted(c.container.port for c in plan.changes if c.container) == [30001, 30501]
    assert [d for d in plan.diagnostics if d.code == "ephemeral-ports"] == []

    narrow = Cluster.model_validate(
        {
            "metadata": {"name": "lab"},
            "spec": {
                "hosts": [{"name": "a", "address": "10.0.0.1"}],
                "portRange": {"start": 30000, "end": 30002},
            },
        }
    )
    plan = build.plan_for(narrow, [some], [(build.deployment("q", qwen, replicas=2), qwen)])
    assert sorted(c.container.port for c in plan.changes if c.container) == [30000, 30001]  # 30001 first
    (warning,) = plan.diagnostics
    assert warning.severity == "warning" and warning.code == "ephemeral-ports"
    assert "ephemeral port range (net.ipv4.ip_local_port_range) on a (30000)" in warning.message
    assert "net.ipv4.ip_local_reserved_ports=30000-30002" in (warning.hint or "")
