"""Sandbox hosts seen over real SSH: strict host keys, host facts and simulated tools as the prober
will read them, foreign processes, and each host's own /var/lib/gpuctl."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
import yaml

from gpuctl.sandbox import Sandbox, hoststate
from gpuctl.sandbox.profiles import PROFILES
from gpuctl.sandbox.simtools import run as simulate
from gpuctl.spec.models import Cluster

pytestmark = pytest.mark.sandbox

PROBE_GPU_QUERY = (
    "nvidia-smi --query-gpu=index,uuid,name,memory.total,memory.used,compute_cap,driver_version,"
    "mig.mode.current,pci.bus_id --format=csv,noheader,nounits"
)
PROBE_APPS_QUERY = (
    "nvidia-smi --query-compute-apps=gpu_uuid,pid,process_name,used_memory --format=csv,noheader,nounits"
)


def ok(sandbox: Sandbox, host: str, command: str) -> str:
    done = sandbox.ssh(host, command)
    assert done.returncode == 0, f"{host}: {command}: {done.stderr}"
    return done.stdout


def test_cluster_file_names_every_host_with_its_key_files(sandbox: Sandbox) -> None:
    document = yaml.safe_load(sandbox.inventory.read_text())
    cluster = Cluster.model_validate(document)
    assert cluster.metadata.name == sandbox.name
    assert cluster.spec.registry_mirror == sandbox.registry_mirror
    assert [(h.name, h.address, h.labels) for h in cluster.spec.hosts] == [
        (h.name, h.address, {"profile": h.profile}) for h in sandbox.hosts
    ]
    base = sandbox.inventory.parent
    assert (base / cluster.spec.ssh.identity_file).resolve() == sandbox.identity_file
    assert (base / cluster.spec.ssh.known_hosts_file).resolve() == sandbox.known_hosts_file
    assert all(h.name.startswith(f"{sandbox.name}-") for h in cluster.spec.hosts)


def test_ssh_with_strict_host_keys_reaches_every_host(sandbox: Sandbox, tmp_path: Path) -> None:
    for host in sandbox.hosts:
        assert ok(sandbox, host.name, "hostname").strip() == host.name
    # The known_hosts file is what makes it work: with an empty one, strict checking refuses.
    empty = tmp_path / "known_hosts"
    empty.touch()
    args = [a.replace(str(sandbox.known_hosts_file), str(empty)) for a in sandbox.ssh_args(sandbox.hosts[0])]
    import subprocess

    refused = subprocess.run([*args, "true"], capture_output=True, text=True, timeout=30, check=False)
    assert refused.returncode == 255 and "Host key verification failed" in refused.stderr


def test_host_facts_are_the_profile(sandbox: Sandbox) -> None:
    for host in sandbox.hosts:
        profile = PROFILES[host.profile]
        out = ok(
            sandbox,
            host.name,
            "cat /etc/os-release; uname -s -r -m; nproc; cat /proc/meminfo; df -PB1 /var/lib/gpuctl",
        )
        assert f'PRETTY_NAME="{profile.distro.pretty_name}"' in out
        assert f"Linux {profile.kernel} {profile.arch}\n{profile.cpus}\n" in out
        assert re.search(rf"^MemTotal:\s+{profile.memory_gib * 1024 * 1024} kB$", out, re.M)
        assert re.search(r"^\S+\s+\d+\s+\d+\s+\d+\s+\d+%\s+/var/lib/gpuctl$", out, re.M)


def test_tools_over_ssh_print_what_the_simulation_renders(sandbox: Sandbox) -> None:
    """Whatever reaches the prober over SSH is exactly the (fixture-checked) rendering."""
    for host in sandbox.hosts:
        view = hoststate.load(host.dir)
        vendor = PROFILES[host.profile].vendor
        commands = {
            "nvidia": [["-L"], PROBE_GPU_QUERY.split()[1:], PROBE_APPS_QUERY.split()[1:]],
            "ascend": [["info"], ["info", "-m"], ["info", "-t", "usages", "-i", "0"]],
            "amd": [["--showid", "--showmeminfo", "vram", "--showproductname", "--showuniqueid", "--json"]],
        }.get(vendor or "", [])
        tool = {"nvidia": "nvidia-smi", "ascend": "npu-smi", "amd": "rocm-smi"}.get(vendor or "")
        for args in commands:
            assert ok(sandbox, host.name, " ".join([tool, *args])) == simulate(tool, view, args)[0]
        if vendor is None:
            assert sandbox.ssh(host, "nvidia-smi").returncode == 127


def test_prober_queries_describe_the_profile(sandbox: Sandbox) -> None:
    host = sandbox.host("nvidia-8xh100")
    rows = list(csv.reader(io.StringIO(ok(sandbox, host.name, PROBE_GPU_QUERY)), skipinitialspace=True))
    assert len(rows) == 8
    assert {tuple(row[2:8]) for row in rows} == {
        ("NVIDIA H100 80GB HBM3", "81559", "0", "9.0", "590.48.01", "Disabled")
    }
    mig = ok(sandbox, "nvidia-h100-mig", "nvidia-smi -L")
    assert len(re.findall(r"^  MIG (3g\.40gb|2g\.20gb|1g\.10gb) +Device +\d: \(UUID: MIG-", mig, re.M)) == 4
    cards = json.loads(ok(sandbox, "amd-8xmi300x", "rocm-smi --showmeminfo vram --json"))
    assert len(cards) == 8 and cards["card0"]["VRAM Total Memory (B)"] == str(196592 * 1024 * 1024)
    ascend = "/usr/local/Ascend"
    versions = ok(
        sandbox,
        "ascend-8x910b",
        f"cat {ascend}/driver/version.info {ascend}/ascend-toolkit/latest/*/*_install.info",
    )
    assert "Version=24.1.rc1" in versions and "version=8.2.RC1" in versions


def test_foreign_processes_appear_in_every_view(sandbox: Sandbox) -> None:
    host = sandbox.host("nvidia-8xh100")
    uuid = hoststate.load(host.dir).devices[3].uuid
    try:
        sandbox.set_memory(host.name, "3", 20000, pid=4242, process="python3")
        assert ok(sandbox, host.name, PROBE_APPS_QUERY) == f"{uuid}, 4242, python3, 20000\n"
        row = ok(sandbox, host.name, PROBE_GPU_QUERY).splitlines()[3].split(", ")
        assert row[4] == "20000"
        assert "|    3   N/A  N/A            4242      C   python3 " in ok(sandbox, host.name, "nvidia-smi")
    finally:
        sandbox.set_memory(host.name, "3", 0, pid=4242)
    assert ok(sandbox, host.name, PROBE_APPS_QUERY) == ""
    npu = sandbox.host("ascend-8x910b")
    sandbox.set_memory(npu.name, "5", 4096, process="mindieservice_d")
    try:
        assert "4096 / 65536" in ok(sandbox, npu.name, "npu-smi info")
    finally:
        sandbox.set_memory(npu.name, "5", 0)


def test_each_host_has_its_own_var_lib_gpuctl(sandbox: Sandbox) -> None:
    first, second = sandbox.hosts[0], sandbox.hosts[1]
    ok(sandbox, first.name, "mkdir -p /var/lib/gpuctl/models && echo first > /var/lib/gpuctl/models/owner")
    assert sandbox.ssh(second, "cat /var/lib/gpuctl/models/owner").returncode != 0
    assert (first.dir / "var-lib-gpuctl" / "models" / "owner").read_text() == "first\n"
    assert not Path("/var/lib/gpuctl/models/owner").exists()  # the machine's own is untouched
    mirror = sandbox.registry_mirror
    seen = ok(
        sandbox,
        first.name,
        f"docker run --rm -v /var/lib/gpuctl/models:/models {mirror}/library/busybox cat /models/owner",
    )
    assert seen == "first\n"
