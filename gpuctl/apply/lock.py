"""One apply at a time per host: a lock directory on the host (pure: commands and rules).

`mkdir` is atomic on every filesystem, so whoever creates `/var/lib/gpuctl/lock` holds the host.
Inside it, `owner` records who: a random lock id, the user, the machine (hostname and
/etc/machine-id), the process (pid and its start time, so a recycled pid is not mistaken for the
owner) and when. The holder touches `owner` every HEARTBEAT seconds; its age on the host's clock
says whether the holder is still alive.

A lock is stale when its owner ran on this machine and that process is gone (an apply killed with
SIGKILL): the next apply takes it over and says so. A lock from another machine is never taken
over, however old: its apply may be waiting on a slow network. When its heartbeat is older than
ABANDONED_AFTER the failure says it looks abandoned and `gpuctl force-unlock HOST` removes it.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

LOCK_DIR = "/var/lib/gpuctl/lock"
OWNER = f"{LOCK_DIR}/owner"
HEARTBEAT = 30
"""Seconds between touches of the owner file while an apply holds the lock."""
ABANDONED_AFTER = 600
"""Seconds without a heartbeat after which a lock from another machine looks abandoned."""
EMPTY_STALE_AFTER = 60
"""A lock directory without owner is the trace of an apply killed while taking it."""


@dataclass(frozen=True)
class Owner:
    """Who holds a host's lock."""

    id: str
    user: str
    machine: str
    machine_id: str
    pid: int
    pid_start: int
    started: str
    command: str

    def to_json(self) -> str:
        return json.dumps(self.__dict__, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Owner | None:
        try:
            data = json.loads(text)
            return cls(**{key: data[key] for key in cls.__dataclass_fields__})
        except (ValueError, TypeError, KeyError):
            return None

    def describe(self) -> str:
        return f"{self.user}@{self.machine} (pid {self.pid}, `{self.command}`, since {self.started})"


def this_process(command: str) -> Owner:
    """An owner record for the running process (a new lock id each time)."""
    pid = os.getpid()
    return Owner(
        id=secrets.token_hex(8),
        user=_user(),
        machine=socket.gethostname(),
        machine_id=machine_id(),
        pid=pid,
        pid_start=process_start(pid) or 0,
        started=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        command=command,
    )


def _user() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):
        return str(os.getuid())


def machine_id() -> str:
    for path in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text:
            return text
    return socket.gethostname()


def process_start(pid: int) -> int | None:
    """Start time of a process in clock ticks since boot (field 22 of /proc/PID/stat), or None
    when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def owner_alive(owner: Owner) -> bool:
    """Whether the owner's process still runs (only meaningful on the owner's own machine)."""
    return process_start(owner.pid) == owner.pid_start


# --------------------------------------------------------------------------- remote commands


def acquire_command() -> str:
    """Try once. Standard input: the owner record. Prints `acquired`, or `held`, the host's clock
    and the owner file's age (seconds since its last heartbeat), and the owner record. Exits 0
    also when the holder has not written its record yet (between its `mkdir` and its `mv`): that
    lock is held, not an error."""
    d, owner = shlex.quote(LOCK_DIR), shlex.quote(OWNER)
    return (
        f"mkdir -p {shlex.quote(str(Path(LOCK_DIR).parent))} || exit 1; "
        f"if mkdir {d} 2>/dev/null; then cat > {owner}.tmp && mv {owner}.tmp {owner} && echo acquired; "
        f"else echo held; now=$(date +%s); "
        f'beat=$(stat -c %Y {owner} 2>/dev/null || stat -c %Y {d} 2>/dev/null || echo "$now"); '
        f"echo $((now - beat)); cat {owner} 2>/dev/null || true; fi"
    )


def _if_owned(lock_id: str | None, then: str) -> str:
    """Run `then` only while the lock is the one with `lock_id` (None: a lock without owner)."""
    d, owner = shlex.quote(LOCK_DIR), shlex.quote(OWNER)
    held = f'$(grep -o \'"id":"[0-9a-f]*"\' {owner} 2>/dev/null)'
    expected = shlex.quote(f'"id":"{lock_id}"' if lock_id else "")
    return f'[ -d {d} ] && [ "{held}" = {expected} ] && {{ {then}; }}'


def release_command(lock_id: str) -> str:
    """Remove the lock if it is still ours (never someone else's)."""
    return _if_owned(lock_id, f"rm -rf {shlex.quote(LOCK_DIR)}") + "; exit 0"


def heartbeat_command(lock_id: str) -> str:
    return _if_owned(lock_id, f"touch {shlex.quote(OWNER)}") + "; exit 0"


def break_command(lock_id: str | None) -> str:
    """Remove a stale lock, only if it is still the one judged stale: two appliers that find the
    same stale lock cannot remove a fresh one taken in between."""
    d = shlex.quote(LOCK_DIR)
    stale = shlex.quote(f"{LOCK_DIR}.stale-") + "$$"
    return _if_owned(lock_id, f"mv {d} {stale} && rm -rf {stale}") + "; exit 0"


def force_unlock_command() -> str:
    """Print the owner record (if any), then remove the lock, whoever holds it."""
    d, owner = shlex.quote(LOCK_DIR), shlex.quote(OWNER)
    return (
        f"if [ -d {d} ]; then cat {owner} 2>/dev/null; echo; rm -rf {d} && echo removed; else echo none; fi"
    )


# --------------------------------------------------------------------------- replies and rules


@dataclass(frozen=True)
class Held:
    """The lock is taken: by `owner` (None while its directory has no owner file yet)."""

    owner: Owner | None
    age: int
    """Seconds since the owner's last heartbeat, on the host's clock."""


def parse_acquire(stdout: str) -> Held | None:
    """None when the lock was acquired, else who holds it."""
    lines = stdout.strip().splitlines()
    if lines and lines[0] == "acquired":
        return None
    if not lines or lines[0] != "held":
        raise ValueError(f"unexpected reply from the lock command: {stdout.strip()[:200]!r}")
    age = int(lines[1]) if len(lines) > 1 and lines[1].lstrip("-").isdigit() else 0
    owner = Owner.from_json("\n".join(lines[2:])) if len(lines) > 2 else None
    return Held(owner, max(age, 0))


def stale_reason(held: Held, me: Owner) -> str | None:
    """Why a held lock may be taken over, or None when it must be respected."""
    owner = held.owner
    if owner is None:
        if held.age > EMPTY_STALE_AFTER:
            return f"the lock has no owner record for {held.age} s (an apply killed while taking it)"
        return None
    if owner.machine_id == me.machine_id and owner.id != me.id and not owner_alive(owner):
        return f"its owner, {owner.describe()}, is no longer running on this machine"
    return None


def held_message(host: str, held: Held, waited: float) -> str:
    """The failure sentence for a lock that stayed held."""
    who = held.owner.describe() if held.owner else "an apply that has not written its owner record yet"
    text = f"host {host} is locked by {who}; waited {waited:.0f} s"
    if held.age > ABANDONED_AFTER:
        text += f"; its last heartbeat was {held.age // 60} min ago, so it looks abandoned"
    return text


def held_hint(host: str, held: Held) -> str:
    if held.age > ABANDONED_AFTER:
        return f"if that apply is gone, run `gpuctl force-unlock {host}`"
    return "wait for it to finish, or pass --lock-timeout to wait longer"
