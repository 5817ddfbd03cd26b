"""Run one command on many hosts over SSH, all at once: paramiko, one connection and one exec per
host, threads (no gevent here: the probe is the only thing running).

Host keys are verified against the cluster's known_hosts file only: an unknown key is refused with
its fingerprint and the `gpuctl trust` command that records it; a changed key is refused loudly
with the file and line that hold the old one. Every failure becomes a per-host status and a
sentence that says what to do; the other hosts are unaffected.
"""

from __future__ import annotations

import shlex
import socket
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gpuctl.facts import HostStatus
from gpuctl.probe.known_hosts import KnownHosts, find_entries, fingerprint, host_pattern

if TYPE_CHECKING:
    from paramiko import PKey, SSHClient

MAX_PARALLEL = 256
"""Hosts contacted at once; beyond this, hosts wait for a free thread."""


@dataclass(frozen=True)
class Target:
    """One host to reach, with everything the Cluster spec says about reaching it."""

    host: str
    cluster: str
    address: str
    port: int
    user: str
    known_hosts: Path
    identity_file: Path | None = None
    connect_timeout: float = 10.0
    command_timeout: float = 60.0
    model_dir: str = "/var/lib/gpuctl/models"
    """Where model files live on the host: the probe reports the free disk space there."""
    cluster_file: Path | None = None
    """The spec file the host comes from, for the `gpuctl trust -i FILE` hint."""

    @property
    def endpoint(self) -> str:
        return f"{self.user}@{host_pattern(self.address, self.port)}"


@dataclass(frozen=True)
class Outcome:
    target: Target
    status: HostStatus
    """"ok" means the command ran to its end, whatever its exit status."""
    message: str | None = None
    stdout: str = ""
    stderr: str = ""
    exit_status: int | None = None
    seconds: float = 0.0


class _UnknownHostKey(Exception):
    def __init__(self, key: PKey) -> None:
        super().__init__("unknown host key")
        self.key = key


def _refuse_policy():  # type: ignore[no-untyped-def]
    """A paramiko MissingHostKeyPolicy that refuses, keeping the key to name it in the message."""
    import paramiko

    class Refuse(paramiko.MissingHostKeyPolicy):
        def missing_host_key(self, client: SSHClient, hostname: str, key: PKey) -> None:
            raise _UnknownHostKey(key)

    return Refuse()


def run_on_hosts(
    targets: Sequence[Target], command: Callable[[Target], str], stdin: bytes = b""
) -> list[Outcome]:
    """Run `command(target)` (with `stdin`) on every target in parallel; outcomes in target order."""
    if not targets:
        return []
    import paramiko  # noqa: F401  (imported once here, not in every thread)

    known = {path: KnownHosts.read(path) for path in {t.known_hosts for t in targets}}
    with ThreadPoolExecutor(max_workers=min(len(targets), MAX_PARALLEL)) as pool:
        return list(pool.map(lambda t: run_on_host(t, command(t), stdin, known[t.known_hosts]), targets))


def run_on_host(
    target: Target, command: str, stdin: bytes = b"", known_hosts: KnownHosts | None = None
) -> Outcome:
    """Run `command` on one target; `known_hosts` is its file already read (read here if None)."""
    import paramiko

    start = time.monotonic()
    if target.identity_file and not target.identity_file.is_file():
        message = (
            f"{target.endpoint}: the key file {target.identity_file} does not exist; fix "
            "spec.ssh.identityFile (relative paths are relative to the Cluster spec file)"
        )
        return Outcome(target, "auth-failed", message)
    client = paramiko.SSHClient()
    try:
        if known_hosts is None:
            known_hosts = KnownHosts.read(target.known_hosts)
        trusted = client.get_host_keys()
        name = host_pattern(target.address, target.port)  # the name paramiko looks the key up by
        for key in known_hosts.keys(target.address, target.port):
            trusted.add(name, key.get_name(), key)
        client.set_missing_host_key_policy(_refuse_policy())
        try:
            client.connect(
                target.address,
                port=target.port,
                username=target.user,
                key_filename=str(target.identity_file) if target.identity_file else None,
                look_for_keys=target.identity_file is None,
                allow_agent=True,
                timeout=target.connect_timeout,
                banner_timeout=target.connect_timeout,
                auth_timeout=target.connect_timeout,
            )
        except Exception as error:  # every way a connection fails is a status, never a traceback
            status, message = _connect_failure(target, error)
            return Outcome(target, status, message, seconds=time.monotonic() - start)
        return _execute(client, target, command, stdin, start)
    finally:
        client.close()


