"""The probe against the sandbox fleet: real sshd and dockerd per host, simulated accelerator tools.

What the probe finds must be what each host profile defines; faults (link down, dockerd or sshd
stopped, an unknown or a changed host key) give the right status and message on their host while
the others are probed as usual; foreign processes and gpuctl's containers show up.
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest

from gpuctl.backends.images import default_image, with_mirror
from gpuctl.cli.inventory import load_clusters
from gpuctl.facts import HostFacts
from gpuctl.probe.inventory import probe_hosts, targets_for
from gpuctl.probe.ssh import Target
from gpuctl.sandbox import Sandbox, system
from gpuctl.sandbox.profiles import PROFILES, Profile

pytestmark = pytest.mark.sandbox
MIB = 1024 * 1024
GIB = 1024 * MIB


def targets(sandbox: Sandbox, **changes: object) -> dict[str, Target]:
    (cluster,) = load_clusters([sandbox.inventory])
    return {t.host: dataclasses.replace(t, **changes) for t in targets_for(cluster.cluster, cluster.path)}


def probe(sandbox: Sandbox, **changes: object) -> dict[str, HostFacts]:
    return {facts.host: facts for facts in probe_hosts(list(targets(sandbox, **changes).values()))}


@pytest.fixture(scope="module")
def fleet_facts(sandbox: Sandbox) -> dict[str, HostFacts]:
    """One probe of the whole fleet, by profile name."""
    found = probe(sandbox)
    return {host.profile: found[host.name] for host in sandbox.hosts}


def expected_devices(profile: Profile) -> list[tuple[str, str, int, str | None, str | None]]:
    """(key, name, memory MiB, compute capability, MIG profile) the profile defines."""
    devices = []
    for index, slot in enumerate(profile.devices):
        board = slot.accelerator
        name = board.chip_name or board.name
        if slot.mig:
            devices += [
                (f"{index}/{m}", f"{name} MIG {s.profile}", s.memory_mib, board.compute_capability, s.profile)
                for m, s in enumerate(slot.mig)
            ]
        else:
            devices.append((str(index), name, board.memory_mib, board.compute_capability, None))
    return devices


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_probe_finds_what_the_profile_defines(name: str, fleet_facts: dict[str, HostFacts]) -> None:
    profile, facts = PROFILES[name], fleet_facts[name]
    assert facts.status == "ok", facts.message
    assert facts.warnings == []
    found = [
        (d.key, d.name, d.memory_total // MIB, d.compute_capability, d.mig_profile)
        for d in sorted(facts.devices, key=lambda d: [int(p) for p in d.key.split("/")])
    ]
    assert found == expected_devices(profile)
    assert all(d.memory_used == 0 for d in facts.devices)
    assert facts.accelerator == (profile.vendor or "none")
    info = facts.info
    assert (info.cpu_count, info.memory_total, info.arch) == (
        profile.cpus,
        profile.memory_gib * GIB,
        {"x86_64": "amd64", "aarch64": "arm64"}[profile.arch],
    )
    assert (info.distro, info.kernel, info.os) == (profile.distro.pretty_name, profile.kernel, "linux")
    drivers = facts.drivers
    assert (drivers.nvidia_driver, drivers.cuda_version) == (profile.nvidia_driver, profile.cuda_version)
    assert (drivers.ascend_driver, drivers.cann_version) == (profile.ascend_driver, profile.cann_version)
    assert drivers.rocm_version == profile.rocm_version
    assert facts.docker.reachable
    assert facts.docker.gpus_supported == (profile.vendor == "nvidia")


def test_uuids_are_what_docker_gpus_takes(sandbox: Sandbox, fleet_facts: dict[str, HostFacts]) -> None:
    facts = fleet_facts["nvidia-h100-mig"]
    listed = sandbox.ssh(sandbox.host("nvidia-h100-mig"), "nvidia-smi -L").stdout
    for device in facts.devices:
        assert f"(UUID: {device.uuid})" in listed


@pytest.fixture
def faults(sandbox: Sandbox, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Break five hosts five ways (healed afterwards); returns {host: expected status}."""
    hosts = {profile: sandbox.host(profile).name for profile in PROFILES}
    lines = sandbox.known_hosts_file.read_text().splitlines()
    unknown, changed = hosts["nvidia-h100-mig"], hosts["ascend-8x910b"]
    unknown_address, changed_address = sandbox.host(unknown).address, sandbox.host(changed).address

    def names(line: str) -> list[str]:
        return line.split()[0].split(",")

    other_key = next(line.split()[2] for line in lines if changed_address not in names(line))
    edited = []
    for line in lines:
        if unknown_address in names(line):
            continue
        if changed_address in names(line):
            field, kind = line.split()[:2]
            line = f"{field} {kind} {other_key}"
        edited.append(line)
    (tmp_path / "known_hosts").write_text("\n".join(edited) + "\n")
    broken = {
        hosts["nvidia-8xh100"]: "link-down",
        hosts["nvidia-4xa100-40g"]: "docker-stop",
        hosts["nvidia-2xrtx4090"]: "ssh-stop",
    }
    try:
        for host, fault in broken.items():
            sandbox.fault(host, fault)
        yield {
            hosts["nvidia-8xh100"]: "unreachable",
            hosts["nvidia-4xa100-40g"]: "ok",
            hosts["nvidia-2xrtx4090"]: "unreachable",
            unknown: "host-key-unknown",
            changed: "host-key-changed",
            hosts["amd-8xmi300x"]: "ok",
            hosts["cpu"]: "ok",
        }
    finally:
        heal = {"link-down": "link-up", "docker-stop": "docker-start", "ssh-stop": "ssh-start"}
        for host, fault in broken.items():
            sandbox.fault(host, heal[fault])


