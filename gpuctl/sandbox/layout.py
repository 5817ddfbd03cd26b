"""Where everything of a sandbox lives: names, addresses and paths, derived from the sandbox's name,
its index on this machine and each host's position. Pure; nothing here touches the system.

Machine-wide (shared by every sandbox of the machine):
  /run/gpuctl-sandbox/               runtime root, a private bind mount (mount namespace files)
    sandboxes/<name>.json            one record per sandbox that is up
    s<N>/                            sandbox N: registry config and pid
      h<i>/                          host i: mnt and uts namespace files, docker.sock, pid files,
                                     dockerd's exec-root (kept short: unix socket paths are limited)
  /var/lib/gpuctl-sandbox/registry   registry storage holding the stub images
  bridge gpuctl-sbx                  one Linux bridge; sandbox N has 198.18.N.0/24 on it

Per sandbox, its state directory (default ./.sandbox/<name>/): SSH client key, known_hosts, and per
host: host.json, processes.json, the tool layer, sshd's host key and config, logs, dockerd's
data root and the directory mounted on the host's /var/lib/gpuctl.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from gpuctl.sandbox.profiles import PROFILES

RUN_ROOT = Path("/run/gpuctl-sandbox")
RECORDS = RUN_ROOT / "sandboxes"
REGISTRY_STORAGE = Path("/var/lib/gpuctl-sandbox/registry")
BRIDGE = "gpuctl-sbx"
REGISTRY_PORT = 5000
FIRST_HOST = 11
MAX_SANDBOXES = 255
MAX_HOSTS = 240
NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?")
"""A sandbox name: a DNS label short enough that `<name>-<profile>-<n>` stays a valid host name."""


def gateway(index: int) -> str:
    return f"198.18.{index}.1"


def registry_address(index: int) -> str:
    return f"{gateway(index)}:{REGISTRY_PORT}"


def sandbox_run_dir(index: int) -> Path:
    return RUN_ROOT / f"s{index}"


@dataclass(frozen=True)
class SandboxHost:
    """One host of a sandbox and every name and path that belongs to it."""

    name: str
    profile: str
    position: int
    sandbox: str
    sandbox_index: int
    state_dir: Path
    """The sandbox's state directory (not the host's own directory: see `dir`)."""

    @property
    def address(self) -> str:
        return f"198.18.{self.sandbox_index}.{FIRST_HOST + self.position}"

    @property
    def dir(self) -> Path:
        return self.state_dir / "hosts" / self.name

    @property
    def run_dir(self) -> Path:
        return sandbox_run_dir(self.sandbox_index) / f"h{self.position}"

    @property
    def netns(self) -> str:
        return f"gpuctl-{self.name}"

    @property
    def veth(self) -> str:
        """Host-side end of the host's link (the other end is eth0 inside its namespace)."""
        return f"gsb{self.sandbox_index}h{self.position}"

    @property
    def cgroup(self) -> str:
        """cgroup parent of the host's containers, so they can be found and removed."""
        return f"gpuctl-sb{self.sandbox_index}-{self.position}"

    @property
    def docker_socket(self) -> Path:
        return self.run_dir / "docker.sock"

    @property
    def bin_dir(self) -> Path:
        """The host's tool directory, seen inside the host as /usr/local/bin."""
        return self.dir / "layer" / "usr" / "local" / "bin"


def host_names(sandbox: str, profiles: list[str]) -> list[str]:
    """`<sandbox>-<short profile name>-<n>`, n counting hosts of the same profile from 1."""
    counts: dict[str, int] = {}
    names = []
    for profile in profiles:
        short = PROFILES[profile].short
        counts[short] = counts.get(short, 0) + 1
        names.append(f"{sandbox}-{short}-{counts[short]}")
    return names


def hosts(sandbox: str, index: int, state_dir: Path, profiles: list[str]) -> list[SandboxHost]:
    return [
        SandboxHost(name, profile, position, sandbox, index, state_dir)
        for position, (name, profile) in enumerate(zip(host_names(sandbox, profiles), profiles, strict=True))
    ]
