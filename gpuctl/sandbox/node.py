"""One sandbox host: its network namespace and link, its mount and UTS namespaces, sshd and dockerd.

A host is a network namespace on the sandbox bridge plus a persistent mount namespace and UTS
namespace (bind-mounted files under the host's run directory) that both its sshd and its dockerd
enter with `nsenter` (not `ip netns exec`, which remounts /sys and breaks dockerd's cgroups). Inside
the mount namespace:

- the host's tool layer is overlaid on /usr/local (and /opt where the profile has files there), so
  `nvidia-smi` & co. are on every PATH, login shells included, and on dockerd's PATH for the
  no-op `nvidia-container-runtime-hook`;
- /var/lib/gpuctl is the host's own directory, for SSH sessions and containers alike;
- /etc/os-release and /proc/meminfo are the profile's (as lxcfs does for containers);
- the hostname is the host's name (its own UTS namespace).

`ensure` creates what is missing and starts what is stopped, so it both brings a host up and
repairs it; `remove` leaves nothing behind.
"""

from __future__ import annotations

import os
import shlex
import shutil
from pathlib import Path

from gpuctl.sandbox import answers, hoststate, system
from gpuctl.sandbox.layout import BRIDGE, REGISTRY_PORT, SandboxHost, gateway
from gpuctl.sandbox.profiles import PROFILES
from gpuctl.sandbox.simtools import host as host_files
from gpuctl.sandbox.simtools import host_tools

NETNS_DIR = Path("/run/netns")
HOST_VAR_LIB = Path("/var/lib/gpuctl")
PRIVATE_DIRS = ("/etc/docker", "/run/docker", "/run/containerd", "/opt/containerd")
"""Where dockerd and containerd write outside their data and exec roots (key.json, plugin sockets,
shim sockets, containerd's opt directory): each host gets an empty tmpfs there, so nothing of a
host lands on the machine, and a running system containerd is not mistaken for the host's own."""
MOUNTPOINTS = (HOST_VAR_LIB, Path("/run/sshd"), *map(Path, PRIVATE_DIRS))
"""Directories the sandbox mounts over (or sshd needs); created on the machine if missing."""
CGROUP_ROOT = Path("/sys/fs/cgroup")
ASCEND_RUNTIME = "/usr/local/Ascend/Ascend-Docker-Runtime/ascend-docker-runtime"


def _sshd_config(host: SandboxHost) -> Path:
    return host.dir / "sshd_config"


def _session_path(host: SandboxHost) -> str:
    return f"{host.bin_dir}:{system.SBIN_PATH}"


# --------------------------------------------------------------------------- files


def write_files(host: SandboxHost) -> None:
    """host.json, the tool layer, the files mounted over /etc/os-release and /proc/meminfo, sshd's
    host key and configuration, dockerd's (empty) configuration."""
    profile = PROFILES[host.profile]
    hoststate.write_host(host.dir, host.sandbox, host.name, host.profile)
    layer = host.dir / "layer"
    host.bin_dir.mkdir(parents=True, exist_ok=True)
    (host.dir / "var-lib-gpuctl").mkdir(exist_ok=True)
    (host.dir / "home").mkdir(exist_ok=True)
    for tool in host_tools(profile):
        _script(host.bin_dir / tool, answers.wrapper(tool, host.dir, f"{host.name} ({host.profile})"))
    # The real container runtimes wrap runc. Every host registers `nvidia` (part of the sandbox's
    # interface); only NVIDIA hosts have the hook below, so only there `--gpus` works.
    runc = shlex.quote(system.tool("runc"))
    _script(host.bin_dir / "nvidia-container-runtime", f'exec {runc} "$@"\n')
    if profile.vendor == "nvidia":
        # dockerd enables `--gpus` when this hook is on its PATH; runc runs it with the container
        # state on stdin. The real one sets up /dev/nvidia*; here there is nothing to set up.
        _script(host.bin_dir / "nvidia-container-runtime-hook", "cat >/dev/null\nexit 0\n")
    if profile.vendor == "ascend":
        _script(layer / ASCEND_RUNTIME.lstrip("/"), f'exec {runc} "$@"\n')
    for path, content in host_files.files(profile).items():
        target = layer / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
    (host.dir / "os-release").write_text(host_files.os_release(profile))
    (host.dir / "meminfo").write_text(host_files.meminfo(profile))
    (host.dir / "daemon.json").write_text("{}\n")
    key = host.dir / "ssh_host_ed25519_key"
    if not key.exists():
        system.run(
            [system.tool("ssh-keygen"), "-q", "-t", "ed25519", "-N", "", "-C", host.name, "-f", str(key)]
        )
    _sshd_config(host).write_text(
        "\n".join(
            [
                f"# gpuctl sandbox host {host.name}",
                f"ListenAddress {host.address}:22",
                f"HostKey {key}",
                f"PidFile {host.run_dir / 'sshd.pid'}",
                f"AuthorizedKeysFile {host.state_dir / 'authorized_keys'}",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PermitRootLogin prohibit-password",
                "StrictModes no",
                "UsePAM no",
                "PrintMotd no",
                "PrintLastLog no",
                "UseDNS no",
                "Compression no",
                "MaxStartups 100:30:200",
                "MaxSessions 100",
                "Subsystem sftp internal-sftp",
                # HOME: the login's own home, not the machine's (whose ~/.bashrc, e.g. `pyenv
                # init`, would run on every SSH command and put its own directories first on PATH).
                f"SetEnv PATH={_session_path(host)} DOCKER_HOST=unix://{host.docker_socket} "
                f"HOME={host.dir / 'home'}",
            ]
        )
        + "\n"
    )


