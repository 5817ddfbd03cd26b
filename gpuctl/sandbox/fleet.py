"""`Sandbox`: bring a local fleet of simulated GPU/NPU hosts up and down, inject faults, inspect it.

Everything but the accelerators is real: each host is a network namespace on a bridge with its own
sshd (key auth, its own host key) and its own dockerd (own data root, the nvidia/ascend runtimes
registered), and the sandbox has a registry carrying stub images under every default image name.
`up` writes a Cluster file whose known_hosts file holds the hosts' real keys, so SSH with strict
host key checking works at once. See gpuctl/sandbox/layout.py for where things live.

One lock serialises `up`/`down`/faults of all sandboxes of the machine; sandboxes are found by name
through their records, so `down` and `status` work from any directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal, get_args

from gpuctl.errors import Diagnostic, GpuctlError, Location
from gpuctl.sandbox import hoststate, hub, image, layout, node, registry, system
from gpuctl.sandbox.layout import RECORDS, REGISTRY_STORAGE, RUN_ROOT, SandboxHost
from gpuctl.sandbox.profiles import DEFAULT_HOSTS, PROFILES

Fault = Literal["link-down", "link-up", "docker-stop", "docker-start", "ssh-stop", "ssh-start"]
FAULTS: tuple[str, ...] = get_args(Fault)
INVENTORY_HEADER = "# Written by `gpuctl sandbox up`; `gpuctl sandbox down` removes it.\n"
TOOL_DIRS = (Path("/run/netns"), Path("/run/mount"))
"""Made by the tools the sandbox runs (`ip netns add` a shared mount, util-linux its utab
directory); removed by the last `down` if the first `up` did not find them."""
MARKERS = RUN_ROOT / "created"
"""Machine paths the first `up` had to create (removed again by the last `down`)."""


@dataclass
class Record:
    """What is needed to find a running sandbox again: written by `up`, removed by `down`."""

    name: str
    index: int
    state_dir: str
    inventory: str
    profiles: list[str]
    created: list[str] = field(default_factory=list)
    """Directories `up` created for the state directory and the Cluster file (removed if empty)."""


@dataclass
class HostStatus:
    name: str
    profile: str
    address: str
    link: str
    ssh: str
    docker: str


@dataclass
class SandboxStatus:
    name: str
    up: bool
    registry: str | None = None
    registry_running: bool = False
    hub: str | None = None
    """The stand-in model hub (HF_ENDPOINT / MODELSCOPE_ENDPOINT for apply's downloads)."""
    inventory: str | None = None
    state_dir: str | None = None
    hosts: list[HostStatus] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return asdict(self)


class Sandbox:
    """A named sandbox. `state_dir` and `inventory` default to ./.sandbox/<name>/ and
    ./inventory/<name>.yaml; once it is up, its record supplies them."""

    def __init__(self, name: str = "sandbox", state_dir: Path | None = None, inventory: Path | None = None):
        if not layout.NAME.fullmatch(name):
            raise GpuctlError(
                Diagnostic(
                    f"sandbox name {name!r} is not a lower-case DNS label of at most 32 characters",
                    hint="use letters, digits and '-', e.g. --name dev",
                )
            )
        self.name = name
        self._state_dir = state_dir
        self._inventory = inventory

    # ----------------------------------------------------------------------- what it is

    @property
    def record(self) -> Record | None:
        path = RECORDS / f"{self.name}.json"
        return _read_record(path) if path.exists() else None

    def _up_record(self) -> Record:
        record = self.record
        if record is None:
            raise GpuctlError(
                Diagnostic(
                    f"sandbox {self.name!r} is not up", hint=f"start it: gpuctl sandbox up --name {self.name}"
                )
            )
        return record

    @property
    def state_dir(self) -> Path:
        record = self.record
        return Path(record.state_dir) if record else (self._state_dir or Path.cwd() / ".sandbox" / self.name)

    @property
    def inventory(self) -> Path:
        record = self.record
        return (
            Path(record.inventory)
            if record
            else (self._inventory or Path.cwd() / "inventory" / f"{self.name}.yaml")
        )

    @property
    def identity_file(self) -> Path:
        return self.state_dir / "id_ed25519"

    @property
    def known_hosts_file(self) -> Path:
        return self.state_dir / "known_hosts"

    @property
    def hosts(self) -> list[SandboxHost]:
        record = self._up_record()
        return layout.hosts(self.name, record.index, Path(record.state_dir), record.profiles)

    @property
    def registry_mirror(self) -> str:
        return layout.registry_address(self._up_record().index)

    def host(self, name: str) -> SandboxHost:
        """A host by name, or the first host of a profile."""
        hosts = self.hosts
        for host in hosts:
            if name in (host.name, host.profile):
                return host
        names = ", ".join(h.name for h in hosts)
        raise GpuctlError(
            Diagnostic(f"sandbox {self.name!r} has no host {name!r}", hint=f"its hosts: {names}")
        )

    # ----------------------------------------------------------------------- reaching hosts

    def ssh_args(self, host: SandboxHost | str) -> list[str]:
        """`ssh` with the sandbox's key and known_hosts, strict host key checking, to root@host."""
        host = self.host(host) if isinstance(host, str) else host
        return [
            system.tool("ssh"),
            "-i",
            str(self.identity_file),
            "-o",
            f"UserKnownHostsFile={self.known_hosts_file}",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=5",
            f"root@{host.address}",
        ]

    def ssh(
        self, host: SandboxHost | str, command: str, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Run a shell command on a host over real SSH (status not checked)."""
        return subprocess.run(
            [*self.ssh_args(host), command], capture_output=True, text=True, timeout=timeout, check=False
        )

    def docker_args(self, host: SandboxHost | str) -> list[str]:
        """`docker` bound to a host's daemon directly (without SSH), for set-up and inspection."""
        host = self.host(host) if isinstance(host, str) else host
        return [system.tool("docker"), "-H", f"unix://{host.docker_socket}"]

    # ----------------------------------------------------------------------- lifecycle

    def up(self, profiles: list[str] | None = None) -> SandboxStatus:
        """Create the sandbox, or check and repair it if it is up."""
        _require_prerequisites()
        with _machine_lock():
            try:
                record = self._claim(profiles)
            except GpuctlError:
                if not any(RECORDS.glob("*.json")):
                    _release_machine()  # leave no lock file behind on a machine without sandboxes
                raise
            try:
                self._build(record)
            except GpuctlError as error:
                raise GpuctlError(
                    *error.diagnostics,
                    Diagnostic(
                        f"sandbox {self.name!r} is only partly up",
                        hint=f"`gpuctl sandbox up --name {self.name}` retries and repairs, "
                        f"`gpuctl sandbox down --name {self.name}` removes it",
                    ),
                ) from None
        return self.status()

    def _build(self, record: Record) -> None:
        _prepare_machine()
        gateway = layout.gateway(record.index)
        system.run(["ip", "address", "replace", f"{gateway}/24", "dev", layout.BRIDGE])
        state_dir = Path(record.state_dir)
        self._write_client_key(state_dir)
        storage = REGISTRY_STORAGE / image.build_id(image.rootfs())
        registry.ensure(layout.sandbox_run_dir(record.index), gateway, state_dir / "registry.log", storage)
        hub.ensure(layout.sandbox_run_dir(record.index), gateway, state_dir / "hub.log")
        hosts = self.hosts
        with ThreadPoolExecutor(max_workers=len(hosts)) as pool:
            list(pool.map(node.ensure, hosts))
            list(pool.map(node.wait_ready, hosts))
        image.ensure_pushed(self.docker_args(hosts[0]), self.registry_mirror, storage)
        self.known_hosts_file.write_text("".join(f"{h.name},{h.address} {node.host_key(h)}\n" for h in hosts))
        self._write_inventory(hosts)

    def _claim(self, profiles: list[str] | None) -> Record:
        """This sandbox's record: the existing one, or a new one with a free index."""
        unknown = [p for p in profiles or [] if p not in PROFILES]
        if unknown:
            raise GpuctlError(
                Diagnostic(
                    f"unknown host profile {', '.join(map(repr, unknown))}",
                    hint=f"profiles: {', '.join(PROFILES)}",
                )
            )
        record = self.record
        if record is not None:
            if profiles and profiles != record.profiles:
                raise GpuctlError(
                    Diagnostic(
                        f"sandbox {self.name!r} is up with hosts {','.join(record.profiles)}",
                        hint=f"to change them, first: gpuctl sandbox down --name {self.name}",
                    )
                )
            return record
        profiles = list(profiles or DEFAULT_HOSTS)
        if not 1 <= len(profiles) <= layout.MAX_HOSTS:
            raise GpuctlError(Diagnostic(f"a sandbox has 1 to {layout.MAX_HOSTS} hosts, not {len(profiles)}"))
        used = {_read_record(path).index for path in RECORDS.glob("*.json")} if RECORDS.exists() else set()
        free = [i for i in range(1, layout.MAX_SANDBOXES + 1) if i not in used]
        if not free:
            raise GpuctlError(Diagnostic(f"{layout.MAX_SANDBOXES} sandboxes are up already"))
        state_dir, inventory = self.state_dir.resolve(), self.inventory.resolve()
        _check_paths(state_dir, inventory)
        created = [str(d) for d in (state_dir.parent, inventory.parent) if not d.exists()]
        record = Record(self.name, free[0], str(state_dir), str(inventory), profiles, created)
        RECORDS.mkdir(parents=True, exist_ok=True)
        (RECORDS / f"{self.name}.json").write_text(json.dumps(asdict(record), indent=1) + "\n")
        return record

    def _write_client_key(self, state_dir: Path) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        if not self.identity_file.exists():
            comment = f"gpuctl-sandbox-{self.name}"
            keygen = [system.tool("ssh-keygen"), "-q", "-t", "ed25519", "-N", "", "-C", comment]
            system.run([*keygen, "-f", str(self.identity_file)])
        shutil.copyfile(self.identity_file.with_suffix(".pub"), state_dir / "authorized_keys")

    def _write_inventory(self, hosts: list[SandboxHost]) -> None:
        import yaml

        from gpuctl.spec.models import Cluster

        path = self.inventory
        path.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "apiVersion": "gpuctl.dev/v1alpha1",
            "kind": "Cluster",
            "metadata": {"name": self.name},
            "spec": {
                "ssh": {
                    "user": "root",
                    "identityFile": os.path.relpath(self.identity_file, path.parent),
                    "knownHostsFile": os.path.relpath(self.known_hosts_file, path.parent),
                },
                "registryMirror": self.registry_mirror,
                "hosts": [
                    {"name": h.name, "address": h.address, "labels": {"profile": h.profile}} for h in hosts
                ],
            },
        }
        Cluster.model_validate(document)  # the contract: fail here, not in the user's validate
        path.write_text(INVENTORY_HEADER + yaml.safe_dump(document, sort_keys=False))

    def down(self) -> bool:
        """Remove every trace of the sandbox; False (and nothing done) if it was not up."""
        system.require_root("gpuctl sandbox down")
        if self.record is None:  # checked before locking, which would create the runtime root
            return False
        with _machine_lock():
            record = self.record
            if record is None:  # brought down while we waited
                if not any(RECORDS.glob("*.json")):
                    _release_machine()
                return False
            hosts = self.hosts
            with ThreadPoolExecutor(max_workers=len(hosts)) as pool:
                list(pool.map(node.remove, hosts))
            run_dir = layout.sandbox_run_dir(record.index)
            registry.stop(run_dir)
            hub.stop(run_dir, layout.gateway(record.index))
            if Path(f"/sys/class/net/{layout.BRIDGE}").exists():
                system.run(
                    ["ip", "address", "delete", f"{layout.gateway(record.index)}/24", "dev", layout.BRIDGE],
                    check=False,
                )
            _remove_tree(Path(record.state_dir))
            inventory = Path(record.inventory)
            if inventory.exists() and inventory.read_text().startswith(INVENTORY_HEADER):
                inventory.unlink()
            for directory in map(Path, record.created):
                if directory.is_dir() and not any(directory.iterdir()):
                    directory.rmdir()
            _remove_tree(run_dir)
            (RECORDS / f"{self.name}.json").unlink()
            if not any(RECORDS.glob("*.json")):
                _release_machine()
        return True

    def status(self) -> SandboxStatus:
        record = self.record
        if record is None:
            return SandboxStatus(name=self.name, up=False)
        gateway = layout.gateway(record.index)
        status = SandboxStatus(
            name=self.name,
            up=True,
            registry=self.registry_mirror,
            registry_running=registry.pid(layout.sandbox_run_dir(record.index)) is not None
            and registry.answering(gateway),
            hub=hub.url(gateway) if hub.pid(layout.sandbox_run_dir(record.index), gateway) else None,
            inventory=record.inventory,
            state_dir=record.state_dir,
        )
        for host in self.hosts:
            status.hosts.append(
                HostStatus(
                    name=host.name,
                    profile=host.profile,
                    address=host.address,
                    link="up" if node.link_up(host) else "down",
                    ssh="running" if node.sshd_pid(host) is not None else "stopped",
                    docker="running" if system.docker_ping(host.docker_socket) else "stopped",
                )
            )
        return status

    def pids(self) -> list[int]:
        """Every process of the sandbox: the hosts' daemons and containers, its registry and hub."""
        record = self._up_record()
        found = {pid for host in self.hosts for pid in node.processes(host)}
        run_dir = layout.sandbox_run_dir(record.index)
        services = (registry.pid(run_dir), hub.pid(run_dir, layout.gateway(record.index)))
        return sorted(found | {pid for pid in services if pid})

    # ----------------------------------------------------------------------- faults

    def fault(self, host_name: str, fault: str) -> None:
        """Inject (or heal) a fault on one host: its link, its dockerd or its sshd."""
        system.require_root("gpuctl sandbox fault")
        if fault not in FAULTS:
            raise GpuctlError(Diagnostic(f"unknown fault {fault!r}", hint=f"faults: {', '.join(FAULTS)}"))
        with _machine_lock():
            host = self.host(host_name)
            if fault in ("link-down", "link-up"):
                node.set_link(host, fault == "link-up")
            elif fault == "docker-stop":
                node.stop_daemon(node.dockerd_pid(host), grace=30)
            elif fault == "ssh-stop":
                node.stop_daemon(node.sshd_pid(host), grace=5)
            elif fault == "docker-start":
                node.start_dockerd(host)
                node.wait_ready(host)
            else:
                node.start_sshd(host)
                node.wait_ready(host)

    def set_memory(
        self, host_name: str, device_key: str, mib: int, pid: int | None = None, process: str | None = None
    ) -> hoststate.ForeignProcess:
        """Make a foreign process use `mib` MiB of a device (0 frees it); the process as recorded."""
        system.require_root("gpuctl sandbox set-memory")
        host = self.host(host_name)
        try:
            return hoststate.set_memory(host.dir, device_key, mib, pid, process)
        except ValueError as error:
            raise GpuctlError(
                Diagnostic(str(error), location=Location(host=host.name, device=device_key))
            ) from None

    @staticmethod
    def running() -> list[str]:
        """Names of the sandboxes that are up on this machine."""
        return sorted(path.stem for path in RECORDS.glob("*.json")) if RECORDS.exists() else []

    @staticmethod
    def owning(host_name: str) -> Sandbox:
        """The sandbox a host belongs to (host names start with their sandbox's name)."""
        for name in Sandbox.running():
            sandbox = Sandbox(name)
            if any(host.name == host_name for host in sandbox.hosts):
                return sandbox
        raise GpuctlError(
            Diagnostic(
                f"no sandbox that is up has a host {host_name!r}",
                hint="list them with: gpuctl sandbox status",
            )
        )


STATE_ENTRIES = {
    "id_ed25519",
    "id_ed25519.pub",
    "authorized_keys",
    "known_hosts",
    "hosts",
    "registry.log",
    "hub.log",
}


def _check_paths(state_dir: Path, inventory: Path) -> None:
    """Refuse paths `down` would wrongly delete, and paths sshd_config and overlayfs cannot carry."""
    problems = []
    if re.search(r"[\s,:'\"\\]", str(state_dir)):
        problems.append(f"state directory {state_dir} has a space, comma, colon, quote or backslash")
    if state_dir.is_dir() and {entry.name for entry in state_dir.iterdir()} - STATE_ENTRIES:
        problems.append(
            f"state directory {state_dir} holds files that are not a sandbox's; `down` would delete them"
        )
    if inventory.exists() and not inventory.read_text().startswith(INVENTORY_HEADER):
        problems.append(f"{inventory} exists and was not written by `gpuctl sandbox up`; not overwriting it")
    if problems:
        raise GpuctlError(*(Diagnostic(p, hint="choose another path") for p in problems))


def _read_record(path: Path) -> Record:
    return Record(**json.loads(path.read_text()))


def _require_prerequisites() -> None:
    problems = system.missing_prerequisites()
    if problems:
        raise GpuctlError(*(Diagnostic(problem, code="sandbox-prerequisite") for problem in problems))


@contextmanager
def _machine_lock() -> Iterator[None]:
    """One sandbox operation at a time on this machine (flock on a file under the runtime root).

    The last `down` deletes the runtime root, lock file included; a waiter that then wins the lock
    on the deleted file retries on the new one."""
    while True:
        RUN_ROOT.mkdir(parents=True, exist_ok=True)
        lock_path = RUN_ROOT / "lock"
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if os.path.exists(lock_path) and os.stat(lock_path).st_ino == os.fstat(fd).st_ino:
                break
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
    try:
        yield
    finally:
        os.close(fd)


def _prepare_machine() -> None:
    """What all sandboxes share: the runtime root as a private mount (a mount namespace can only be
    bound to a file on one), the bridge, and the directories hosts mount over (node.MOUNTPOINTS)."""
    MARKERS.mkdir(parents=True, exist_ok=True)
    for path in (*node.MOUNTPOINTS, *TOOL_DIRS):  # before anything below makes a tool create one
        if not path.exists():
            (MARKERS / path.as_posix().strip("/").replace("/", "_")).write_text(f"{path}\n")
            if path not in TOOL_DIRS:
                path.mkdir(parents=True)
    if str(RUN_ROOT) not in system.mountpoints():
        system.run(["mount", "--bind", str(RUN_ROOT), str(RUN_ROOT)])
        system.run(["mount", "--make-private", str(RUN_ROOT)])
    if not Path(f"/sys/class/net/{layout.BRIDGE}").exists():
        # Not through iptables: where the machine runs Docker, br_netfilter and a FORWARD policy of
        # DROP would cut hosts off from each other.
        system.run(["ip", "link", "add", layout.BRIDGE, "type", "bridge", "nf_call_iptables", "0"])
    system.run(["ip", "link", "set", layout.BRIDGE, "up"])


def _release_machine() -> None:
    """After the last sandbox: remove the bridge, the registry storage, the runtime root and what
    the first `up` created."""
    if Path(f"/sys/class/net/{layout.BRIDGE}").exists():
        system.run(["ip", "link", "delete", layout.BRIDGE])
    _remove_tree(REGISTRY_STORAGE.parent)
    if str(RUN_ROOT) in system.mountpoints():
        system.run(["umount", "--lazy", str(RUN_ROOT)])  # lazily: the lock file in it is open
    created = [Path(marker.read_text().strip()) for marker in MARKERS.glob("*")] if MARKERS.exists() else []
    # util-linux's umount may make /run/mount again: that one goes last.
    for path in sorted(created, key=lambda path: path == TOOL_DIRS[1]):
        if path.is_dir() and not any(path.iterdir()):
            if str(path) in system.mountpoints():
                system.run(["umount", str(path)], check=False)
            with contextlib.suppress(OSError):  # still in use (e.g. /run/netns by another netns user)
                path.rmdir()
    _remove_tree(RUN_ROOT)


def _remove_tree(path: Path) -> None:
    """rmtree, refusing to descend into anything mounted below `path`."""
    if not path.exists():
        return
    inside = [m for m in system.mountpoints() if m == str(path) or m.startswith(f"{path}/")]
    if inside:
        raise GpuctlError(
            Diagnostic(
                f"{path} still has mounts ({', '.join(inside)}); not removing it", hint="unmount them first"
            )
        )
    shutil.rmtree(path)
