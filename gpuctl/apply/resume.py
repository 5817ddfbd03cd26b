"""Finish, or undo, a replacement an interrupted apply left half done (`rollout.Leftover`).

The new container runs and matches the spec, but no apply has seen it serve: it is waited for as
a rollout waits for a new container (how to poll it comes from the spec it is labelled with),
then the old container is removed, with the copy of the files kept for it. If it does not serve,
the replacement is undone as a rollout's rollback would undo it: the new container is removed,
the files it overwrote are put back, the old container gets its name back, is started and waited
for. The next plan then replaces it again, as a rollout that can roll back.
"""

from __future__ import annotations

import time

from gpuctl.apply import docker, operations
from gpuctl.apply.replica import Fleet, UnitFailed
from gpuctl.apply.results import ChangeResult, Status
from gpuctl.apply.rollout import Leftover


class Resume:
    """One leftover's completion or undoing; `run` says which, as the old container's result."""

    def __init__(self, fleet: Fleet, leftover: Leftover) -> None:
        self.fleet = fleet
        self.leftover = leftover
        old, new = leftover.old.observed, leftover.new.observed
        assert old is not None and new is not None
        self.old, self.new = old, new

    def run(self) -> ChangeResult:
        begin = time.monotonic()
        new, label = self.new, f"{self.leftover.name} (left by an interrupted apply)"
        self.fleet.reporter.line(
            f"{self.leftover.name}: {new.name} on {new.host} replaced {self.old.name} on {self.old.host} "
            "in an apply that did not finish: checking that it serves before removing the old one"
        )
        ready = self.fleet.labelled_readiness(new.host, new.id)
        if ready is not None and ready.address is None:  # workers serve through their leader
            try:
                self.fleet.wait_ready(new.host, ready, new.name, [], label)
            except UnitFailed as failure:
                return self._undo(failure, begin)
        return self._remove_old(begin)

    def _result(
        self, status: Status, begin: float, reason: str | None = None, **more: object
    ) -> ChangeResult:
        seconds = round(time.monotonic() - begin, 3)
        return ChangeResult.of(self.leftover.old, status, reason, seconds=seconds, **more)

    def _remove_old(self, begin: float) -> ChangeResult:
        old, new, fleet = self.old, self.new, self.fleet
        out = fleet.run("remove", old.host, old.name, docker.remove_command(old.id))
        if not out.ok:
            fleet.reporter.line(f"✗ {old.host}: removing {old.name} failed: {out.why()}")
            return self._result("failed", begin, f"docker rm failed: {out.why()}")
        operations.forget_files(fleet.session, old.host, old.name, backup_only=False)
        if self.leftover.renamed:
            operations.forget_files(fleet.session, new.host, new.name, backup_only=True)
        fleet.reporter.line(f"✓ {old.host}: removed {old.name} ({new.name} on {new.host} serves)")
        return self._result("done", begin)

    def _undo(self, failure: UnitFailed, begin: float) -> ChangeResult:
        """Remove the new container and bring the old one back under its name."""
        old, new, session = self.old, self.new, self.fleet.session
        log_tail = self.fleet.log_tail(new.host, new.name)
        steps = [(new.host, docker.remove_command(new.id), f"removing {new.name}")]
        if self.leftover.renamed:
            steps += [
                (old.host, operations.restore_files_command(new.name), f"restoring the files of {new.name}"),
                (old.host, docker.rename_command(old.id, new.name), f"renaming {old.name} back"),
            ]
        steps.append((old.host, docker.start_command(old.id), f"starting the old {new.name} again"))
        problems = []
        for host, command, what in steps:
            out = session.run(host, command)
            if not out.ok:
                problems.append(f"{what} on {host} failed: {out.why()}")
                break
        reason = f"the replacement an interrupted apply left: {failure.reason}"
        if problems:
            reason += "; rolling back failed: " + "; ".join(problems)
        else:
            reason += self._old_serves()
        self.fleet.reporter.line(f"✗ {self.leftover.name}: {reason}")
        for line in log_tail:
            self.fleet.reporter.line(f"    {line}")
        return self._result("failed", begin, reason, log_tail=log_tail)

    def _old_serves(self) -> str:
        old = self.old
        name = self.new.name if self.leftover.renamed else old.name
        ready = self.fleet.labelled_readiness(old.host, old.id)
        if ready is None or ready.address is not None:
            return f"; rolled back: the old {name} on {old.host} was started again"
        return self.fleet.serves_again(old.host, ready, name, f"{self.leftover.name} (rollback)")