def _script(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)


def host_key(host: SandboxHost) -> str:
    """`ssh-ed25519 AAAA...` of the host's sshd."""
    return " ".join((host.dir / "ssh_host_ed25519_key.pub").read_text().split()[:2])


# --------------------------------------------------------------------------- network


def _link_exists(name: str) -> bool:
    return Path(f"/sys/class/net/{name}").exists()


def link_up(host: SandboxHost) -> bool:
    try:
        flags = int(Path(f"/sys/class/net/{host.veth}/flags").read_text(), 16)
    except OSError:
        return False
    return bool(flags & 1)  # IFF_UP


def set_link(host: SandboxHost, up: bool) -> None:
    system.run(["ip", "link", "set", host.veth, "up" if up else "down"])


def ensure_network(host: SandboxHost) -> None:
    if not (NETNS_DIR / host.netns).exists():
        system.run(["ip", "netns", "add", host.netns])
    if not _link_exists(host.veth):
        ns = ["ip", "-n", host.netns]
        system.run(
            ["ip", "link", "add", host.veth, "type", "veth", "peer", "name", "eth0", "netns", host.netns]
        )
        system.run(["ip", "link", "set", host.veth, "master", BRIDGE])
        system.run([*ns, "addr", "add", f"{host.address}/24", "dev", "eth0"])
        system.run([*ns, "link", "set", "lo", "up"])
        system.run([*ns, "link", "set", "eth0", "up"])
        system.run([*ns, "route", "add", "default", "via", gateway(host.sandbox_index)])
    if not link_up(host):
        set_link(host, True)


# --------------------------------------------------------------------------- namespaces


def _ns_files(host: SandboxHost) -> tuple[Path, Path]:
    return host.run_dir / "mnt", host.run_dir / "uts"


def namespaces_exist(host: SandboxHost) -> bool:
    mounted = system.mountpoints()
    return all(str(path) in mounted for path in _ns_files(host))


def _enter(host: SandboxHost) -> list[str]:
    mnt, uts = _ns_files(host)
    return [system.tool("nsenter"), f"--mount={mnt}", f"--uts={uts}", f"--net={NETNS_DIR / host.netns}", "--"]


def ensure_namespaces(host: SandboxHost) -> None:
    if namespaces_exist(host):
        return
    stop_processes(host)  # anything left from namespaces that are gone
    host.run_dir.mkdir(parents=True, exist_ok=True)
    mnt, uts = _ns_files(host)
    for path in (mnt, uts):
        path.touch()
    layer = host.dir / "layer"
    q = shlex.quote
    script = [
        "set -e",
        f"hostname {q(host.name)}",
        # Drop this namespace's copies of other namespaces' files, so they do not keep those
        # namespaces (of other hosts and sandboxes) alive after they are removed.
        f"umount -l {NETNS_DIR} 2>/dev/null || true",
        f"umount -l {host.run_dir.parents[1]} 2>/dev/null || true",
        f"mount --bind {q(str(host.dir / 'var-lib-gpuctl'))} {HOST_VAR_LIB}",
        f"mount -t overlay gpuctl-sandbox -o lowerdir={q(str(layer / 'usr/local'))}:/usr/local /usr/local",
        f"mount --bind {q(str(host.dir / 'os-release'))} /etc/os-release",
        f"mount --bind {q(str(host.dir / 'meminfo'))} /proc/meminfo",
        # A `docker` without DOCKER_HOST must not reach the machine's own daemon, if it has one.
        "if [ -e /run/docker.sock ]; then mount --bind /dev/null /run/docker.sock; fi",
    ]
    if (layer / "opt").exists():
        script.append(f"mount -t overlay gpuctl-sandbox -o lowerdir={q(str(layer / 'opt'))}:/opt /opt")
    script += [f"mount -t tmpfs -o mode=0711 gpuctl-sandbox {path}" for path in PRIVATE_DIRS]
    system.run(
        [
            "unshare",
            f"--mount={mnt}",
            f"--uts={uts}",
            "--propagation",
            "private",
            "--",
            "sh",
            "-c",
            "\n".join(script),
        ]
    )


