"""Carry out a Rollout on the hosts: lock, check the plan is current, prepare, roll out, delete.

1. Connect to every host the rollout touches (pyinfra, all at once) and take each host's lock.
2. Probe the locked hosts again through the same connections: if what the plan was made from has
   changed (another apply, a container that exited, a foreign process), refuse and say what.
3. Pull images and download model files on every host (pyinfra operation `prepare_host`), before
   any container is stopped.
4. Roll out the replica units, each in its own greenlet once the units it waits for succeeded: stop
   or rename the old containers in the way, start the new ones, wait for the one serving the API,
   then remove the old ones, or remove the new ones and bring the old ones back.
5. Delete what the plan deletes, except containers of a deployment whose new containers failed.
6. Release the locks (always).

A host that cannot be reached or locked, or whose preparation failed, fails the changes that need
it; every other host goes on.
"""

from __future__ import annotations

import secrets as token_source
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gpuctl.apply import docker, lock, operations, readiness
from gpuctl.apply.facts import ContainerReadiness
from gpuctl.apply.progress import Reporter
from gpuctl.apply.results import ApplyResult, ChangeResult, HostResult, StepTime
from gpuctl.apply.rollout import Old, Rollout, Unit, UnitKey
from gpuctl.apply.session import Session
from gpuctl.backends.types import ContainerSpec
from gpuctl.errors import Diagnostic, GpuctlError
from gpuctl.plan.model import Change, Plan

LOG_LINES = 20


