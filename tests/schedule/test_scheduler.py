"""The scheduler through the whole planner, with the real estimator and backends and real configs.

Each test builds its fleet and deployments as plain values and checks where replicas land and
what the plan says; the golden cases (tests/plan/golden) pin the full output of richer scenarios.
"""

from __future__ import annotations

from types import ModuleType

from gpuctl.facts import GpuProcess, HostFacts
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
    # ... saying what holds the device
    assert messages["unschedulable"].endswith(
        ", 0 B free on a:1: allowed/0 claims 72.6 GiB; foreign process train.py (pid 9) 50.0 GiB);"
        " set placement.allowOvercommit to place it anyway"
    )
    assert messages["overcommit"].startswith("allowed: pinned devices a:1 cannot hold it (need 1 × ")
    assert messages["overcommit"].endswith(
        "29.6 GiB free on a:1: foreign process train.py (pid 9) 50.0 GiB);"
        " placed anyway as placement.allowOvercommit is set"
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
    # Pinned there: the way out is another pin, not placement.hosts.
    plan = build.plan_for(
        lab,
        [build.host("a", 2), build.host("b", 0, status="unreachable")],
        [(build.deployment("pinned", qwen, placement={"devices": ["b:0"]}), qwen)],
    )
    held = next(d for d in plan.errors if d.code == "held")
    assert held.hint == "bring the host back, or pin devices of another host"


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


def _narrow(*names: str, start: int = 30000, end: int = 30001) -> Cluster:
    hosts = [{"name": n, "address": f"10.0.0.{i + 1}"} for i, n in enumerate(names)]
    return Cluster.model_validate(
        {"metadata": {"name": "lab"}, "spec": {"hosts": hosts, "portRange": {"start": start, "end": end}}}
    )


def test_every_port_of_the_range_is_used_and_deleted_containers_give_theirs_back(build: ModuleType) -> None:
    embed = build.model("Qwen__Qwen3-Embedding-0.6B")
    small = ["--gpu-memory-utilization=0.1"]
    # A one-port range holds one replica per host (it used to hold none: room was kept for a pair).
    plan = build.plan_for(
        _narrow("a", end=30000),
        [build.host("a", 1)],
        [(build.deployment("e", embed, parameters=small), embed)],
    )
    assert [c.container.port for c in plan.changes if c.container] == [30000]
    assert plan.errors == []
    # Two containers whose spec is gone hold 30000 and 30001: the new replicas take them over.
    gone = [build.managed(f"gpuctl-gone-{i}", "gone", i, "0", 8 * GiB, port=30000 + i) for i in (0, 1)]
    hosts = [build.host("a", [("0", build.H100[1], 16 * GiB)], containers=gone)]
    plan = build.plan_for(
        _narrow("a", end=30002), hosts, [(build.deployment("e", embed, replicas=4, parameters=small), embed)]
    )
    created = sorted((c.container.port, c.displaces) for c in plan.changes if c.container)
    assert [port for port, _ in created] == [30000, 30001, 30002]
    assert created[0][1] == ["a/gpuctl-gone-0", "a/gpuctl-gone-1"]  # shares device 0 with both
    (error,) = plan.errors
    assert error.message == "0/1 hosts fit e replica 3: 1 × no free port in the cluster's port range"
    assert error.hint == "widen the cluster's spec.portRange"


def test_a_pinned_replica_without_a_free_port_is_unschedulable_not_a_failed_plan(build: ModuleType) -> None:
    embed = build.model("Qwen__Qwen3-Embedding-0.6B")
    small = ["--gpu-memory-utilization=0.1"]
    running = build.managed("gpuctl-x-0", "x", 0, "0", 8 * GiB, port=30000)
    hosts = [build.host("a", [("0", build.H100[1], 8 * GiB), ("1", build.H100[1], 0)], containers=[running])]
    plan = build.plan_for(
        _narrow("a", end=30000),
        hosts,
        [
            (build.deployment("x", embed, parameters=small), embed),
            (build.deployment("p", embed, parameters=small, placement={"devices": ["a:1"]}), embed),
        ],
    )
    (error,) = plan.errors
    assert error.message == "p: no free port in 30000-30000 on a (widen the cluster's spec.portRange)"
    assert [c.name for c in plan.changes] == ["gpuctl-x-0"]


def test_a_running_leaders_init_port_is_not_given_to_another_container(build: ModuleType) -> None:
    """The leader of a replica across hosts holds its port + 1 (Ray GCS): a container planned
    beside it, even while `--target` leaves the leader's deployment out, gets another port."""
    llama = build.model("meta-llama__Llama-3.1-70B-Instruct")
    embed = build.model("Qwen__Qwen3-Embedding-0.6B")
    lab = build.cluster("a", "b", "c")
    spread = (build.deployment("l", llama, placement={"distributed": True}), llama)
    first = build.plan_for(lab, [build.host(n, 2) for n in "abc"], [spread])
    assert where(first)["l/0"][0] == ("a", ["0"])  # leader on a, port 30000 (+ 30001)
    running = {c.host: build.started(c) for c in first.changes}
    claim = int(running["a"].labels["gpuctl.memory"])
    hosts = [
        build.host(n, [("0", build.H100[1], claim), ("1", build.H100[1], 0)], containers=[running[n]])
        for n in "abc"
    ]
    beside = build.deployment(
        "e", embed, parameters=["--gpu-memory-utilization=0.1"], placement={"hosts": ["a"]}
    )
    plan = build.plan_for(lab, hosts, [spread, (beside, embed)], targets=["e"])
    (created,) = plan.changes
    assert created.container is not None and created.container.port == 30002


def test_pinned_devices_say_what_holds_them_and_a_running_replica_does_not_compete_with_itself(
    build: ModuleType,
) -> None:
    qwen = build.model("Qwen__Qwen3-8B")
    lab = build.cluster("a")
    pinned = (build.deployment("q", qwen, placement={"devices": ["a:0"]}), qwen)
    first = build.plan_for(lab, [build.host("a", 2)], [pinned])
    running = [build.started(c) for c in first.changes]
    claim = int(running[0].labels["gpuctl.memory"])
    job = [GpuProcess(device_key="0", pid=4242, name="train.py", used_memory=20 * GiB)]
    devices = [("0", build.H100[1], claim + 20 * GiB), ("1", build.H100[1], 0)]
    plan = build.plan_for(lab, [build.host("a", devices, containers=running, processes=job)], [pinned])
    (error,) = plan.errors
    # 59.6 GiB are free for it (its own claim is not counted against it), and what holds the rest
    # is named; the replica stays as it is, and the error says why it would have to move.
    assert error.message.startswith(
        "q: pinned devices a:0 cannot hold it (need 1 × 72.6 GiB, 59.6 GiB free on a:0: foreign process"
        " train.py (pid 4242) 20.0 GiB); set placement.allowOvercommit to place it anyway;"
        " the running replica is left as it is (it must move: device 0 on a now busy"
    )
    assert [c.action for c in plan.changes] == ["no-op"]
    # A pinned device too small even when empty says what the estimate says: the context.
    mig = build.host("m", [("0/1", 20 * GiB, 0)])
    plan = build.plan_for(
        build.cluster("m"), [mig], [(build.deployment("q", qwen, placement={"devices": ["m:0/1"]}), qwen)]
    )
    (error,) = plan.errors
    assert error.message.startswith(
        "q: pinned devices m:0/1 cannot hold it (context 8192 too long for 1 × 20.0 GiB (at most "
    )
    # A GPU in MIG mode is its instances.
    plan = build.plan_for(
        build.cluster("m"), [mig], [(build.deployment("q", qwen, placement={"devices": ["m:0"]}), qwen)]
    )
    assert [d.message for d in plan.errors] == ["q: GPU 0 of m is split into MIG instances; pin one of 0/1"]


def _ascend(build: ModuleType, name: str, docker: bool = True) -> HostFacts:
    host: HostFacts = build.host(name, 2, product="Ascend 910B3", total=64 * GiB, docker=docker)
    assert host.docker is not None
    return host.model_copy(
        update={
            "devices": [d.model_copy(update={"vendor": "ascend"}) for d in host.devices],
            "docker": host.docker.model_copy(update={"runtimes": ["runc", "ascend"]}),
        }
    )


def test_a_host_whose_docker_is_down_holds_only_what_it_could_run_and_is_left_alone(
    build: ModuleType,
) -> None:
    whisper = build.model("huggingface:Systran/faster-whisper-large-v3")
    qwen = build.model("Qwen__Qwen3-8B")
    lab = build.cluster("asc", "nv")
    # VoxBox cannot run on the Ascend host whose Docker is down: nothing to wait for there.
    plan = build.plan_for(
        lab,
        [_ascend(build, "asc", docker=False), build.host("nv", 2)],
        [(build.deployment("w", whisper), whisper), (build.deployment("q", qwen), qwen)],
    )
    assert where(plan) == {"w/0": [("nv", ["0"])]}
    held = next(d for d in plan.errors if d.code == "held")
    assert held.message == "q: replica 0 not created: Docker on asc did not answer and may already run it"
    down = next(d for d in plan.errors if d.code == "unreachable")
    assert down.hint == "start Docker there (e.g. `systemctl start docker`) and plan again"
    # Containers such a host still lists are as unknown as the host: not deleted, not replaced.
    first = build.plan_for(
        lab, [build.host("asc", 0), build.host("nv", 1)], [(build.deployment("q", qwen), qwen)]
    )
    stale = build.started(first.changes[0])
    hosts = [_ascend(build, "asc"), build.host("nv", 1, containers=[stale], docker=False)]
    plan = build.plan_for(lab, hosts, [])
    assert plan.changes == []


def test_a_host_that_could_not_be_probed_is_not_called_a_label_mismatch(build: ModuleType) -> None:
    """vLLM's default selector (arch=amd64) cannot be checked on a host that did not answer."""
    qwen = build.model("Qwen__Qwen3-8B")
    lab = build.cluster("a", "b", "c")
    running = [build.managed("gpuctl-q-0", "q", 0, "0", 70 * GiB, port=30000)]
    job = [GpuProcess(device_key="0", pid=7, name="train.py", used_memory=20 * GiB)]
    hosts = [
        build.host("a", [("0", build.H100[1], 90 * GiB)], containers=running, processes=job),
        build.host("b", [("0", build.H100[1], 60 * GiB)], processes=job),
        build.host("c", 0, status="unreachable"),
    ]
    plan = build.plan_for(lab, hosts, [(build.deployment("q", qwen), qwen)])
    error = next(d for d in plan.errors if d.code == "unschedulable")
    assert error.message.startswith("0/3 hosts fit q: 2 × not enough free memory on any device set")
    assert ", 1 × could not be probed (unreachable);" in error.message


def test_a_replica_across_hosts_with_a_part_on_an_unprobed_host_is_left_alone(build: ModuleType) -> None:
    """Seen in part, it looks too small for its model; moving it would start a second copy of the
    part the unreachable host may still run."""
    llama = build.model("meta-llama__Llama-3.1-70B-Instruct")
    lab = build.cluster(*"abcdef")
    spread = (build.deployment("l", llama, placement={"distributed": True}), llama)
    first = build.plan_for(build.cluster(*"abc"), [build.host(n, 1) for n in "abc"], [spread])
    assert [w[0] for w in where(first)["l/0"]] == ["a", "b", "c"]
    running = {c.host: build.started(c) for c in first.changes}
    claim = int(running["a"].labels["gpuctl.memory"])
    hosts = [build.host(n, [("0", build.H100[1], claim)], containers=[running[n]]) for n in "ab"]
    hosts += [build.host("c", 0, status="unreachable")] + [build.host(n, 1) for n in "def"]
    plan = build.plan_for(lab, hosts, [spread])
    assert [(c.action, c.reasons) for c in plan.changes] == [
        ("no-op", ["left as it is: c could not be probed (unreachable) and may run part of it"])
    ] * 2
    assert "l: left as it is: c could not be probed (unreachable) and may run part of it" in [
        d.message for d in plan.errors
    ]


def test_scaled_down_replicas_stay_while_the_wanted_ones_cannot_be_seen(build: ModuleType) -> None:
    qwen = build.model("Qwen__Qwen3-8B")
    lab = build.cluster("a", "b")
    spread = {"strategy": "spread"}
    first = build.plan_for(
        lab,
        [build.host("a", 2), build.host("b", 2)],
        [(build.deployment("q", qwen, replicas=3, placement=spread), qwen)],
    )
    assert where(first)["q/1"] == [("b", ["0"])]  # replicas 0 and 2 on a
    on_b = [build.started(c) for c in first.changes if c.host == "b"]
    claim = int(on_b[0].labels["gpuctl.memory"])
    b = build.host("b", [("0", build.H100[1], claim), ("1", build.H100[1], 0)], containers=on_b)
    # Scaled to 1 while a (replica 0) does not answer: replica 1 may be all that serves.
    plan = build.plan_for(
        lab,
        [build.host("a", 0, status="unreachable"), b],
        [(build.deployment("q", qwen, placement=spread), qwen)],
    )
    (change,) = plan.changes
    assert (change.action, change.name) == ("no-op", "gpuctl-q-1")
    assert change.reasons == ["kept while replica 0 cannot be seen: a could not be probed (unreachable)"]
    held = next(d for d in plan.errors if d.code == "held")
    assert held.message.endswith("may already run it; scaled-down replica 1 kept meanwhile")
    # Once a answers without replica 0, it is created and replica 1 goes.
    plan = build.plan_for(
        lab, [build.host("a", 2), b], [(build.deployment("q", qwen, placement=spread), qwen)]
    )
    assert sorted((c.action, c.name, c.reasons[0]) for c in plan.changes) == [
        ("create", "gpuctl-q-0", "no container for this replica (1 wanted, 0 exist)"),
        ("delete", "gpuctl-q-1", "scaled down to 1 replica"),
    ]


def test_a_replica_that_must_move_and_fits_nowhere_says_why_it_must_move(build: ModuleType) -> None:
    qwen = build.model("Qwen__Qwen3-8B")
    lab = build.cluster("a", "b")
    first = build.plan_for(
        lab, [build.host("a", 1), build.host("b", 1)], [(build.deployment("q", qwen), qwen)]
    )
    running = [build.started(c) for c in first.changes]
    claim = int(running[0].labels["gpuctl.memory"])
    job = [GpuProcess(device_key="0", pid=4242, name="finetune.py", used_memory=10 * GiB)]
    a = build.host("a", [("0", build.H100[1], claim + 10 * GiB)], containers=running, processes=job)
    # b is free: the replica moves, and the reasons say why, not that the host changed.
    plan = build.plan_for(lab, [a, build.host("b", 1)], [(build.deployment("q", qwen), qwen)])
    (moved,) = plan.changes
    assert moved.action == "replace" and moved.moved
    assert moved.reasons == [
        "moved a:0 → b:0: device 0 on a now busy (foreign process finetune.py (pid 4242) 10.0 GiB):"
        " needs 72.6 GiB, 69.6 GiB free"
    ]
    # b is busy too: it stays, and the error says what drove it out.
    full = [GpuProcess(device_key="0", pid=7, name="train.py", used_memory=70 * GiB)]
    b = build.host("b", [("0", build.H100[1], 70 * GiB)], processes=full)
    plan = build.plan_for(lab, [a, b], [(build.deployment("q", qwen), qwen)])
    (error,) = plan.errors
    assert error.message.endswith(
        "; the running replica is left as it is (it must move: device 0 on a now busy (foreign process"
        " finetune.py (pid 4242) 10.0 GiB): needs 72.6 GiB, 69.6 GiB free)"
    )
    assert [c.action for c in plan.changes] == ["no-op"]


def test_a_host_without_room_in_ram_for_cpu_offload_says_so(build: ModuleType) -> None:
    gguf = build.model("huggingface:Qwen/Qwen3-8B-GGUF")
    whisper = build.model("huggingface:Systran/faster-whisper-large-v3")
    cpu: HostFacts = build.host("cpu", 0)
    assert cpu.info is not None
    cpu = cpu.model_copy(update={"info": cpu.info.model_copy(update={"memory_available": 2 * GiB})})
    offload = {"cpuOffload": True}
    plan = build.plan_for(
        build.cluster("cpu"),
        [cpu],
        [
            (build.deployment("g", gguf, placement=offload), gguf),
            (build.deployment("w", whisper, placement=offload), whisper),
        ],
    )
    assert sorted((d.message, d.hint) for d in plan.errors) == [
        (
            f"0/1 hosts fit {name}: 1 × not enough free host memory to run it on the CPU"
            f" (needs {need}, best cpu has 2.0 GiB)",
            "free host memory (RAM) there, or lower what it needs",
        )
        for name, need in (("g", "5.9 GiB"), ("w", "4.5 GiB"))
    ]


def test_a_replica_moving_on_its_host_keeps_its_port_when_the_range_is_full(build: ModuleType) -> None:
    qwen = build.model("Qwen__Qwen3-8B")
    lab = _narrow("a", end=30000)
    first = build.plan_for(lab, [build.host("a", 2)], [(build.deployment("q", qwen), qwen)])
    running = [build.started(c) for c in first.changes]
    claim = int(running[0].labels["gpuctl.memory"])
    job = [GpuProcess(device_key="0", pid=5, name="train.py", used_memory=30 * GiB)]
    devices = [("0", build.H100[1], claim + 30 * GiB), ("1", build.H100[1], 0)]
    hosts = [build.host("a", devices, containers=running, processes=job)]
    (moved,) = build.plan_for(lab, hosts, [(build.deployment("q", qwen), qwen)]).changes
    assert (moved.action, moved.devices) == ("replace", ["1"])
    assert moved.container is not None and moved.container.port == 30000


def test_more_replicas_than_pinned_device_sets(build: ModuleType) -> None:
    qwen = build.model("Qwen__Qwen3-8B")
    plan = build.plan_for(
        build.cluster("a", "b"),
        [build.host("a", 2), build.host("b", 2)],
        [(build.deployment("q", qwen, replicas=3, placement={"devices": ["a:0", "b:1"]}), qwen)],
    )
    assert where(plan) == {"q/0": [("a", ["0"])], "q/1": [("b", ["1"])]}
    (error,) = plan.errors
    assert error.message == "q replica 2: all 2 pinned device sets are taken by its other replicas (3 wanted)"
    assert error.hint == "pin a device set per replica, or lower replicas"


def test_a_port_another_program_listens_on_is_never_given_out(build: ModuleType) -> None:
    """The probe lists the host's listening TCP ports: one held by a program that is not gpuctl's
    is skipped; gpuctl's own running container keeps its port."""
    qwen = build.model("Qwen__Qwen3-8B")
    lab = build.cluster("a")
    first = build.plan_for(lab, [build.host("a", 2)], [(build.deployment("q", qwen), qwen)])
    running = [build.started(c) for c in first.changes]
    (port,) = [c.container.port for c in first.changes if c.container]
    host = build.host("a", 2, containers=running)
    assert host.info is not None
    busy = host.model_copy(
        update={"info": host.info.model_copy(update={"listening_ports": [22, port, port + 1]})}
    )
    plan = build.plan_for(lab, [busy], [(build.deployment("q", qwen, replicas=2), qwen)])
    ports = {c.replica: (c.action, c.container.port if c.container else None) for c in plan.changes}
    assert ports[0][0] == "no-op"
    assert ports[1] == ("create", port + 2)  # port: replica 0 listens there; port + 1: another program