def _execute(client: SSHClient, target: Target, command: str, stdin: bytes, start: float) -> Outcome:
    deadline = time.monotonic() + target.command_timeout
    transport = client.get_transport()
    try:
        channel = transport.open_session(timeout=target.connect_timeout)  # type: ignore[union-attr]
        channel.exec_command(command)
        channel.sendall(stdin)
        channel.shutdown_write()
        out = bytearray()
        while True:
            channel.settimeout(max(deadline - time.monotonic(), 0.001))
            data = channel.recv(65536)
            if not data:
                break
            out += data
        if not channel.status_event.wait(max(deadline - time.monotonic(), 0.001)):
            raise TimeoutError
        err = bytearray()
        while channel.recv_stderr_ready():
            err += channel.recv_stderr(65536)
        status = channel.recv_exit_status()
    except TimeoutError:
        return Outcome(
            target,
            "probe-failed",
            f"{target.endpoint}: the probe did not finish within {target.command_timeout:g} s "
            "(spec.ssh.commandTimeout); check whether the host is overloaded or a vendor tool hangs "
            "(nvidia-smi, npu-smi, docker)",
            seconds=time.monotonic() - start,
        )
    except Exception as error:
        return Outcome(
            target,
            "probe-failed",
            f"{target.endpoint}: the connection broke while probing ({_describe(error)}); run again",
            seconds=time.monotonic() - start,
        )
    return Outcome(
        target,
        "ok",
        stdout=out.decode("utf-8", errors="replace"),
        stderr=err.decode("utf-8", errors="replace"),
        exit_status=status,
        seconds=time.monotonic() - start,
    )


def _describe(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _trust_hint(target: Target) -> str:
    where = f" -i {shlex.quote(str(target.cluster_file))}" if target.cluster_file else ""
    return f"gpuctl trust {target.host}{where}"


def _connect_failure(target: Target, error: BaseException) -> tuple[HostStatus, str]:
    import paramiko

    where = f"{target.endpoint}"
    if isinstance(error, _UnknownHostKey):
        key = error.key
        return (
            "host-key-unknown",
            f"{where}: host key {key.get_name()} {fingerprint(key)} is not in {target.known_hosts}; "
            f"gpuctl refuses unknown hosts. Check the fingerprint with the host's owner (on the host: "
            f"ssh-keygen -lf /etc/ssh/ssh_host_{_key_file(key)}_key.pub), then run `{_trust_hint(target)}`",
        )
    if isinstance(error, paramiko.BadHostKeyException):
        lines = find_entries(target.known_hosts, target.address, target.port)
        at = ", ".join(f"line {e.line} ({e.key_type} {e.fingerprint})" for e in lines) or "an entry"
        return (
            "host-key-changed",
            f"{where}: HOST KEY CHANGED. The host now presents {error.key.get_name()} "
            f"{fingerprint(error.key)}, but {target.known_hosts} {at} records another key. Someone may "
            f"be intercepting the connection, or the host was reinstalled. Verify the new fingerprint "
            f"with the host's owner before anything else; only then delete that line and run "
            f"`{_trust_hint(target)}`",
        )
    if isinstance(error, paramiko.PasswordRequiredException):
        return (
            "auth-failed",
            f"{where}: the key {target.identity_file or ''} is protected by a passphrase; load it into "
            "ssh-agent (ssh-add), which gpuctl uses",
        )
    if isinstance(error, paramiko.AuthenticationException):
        keys = f"key {target.identity_file}" if target.identity_file else "the SSH agent's and ~/.ssh keys"
        return (
            "auth-failed",
            f"{where}: the server refused {keys}; add the public key to "
            f"~{target.user}/.ssh/authorized_keys on the host, or set spec.ssh.identityFile "
            "(or the host's user) in the Cluster spec",
        )
    if isinstance(error, paramiko.SSHException) and "authentication" in str(error).lower():
        return (
            "auth-failed",
            f"{where}: no key to log in with ({_describe(error)}); set spec.ssh.identityFile in the "
            "Cluster spec or load a key into ssh-agent",
        )
    if isinstance(error, ConnectionRefusedError | paramiko.ssh_exception.NoValidConnectionsError):
        return (
            "unreachable",
            f"{where}: connection refused; the host answers but nothing listens on port {target.port}: "
            "check that sshd runs there (or fix spec.ssh.port / the host's port)",
        )
    if isinstance(error, socket.gaierror):
        return "unreachable", f"{where}: cannot resolve {target.address!r} ({error.strerror}); fix it"
    if isinstance(error, TimeoutError):
        return (
            "unreachable",
            f"{where}: no answer within {target.connect_timeout:g} s (spec.ssh.connectTimeout); check "
            "that the host is up and reachable from here (network, firewall)",
        )
    if isinstance(error, paramiko.SSHException):
        return (
            "unreachable",
            f"{where}: the SSH handshake failed ({_describe(error)}); check that sshd runs on port "
            f"{target.port} of the host",
        )
    return (
        "unreachable",
        f"{where}: cannot connect ({_describe(error)}); check that the host is up and that sshd "
        f"listens on port {target.port}",
    )


def _key_file(key: PKey) -> str:
    """The name part of /etc/ssh/ssh_host_NAME_key for a key type."""
    name = key.get_name()
    return "ed25519" if "ed25519" in name else "ecdsa" if "ecdsa" in name else "rsa"
