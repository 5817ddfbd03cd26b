"""Diff: identity first, then spec hash and state; every change with its reason."""

from __future__ import annotations

from gpuctl import labels
from gpuctl.backends.types import ContainerSpec, Readiness
from gpuctl.facts import DockerInfo, HostFacts, ManagedContainer
from gpuctl.plan.diff import Desired, diff
from gpuctl.plan.explain import apply_labels
from gpuctl.schedule.observed import Observed, parse_container


def desired(
    replica: int = 0, devices: tuple[str, ...] = ("0",), host: str = "gpu-01", **changes: object
) -> Desired:
    data: dict[str, object] = {
        "name": f"gpuctl-qwen-{replica}",
        "host": host,
        "image": "gpustack/runner:cuda12.8-vllm0.11.0",
        "command": ["vllm", "serve", "Qwen/Qwen3-8B", "--port", "40000", "--max-model-len", "8192"],
        "port": 40000,
        "readiness": Readiness(path="/health", port=40000, timeout=600),
    }
    data.update(changes)
    spec = ContainerSpec.model_validate(data)
    return Desired(("lab", "qwen", replica, "main"), host, devices, spec)


def running(want: Desired, state: str = "running", devices: str = "0") -> Observed:
    spec = want.spec
    container = ManagedContainer(
        id="f" * 64,
        name=spec.name,
        image=spec.image,
        state=state,
        labels={
            **spec.labels,
            **apply_labels(spec),
            labels.CLUSTER: "lab",
            labels.DEPLOYMENT: "qwen",
            labels.REPLICA: str(want.identity[2]),
            labels.ROLE: "main",
            labels.DEVICES: devices,
            labels.MEMORY: "1",
            labels.PORT: "40000",
        },
    )
    host = HostFacts(
        host=want.host, cluster="lab", address="10.0.0.1", status="ok", docker=DockerInfo(reachable=True)
    )
    parsed = parse_container(host, container)
    assert isinstance(parsed, Observed)
    return parsed


def test_same_spec_and_running_is_a_no_op() -> None:
    want = desired()
    (change,) = diff([want], {want.identity: running(want)}, [], {}, {}, {})
    assert (change.action, change.reasons) == ("no-op", [])


def test_changed_parameter_replaces_in_place_with_the_reason() -> None:
    old = running(desired())
    want = desired(command=["vllm", "serve", "Qwen/Qwen3-8B", "--port", "40000", "--max-model-len", "32768"])
    (change,) = diff([want], {want.identity: old}, [], {}, {}, {})
    assert change.action == "replace" and not change.moved
    assert change.reasons == ["parameter --max-model-len changed 8192 → 32768"]
    assert change.observed is not None and change.observed.spec_hash == old.spec_hash


def test_exited_container_is_replaced() -> None:
    want = desired()
    (change,) = diff([want], {want.identity: running(want, state="exited")}, [], {}, {}, {})
    assert (change.action, change.reasons) == ("replace", ["container exited"])


def test_moved_replica_says_why_and_where() -> None:
    old = running(desired(devices=("3",), gpus=["3"]), devices="3")
    want = desired(devices=("1",), gpus=["1"])
    why = "device 3 on gpu-01 now busy (foreign process train.py (pid 7) 40.0 GiB)"
    (change,) = diff([want], {want.identity: old}, [], {("lab", "qwen", 0): why}, {}, {})
    assert change.action == "replace" and change.moved
    assert change.reasons == [f"moved gpu-01:3 → gpu-01:1: {why}"]


def test_deletions_and_displacement() -> None:
    stay = desired(replica=0)
    gone = running(desired(replica=1), devices="0")
    new = desired(replica=2, devices=("0",))
    changes = diff(
        [new], {}, [(gone, "scaled down to 1 replica")], {}, {}, {("lab", "qwen"): "new deployment"}
    )
    by_action = {c.action: c for c in changes}
    assert by_action["delete"].reasons == ["scaled down to 1 replica"]
    assert by_action["create"].reasons == ["new deployment"]
    # The new container needs device 0 and port 40000, both held by the one being deleted.
    assert by_action["create"].displaces == ["gpu-01/gpuctl-qwen-1"]
    assert stay.identity not in {(c.cluster, c.deployment, c.replica, c.role) for c in changes}


def test_a_kept_replica_is_left_alone() -> None:
    old = running(desired())
    (change,) = diff(
        [], {old.identity: old}, [], {}, {("lab", "qwen", 0): "left as it is: 0/1 hosts fit"}, {}
    )
    assert (change.action, change.reasons) == ("no-op", ["left as it is: 0/1 hosts fit"])
