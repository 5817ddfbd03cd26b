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

pytestmark = pytest.mark.sandbox
CASES = Path(__file__).resolve().parents[1] / "backends" / "cases"
GOLDEN = sorted(CASES.glob("*/expected/containers.json"))


def containers(path: Path) -> list[ContainerSpec]:
    return [ContainerSpec.model_validate(c) for c in json.loads(path.read_text())["containers"]]


def on_cpu_host(spec: ContainerSpec, host: str, mirror: str) -> ContainerSpec:
    """The same container with the sandbox's image and without device access."""
    image = spec.image.removeprefix("registry.example.com:5000/")  # a case with a registry mirror
    return spec.model_copy(
        update={"host": host, "image": with_mirror(image, mirror), "gpus": [], "runtime": None, "devices": []}
    )


@pytest.mark.parametrize("golden", GOLDEN, ids=[p.parts[-3] for p in GOLDEN])
def test_the_stub_runs_every_real_command_line(sandbox: Sandbox, golden: Path) -> None:
    host = sandbox.host("cpu")
    started: list[ContainerSpec] = []
    try:
        for original in containers(golden):
            spec = on_cpu_host(original, host.name, sandbox.registry_mirror)
            for file in spec.files:
                data = base64.b64encode(file.content.encode()).decode()
                parent, path = shlex.quote(str(Path(file.path).parent)), shlex.quote(file.path)
                write = f"mkdir -p {parent} && echo {data} | base64 -d > {path}"
                assert sandbox.ssh(host, write).returncode == 0
            run = sandbox.ssh(host, docker.run_command(spec), timeout=120)
            assert run.returncode == 0, run.stderr
            started.append(spec)
        time.sleep(1)
        for spec in started:
            state = sandbox.ssh(
                host, f"docker inspect --format '{{{{.State.Status}}}}' {spec.name}"
            ).stdout.strip()
            logs = sandbox.ssh(host, f"docker logs {spec.name} 2>&1").stdout
            assert state == "running", f"{spec.name}: {logs}"
            if spec.readiness.address is None:
                system.wait_for(
                    lambda spec=spec: (
                        system.http_status(host.address, spec.readiness.port, spec.readiness.path) == 200
                    ),
                    15,
                    f"{spec.name} answering {spec.readiness.path}",
                )
    finally:
        names = " ".join(s.name for s in started)
        if names:
            sandbox.ssh(host, f"docker rm -f {names}; rm -rf /var/lib/gpuctl/run /var/lib/gpuctl/models")
