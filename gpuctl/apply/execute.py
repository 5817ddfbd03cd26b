"""Carry out a Rollout on the hosts: lock, check the plan is current, prepare, roll out, delete.

1. Connect to every host the rollout touches (pyinfra, all at once) and take each host's lock.
2. Probe the locked hosts again through the same connections: if what the plan was made from has
   changed (another apply, a container that exited, a foreign process), refuse and say what.
3. Pull images and download model files on every host (pyinfra operation `prepare_host`), before
   any container is stopped.
4. Finish or undo the replacements an interrupted apply left half done (`gpuctl.apply.resume`),
   before any unit of their deployments rolls.
5. Roll out the replica units, each in its own greenlet once the units it waits for succeeded: stop
   or rename the old containers in the way, start the new ones, wait for the one serving the API,
   then remove the old ones, or remove the new ones and bring the old ones back.
6. Delete what the plan deletes, except containers of a deployment whose new containers failed.
7. Release the locks (always).

A host that cannot be reached or locked, or whose preparation failed, fails the changes that need
it; every other host goes on.
"""

from __future__ import annotations

import contextlib
import secrets as token_source
import time
from collections.abc import Mapping

from gpuctl.apply import docker, lock, operations
from gpuctl.apply.progress import Reporter
from gpuctl.apply.replica import Fleet, ReplicaRollout, UnitFailed, where
from gpuctl.apply.results import ApplyResult, ChangeResult, HostResult, StepTime
from gpuctl.apply.rollout import Leftover, Rollout, Unit, UnitKey
from gpuctl.apply.session import Session
from gpuctl.errors import Diagnostic, GpuctlError
from gpuctl.facts import HostFacts
from gpuctl.plan.model import Change, Plan


class Executor:
    """One apply's run over its hosts (see the module docstring)."""

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
        self.fleet = Fleet(session, reporter)
        self.timings = self.fleet.timings
        self.results = self.fleet.results
        self.down: dict[str, str] = {}
        """Hosts that cannot be changed, with the reason."""
        self.preparation: operations.Preparation | None = None
        self.locked: list[str] = []
        self.succeeded: dict[UnitKey, bool] = {}

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
                self._finish_leftovers()
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
        broken: set[str | None] = set()
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
                held_id = held.owner.id if held.owner else None
                if held_id in broken:  # breaking it changed nothing (a record it cannot match): stop
                    return f"cannot take over a stale lock ({stale}): run `gpuctl force-unlock {host}`"
                broken.add(held_id)
                self.reporter.line(f"{host}: taking over a stale lock: {stale}")
                self.session.run(host, lock.break_command(held_id))
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

        def probe(host: str) -> HostFacts | None:
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
        now = plan_facts.digest(fresh)
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
        with contextlib.suppress(PyinfraError):  # raised when every host failed: recorded below
            run_ops(self.session.state)
        for host in hosts:
            if self.session.host(host) in self.session.state.failed_hosts and host not in self.down:
                self.down[host] = "preparing the host failed (the connection broke)"

    # ------------------------------------------------------------------ leftovers, roll out

    def _finish_leftovers(self) -> None:
        import gevent

        gevent.joinall([gevent.spawn(self._leftover, left) for left in self.rollout.leftovers])

    def _leftover(self, left: Leftover) -> None:
        from gpuctl.apply.resume import Resume

        blocked = [h for h in left.hosts if h in self.down]
        try:
            if blocked:
                why = f"host {blocked[0]}: {self.down[blocked[0]]}"
                result = ChangeResult.of(left.old, "skipped", why)
                self.reporter.line(f"- {left.name}: skipped: {why}")
            else:
                result = Resume(self.fleet, left).run()
        except Exception as error:  # a bug must not stop the other leftovers and units
            result = ChangeResult.of(left.old, "skipped", f"gpuctl failed: {type(error).__name__}: {error}")
        self.results.append(result)
        self.succeeded[left.key] = result.status == "done"

    def _roll_out(self) -> None:
        import gevent
        from gevent.event import Event

        done = {unit.key: Event() for unit in self.rollout.units}

        def run(unit: Unit) -> None:
            try:
                for key in unit.after:
                    if key in done:  # else a leftover, finished before any unit started
                        done[key].wait()
                failed = [f"{k[1]}/{k[2]}" for k in unit.after if not self.succeeded[k]]
                if failed:
                    self._skip(unit, f"it needs {', '.join(failed)} to succeed first, which failed")
                else:
                    self.succeeded[unit.key] = self._unit(unit)
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

    def _skip(self, unit: Unit, why: str) -> bool:
        self.succeeded[unit.key] = False
        for change in unit.changes:
            self.results.append(ChangeResult.of(change, "skipped", why))
        self.reporter.line(f"- {unit.name}: skipped: {why}")
        return False

    def _unit(self, unit: Unit) -> bool:
        """Carry out one replica's changes; whether they succeeded."""
        blocked = [h for h in unit.hosts if h in self.down]
        if blocked:
            return self._skip(unit, f"host {blocked[0]}: {self.down[blocked[0]]}")
        missing = [
            f"host {c.host}: {why}"
            for c in unit.starts
            if c.container is not None and self.preparation and (why := self.preparation.failure(c.container))
        ]
        if missing:
            return self._skip(unit, missing[0])
        try:
            env_files = {c.name + "@" + c.host: self._secrets(c) for c in unit.starts}
        except GpuctlError as error:
            return self._skip(unit, "; ".join(d.message for d in error.diagnostics))
        begin = time.monotonic()
        run = ReplicaRollout(self.fleet, unit, env_files)
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
            return False
        seconds = round(time.monotonic() - begin, 3)
        for change in unit.changes:
            self.results.append(ChangeResult.of(change, "done", seconds=seconds))
        return True

    def _secrets(self, change: Change) -> str:
        spec = change.container
        assert spec is not None
        return docker.secret_env_file(spec, self.environ) if spec.secret_env else ""

    # ------------------------------------------------------------------ delete

    def _delete(self) -> None:
        import gevent

        failed = {key[1] for key, ok in self.succeeded.items() if not ok}
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
            out = self.fleet.run("remove", change.host, observed.name, docker.remove_command(observed.id))
            if out.ok:
                operations.forget_files(self.session, change.host, observed.name, backup_only=False)
                self.results.append(
                    ChangeResult.of(change, "done", seconds=round(time.monotonic() - begin, 3))
                )
                why = change.reasons[0] if change.reasons else "deleted"
                self.reporter.line(f"✓ {change.host}: removed {observed.name} ({why})")
            else:
                self.results.append(ChangeResult.of(change, "failed", f"docker rm failed: {out.why()}"))
                self.reporter.line(f"✗ {change.host}: removing {observed.name} failed: {out.why()}")

        left = {
            where(c): c for u in self.rollout.units for c in u.clears if where(c) not in self.fleet.clearing
        }
        gevent.joinall([gevent.spawn(delete, change) for change in [*self.rollout.deletions, *left.values()]])
