"""pyinfra in API mode: the hosts of one apply, connected in parallel, and commands on them.

pyinfra runs every host in its own greenlet; for that to be parallel, gevent must patch the
standard library before paramiko or pyinfra are imported in the process (`patch_gevent`, called
first thing by the apply commands and never on the path of `gpuctl --help` or `validate`).

Connections use the same Cluster settings as the probe: the host's address, port and user, its
key file, and the cluster's known_hosts file with strict host key checking (an unknown or changed
key is refused, never added). pyinfra's own log lines and progress spinner are silenced: gpuctl
prints its own report, and nothing pyinfra could log (commands, never secret values) reaches the
terminal.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gpuctl.probe.ssh import Target

if TYPE_CHECKING:
    from pyinfra.api import Host, State

MAX_CHANNELS = 8
"""Commands at once on one host: sshd allows 10 sessions per connection (MaxSessions)."""


def patch_gevent() -> None:
    """Make sockets, threads and sleeps cooperative (gevent) so hosts run in parallel."""
    from gevent import monkey

    if not monkey.is_module_patched("socket"):
        monkey.patch_all()


def quiet_libraries() -> None:
    """pyinfra and paramiko log through `logging`; with no handler configured, Python would print
    their warnings on stderr. gpuctl reports failures itself."""
    for name in ("pyinfra", "paramiko"):
        log = logging.getLogger(name)
        log.addHandler(logging.NullHandler())
        log.propagate = False
    os.environ["PYINFRA_PROGRESS"] = "off"


@dataclass(frozen=True)
class Output:
    """What a command did on a host."""

    ok: bool
    stdout: str = ""
    stderr: str = ""
    error: str | None = None
    """Set when the command could not run to its end (connection lost, timeout)."""

    def why(self) -> str:
        """The failure in one line: the error, else what the command printed on stderr (or stdout),
        without Docker's usage advice."""
        if self.error:
            return self.error
        lines = [
            line.strip()
            for line in (self.stderr.strip() or self.stdout.strip()).splitlines()
            if line.strip() and not line.startswith("Run 'docker")
        ]
        text = " ".join(lines)
        return text[:500] + ("…" if len(text) > 500 else "") if text else "failed without output"


class Session:
    """pyinfra State and Inventory for the hosts of an apply."""

    def __init__(self, targets: Sequence[Target]) -> None:
        from gevent.lock import BoundedSemaphore
        from pyinfra.api import Config, Inventory, State

        quiet_libraries()
        self.targets = {t.host: t for t in targets}
        hosts = [(t.host, _host_data(t)) for t in targets]
        inventory = Inventory((hosts, {}))
        timeout = max((t.connect_timeout for t in targets), default=10.0)
        config = Config(CONNECT_TIMEOUT=max(1, round(timeout)), PARALLEL=max(len(hosts), 1))
        self.state: State = State(inventory, config, check_for_changes=False)
        self._channels = {t.host: BoundedSemaphore(MAX_CHANNELS) for t in targets}
        self.failed: dict[str, str] = {}
        """Hosts that could not be connected to, with the reason."""

    def host(self, name: str) -> Host:
        host = self.state.inventory.get_host(name)
        if host is None:  # pragma: no cover - names come from the targets
            raise KeyError(name)
        return host

    def connect(self) -> None:
        """Connect to every host at once; failures are recorded in `failed`."""
        import gevent
        from pyinfra.api.exceptions import ConnectError

        def connect(name: str) -> str | None:
            try:
                self.host(name).connect(show_errors=False, raise_exceptions=True)
            except ConnectError as error:
                return _connect_failure(self.targets[name], error)
            except Exception as error:  # a connector bug must not stop the other hosts
                return _connect_failure(self.targets[name], error)
            return None

        names = list(self.targets)
        jobs = [gevent.spawn(connect, name) for name in names]
        gevent.joinall(jobs)
        for name, job in zip(names, jobs, strict=True):
            if job.value is None:
                self.state.activate_host(self.host(name))
            else:
                self.failed[name] = job.value

    @property
    def connected(self) -> list[str]:
        return [name for name in self.targets if name not in self.failed]

    def run(
        self, host: str, command: str, *, stdin: str | None = None, timeout: float | None = None
    ) -> Output:
        """Run a shell command on a host (at most MAX_CHANNELS at once per host)."""
        from pyinfra.api import StringCommand

        if host in self.failed:
            return Output(False, error=self.failed[host])
        arguments: dict[str, Any] = {}
        if stdin is not None:
            arguments["_stdin"] = stdin
        if timeout is not None:
            arguments["_timeout"] = timeout
        with self._channels[host]:
            try:
                ok, output = self.host(host).run_shell_command(StringCommand(command), **arguments)
            except TimeoutError:
                return Output(False, error=f"no answer from {host} within {timeout:g} s")
            except Exception as error:
                return Output(False, error=f"the connection to {host} broke ({_describe(error)})")
        return Output(bool(ok), output.stdout, output.stderr)

    def stream(self, host: str, command: str, write: Callable[[str], object]) -> bool:
        """Run a command, handing its output to `write` as it comes (for `gpuctl logs --follow`);
        True when it exits 0."""
        transport = self.host(host).connector.client.get_transport()  # type: ignore[attr-defined]
        channel = transport.open_session()
        channel.exec_command(command)
        while data := channel.recv(65536):
            write(data.decode("utf-8", errors="replace"))
        return channel.recv_exit_status() == 0

    def fact(self, host: str, fact: type, **arguments: Any) -> Any:
        """A gpuctl fact (pyinfra FactBase) of a host; the fact's default when it cannot be read."""
        with self._channels[host]:
            try:
                return self.host(host).get_fact(fact, _ignore_errors=True, **arguments)
            except Exception:
                return fact.default()

    def close(self) -> None:
        for name in self.connected:
            try:
                self.host(name).disconnect()
            except Exception:  # closing is best effort
                pass


def _host_data(target: Target) -> dict[str, Any]:
    data: dict[str, Any] = {
        "ssh_hostname": target.address,
        "ssh_port": target.port,
        "ssh_user": target.user,
        "ssh_known_hosts_file": str(target.known_hosts),
        "ssh_strict_host_key_checking": "yes",
        "ssh_config_file": os.devnull,
    }
    if target.identity_file:
        data |= {"ssh_key": str(target.identity_file), "ssh_allow_agent": False, "ssh_look_for_keys": False}
    return data


def _describe(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _connect_failure(target: Target, error: BaseException) -> str:
    detail = error.args[0] if error.args else _describe(error)
    cause = error.__cause__ or error.__context__
    if cause is not None and str(cause).strip() and str(cause).strip() not in str(detail):
        detail = f"{detail}: {str(cause).strip()}"
    return f"cannot connect to {target.endpoint} ({detail}); `gpuctl inventory` says why and what to do"
