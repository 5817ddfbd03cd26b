"""Host locks: the lock commands run in a real shell against a lock directory, and the rules that
decide whether a held lock may be taken over."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
from pathlib import Path

import pytest

from gpuctl.apply import lock


@pytest.fixture
def lock_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "var" / "lib" / "gpuctl" / "lock"
    monkeypatch.setattr(lock, "LOCK_DIR", str(directory))
    monkeypatch.setattr(lock, "OWNER", str(directory / "owner"))
    return directory


def sh(command: str, stdin: str = "") -> str:
    done = subprocess.run(["sh", "-c", command], input=stdin, capture_output=True, text=True, check=True)
    return done.stdout


def test_first_acquire_wins_and_the_second_sees_the_owner(lock_dir: Path) -> None:
    first, second = lock.this_process("gpuctl apply"), lock.this_process("gpuctl apply")
    assert first.id != second.id
    assert lock.parse_acquire(sh(lock.acquire_command(), first.to_json())) is None
    assert lock.Owner.from_json((lock_dir / "owner").read_text()) == first
    held = lock.parse_acquire(sh(lock.acquire_command(), second.to_json()))
    assert held is not None and held.owner == first and 0 <= held.age < 5


def test_a_lock_whose_owner_record_is_not_written_yet_is_held_not_an_error(lock_dir: Path) -> None:
    """Another apply has made the directory and not yet moved its record in: the command must
    succeed (a failed command fails the host at once, even with --lock-timeout)."""
    lock_dir.mkdir(parents=True)
    held = lock.parse_acquire(sh(lock.acquire_command(), lock.this_process("b").to_json()))
    assert held is not None and held.owner is None and 0 <= held.age < 5
    assert "has not written its owner record yet" in lock.held_message("gpu-01", held, 0)


def test_release_and_heartbeat_only_touch_our_own_lock(lock_dir: Path) -> None:
    mine, other = lock.this_process("a"), lock.this_process("b")
    sh(lock.acquire_command(), mine.to_json())
    os.utime(lock_dir / "owner", (1, 1))
    sh(lock.heartbeat_command(other.id))
    assert (lock_dir / "owner").stat().st_mtime == 1
    sh(lock.heartbeat_command(mine.id))
    assert (lock_dir / "owner").stat().st_mtime > 1
    sh(lock.release_command(other.id))
    assert lock_dir.exists()
    sh(lock.release_command(mine.id))
    assert not lock_dir.exists()


def test_age_is_the_time_since_the_last_heartbeat(lock_dir: Path) -> None:
    sh(lock.acquire_command(), lock.this_process("a").to_json())
    old = int(subprocess.run(["date", "+%s"], capture_output=True, text=True).stdout) - 900
    os.utime(lock_dir / "owner", (old, old))
    held = lock.parse_acquire(sh(lock.acquire_command(), lock.this_process("b").to_json()))
    assert held is not None and 895 <= held.age <= 905
    message = lock.held_message("gpu-01", held, 3)
    assert "looks abandoned" in message and "15 min" in message
    assert lock.held_hint("gpu-01", held) == "if that apply is gone, run `gpuctl force-unlock gpu-01`"


def dead_owner() -> lock.Owner:
    """The owner record of a process of this machine that has exited."""
    child = subprocess.Popen(["sleep", "0"])
    start = lock.process_start(child.pid)
    child.wait()
    return dataclasses.replace(lock.this_process("gpuctl apply"), pid=child.pid, pid_start=start or 1)


def test_a_dead_owner_on_this_machine_is_stale() -> None:
    me = lock.this_process("gpuctl apply")
    reason = lock.stale_reason(lock.Held(dead_owner(), age=1), me)
    assert reason is not None and "no longer running on this machine" in reason


def test_a_live_owner_or_another_machine_is_respected() -> None:
    me = lock.this_process("gpuctl apply")
    alive = lock.this_process("gpuctl apply")  # this very process
    assert lock.stale_reason(lock.Held(alive, age=1), me) is None
    elsewhere = dataclasses.replace(dead_owner(), machine_id="another-machine")
    assert lock.stale_reason(lock.Held(elsewhere, age=10_000), me) is None


def test_a_recycled_pid_is_not_the_owner() -> None:
    me = lock.this_process("gpuctl apply")
    recycled = dataclasses.replace(me, id="other", pid=os.getpid(), pid_start=me.pid_start + 1)
    assert lock.stale_reason(lock.Held(recycled, age=1), me) is not None


def test_an_ownerless_lock_is_stale_only_after_a_while() -> None:
    me = lock.this_process("gpuctl apply")
    assert lock.stale_reason(lock.Held(None, age=5), me) is None
    assert lock.stale_reason(lock.Held(None, age=lock.EMPTY_STALE_AFTER + 1), me) is not None


def test_break_removes_only_the_lock_judged_stale(lock_dir: Path) -> None:
    stale = lock.this_process("a")
    sh(lock.acquire_command(), stale.to_json())
    sh(lock.break_command("someone-else"))
    assert lock_dir.exists()
    sh(lock.break_command(stale.id))
    assert not lock_dir.exists() and not list(lock_dir.parent.iterdir())


def test_force_unlock_prints_the_owner_and_removes_any_lock(lock_dir: Path) -> None:
    assert sh(lock.force_unlock_command()).strip() == "none"
    owner = lock.this_process("gpuctl apply")
    sh(lock.acquire_command(), owner.to_json())
    out = sh(lock.force_unlock_command())
    assert lock.Owner.from_json(out.splitlines()[0]) == owner and out.strip().endswith("removed")
    assert not lock_dir.exists()


def test_garbage_replies_are_errors() -> None:
    with pytest.raises(ValueError, match="unexpected reply"):
        lock.parse_acquire("sh: mkdir: permission denied")


def test_a_stale_lock_that_cannot_be_broken_fails_instead_of_looping() -> None:
    """The break command only removes a record whose id it can match; one written differently (by
    hand, another tool) stays, and taking it over again and again would never end."""
    from gpuctl.apply.execute import Executor
    from gpuctl.apply.progress import Reporter
    from gpuctl.apply.rollout import rollout
    from gpuctl.apply.session import Output
    from gpuctl.plan.model import Plan

    record = json.dumps(dataclasses.asdict(dead_owner()))  # spaces after the separators
    acquires = []

    class Host:
        def run(self, host: str, command: str, **_: object) -> Output:
            if "echo held" in command:
                acquires.append(command)
                assert len(acquires) < 10, "taking the lock over loops"
                return Output(True, f"held\n5\n{record}\n")
            return Output(True)

    plan = Plan(clusters=["lab"])
    executor = Executor(
        plan,
        rollout(plan),
        Host(),
        Reporter(),
        {},
        lock_timeout=0,
        command="gpuctl apply",  # type: ignore[arg-type]
    )
    why = executor._lock("gpu-01")
    assert why is not None and "gpuctl force-unlock gpu-01" in why and "no longer running" in why
    assert len(acquires) == 2
