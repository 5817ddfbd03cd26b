"""Host filters judged once per class of alike hosts; the first failing filter is the reason."""

from __future__ import annotations

from types import ModuleType

from gpuctl.schedule.capacity import Fleet, HostState
from gpuctl.schedule.filters import HostClasses
from gpuctl.schedule.observed import observe
from gpuctl.schedule.scheduler import Ports
from gpuctl.spec.models import Cluster


def test_alike_hosts_share_a_class_and_reasons_come_in_filter_order(build: ModuleType) -> None:
    hosts = [
        build.host("a1", 8),
        build.host("a2", 8),
        build.host("b1", 8),
        build.host("c1", 8, docker=False),
        build.host("d1", 8, status="unreachable"),
    ]
    zones = {
        "a1": {"zone": "a"},
        "a2": {"zone": "a"},
        "b1": {"zone": "b"},
        "c1": {"zone": "a"},
        "d1": {"zone": "a"},
    }
    fleet = Fleet(hosts, zones, [])
    classes = HostClasses(fleet)
    assert len(classes.classes) == 4  # a1 and a2 are alike
    asked: list[str] = []

    def backend_problem(host: HostState) -> str | None:
        asked.append(host.name)
        return None

    verdicts = classes.verdicts(("sig",), "lab", {"zone": "a"}, backend_problem)
    assert classes.verdicts(("sig",), "lab", {"zone": "a"}, backend_problem) is verdicts  # cached
    assert asked == ["a1"]  # one question for the one class that passes the other filters
    reasons = classes.reasons(verdicts, None, "lab")
    assert reasons == {
        "a1": None,
        "a2": None,
        "b1": "label zone=a does not match",
        "c1": "Docker did not answer",
        "d1": "could not be probed (unreachable)",
    }
    mask = classes.eligible(verdicts, {"a2", "b1"})
    assert [h.name for h in fleet.hosts if mask[h.rank]] == ["a2"]
    assert classes.reasons(verdicts, {"a2"}, "lab")["a1"] == "not in placement.hosts"


def test_ports_are_unique_per_host_and_kept(build: ModuleType) -> None:
    cluster = Cluster.model_validate(
        {
            "metadata": {"name": "lab"},
            "spec": {
                "hosts": [{"name": "a", "address": "10.0.0.1"}],
                "portRange": {"start": 40000, "end": 40003},
            },
        }
    )
    box = build.managed("gpuctl-x-0", "x", 0, "0", 1, port=40000)
    facts = build.host("a", 1, containers=[box])
    fleet = Fleet([facts], {}, observe([facts])[0])
    host = fleet.by_name["a"]
    assert host.ports == {40000}
    ports = Ports([cluster])
    assert ports.take(host, 40000, own={40000}) == 40000  # its own port
    assert ports.take(host, 40000, own=set()) == 40001  # someone else's
    assert ports.take(host, None, own=set(), span=2) == 40002  # a leader's pair
    assert not ports.free(host)
