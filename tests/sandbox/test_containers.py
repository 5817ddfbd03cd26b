"""Containers on sandbox hosts, driven over SSH as apply will: images from the sandbox registry,
`--gpus` device requests, the nvidia/ascend runtimes, and the stub backend started with each
backend's real command line, including its fault modes."""

from __future__ import annotations

import itertools
import json
import shlex
import time

import pytest

from gpuctl.backends.images import all_default_images, default_image, with_mirror
from gpuctl.sandbox import Sandbox, system

pytestmark = pytest.mark.sandbox
PORTS = itertools.count(41000)


def ok(sandbox: Sandbox, host: str, command: str) -> str:
    done = sandbox.ssh(host, command, timeout=120)
    assert done.returncode == 0, f"{host}: {command}: {done.stderr}"
    return done.stdout


def wait_status(address: str, port: int, path: str, want: int, timeout: float = 15) -> None:
    system.wait_for(
        lambda: system.http_status(address, port, path) == want, timeout, f"{path} answering {want}"
    )


def test_registry_carries_every_default_image(sandbox: Sandbox) -> None:
    import urllib.request

    with urllib.request.urlopen(f"http://{sandbox.registry_mirror}/v2/gpustack/runner/tags/list") as answer:
        tags = set(json.load(answer)["tags"])
    assert {image.split(":", 1)[1] for image in all_default_images()} <= tags
    host = sandbox.host("nvidia-2xrtx4090")
    image = with_mirror(default_image("sglang", "nvidia"), sandbox.registry_mirror)
    assert image in ok(sandbox, host.name, f"docker pull {image}")


def test_gpus_device_request_on_nvidia_hosts_only(sandbox: Sandbox) -> None:
    image = with_mirror(default_image("vllm", "nvidia"), sandbox.registry_mirror)
    host = sandbox.host("nvidia-8xh100")
    name = "gpus-test"
    ok(sandbox, host.name, f"docker run -d --name {name} --gpus '\"device=0,1\"' {image} sleep 300")
    requests = json.loads(
        ok(sandbox, host.name, f"docker inspect {name} --format '{{{{json .HostConfig.DeviceRequests}}}}'")
    )
    assert requests == [
        {"Driver": "", "Count": 0, "DeviceIDs": ["0", "1"], "Capabilities": [["gpu"]], "Options": {}}
    ]
    assert "nvidia" in ok(sandbox, host.name, "docker info --format '{{json .Runtimes}}'")
    ok(sandbox, host.name, f"docker rm -f {name}")
    cpu = sandbox.host("cpu")
    assert "nvidia" not in ok(sandbox, cpu.name, "docker info --format '{{json .Runtimes}}'")
    refused = sandbox.ssh(cpu, f"docker run --rm --gpus all {image} true")
    assert refused.returncode != 0 and "could not select device driver" in refused.stderr


def test_ascend_runtime_runs_containers(sandbox: Sandbox) -> None:
    host = sandbox.host("ascend-8x910b")
    image = with_mirror(default_image("mindie", "ascend-910b"), sandbox.registry_mirror)
    out = ok(
        sandbox,
        host.name,
        f"docker run --rm --runtime ascend -e ASCEND_VISIBLE_DEVICES=0 {image} echo started",
    )
    assert out == "started\n"


