"""A real OpenSSH server on 127.0.0.1 for the SSH layer's tests: no mocks of SSH.

The server runs with its own host key, accepts one client key, and lets the test user in. It needs
/usr/sbin/sshd and ssh-keygen (Debian: openssh-server, openssh-client); without them the tests
skip, except under CI=true where a missing prerequisite is a failure.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SSHD = "/usr/sbin/sshd"


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI prerequisite missing: {reason}")
    pytest.skip(reason)


def keygen(path: Path, kind: str = "ed25519") -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", str(path)], check=True)
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def make_key(tmp_path: Path) -> Callable[[str], Path]:
    """Generate a fresh ed25519 key pair named NAME in the test's directory."""
    return lambda name: keygen(tmp_path / name)


@pytest.fixture
def closed_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on."""
    return free_port()


@dataclass(frozen=True)
class LocalSshd:
    port: int
    user: str
    host_key: Path
    client_key: Path
    directory: Path

    def fingerprint(self) -> str:
        """The host key's SHA256 fingerprint as OpenSSH's own ssh-keygen prints it."""
        out = subprocess.run(
            ["ssh-keygen", "-lf", f"{self.host_key}.pub"], capture_output=True, text=True, check=True
        ).stdout
        return out.split()[1]


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSshd]:
    if not Path(SSHD).exists() or not shutil.which("ssh-keygen"):
        _missing("needs /usr/sbin/sshd and ssh-keygen (openssh-server, openssh-client)")
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation directory
    directory = tmp_path_factory.mktemp("sshd")
    host_key = keygen(directory / "host_ed25519")
    client_key = keygen(directory / "client_ed25519")
    (directory / "authorized_keys").write_text(Path(f"{client_key}.pub").read_text())
    port = free_port()
    config = directory / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {host_key}\n"
        f"AuthorizedKeysFile {directory}/authorized_keys\nPidFile {directory}/sshd.pid\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\n"
        "PermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\nMaxStartups 100:30:200\n"
    )
    server = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                error = server.stderr.read().decode() if server.stderr else ""
                _missing(f"sshd did not start: {error.strip()[:300]}")
            time.sleep(0.05)
    try:
        yield LocalSshd(port, getpass.getuser(), host_key, client_key, directory)
    finally:
        server.terminate()
        server.wait(timeout=10)
