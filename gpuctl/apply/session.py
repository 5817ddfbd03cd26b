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

import contextlib
import logging
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gpuctl.probe.ssh import Target

if TYPE_CHECKING:
    from pyinfra.api import Host, State

MAX_CHANNELS = 8
"""Commands at once on one host: sshd allows 10 sessions per connection (MaxSessions)."""

KEEPALIVE_SECONDS = 5
"""How often an idle connection sends an SSH keepalive, so a dead link is noticed (`_watch_link`)."""


class Default:
    """The default of `Session.run(timeout=)`: the cluster's command timeout."""


DEFAULT = Default()


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
                _watch_link(self._transport(name), self.poll_timeout(name))
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
        self,
        host: str,
        command: str,
        *,
        stdin: str | None = None,
        timeout: float | Default | None = DEFAULT,
    ) -> Output:
        """Run a shell command on a host (at most MAX_CHANNELS at once per host).

        The whole exchange is bounded, opening the SSH channel included (a host whose link went
        down answers nothing at all): by the cluster's `commandTimeout` unless `timeout` says
        otherwise (None: unbounded, for pulls and downloads). A host that times out or whose
        connection breaks counts as lost: later commands on it fail at once.
        """
        import gevent
        from pyinfra.api import StringCommand

        if host in self.failed:
            return Output(False, error=self.failed[host])
        limit = self.targets[host].command_timeout if isinstance(timeout, Default) else timeout
        arguments: dict[str, Any] = {"_stdin": stdin} if stdin is not None else {}
        with self._channels[host], gevent.Timeout(limit, False):
            try:
                ok, output = self.host(host).run_shell_command(StringCommand(command), **arguments)
            except Exception as error:
                return self._lost(host, f"the connection to {host} broke ({_describe(error)})")
            if not self._transport(host).is_active():  # the command ended because the link did
                return self._lost(host, f"the connection to {host} broke while the command ran")
            return Output(bool(ok), output.stdout, output.stderr)
        return self._lost(host, f"{host} did not answer within {limit:g} s")

    def _transport(self, host: str) -> Any:
        """The host's paramiko Transport (pyinfra's SSH connector keeps the client)."""
        return self.host(host).connector.client.get_transport()  # type: ignore[attr-defined]

    def _lost(self, host: str, why: str) -> Output:
        self.failed.setdefault(host, why)
        return Output(False, error=why)

    def poll_timeout(self, host: str) -> float:
        """Bound of a readiness poll: a few seconds of work, so a host that takes much longer
        is gone (twice its connect timeout, at least 15 s)."""
        return max(15.0, 2 * self.targets[host].connect_timeout)

    def stream(self, host: str, command: str, write: Callable[[str], object]) -> bool:
        """Run a command, handing its output to `write` as it comes (for `gpuctl logs --follow`);
        True when it exits 0."""
        channel = self._transport(host).open_session()
        channel.exec_command(command)
        while data := channel.recv(65536):
            write(data.decode("utf-8", errors="replace"))
        return channel.recv_exit_status() == 0

    def fact(
        self, host: str, fact: type, *, timeout: float | None = None, **arguments: Any
    ) -> tuple[Any, str | None]:
        """Read a gpuctl fact (a pyinfra FactBase) of a host: (value, None), or (the fact's
        default, why it could not be read). pyinfra's `get_fact` would hide the why."""
        instance = fact()
        out = self.run(host, instance.command(**arguments), timeout=timeout)
        if out.error:
            return instance.default(), out.error
        if not out.ok:
            return instance.default(), out.why()
        return instance.process(out.stdout.splitlines()), None

    def close(self) -> None:
        for name in self.connected:
            with contextlib.suppress(Exception):  # closing is best effort
                self.host(name).disconnect()


def _watch_link(transport: Any, limit: float) -> None:
    """Make a dead link end the commands that have no time limit (pulls, downloads), which would
    otherwise wait for TCP's own give-up, a quarter of an hour later: paramiko sends a keepalive
    whenever the connection is idle for KEEPALIVE_SECONDS, and the kernel closes a connection
    whose sent data stays unacknowledged for `limit` seconds (TCP_USER_TIMEOUT, Linux)."""
    transport.set_keepalive(KEEPALIVE_SECONDS)
    option = getattr(socket, "TCP_USER_TIMEOUT", None)
    sock = transport.sock
    if option is not None and isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):  # not a TCP socket (a proxy command): keepalives only
            sock.setsockopt(socket.IPPROTO_TCP, option, int(limit * 1000))


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