BACKENDS = {
    # backend: (image accelerator, command line template)
    "vllm": (
        "nvidia",
        "vllm serve /var/lib/gpuctl/models/Qwen3-8B --host 0.0.0.0 --port {port} --served-model-name {name}",
    ),
    "sglang": (
        "nvidia",
        "python3 -m sglang.launch_server --model-path /models/Qwen3-8B --host 0.0.0.0 --port={port} "
        "--served-model-name {name} --tp-size 1",
    ),
    "voxbox": (
        "nvidia",
        "vox-box start --model /models/whisper --data-dir /tmp --host 0.0.0.0 --port {port}",
    ),
    "llama-box": (
        "nvidia",
        "tini -- llama-box --host 0.0.0.0 --port {port} -m /models/q4.gguf --alias {name}",
    ),
}


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_stub_serves_a_backend_command_line(sandbox: Sandbox, backend: str) -> None:
    accelerator, template = BACKENDS[backend]
    host = sandbox.host("nvidia-8xh100")
    port, name = next(PORTS), f"{backend}-model"
    image = with_mirror(default_image(backend, accelerator), sandbox.registry_mirror)
    command = template.format(port=port, name=name)
    ok(sandbox, host.name, f"docker run -d --name stub-{backend} --network host {image} {command}")
    try:
        wait_status(host.address, port, "/health", 200)
        models = json.loads(_get(host.address, port, "/v1/models"))
        served = name if "{name}" in template else "whisper"
        assert [m["id"] for m in models["data"]] == [served]
        reply = json.loads(
            _post(host.address, port, "/v1/chat/completions", {"model": served, "messages": []})
        )
        assert reply["object"] == "chat.completion" and reply["model"] == served
        logs = ok(sandbox, host.name, f"docker logs stub-{backend} 2>&1")
        assert f"gpuctl-stub: argv: {command.split(' -- ')[-1].split()[0]}" in logs
        assert "GET /v1/models -> 200 OK" in logs
    finally:
        ok(sandbox, host.name, f"docker rm -f stub-{backend}")


def test_stub_as_mindie_reads_its_config(sandbox: Sandbox) -> None:
    host = sandbox.host("ascend-8x910b")
    port = next(PORTS)
    config = {
        "ServerConfig": {"ipAddress": host.address, "port": port, "managementPort": port + 1},
        "BackendConfig": {"ModelDeployConfig": {"ModelConfig": [{"modelName": "qwen3-32b", "worldSize": 2}]}},
    }
    document = shlex.quote(json.dumps(config, indent=2))
    ok(
        sandbox,
        host.name,
        f"mkdir -p /var/lib/gpuctl/mindie && echo {document} > /var/lib/gpuctl/mindie/config.json",
    )
    image = with_mirror(default_image("mindie", "ascend-910b"), sandbox.registry_mirror)
    service = "/usr/local/Ascend/mindie/latest/mindie-service"
    mount = f"/var/lib/gpuctl/mindie/config.json:{service}/conf/config.json:ro"
    run = f"docker run -d --name stub-mindie --network host --runtime ascend -v {mount}"
    ok(sandbox, host.name, f"{run} {image} {service}/bin/mindieservice_daemon")
    try:
        wait_status(host.address, port, "/v2/health/ready", 200)
        assert json.loads(_get(host.address, port, "/v1/models"))["data"][0]["id"] == "qwen3-32b"
    finally:
        ok(sandbox, host.name, "docker rm -f stub-mindie")


def test_stub_fault_modes(sandbox: Sandbox) -> None:
    host = sandbox.host("nvidia-4xa100-40g")
    image = with_mirror(default_image("vllm", "nvidia"), sandbox.registry_mirror)
    late, never, dying = next(PORTS), next(PORTS), next(PORTS)
    run = "docker run -d --network host"
    ok(
        sandbox,
        host.name,
        f"{run} --name late -e GPUCTL_STUB_READY_AFTER=3 {image} vllm serve m --port {late}",
    )
    ok(
        sandbox,
        host.name,
        f"{run} --name never -e GPUCTL_STUB_NEVER_READY=1 {image} vllm serve m --port {never}",
    )
    ok(
        sandbox,
        host.name,
        f"{run} --name dying -e GPUCTL_STUB_EXIT_AFTER=2 {image} vllm serve m --port {dying}",
    )
    try:
        wait_status(host.address, late, "/health", 503)
        started = time.monotonic()
        wait_status(host.address, late, "/health", 200)
        assert time.monotonic() - started > 1
        assert system.http_status(host.address, never, "/v1/models") == 503
        assert ok(sandbox, host.name, "docker wait dying").strip() == "1"
        assert "exiting with status 1" in ok(sandbox, host.name, "docker logs dying 2>&1")
        assert system.http_status(host.address, never, "/health") == 503  # still loading, forever
    finally:
        ok(sandbox, host.name, "docker rm -f late never dying")


def _get(address: str, port: int, path: str) -> str:
    import urllib.request

    with urllib.request.urlopen(f"http://{address}:{port}{path}", timeout=5) as answer:
        return answer.read().decode()


def _post(address: str, port: int, path: str, body: dict) -> str:
    import urllib.request

    request = urllib.request.Request(
        f"http://{address}:{port}{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        return answer.read().decode()
