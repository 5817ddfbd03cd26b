"""One replica's rollout on its hosts: the steps of a `Unit`, and their undoing.

Forward: remove the displaced containers the plan deletes (once, even when several replicas need
their place), stop the old containers whose devices or port are needed and rename those whose name
is taken, start every new container (workers included), wait for the one serving the API while
watching the others, then remove the old containers. Any failure raises `UnitFailed`; `roll_back`
removes what was started, restores files, renames and restarts the old containers and waits until
the old one serves again, and says so in one sentence.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gpuctl.apply import docker, operations, readiness
from gpuctl.apply.facts import ContainerReadiness
from gpuctl.apply.progress import Reporter
from gpuctl.apply.results import ChangeResult, StepTime
from gpuctl.apply.rollout import Old, Unit
from gpuctl.apply.session import DEFAULT, Default, Output, Session
from gpuctl.backends.types import ContainerSpec, Readiness
from gpuctl.plan.model import Change

if TYPE_CHECKING:
    from gevent.event import AsyncResult

LOG_LINES = 20


class UnitFailed(Exception):
    """A step failed: roll back. `container`: the new container whose log explains it."""

    def __init__(self, reason: str, host: str | None = None, container: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.host = host
        self.container = container


@dataclass
class Fleet:
    """What the rollouts of all replicas share: the connections, the output, what was done."""

    session: Session
    reporter: Reporter
    timings: list[StepTime] = field(default_factory=list)
    results: list[ChangeResult] = field(default_factory=list)
    clearing: dict[str, AsyncResult] = field(default_factory=dict)
    """`host/name` of a displaced container → its removal by the first replica that needed its
    place (value None: removed; else why not)."""

    def run(
        self, phase: str, host: str, what: str, command: str, timeout: float | Default | None = DEFAULT
    ) -> Output:
        begin = time.monotonic()
        out = self.session.run(host, command, timeout=timeout)
        self.timings.append(
            StepTime(phase=phase, host=host, what=what, seconds=round(time.monotonic() - begin, 3))
        )
        return out

    def step(
        self,
        phase: str,
        host: str,
        what: str,
        command: str,
        failure: str,
        timeout: float | Default | None = DEFAULT,
    ) -> None:
        out = self.run(phase, host, what, command, timeout)
        if not out.ok:
            raise UnitFailed(f"{failure}: {out.why()}", host)

    def wait_ready(
        self, host: str, ready: Readiness, container: str, watch: list[tuple[str, str]], label: str
    ) -> None:
        """Poll `container` on `host` (serving as `ready` says) until it answers 200. UnitFailed
        when it, or a container in `watch` ((host, name): the replica's workers), stops, when its
        host no longer answers, or at the readiness timeout."""
        import gevent

        timeout = ready.timeout
        begin = time.monotonic()
        key, where = f"ready {host} {container}", f"{container} on {host}"
        self.reporter.begin(key, f"{label}: waiting for {where}", total=timeout)
        last = "not answering yet"
        try:
            while True:
                elapsed = time.monotonic() - begin
                poll = self.poll(host, container, ready.port, ready.path)
                if poll.ready:
                    self.reporter.end(key, True, f"{label}: {where} serves ({elapsed:.1f} s)")
                    return
                last = poll.describe()
                for other, name in watch:
                    self.poll(other, name)
                if elapsed >= timeout:
                    why = f"{where} did not become ready within {timeout} s ({last})"
                    raise UnitFailed(why, host, container)
                self.reporter.update(key, f"{label}: waiting for {where}: {last}", completed=elapsed)
                gevent.sleep(readiness.interval(elapsed))
        except UnitFailed:
            self.reporter.end(key, False, f"{label}: {where} is not ready")
            raise
        finally:
            seconds = round(time.monotonic() - begin, 3)
            self.timings.append(StepTime(phase="readiness", host=host, what=container, seconds=seconds))

    def labelled_readiness(self, host: str, container: str) -> Readiness | None:
        """How to poll a running container, from the spec apply labelled it with (None: its labels
        do not say, or cannot be read)."""
        out = self.session.run(host, docker.labels_command(container))
        try:
            tags = json.loads(out.stdout) if out.ok else None
        except ValueError:
            return None
        return readiness.from_labels(tags) if isinstance(tags, dict) else None

    def log_tail(self, host: str, container: str) -> list[str]:
        """The last lines of a failed container's log, secrets scrubbed, for the report."""
        return [
            self.reporter.scrub(line) for line in operations.logs(self.session, host, container, LOG_LINES)
        ]

    def serves_again(self, host: str, ready: Readiness, name: str, label: str) -> str:
        """Wait for an old container brought back by a rollback; the end of the report's sentence."""
        try:
            self.wait_ready(host, ready, name, [], label)
        except UnitFailed as failure:
            return f"; rolled back, but the old container does not serve again: {failure.reason}"
        return f"; rolled back: the old {name} serves again"

    def poll(
        self, host: str, container: str, port: int | None = None, path: str | None = None
    ) -> readiness.Poll:
        """One poll (without `port`: the container's state only); UnitFailed when the container
        stopped or its host no longer answers."""
        poll, error = self.session.fact(
            host,
            ContainerReadiness,
            timeout=self.session.poll_timeout(host),
            container=container,
            address=self.session.targets[host].address,
            port=port or 0,
            path=path or "/",
        )
        if error:
            raise UnitFailed(f"{host} stopped answering while {container} started ({error})", host)
        if poll is None:
            raise UnitFailed(f"cannot read the state of {container} on {host}", host, container)
        failure = poll.failure()
        if failure and not (port is None and poll.http == "no-http-client"):
            raise UnitFailed(f"{container} on {host}: {failure}", host, container)
        return poll


def where(change: Change) -> str:
    """`host/name` of the container a change removes, as `Change.displaces` names it."""
    observed = change.observed
    return f"{observed.host}/{observed.name}" if observed else ""


class ReplicaRollout:
    """The steps of one unit, and what to undo when a later step fails."""

    def __init__(self, fleet: Fleet, unit: Unit, env_files: dict[str, str]) -> None:
        self.fleet = fleet
        self.unit = unit
        self.env_files = env_files
        """Env file (secret values) per `name@host` of the new containers."""
        self.stopped: list[Old] = []
        self.renamed: list[Old] = []
        self.started: list[ContainerSpec] = []
        self.backed_up: list[ContainerSpec] = []

    @property
    def session(self) -> Session:
        return self.fleet.session

    def execute(self) -> None:
        for change in self.unit.clears:
            self._clear(change)
        for old in self.unit.olds:
            self._make_way(old)
        for change in self.unit.starts:
            self._start(change)
        serving = self.unit.serving.container
        assert serving is not None
        watch = [(s.host, s.name) for s in self.started if s is not serving]
        self.fleet.wait_ready(serving.host, serving.readiness, serving.name, watch, self.unit.name)
        for old in self.unit.olds:
            o = old.observed
            self.fleet.step(
                "remove", o.host, o.name, docker.remove_command(o.id), f"removing the old {o.name} failed"
            )
            if not any(s.host == o.host and s.name == o.name for s in self.started):
                operations.forget_files(self.session, o.host, o.name, backup_only=False)
            self.fleet.reporter.line(f"✓ {o.host}: removed the old {o.name}")
        for spec in self.started:
            if spec.files:  # it serves: no copy of its files to roll back to (one a killed apply left)
                operations.forget_files(self.session, spec.host, spec.name, backup_only=True)
            self.fleet.reporter.line(f"✓ {self.unit.name}: {spec.name} on {spec.host} is up")

    def _clear(self, change: Change) -> None:
        """Remove a displaced container the plan deletes: once, however many replicas need it gone."""
        from gevent.event import AsyncResult

        fleet, old = self.fleet, change.observed
        assert old is not None
        claim = fleet.clearing.get(where(change))
        if claim is None:
            claim = fleet.clearing[where(change)] = AsyncResult()
            out = fleet.run("remove", old.host, old.name, docker.remove_command(old.id))
            if out.ok:
                operations.forget_files(self.session, old.host, old.name, backup_only=False)
                fleet.results.append(
                    ChangeResult.of(change, "done", f"removed first: {self.unit.name} needed its place")
                )
                fleet.reporter.line(
                    f"✓ {old.host}: removed {old.name} first: {self.unit.name} needs its devices or port"
                )
            claim.set(
                None
                if out.ok
                else f"removing {old.name} on {old.host}, whose place is needed, failed: {out.why()}"
            )
        failure = claim.get()
        if failure:
            raise UnitFailed(failure, old.host)

    def _make_way(self, old: Old) -> None:
        o, fleet = old.observed, self.fleet
        if old.stop_first:
            if o.state == "running":
                fleet.reporter.line(
                    f"{self.unit.name}: stopping {o.name} on {o.host} (its devices or port are needed; "
                    "it is kept until the new one serves)"
                )
                limit = self.session.targets[o.host].command_timeout + docker.STOP_SECONDS
                fleet.step(
                    "stop", o.host, o.name, docker.stop_command(o.id), f"stopping {o.name} failed", limit
                )
            self.stopped.append(old)
        if old.rename:
            new_name = docker.replaced_name(o.name, o.id)
            fleet.step(
                "rename", o.host, o.name, docker.rename_command(o.id, new_name), f"renaming {o.name} failed"
            )
            self.renamed.append(old)

    def _start(self, change: Change) -> None:
        spec = change.container
        assert spec is not None
        backup = any(o.observed.host == spec.host and o.observed.name == spec.name for o in self.unit.olds)
        if backup and spec.files:
            self.backed_up.append(spec)
        self.started.append(spec)  # a failed `docker run` may still leave a created container
        why = "; ".join(change.reasons) or "new"
        self.fleet.reporter.line(
            f"{self.unit.name}: starting {spec.name} on {spec.host} ({change.action}: {why})"
        )
        begin = time.monotonic()
        out = operations.start(self.session, spec, self.env_files[f"{spec.name}@{spec.host}"], backup)
        seconds = round(time.monotonic() - begin, 3)
        self.fleet.timings.append(StepTime(phase="start", host=spec.host, what=spec.name, seconds=seconds))
        if not out.ok:
            raise UnitFailed(f"starting {spec.name} on {spec.host} failed: {out.why()}", spec.host)

    def roll_back(self, failure: UnitFailed) -> tuple[str, list[str]]:
        """Undo what this unit did; the sentence for the report and the failed container's log."""
        log_tail: list[str] = []
        if failure.container and failure.host:
            log_tail = self.fleet.log_tail(failure.host, failure.container)
        problems: list[str] = []

        def undo(host: str, command: str, what: str) -> bool:
            out = self.session.run(host, command)
            if not out.ok:
                problems.append(f"{what} on {host} failed: {out.why()}")
            return out.ok

        for spec in reversed(self.started):
            undo(spec.host, docker.remove_command(spec.name), f"removing the new {spec.name}")
        for spec in self.backed_up:
            undo(
                spec.host, operations.restore_files_command(spec.name), f"restoring the files of {spec.name}"
            )
        for old in self.renamed:
            o = old.observed
            undo(o.host, docker.rename_command(o.id, o.name), f"renaming {o.name} back")
        restarted = [
            old
            for old in self.stopped
            if old.observed.state == "running"
            and undo(
                old.observed.host,
                docker.start_command(old.observed.id),
                f"starting {old.observed.name} again",
            )
        ]
        reason = failure.reason
        if problems:
            return reason + "; rolling back failed: " + "; ".join(problems), log_tail
        if not self.unit.olds:
            return reason + "; the new containers were removed", log_tail
        return reason + self._old_serves(restarted), log_tail

    def _old_serves(self, restarted: list[Old]) -> str:
        """Wait for the restarted old serving container; the end of the report's sentence."""
        if not self.stopped:
            return "; the old containers kept serving"
        if not restarted:  # e.g. stopped by an apply that was killed before it started them again
            return "; rolled back: the old containers were not running when this apply began and stay stopped"
        serving = self.unit.serving
        olds = [
            o.observed for o in restarted if o.observed.port is not None and o.change.role == serving.role
        ]
        if not olds:
            return "; rolled back: the old containers were started again"
        old, spec = olds[0], serving.container
        assert spec is not None and old.port is not None
        # The old container loads as it did before (its own timeout), not as the new spec says.
        ready = self.fleet.labelled_readiness(old.host, old.id) or spec.readiness.model_copy(
            update={"port": old.port}
        )
        return self.fleet.serves_again(old.host, ready, old.name, f"{self.unit.name} (rollback)")
