"""Small I/O helpers of the sandbox: commands, processes, namespaces, mounts, waiting.

Every failure becomes a GpuctlError that says which command failed and what it printed.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from gpuctl.errors import Diagnostic, GpuctlError

APT_PACKAGES = "docker.io openssh-server openssh-client docker-registry busybox-static iproute2"
REQUIRED = {
    "ip": "iproute2",
    "unshare": "util-linux",
    "nsenter": "util-linux",
    "mount": "mount",
    "sshd": "openssh-server",
    "ssh": "openssh-client",
    "ssh-keygen": "openssh-client",
    "dockerd": "docker.io",
    "docker": "docker.io",
    "runc": "runc",
    "docker-registry": "docker-registry",
    "busybox": "busybox-static",
}
SBIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def which(name: str) -> str | None:
    return shutil.which(name, path=f"{os.environ.get('PATH', '')}:{SBIN_PATH}")


def tool(name: str) -> str:
    path = which(name)
    if path is None:
        raise GpuctlError(missing_diagnostic([name]))
    return path


def require_root(action: str) -> None:
    if os.geteuid() != 0:
        raise GpuctlError(
            Diagnostic(f"{action} needs root (network namespaces, mounts, dockerd)", hint="run it with sudo")
        )


def missing_prerequisites() -> list[str]:
    """Why the sandbox cannot run here (empty when it can): not root, or programs missing."""
    problems = []
    if os.geteuid() != 0:
        problems.append("the sandbox needs root (network namespaces, mounts, dockerd): run it with sudo")
    missing = [name for name in REQUIRED if which(name) is None]
    if missing:
        problems.append(str(missing_diagnostic(missing)))
    elif not is_static_elf(Path(which("busybox") or "")):
        problems.append("busybox is not statically linked; the stub image needs busybox-static")
    return problems


def missing_diagnostic(names: list[str]) -> Diagnostic:
    packages = sorted({REQUIRED.get(name, name) for name in names})
    return Diagnostic(
        f"the sandbox needs {', '.join(names)}, not found on PATH",
        hint=f"install them: apt-get install -y {' '.join(packages)} (all of them: {APT_PACKAGES})",
        code="sandbox-prerequisite",
    )


def is_static_elf(path: Path) -> bool:
    """True for an ELF executable without a program interpreter (PT_INTERP): statically linked."""
    try:
        data = path.read_bytes()[:65536]
    except OSError:
        return False
    if data[:4] != b"\x7fELF" or data[4] != 2:  # 64-bit only
        return False
    order = "little" if data[5] == 1 else "big"
    phoff = int.from_bytes(data[32:40], order)
    phentsize = int.from_bytes(data[54:56], order)
    phnum = int.from_bytes(data[56:58], order)
    for i in range(phnum):
        start = phoff + i * phentsize
        if int.from_bytes(data[start : start + 4], order) == 3:  # PT_INTERP
            return False
    return True


def run(args: list[str], *, check: bool = True, input: bytes | None = None, timeout: float = 60) -> str:
    """Run a command; its stdout. On failure, a GpuctlError naming the command and its stderr."""
    try:
        done = subprocess.run(args, input=input, capture_output=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise GpuctlError(
            Diagnostic(f"`{shlex.join(args)}` failed: {error}", code="sandbox-command")
        ) from None
    if check and done.returncode != 0:
        output = (done.stderr or done.stdout).decode(errors="replace").strip()
        raise GpuctlError(
            Diagnostic(
                f"`{shlex.join(args)}` exited with status {done.returncode}: {output or 'no output'}",
                code="sandbox-command",
            )
        )
    return done.stdout.decode(errors="replace")


def start_background(args: list[str], log: Path, env: dict[str, str] | None = None) -> int:
    """Start a long-running process in its own session, output appended to `log`; its pid."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
            cwd="/",
        )
    return process.pid


def wait_for(check: Callable[[], bool], timeout: float, what: str, hint: str | None = None) -> None:
    if not _wait(check, timeout):
        raise GpuctlError(Diagnostic(f"{what} did not happen within {timeout:.0f} s", hint=hint))


def read_pid(pidfile: Path, expect: str) -> int | None:
    """The pid in `pidfile` if that process is alive and its command line contains `expect`."""
    try:
        pid = int(pidfile.read_text().split()[0])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (OSError, ValueError, IndexError):
        return None
    return pid if expect in cmdline else None


def ns_inode(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except OSError:
        return None


def pids_in(mnt_ns: int | None, net_ns: int | None, cgroup: str) -> list[int]:
    """Processes in the given mount or network namespace, or in a cgroup named `cgroup`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            mnt = os.stat(entry / "ns" / "mnt").st_ino
            net = os.stat(entry / "ns" / "net").st_ino
            paths = [line.split(":", 2)[2] for line in (entry / "cgroup").read_text().splitlines()]
        except OSError:
            continue
        in_cgroup = any(path == f"/{cgroup}" or path.startswith(f"/{cgroup}/") for path in paths)
        if mnt == mnt_ns or net == net_ns or in_cgroup:
            found.append(int(entry.name))
    return found


def terminate(pids: Iterable[int], grace: float) -> None:
    """SIGTERM, then SIGKILL what still runs after `grace` seconds; return once all are gone (and
    their zombies reaped, which takes init a moment when it is their parent)."""
    pids = [pid for pid in pids if pid != os.getpid()]
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        if _wait(lambda: not any(_running(pid) for pid in pids), wait):
            break
    _wait(lambda: not any(Path(f"/proc/{pid}").exists() for pid in pids), 2.0)


def _wait(done: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _running(pid: int) -> bool:
    """Alive and not a zombie; reaps the zombie if it is our own child."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    if state == "Z":
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        return False
    return True


def mountpoints() -> set[str]:
    return {line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()}


def tcp_open(address: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


def http_status(address: str, port: int, path: str = "/", timeout: float = 2.0) -> int | None:
    """Status code of a GET, or None when nothing answers (no third-party HTTP client needed)."""
    import http.client

    connection = http.client.HTTPConnection(address, port, timeout=timeout)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()


def docker_ping(sock: Path) -> bool:
    """Whether the Docker daemon on a unix socket answers /_ping."""
    try:
        with socket.socket(socket.AF_UNIX) as client:
            client.settimeout(2)
            client.connect(str(sock))
            client.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            return client.recv(64).split(b" ")[1:2] == [b"200"]
    except OSError:
        return False
