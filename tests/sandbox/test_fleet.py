"""The sandbox's lifecycle: idempotent `up` that repairs, each fault command, two sandboxes side by
side, and a `down` that leaves nothing behind (namespaces, links, processes, mounts, files)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gpuctl.sandbox import Sandbox, node, system
from gpuctl.sandbox.layout import RUN_ROOT

pytestmark = pytest.mark.sandbox


def reachable(sandbox: Sandbox, host: str) -> bool:
    return sandbox.ssh(host, "true", timeout=20).returncode == 0


def host_status(sandbox: Sandbox, name: str):
    return next(h for h in sandbox.status().hosts if h.name == name)


def test_link_fault_cuts_the_host_off_and_back(sandbox: Sandbox) -> None:
    host = sandbox.host("cpu")
    sandbox.fault(host.name, "link-down")
    try:
        assert host_status(sandbox, host.name).link == "down"
        assert not system.tcp_open(host.address, 22, timeout=1)
    finally:
        sandbox.fault(host.name, "link-up")
    assert reachable(sandbox, host.name)


def test_docker_fault_stops_and_starts_the_daemon(sandbox: Sandbox) -> None:
    host = sandbox.host("nvidia-2xrtx4090")
    sandbox.fault(host.name, "docker-stop")
    try:
        assert host_status(sandbox, host.name).docker == "stopped"
        down = sandbox.ssh(host, "docker info")
        assert down.returncode != 0 and "Cannot connect to the Docker daemon" in down.stderr
        assert reachable(sandbox, host.name)  # only the daemon is gone
    finally:
        sandbox.fault(host.name, "docker-start")
    assert sandbox.ssh(host, "docker info --format '{{.Name}}'").stdout.strip() == host.name


def test_ssh_fault_refuses_connections(sandbox: Sandbox) -> None:
    host = sandbox.host("amd-8xmi300x")
    sandbox.fault(host.name, "ssh-stop")
    try:
        refused = sandbox.ssh(host, "true")
        assert refused.returncode == 255 and "Connection refused" in refused.stderr
        assert host_status(sandbox, host.name).ssh == "stopped"
        assert system.docker_ping(host.docker_socket)  # only sshd is gone
    finally:
        sandbox.fault(host.name, "ssh-start")
    assert reachable(sandbox, host.name)


def test_second_up_checks_and_repairs(sandbox: Sandbox) -> None:
    host = sandbox.host("nvidia-h100-mig")
    known_hosts = sandbox.known_hosts_file.read_text()
    sandbox.fault(host.name, "docker-stop")
    sandbox.fault(host.name, "link-down")
    status = sandbox.up()
    assert all((h.link, h.ssh, h.docker) == ("up", "running", "running") for h in status.hosts)
    assert status.registry_running
    assert sandbox.known_hosts_file.read_text() == known_hosts  # same host keys: nothing to re-trust
    assert reachable(sandbox, host.name)
    with pytest.raises(Exception, match="is up with hosts"):
        sandbox.up(["cpu"])


def test_two_sandboxes_side_by_side_and_down_leaves_nothing(sandbox: Sandbox, tmp_path: Path) -> None:
    other = Sandbox(f"{sandbox.name}-b", state_dir=tmp_path / "state", inventory=tmp_path / "inv" / "b.yaml")
    try:
        other.up(["cpu", "nvidia-2xrtx4090"])
        host = other.hosts[0]
        assert host.address.rsplit(".", 1)[0] != sandbox.hosts[0].address.rsplit(".", 1)[0]
        assert other.registry_mirror != sandbox.registry_mirror
        assert reachable(other, host.name) and reachable(sandbox, sandbox.hosts[0].name)
        # The second sandbox's dockerds reuse the stub images built for the first.
        image = f"{other.registry_mirror}/library/busybox"
        assert other.ssh(host, f"docker run --rm {image} echo hi").stdout == "hi\n"
        other.ssh(host, f"docker run -d --network host {image} sleep 600")  # a container to clean up
        pids, hosts = other.pids(), other.hosts
        state, inventory = other.state_dir, other.inventory
    finally:
        assert other.down()
    assert not other.down()  # harmless when repeated
    ip_netns = system.run(["ip", "netns", "list"])
    ip_link = system.run(["ip", "link", "show"])
    mounts = Path("/proc/self/mountinfo").read_text()
    for gone in hosts:
        assert gone.netns not in ip_netns
        assert f" {gone.veth}@" not in ip_link and f" {gone.veth}:" not in ip_link
        assert str(gone.run_dir) not in mounts
        assert not list(Path("/sys/fs/cgroup").glob(f"*/{gone.cgroup}"))
    assert not [pid for pid in pids if Path(f"/proc/{pid}").exists()]
    assert str(state) not in mounts and not state.exists() and not inventory.exists()
    assert not inventory.parent.exists()  # `up` created it
    # The first sandbox is untouched.
    assert reachable(sandbox, sandbox.hosts[0].name) and RUN_ROOT.exists()
    assert all(h.docker == "running" for h in sandbox.status().hosts)


def test_set_memory_names_the_device_that_does_not_exist(sandbox: Sandbox) -> None:
    with pytest.raises(Exception, match=r"has no device '8'; its devices are: 0, 1, 2, 3, 4, 5, 6, 7"):
        sandbox.set_memory(sandbox.host("nvidia-8xh100").name, "8", 100)


def test_cli_status_and_fault_find_the_sandbox_by_host(sandbox: Sandbox) -> None:
    gpuctl = [sys.executable, "-m", "gpuctl"]
    host = sandbox.host("cpu")
    status = subprocess.run(
        [*gpuctl, "sandbox", "status", "--name", sandbox.name], capture_output=True, text=True
    )
    assert status.returncode == 0
    assert re.search(
        rf"^{host.name} +cpu +{re.escape(host.address)} +up +running +running$", status.stdout, re.M
    )
    fault = subprocess.run(
        [*gpuctl, "sandbox", "fault", host.name, "link-up"], capture_output=True, text=True
    )
    assert fault.returncode == 0, fault.stderr
    bad = subprocess.run([*gpuctl, "sandbox", "fault", host.name, "unplug"], capture_output=True, text=True)
    assert bad.returncode == 1 and "unknown fault 'unplug'" in bad.stderr
    assert node.link_up(host)


def test_cli_refuses_without_root_with_a_sentence() -> None:
    command = [sys.executable, "-m", "gpuctl", "sandbox", "down", "--name", "nobody-here"]
    if os.geteuid() == 0:
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "HOME": "/tmp"})
    assert done.returncode == 1
    assert "error: gpuctl sandbox down needs root" in done.stderr and "Traceback" not in done.stderr
