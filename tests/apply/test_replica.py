"""A replica's rollback against a scripted host: the report says what happened, not what was meant
to happen."""

from __future__ import annotations

from gpuctl.apply.progress import Reporter
from gpuctl.apply.replica import Fleet, ReplicaRollout, UnitFailed
from gpuctl.apply.rollout import rollout
from gpuctl.apply.session import Output
from gpuctl.backends.types import ContainerSpec, Readiness
from gpuctl.plan.model import Change, ObservedContainer, Plan


class Host:
    """Stands in for the Session: every command succeeds, except those containing `failing`."""

    def __init__(self, failing: str | None = None) -> None:
        self.failing = failing
        self.commands: list[str] = []

    def run(self, host: str, command: str, **_: object) -> Output:
        self.commands.append(command)
        if self.failing and self.failing in command:
            return Output(False, stderr="Cannot connect to the Docker daemon. Is the docker daemon running?")
        return Output(True)


def replica(action: str, old_state: str | None = None) -> Change:
    spec = ContainerSpec(
        name="gpuctl-chat-0",
        host="a",
        image="runner:v2",
        command=["serve"],
        port=40000,
        readiness=Readiness(path="/health", port=40000, timeout=60),
    )
    observed = None
    if old_state is not None:
        observed = ObservedContainer(
            host="a",
            id="0123abcd" * 8,
            name="gpuctl-chat-0",
            image="runner:v1",
            state=old_state,
            devices=["0"],
        )
    return Change(
        action=action,  # type: ignore[arg-type]
        cluster="lab",
        deployment="chat",
        replica=0,
        role="main",
        host="a",
        name="gpuctl-chat-0",
        reasons=["why"],
        devices=["0"],
        container=spec,
        observed=observed,
    )


def roll_back(change: Change, host: Host) -> tuple[str, ReplicaRollout]:
    [unit] = rollout(Plan(clusters=["lab"], changes=[change])).units
    run = ReplicaRollout(Fleet(host, Reporter()), unit, {"gpuctl-chat-0@a": ""})  # type: ignore[arg-type]
    assert change.container is not None
    run.started.append(change.container)
    for old in unit.olds:
        run.stopped.append(old)
        run.renamed.append(old)
    reason, _ = run.roll_back(UnitFailed("gpuctl-chat-0 on a: Docker on the host does not answer", "a"))
    return reason, run


def test_a_new_container_that_could_not_be_removed_is_not_reported_removed() -> None:
    reason, _ = roll_back(replica("create"), Host(failing="docker rm"))
    assert "rolling back failed: removing the new gpuctl-chat-0 on a failed: Cannot connect" in reason
    assert "were removed" not in reason


def test_old_containers_that_were_not_running_are_not_reported_started() -> None:
    """An old container an interrupted apply had stopped is renamed back but not started: the
    report must not say it was."""
    host = Host()
    reason, _ = roll_back(replica("replace", old_state="exited"), host)
    assert reason.endswith("the old containers were not running when this apply began and stay stopped")
    assert not any(command.startswith("docker start") for command in host.commands)