def test_faults_give_their_status_and_the_others_are_probed(
    sandbox: Sandbox, faults: dict[str, str], tmp_path: Path
) -> None:
    found = probe(sandbox, known_hosts=tmp_path / "known_hosts", connect_timeout=3.0)
    assert {host: facts.status for host, facts in found.items()} == faults
    h100, a100, rtx, mig, ascend = (
        sandbox.host(profile).name
        for profile in (
            "nvidia-8xh100",
            "nvidia-4xa100-40g",
            "nvidia-2xrtx4090",
            "nvidia-h100-mig",
            "ascend-8x910b",
        )
    )
    assert "no answer within 3 s" in found[h100].message
    assert "connection refused" in found[rtx].message
    assert found[a100].docker.reachable is False
    assert "Cannot connect to the Docker daemon" in found[a100].docker.error
    assert len(found[a100].devices) == 4  # the GPUs are still known
    assert f"gpuctl trust {mig}" in found[mig].message
    assert "HOST KEY CHANGED" in found[ascend].message
    assert f"{tmp_path / 'known_hosts'} line" in found[ascend].message
    assert len(found[sandbox.host("amd-8xmi300x").name].devices) == 8


def test_foreign_processes_appear_with_their_memory(sandbox: Sandbox) -> None:
    h100, mig = sandbox.host("nvidia-8xh100"), sandbox.host("nvidia-h100-mig")
    sandbox.set_memory(h100.name, "3", 20480, pid=4242, process="python3 train.py")
    sandbox.set_memory(mig.name, "0/1", 1000, pid=4343, process="memhog")
    try:
        found = probe(sandbox)
    finally:
        sandbox.set_memory(h100.name, "3", 0, pid=4242)
        sandbox.set_memory(mig.name, "0/1", 0, pid=4343)
    (process,) = found[h100.name].processes
    assert (process.device_key, process.pid, process.used_memory, process.container_id) == (
        "3",
        4242,
        20480 * MIB,
        None,
    )
    device = next(d for d in found[h100.name].devices if d.key == "3")
    assert device.memory_used >= 20480 * MIB
    (on_mig,) = found[mig.name].processes
    assert (on_mig.device_key, on_mig.used_memory) == ("0/1", 1000 * MIB)


def test_gpuctl_container_appears_with_labels_and_devices(sandbox: Sandbox) -> None:
    host = sandbox.host("nvidia-8xh100")
    image = with_mirror(default_image("vllm", "nvidia"), sandbox.registry_mirror)
    labels = {
        "gpuctl.managed": "true",
        "gpuctl.deployment": "qwen3-8b",
        "gpuctl.replica": "0",
        "gpuctl.devices": "2,5",
    }
    args = " ".join(f"--label {shlex.quote(f'{k}={v}')}" for k, v in labels.items())
    run = (
        f"docker run -d --name gpuctl-qwen3-8b-0 {args} --gpus '\"device=2,5\"' "
        f"-e NVIDIA_VISIBLE_DEVICES=2,5 -e HF_TOKEN=hf_secret_value {image} sleep 300"
    )
    # not gpuctl's: a backend on the host's network, whose port the probe sees taken
    other = f"docker run -d --name not-ours --network host {image} vllm serve other --port 30123"
    assert sandbox.ssh(host, run, timeout=120).returncode == 0
    assert sandbox.ssh(host, other, timeout=120).returncode == 0
    system.wait_for(
        lambda: system.http_status(host.address, 30123, "/health") is not None, 15, "the other backend"
    )
    try:
        facts = probe(sandbox)[host.name]
    finally:
        sandbox.ssh(host, "docker rm -f gpuctl-qwen3-8b-0 not-ours", timeout=60)
    (container,) = facts.containers
    assert (container.name, container.image, container.state) == ("gpuctl-qwen3-8b-0", image, "running")
    assert container.labels == labels
    assert container.device_requests == ["2", "5"]
    assert container.started_at and container.started_at.startswith("20")
    assert "hf_secret_value" not in facts.model_dump_json()
    assert facts.info is not None
    assert {22, 30123} <= set(facts.info.listening_ports)
    assert facts.info.ephemeral_ports == (32768, 60999)
