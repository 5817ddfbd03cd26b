"""Every container of every backend golden case, started in the sandbox exactly as apply starts it
(`docker.run_command` over SSH, its HostFiles written first): each serving container answers its
readiness path, each worker of a distributed replica keeps running. The devices are left out (the
CPU host has none); the command lines are the backends' real ones."""

from __future__ import annotations

import base64
import json
import shlex
import time
from pathlib import Path

import pytest

from gpuctl.apply import docker
from gpuctl.backends.images import with_mirror
from gpuctl.backends.types import ContainerSpec
from gpuctl.sandbox import Sandbox, system
from gpuctl.sandbox.image import image_names
from gpuctl.sandbox.layout import SandboxHost

pytestmark = pytest.mark.sandbox
CASES = Path(__file__).resolve().parents[1] / "backends" / "cases"
GOLDEN = sorted(CASES.glob("*/expected/containers.json"))
SCRATCH = "/var/lib/gpuctl"


def containers(path: Path) -> list[ContainerSpec]:
    """The golden containers; HostFile contents are stored beside them (`<files/...>`)."""
    specs = []
    for item in json.loads(path.read_text())["containers"]:
        item.pop("spec_hash", None)
        for file in item["files"]:
            if file["content"].startswith("<files/"):
                file["content"] = (path.parent / file["content"][1:-1]).read_text()
        specs.append(ContainerSpec.model_validate(item))
    return specs


def in_sandbox(spec: ContainerSpec, host: SandboxHost, mirror: str) -> ContainerSpec:
    """The same container on a sandbox host: the sandbox's image, no device access (the stub
    needs none), the host's own address where the command binds to its host's address, and
    local model directories (which real hosts have) under the host's private /var/lib/gpuctl (the
    sandbox hosts share this machine's other directories)."""
    image = spec.image.removeprefix("registry.example.com:5000/")  # a case with a registry mirror
    command = list(spec.command)
    for i, word in enumerate(command[:-1]):
        if word == "--host" and command[i + 1] != "0.0.0.0":
            command[i + 1] = host.address
    mounts = [
        m
        if m.source.startswith(SCRATCH) or not m.read_only
        else m.model_copy(update={"source": SCRATCH + m.source})
        for m in spec.mounts
    ]
    update = {
        "host": host.name,
        "image": with_mirror(image, mirror),
        "gpus": [],
        "runtime": None,
        "devices": [],
    }
    return spec.model_copy(update=update | {"mounts": mounts, "command": command})


@pytest.mark.parametrize("golden", GOLDEN, ids=[p.parts[-3] for p in GOLDEN])
def test_the_stub_runs_every_real_command_line(sandbox: Sandbox, golden: Path) -> None:
    """The containers of a case run on different hosts (a replica's leader and workers do)."""
    originals = containers(golden)
    missing = sorted(
        {s.image for s in originals}
        - set(image_names())
        - {"registry.example.com:5000/" + i for i in image_names()}
    )
    if missing:
        pytest.skip(f"the sandbox registry carries only gpuctl's default images, not {', '.join(missing)}")
    hosts = sorted(sandbox.hosts, key=lambda h: h.profile != "cpu")
    started: list[ContainerSpec] = []
    try:
        for original, host in zip(originals, hosts, strict=False):
            spec = in_sandbox(original, host, sandbox.registry_mirror)
            files = {f.path for f in spec.files}
            for mount in spec.mounts:
                if mount.source not in files:
                    sandbox.ssh(host, f"mkdir -p {shlex.quote(mount.source)}")
            for file in spec.files:
                data = base64.b64encode(file.content.encode()).decode()
                parent, path = shlex.quote(str(Path(file.path).parent)), shlex.quote(file.path)
                assert (
                    sandbox.ssh(host, f"mkdir -p {parent} && echo {data} | base64 -d > {path}").returncode
                    == 0
                )
            run = sandbox.ssh(host, docker.run_command(spec), timeout=120)
            assert run.returncode == 0, run.stderr
            started.append(spec)
        time.sleep(1)
        for spec in started:
            host = sandbox.host(spec.host)
            state = sandbox.ssh(
                host, f"docker inspect --format '{{{{.State.Status}}}}' {spec.name}"
            ).stdout.strip()
            logs = sandbox.ssh(host, f"docker logs {spec.name} 2>&1").stdout
            assert state == "running", f"{spec.name}: {logs}"
            if spec.readiness.address is None:
                address, port, path = host.address, spec.readiness.port, spec.readiness.path
                system.wait_for(
                    lambda: system.http_status(address, port, path) == 200,  # noqa: B023 (called at once)
                    15,
                    f"{spec.name} answering {path}",
                )
    finally:
        for spec in started:
            sandbox.ssh(spec.host, f"docker rm -f {spec.name}; rm -rf /var/lib/gpuctl/*")