class UnitFailed(Exception):
    """A step of a unit failed: roll back. `container` names the new container to show logs of."""

    def __init__(self, reason: str, host: str | None = None, container: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.host = host
        self.container = container


@dataclass
class Outcome:
    ok: bool
    results: list[ChangeResult] = field(default_factory=list)


class Executor:
    def __init__(
        self,
        plan: Plan,
        rollout: Rollout,
        session: Session,
        reporter: Reporter,
        environ: Mapping[str, str],
        *,
        lock_timeout: float,
        command: str,
    ) -> None:
        self.plan = plan
        self.rollout = rollout
        self.session = session
        self.reporter = reporter
        self.environ = environ
        self.lock_timeout = lock_timeout
        self.owner = lock.this_process(command)
        self.addresses = {name: t.address for name, t in session.targets.items()}
        self.down: dict[str, str] = {}
        """Hosts that cannot be changed, with the reason."""
        self.preparation: operations.Preparation | None = None
        self.clearing: dict[str, Any] = {}
        """`host/name` of a displaced container → AsyncResult of its removal by the first unit
        that needed its place (None: removed; else why not)."""
        self.locked: list[str] = []
        self.timings: list[StepTime] = []
        self.results: list[ChangeResult] = []
        self.outcomes: dict[UnitKey, Outcome] = {}

    # ------------------------------------------------------------------ the whole apply

    def run(self) -> ApplyResult:
        import gevent

        begin = time.monotonic()
        try:
            self._connect_and_lock()
            self._check_current()
            heartbeat = gevent.spawn(self._heartbeat)
            try:
                self._prepare()
                self._roll_out()
                self._delete()
            finally:
                heartbeat.kill()
        finally:
            self._unlock()
            self.session.close()
        return self._result(time.monotonic() - begin)

    def _result(self, seconds: float) -> ApplyResult:
        hosts = [
            HostResult(
                host=name,
                status="failed" if self._host_problem(name) else "ok",
                reason=self._host_problem(name),
            )
            for name in self.rollout.hosts()
        ]
        results = sorted(self.results, key=lambda r: (r.host, r.name, r.action))
        ok = all(r.status == "done" for r in results) and not self.plan.errors
        return ApplyResult(
            ok=ok,
            changes=results,
            hosts=hosts,
            diagnostics=self.plan.diagnostics,
            timings=self.timings,
            seconds=round(seconds, 3),
        )

    def _host_problem(self, host: str) -> str | None:
        if host in self.down:
            return self.down[host]
        failed = [
            why
            for (h, _), why in (self.preparation.failures if self.preparation else {}).items()
            if h == host
        ]
        return "; ".join(failed) or None

    # ------------------------------------------------------------------ connect, lock, verify

    def _connect_and_lock(self) -> None:
        import gevent

        begin = time.monotonic()
        self.session.connect()
        self.timings.append(StepTime(phase="connect", seconds=round(time.monotonic() - begin, 3)))
        self.down.update(self.session.failed)
        for host, why in sorted(self.session.failed.items()):
            self.reporter.line(f"✗ {host}: {why}")
        begin = time.monotonic()
        hosts = self.session.connected
        jobs = {host: gevent.spawn(self._lock, host) for host in hosts}
        gevent.joinall(list(jobs.values()))
        for host, job in jobs.items():
            if job.value is None:
                self.locked.append(host)
            else:
                self.down[host] = job.value
                self.reporter.line(f"✗ {host}: {job.value}")
        self.timings.append(StepTime(phase="lock", seconds=round(time.monotonic() - begin, 3)))

    def _lock(self, host: str) -> str | None:
        """Take the host's lock, waiting up to lock_timeout; None when taken, else why not."""
        import gevent

        begin = time.monotonic()
        announced = False
        while True:
            out = self.session.run(host, lock.acquire_command(), stdin=self.owner.to_json())
            if not out.ok:
                return f"cannot take the lock: {out.why()}"
            try:
                held = lock.parse_acquire(out.stdout)
            except ValueError as error:
                return str(error)
            if held is None:
                return None
            stale = lock.stale_reason(held, self.owner)
            if stale:
                self.reporter.line(f"{host}: taking over a stale lock: {stale}")
                self.session.run(host, lock.break_command(held.owner.id if held.owner else None))
                continue
            waited = time.monotonic() - begin
            if waited >= self.lock_timeout:
                return f"{lock.held_message(host, held, waited)} ({lock.held_hint(host, held)})"
            if not announced:
                who = held.owner.describe() if held.owner else "another apply"
                self.reporter.line(f"{host}: waiting for the lock held by {who}")
                announced = True
            gevent.sleep(min(2.0, max(self.lock_timeout - waited, 0.1)))

    def _heartbeat(self) -> None:
        import gevent

        while True:
            gevent.sleep(lock.HEARTBEAT)
            for host in self.locked:
                self.session.run(host, lock.heartbeat_command(self.owner.id))

    def _unlock(self) -> None:
        import gevent

        jobs = [gevent.spawn(self.session.run, h, lock.release_command(self.owner.id)) for h in self.locked]
        gevent.joinall(jobs)

    def _check_current(self) -> None:
        """Refuse when the locked hosts differ from what the plan was made from."""
        import gevent

        from gpuctl.plan import facts as plan_facts
        from gpuctl.probe.inventory import facts_from, probe_command, probe_script
        from gpuctl.probe.ssh import Outcome as ProbeOutcome

        nonce = token_source.token_hex(8)
        script = probe_script().decode()

        def probe(host: str) -> object:
            target = self.session.targets[host]
            begin = time.monotonic()
            out = self.session.run(
                host, probe_command(target, nonce), stdin=script, timeout=target.command_timeout
            )
            seconds = time.monotonic() - begin
            if out.error:
                return None
            outcome = ProbeOutcome(
                target,
                "ok",
                stdout=out.stdout,
                stderr=out.stderr,
                exit_status=0 if out.ok else 1,
                seconds=seconds,
            )
            return facts_from(outcome, nonce)

        begin = time.monotonic()
        jobs = {host: gevent.spawn(probe, host) for host in self.locked}
        gevent.joinall(list(jobs.values()))
        self.timings.append(StepTime(phase="probe", seconds=round(time.monotonic() - begin, 3)))
        fresh = [job.value for job in jobs.values() if job.value is not None]
        for host, job in jobs.items():
            if job.value is None:
                self.down[host] = f"{host} stopped answering while gpuctl checked it"
        now = plan_facts.digest(fresh)  # type: ignore[arg-type]
        saved = [f for f in self.plan.facts if f.host in {d.host for d in now}]
        changes = plan_facts.what_changed(saved, now)
        if changes:
            raise GpuctlError(
                Diagnostic(
                    "the hosts changed since the plan was made: " + "; ".join(changes),
                    hint="run `gpuctl plan` (or `gpuctl apply`) again to plan against what runs now",
                    code="stale-plan",
                )
            )

    # ------------------------------------------------------------------ prepare

    def _prepare(self) -> None:
        from pyinfra.api.exceptions import PyinfraError
        from pyinfra.api.operation import add_op
        from pyinfra.api.operations import run_ops

        from gpuctl.apply import fetch

        images = self.rollout.images()
        fetches = self.rollout.fetches()
        hosts = [h for h in sorted(images.keys() | fetches.keys()) if h not in self.down]
        if not hosts:
            return
        tokens = {
            spec.fetch.target: fetch.token_for(spec, self.environ)
            for spec in self.rollout.specs()
            if spec.fetch is not None
        }
        preparation = operations.Preparation(self.session, self.reporter, tokens, self.environ, self.timings)
        self.preparation = preparation
        for host in hosts:
            add_op(
                self.session.state,
                operations.prepare_host,
                images=images.get(host, []),
                fetches=fetches.get(host, []),
                preparation=preparation,
                host=self.session.host(host),
            )
        try:
            run_ops(self.session.state)
        except PyinfraError:  # every host failed: the failures are recorded below
            pass
        for host in hosts:
            if self.session.host(host) in self.session.state.failed_hosts and host not in self.down:
                self.down[host] = "preparing the host failed (the connection broke)"

    # ------------------------------------------------------------------ roll out

    def _roll_out(self) -> None:
        import gevent
        from gevent.event import Event

        done = {unit.key: Event() for unit in self.rollout.units}
        units = {unit.key: unit for unit in self.rollout.units}

        def run(unit: Unit) -> None:
            try:
                for key in unit.after:
                    done[key].wait()
                failed = [units[k].name for k in unit.after if not self.outcomes[k].ok]
                if failed:
                    self._skip(unit, f"it needs {', '.join(failed)} to succeed first, which failed")
                else:
                    self.outcomes[unit.key] = self._unit(unit)
            except Exception as error:  # a bug must not leave other units waiting forever
                self._skip(unit, f"gpuctl failed: {type(error).__name__}: {error}")
            finally:
                done[unit.key].set()

        for key, why in self.rollout.blocked.items():
            for change in self._group(key):
                self.results.append(ChangeResult.of(change, "skipped", why))
        jobs = [gevent.spawn(run, unit) for unit in self.rollout.units]
        gevent.joinall(jobs)

    def _group(self, key: UnitKey) -> list[Change]:
        return [
            c
            for c in self.plan.changes
            if c.action != "no-op" and (c.cluster, c.deployment, c.replica) == key
        ]

    def _skip(self, unit: Unit, why: str) -> None:
        self.outcomes[unit.key] = Outcome(False)
        for change in unit.changes:
            self.results.append(ChangeResult.of(change, "skipped", why))
        self.reporter.line(f"- {unit.name}: skipped: {why}")

    def _unit(self, unit: Unit) -> Outcome:
        blocked = [h for h in unit.hosts if h in self.down]
        if blocked:
            self._skip(unit, f"host {blocked[0]}: {self.down[blocked[0]]}")
            return Outcome(False)
        missing = [
            f"host {c.host}: {why}"
            for c in unit.starts
            if c.container is not None and self.preparation and (why := self.preparation.failure(c.container))
        ]
        if missing:
            self._skip(unit, missing[0])
            return Outcome(False)
        try:
            env_files = {c.name + "@" + c.host: self._secrets(c) for c in unit.starts}
        except GpuctlError as error:
            self._skip(unit, "; ".join(d.message for d in error.diagnostics))
            return Outcome(False)
        begin = time.monotonic()
        run = _UnitRun(self, unit, env_files)
        try:
            run.execute()
        except UnitFailed as failure:
            reason, log_tail = run.roll_back(failure)
            seconds = round(time.monotonic() - begin, 3)
            for change in unit.changes:
                self.results.append(
                    ChangeResult.of(change, "failed", reason, log_tail=log_tail, seconds=seconds)
                )
            self.reporter.line(f"✗ {unit.name}: {reason}")
            for line in log_tail:
                self.reporter.line(f"    {line}")
            return Outcome(False)
        seconds = round(time.monotonic() - begin, 3)
        for change in unit.changes:
            self.results.append(ChangeResult.of(change, "done", seconds=seconds))
        return Outcome(True)

    def _secrets(self, change: Change) -> str:
        spec = change.container
        assert spec is not None
        return docker.secret_env_file(spec, self.environ) if spec.secret_env else ""

    # ------------------------------------------------------------------ delete

    def _delete(self) -> None:
        import gevent

        failed = {key[1] for key, outcome in self.outcomes.items() if not outcome.ok}
        failed |= {key[1] for key in self.rollout.blocked}

        def delete(change: Change) -> None:
            observed = change.observed
            assert observed is not None
            if change.deployment in failed:
                why = f"kept: new containers of {change.deployment} failed, so it keeps what serves now"
                self.results.append(ChangeResult.of(change, "skipped", why))
                return
            if change.host in self.down:
                self.results.append(
                    ChangeResult.of(change, "skipped", f"host {change.host}: {self.down[change.host]}")
                )
                return
            begin = time.monotonic()
            out = operations.timed(
                self.timings,
                "remove",
                change.host,
                observed.name,
                lambda: self.session.run(change.host, docker.remove_command(observed.id)),
            )
            if out.ok:
                operations.forget_files(self.session, change.host, observed.name, backup_only=False)
                self.results.append(
                    ChangeResult.of(change, "done", seconds=round(time.monotonic() - begin, 3))
                )
                self.reporter.line(
                    f"✓ {change.host}: removed {observed.name} ({change.reasons[0] if change.reasons else 'deleted'})"
                )
            else:
                self.results.append(ChangeResult.of(change, "failed", f"docker rm failed: {out.why()}"))
                self.reporter.line(f"✗ {change.host}: removing {observed.name} failed: {out.why()}")

        left = {
            _where(c): c for unit in self.rollout.units for c in unit.clears if _where(c) not in self.clearing
        }
        gevent.joinall([gevent.spawn(delete, change) for change in [*self.rollout.deletions, *left.values()]])

    # ------------------------------------------------------------------ readiness

    def wait_ready(
        self, spec: ContainerSpec, container: str, watch: list[tuple[str, str]], label: str
    ) -> None:
        """Poll `container` (serving `spec`'s readiness) until it answers 200. Raise UnitFailed
        when it, or a container in `watch` ((host, name): the replica's workers), stops, when its
        host stops answering, or at the readiness timeout."""
        import gevent

        timeout = spec.readiness.timeout
        begin = time.monotonic()
        key = f"ready {spec.host} {container}"
        where = f"{container} on {spec.host}"
        self.reporter.begin(key, f"{label}: waiting for {where}", total=timeout)
        last = "not answering yet"
        try:
            while True:
                elapsed = time.monotonic() - begin
                poll = self._poll(spec.host, container, spec.readiness.port, spec.readiness.path)
                if poll.ready:
                    self.reporter.end(key, True, f"{label}: {where} serves ({elapsed:.1f} s)")
                    return
                last = poll.describe()
                for host, name in watch:
                    self._poll(host, name, None, None)
                if elapsed >= timeout:
                    raise UnitFailed(
                        f"{where} did not become ready within {timeout} s ({last})", spec.host, container
                    )
                self.reporter.update(key, f"{label}: waiting for {where}: {last}", completed=elapsed)
                gevent.sleep(readiness.interval(elapsed))
        except UnitFailed:
            self.reporter.end(key, False, f"{label}: {where} is not ready")
            raise
        finally:
            seconds = round(time.monotonic() - begin, 3)
            self.timings.append(StepTime(phase="readiness", host=spec.host, what=container, seconds=seconds))

    def _poll(self, host: str, container: str, port: int | None, path: str | None) -> readiness.Poll:
        """One readiness poll (port None: the container's state only); UnitFailed when the
        container stopped or the host no longer answers."""
        address = self.addresses.get(host, "127.0.0.1")
        poll, error = self.session.fact(
            host,
            ContainerReadiness,
            timeout=self.session.poll_timeout(host),
            container=container,
            address=address,
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


class _UnitRun:
    """The steps of one unit, and what to undo if a later step fails."""

    def __init__(self, executor: Executor, unit: Unit, env_files: dict[str, str]) -> None:
        self.x = executor
        self.unit = unit
        self.env_files = env_files
        self.stopped: list[Old] = []
        self.renamed: list[Old] = []
        self.started: list[ContainerSpec] = []
        self.backed_up: list[ContainerSpec] = []

    @property
    def session(self) -> Session:
        return self.x.session

    def _step(
        self, phase: str, host: str, what: str, command: str, failure: str, timeout: float | None = None
    ) -> None:
        limit = timeout if timeout is not None else self.session.targets[host].command_timeout
        out = operations.timed(
            self.x.timings, phase, host, what, lambda: self.session.run(host, command, timeout=limit)
        )
        if not out.ok:
            raise UnitFailed(f"{failure}: {out.why()}", host)

    def _clear(self, change: Change) -> None:
        """Remove a displaced container the plan deletes; once, when several units need it gone."""
        from gevent.event import AsyncResult

        x, old = self.x, change.observed
        assert old is not None
        where = _where(change)
        claim = x.clearing.get(where)
        if claim is None:
            claim = x.clearing[where] = AsyncResult()
            out = operations.timed(
                x.timings,
                "remove",
                old.host,
                old.name,
                lambda: self.session.run(old.host, docker.remove_command(old.id)),
            )
            if out.ok:
                operations.forget_files(self.session, old.host, old.name, backup_only=False)
                x.results.append(
                    ChangeResult.of(change, "done", f"removed first: {self.unit.name} needed its place")
                )
                x.reporter.line(
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

    def execute(self) -> None:
        unit, x = self.unit, self.x
        for change in unit.clears:
            self._clear(change)
        for old in unit.olds:
            o = old.observed
            if old.stop_first and o.state == "running":
                x.reporter.line(
                    f"{unit.name}: stopping {o.name} on {o.host} (its devices or port are needed; kept until the new one serves)"
                )
                stop_limit = self.session.targets[o.host].command_timeout + docker.STOP_SECONDS
                self._step(
                    "stop",
                    o.host,
                    o.name,
                    docker.stop_command(o.id),
                    f"stopping {o.name} on {o.host} failed",
                    stop_limit,
                )
                self.stopped.append(old)
            elif old.stop_first:
                self.stopped.append(old)
            if old.rename:
                self._step(
                    "rename",
                    o.host,
                    o.name,
                    docker.rename_command(o.id, docker.replaced_name(o.name, o.id)),
                    f"renaming {o.name} on {o.host} failed",
                )
                self.renamed.append(old)
        for change in unit.starts:
            spec = change.container
            assert spec is not None
            backup = any(o.observed.host == spec.host and o.observed.name == spec.name for o in unit.olds)
            if backup and spec.files:
                self.backed_up.append(spec)
            self.started.append(spec)  # a failed `docker run` may still leave a created container
            x.reporter.line(
                f"{unit.name}: starting {spec.name} on {spec.host} ({change.action}: {'; '.join(change.reasons) or 'new'})"
            )
            out = operations.timed(
                x.timings,
                "start",
                spec.host,
                spec.name,
                lambda spec=spec, backup=backup: operations.start(
                    self.session, spec, self.env_files[f"{spec.name}@{spec.host}"], backup
                ),
            )
            if not out.ok:
                raise UnitFailed(f"starting {spec.name} on {spec.host} failed: {out.why()}", spec.host)
        serving = unit.serving.container
        assert serving is not None
        watch = [(s.host, s.name) for s in self.started if s is not serving]
        x.wait_ready(serving, serving.name, watch, unit.name)
        for old in unit.olds:
            o = old.observed
            self._step(
                "remove",
                o.host,
                o.name,
                docker.remove_command(o.id),
                f"removing the old container {o.name} on {o.host} failed",
            )
            reused = any(s.host == o.host and s.name == o.name for s in self.started)
            operations.forget_files(self.session, o.host, o.name, backup_only=reused)
            x.reporter.line(f"✓ {o.host}: removed the old {o.name}")
        for spec in self.started:
            x.reporter.line(f"✓ {unit.name}: {spec.name} on {spec.host} is up")

    def roll_back(self, failure: UnitFailed) -> tuple[str, list[str]]:
        """Undo what this unit did; the reason for the report and the failed container's logs."""
        x = self.x
        log_tail: list[str] = []
        if failure.container and failure.host:
            log_tail = [
                x.reporter.scrub(line)
                for line in operations.logs(self.session, failure.host, failure.container, LOG_LINES)
            ]
        problems: list[str] = []
        for spec in reversed(self.started):
            out = self.session.run(spec.host, docker.remove_command(spec.name))
            if not out.ok:
                problems.append(f"removing the new {spec.name} on {spec.host} failed: {out.why()}")
        for spec in self.backed_up:
            out = operations.restore_files(self.session, spec.host, spec.name)
            if not out.ok:
                problems.append(f"restoring the files of {spec.name} on {spec.host} failed: {out.why()}")
        for old in self.renamed:
            o = old.observed
            out = self.session.run(o.host, docker.rename_command(o.id, o.name))
            if not out.ok:
                problems.append(f"renaming {o.name} back on {o.host} failed: {out.why()}")
        restarted: list[Old] = []
        for old in self.stopped:
            o = old.observed
            if o.state != "running":
                continue
            out = self.session.run(o.host, docker.start_command(o.id))
            if out.ok:
                restarted.append(old)
            else:
                problems.append(f"starting the old {o.name} on {o.host} again failed: {out.why()}")
        reason = failure.reason
        if not self.unit.olds:
            reason += "; the new containers were removed"
        elif problems:
            reason += "; rolling back failed: " + "; ".join(problems)
        else:
            reason += self._old_serves(restarted)
        return reason, log_tail

    def _old_serves(self, restarted: list[Old]) -> str:
        """Wait for the restarted old serving container; the sentence for the report."""
        serving = self.unit.serving.container
        assert serving is not None
        if not self.stopped:
            return "; the old containers kept serving"
        olds = [
            o for o in restarted if o.observed.port is not None and o.change.role == self.unit.serving.role
        ]
        if not olds:
            return "; rolled back: the old containers were started again"
        old = olds[0].observed
        spec = serving.model_copy(
            update={
                "host": old.host,
                "port": old.port,
                "readiness": serving.readiness.model_copy(update={"port": old.port}),
            }
        )
        try:
            self.x.wait_ready(spec, old.name, [], f"{self.unit.name} (rollback)")
        except UnitFailed as failure:
            return f"; rolled back, but the old container is not serving again: {failure.reason}"
        return f"; rolled back: the old {old.name} serves again"


def _where(change: Change) -> str:
    observed = change.observed
    return f"{observed.host}/{observed.name}" if observed else ""