# --------------------------------------------------------------------------- daemons


def sshd_pid(host: SandboxHost) -> int | None:
    return system.read_pid(host.run_dir / "sshd.pid", str(_sshd_config(host)))


def dockerd_pid(host: SandboxHost) -> int | None:
    return system.read_pid(host.run_dir / "docker.pid", str(host.docker_socket))


def start_sshd(host: SandboxHost) -> None:
    if sshd_pid(host) is None:
        log = host.dir / "sshd.log"
        system.run([*_enter(host), system.tool("sshd"), "-f", str(_sshd_config(host)), "-E", str(log)])


def start_dockerd(host: SandboxHost) -> None:
    if dockerd_pid(host) is not None:
        return
    profile = PROFILES[host.profile]
    args = [
        system.tool("dockerd"),
        f"--config-file={host.dir / 'daemon.json'}",
        f"--data-root={host.dir / 'docker'}",
        f"--exec-root={host.run_dir / 'exec'}",
        f"--host=unix://{host.docker_socket}",
        f"--pidfile={host.run_dir / 'docker.pid'}",
        "--bridge=none",
        "--iptables=false",
        "--ip6tables=false",
        "--ip-masq=false",
        "--userland-proxy=false",
        f"--insecure-registry={gateway(host.sandbox_index)}:{REGISTRY_PORT}",
        f"--cgroup-parent=/{host.cgroup}",
        "--exec-opt=native.cgroupdriver=cgroupfs",
    ]
    if profile.vendor == "nvidia":  # registered by the NVIDIA container toolkit, only where it is installed
        args.append("--add-runtime=nvidia=/usr/local/bin/nvidia-container-runtime")
    if profile.vendor == "ascend":
        args.append(f"--add-runtime=ascend={ASCEND_RUNTIME}")
    env = {"PATH": system.SBIN_PATH, "HOME": "/root", "GOGC": "50"}
    system.start_background([*_enter(host), *args], host.dir / "dockerd.log", env=env)


def wait_ready(host: SandboxHost, timeout: float = 60) -> None:
    logs = f"see {host.dir}/sshd.log and dockerd.log"
    system.wait_for(
        lambda: system.tcp_open(host.address, 22), timeout, f"sshd of {host.name} listening", logs
    )
    system.wait_for(
        lambda: system.docker_ping(host.docker_socket), timeout, f"dockerd of {host.name} answering", logs
    )


def stop_daemon(pid: int | None, grace: float) -> None:
    if pid is not None:
        system.terminate([pid], grace)


def ensure(host: SandboxHost) -> None:
    """Bring the host up, or repair it: create what is missing, start what is stopped."""
    host.dir.mkdir(parents=True, exist_ok=True)
    write_files(host)
    ensure_network(host)
    ensure_namespaces(host)
    start_sshd(host)
    start_dockerd(host)


# --------------------------------------------------------------------------- teardown


def processes(host: SandboxHost) -> set[int]:
    """The host's processes: its daemons, their children and its containers."""
    mnt, _ = _ns_files(host)
    mnt_ns = system.ns_inode(mnt) if namespaces_exist(host) else None
    net_ns = system.ns_inode(NETNS_DIR / host.netns)
    found = set(system.pids_in(mnt_ns, net_ns, host.cgroup))
    return found | {pid for pid in (sshd_pid(host), dockerd_pid(host)) if pid is not None}


def stop_processes(host: SandboxHost) -> None:
    system.terminate(processes(host), grace=3)


def remove(host: SandboxHost) -> None:
    """Remove every trace of the host outside its state directory."""
    stop_processes(host)
    mounted = system.mountpoints()
    for path in _ns_files(host):
        if str(path) in mounted:
            system.run(["umount", str(path)])
        path.unlink(missing_ok=True)
    # Deleting one end of a veth pair deletes both; deleting the namespace would too, but later.
    if _link_exists(host.veth):
        system.run(["ip", "link", "delete", host.veth], check=False)
    if (NETNS_DIR / host.netns).exists():
        system.run(["ip", "netns", "delete", host.netns])
    _remove_cgroups(host.cgroup)
    if host.run_dir.exists():
        shutil.rmtree(host.run_dir)


def _remove_cgroups(name: str) -> None:
    """Remove the cgroup directories dockerd made for the host's containers (every hierarchy)."""
    hierarchies = [CGROUP_ROOT, *CGROUP_ROOT.iterdir()] if CGROUP_ROOT.is_dir() else []
    for group in (root / name for root in hierarchies):
        if group.is_dir():
            # cgroupfs directories are removed with rmdir, innermost first.
            for directory, _, _ in sorted(os.walk(group), key=lambda entry: -len(entry[0])):
                os.rmdir(directory)
