"""`docker run` from a ContainerSpec: every part of the spec becomes exactly the argument Docker
expects, values with shell metacharacters stay one literal argument, secrets travel on stdin."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

import pytest

from gpuctl import labels
from gpuctl.apply import docker
from gpuctl.backends.types import ContainerSpec, HostFile, ModelFetch, Mount, Readiness
from gpuctl.errors import GpuctlError

NASTY = "$(touch /tmp/pwned); `id` ; rm -rf / & echo 'quoted' \"double\" \\ * ?"


def spec(**changes: object) -> ContainerSpec:
    base: dict[str, object] = {
        "name": "gpuctl-chat-0",
        "host": "gpu-01",
        "image": "registry.example:5000/gpustack/runner:cuda12.8-vllm0.11.0",
        "command": ["vllm", "serve", "Qwen/Qwen3-8B", "--port", "40000"],
        "env": {"CUDA_VISIBLE_DEVICES": "0,1", "HF_HOME": "/data/models/huggingface"},
        "gpus": ["0", "1"],
        "mounts": [Mount(source="/data/models", target="/data/models")],
        "shm_size": 10 << 30,
        "port": 40000,
        "readiness": Readiness(path="/health", port=40000, timeout=600),
        "labels": {labels.MANAGED: "true", labels.DEPLOYMENT: "chat", labels.REPLICA: "0"},
        "claimed_memory": 123,
    }
    return ContainerSpec.model_validate(base | changes)


def option_values(argv: list[str], option: str) -> list[str]:
    return [argv[i + 1] for i, word in enumerate(argv) if word == option]


def test_run_argv_carries_every_part_of_the_spec() -> None:
    s = spec(
        runtime="ascend",
        devices=["/dev/kfd", "/dev/dri/renderD128"],
        ipc_host=True,
        privileged=True,
        entrypoint=["/bin/bash", "-l"],
        command=["-c", "exec vllm serve model"],
        secret_env={"HF_TOKEN": "MY_TOKEN"},
    )
    argv = docker.run_argv(s)
    assert argv[:4] == ["docker", "run", "--detach", "--name"]
    assert option_values(argv, "--name") == ["gpuctl-chat-0"]
    assert option_values(argv, "--network") == ["host"]
    assert option_values(argv, "--restart") == ["unless-stopped"]
    assert option_values(argv, "--gpus") == ['"device=0,1"']
    assert option_values(argv, "--runtime") == ["ascend"]
    assert option_values(argv, "--device") == ["/dev/kfd", "/dev/dri/renderD128"]
    assert option_values(argv, "--shm-size") == [f"{10 << 30}b"]
    assert option_values(argv, "--ipc") == ["host"] and "--privileged" in argv
    assert option_values(argv, "--mount") == ["type=bind,source=/data/models,target=/data/models"]
    assert option_values(argv, "--env") == ["CUDA_VISIBLE_DEVICES=0,1", "HF_HOME=/data/models/huggingface"]
    assert option_values(argv, "--env-file") == ["/dev/stdin"]
    assert option_values(argv, "--entrypoint") == ["/bin/bash"]
    image_at = argv.index(s.image)
    assert argv[image_at + 1 :] == ["-l", "-c", "exec vllm serve model"]


def test_labels_carry_identity_spec_hash_claim_and_canonical_spec_but_no_secret() -> None:
    s = spec(secret_env={"HF_TOKEN": "MY_TOKEN"})
    found = dict(item.split("=", 1) for item in option_values(docker.run_argv(s), "--label"))
    assert found[labels.SPEC_HASH] == s.spec_hash()
    assert found[labels.MANAGED] == "true" and found[labels.DEPLOYMENT] == "chat"
    canonical = json.loads(found[labels.SPEC])
    assert canonical["secret_env"] == {"HF_TOKEN": "MY_TOKEN"}
    assert canonical["claimed_memory"] == 123


def test_no_gpu_options_for_a_cpu_container() -> None:
    argv = docker.run_argv(spec(gpus=[], env={}, shm_size=None))
    assert not {"--gpus", "--runtime", "--device", "--shm-size", "--env-file", "--entrypoint"} & set(argv)


def test_metacharacters_reach_docker_as_one_literal_argument(tmp_path: Path) -> None:
    """The command line goes through a real shell to a `docker` that prints its arguments: each
    spec value arrives intact and nothing in it is executed."""
    canary = tmp_path / "pwned"
    nasty = NASTY.replace("/tmp/pwned", str(canary))
    s = spec(
        command=["vllm", "serve", nasty],
        env={"USER_VALUE": nasty},
        mounts=[Mount(source=f"/data/a,b {nasty}", target="/data/x", read_only=True)],
    )
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "docker").write_text('#!/bin/sh\nfor a in "$@"; do printf "%s\\0" "$a"; done\n')
    (fake / "docker").chmod(0o755)
    done = subprocess.run(
        ["sh", "-c", docker.run_command(s)],
        capture_output=True,
        env={"PATH": f"{fake}:/usr/bin:/bin"},
        cwd=tmp_path,
        check=True,
    )
    received = done.stdout.decode().split("\0")[:-1]
    assert received == docker.run_argv(s)[1:]
    assert received[-1] == nasty and f"USER_VALUE={nasty}" in received
    assert not canary.exists()
    # the mount source with a comma and quotes is one CSV field
    mount = option_values(received, "--mount")[0]
    assert mount.startswith('type=bind,"source=/data/a,b ') and mount.endswith(",target=/data/x,readonly")


def test_writable_mount_sources_are_created_first(tmp_path: Path) -> None:
    s = spec(
        mounts=[
            Mount(source=str(tmp_path / "models"), target="/m"),
            Mount(source="/ro", target="/ro", read_only=True),
        ]
    )
    command = docker.run_command(s)
    assert command.startswith(f"mkdir -p -- {shlex.quote(str(tmp_path / 'models'))} && docker run ")


def test_secret_env_file_reads_the_local_environment() -> None:
    s = spec(secret_env={"HF_TOKEN": "MY_TOKEN", "API_KEY": "OTHER"})
    text = docker.secret_env_file(s, {"MY_TOKEN": "hf_abc $(x) 'q'", "OTHER": "k"})
    assert text == "API_KEY=k\nHF_TOKEN=hf_abc $(x) 'q'\n"


def test_missing_or_multiline_secrets_are_named_never_shown() -> None:
    s = spec(secret_env={"HF_TOKEN": "MY_TOKEN", "PEM": "MY_PEM"})
    with pytest.raises(GpuctlError) as raised:
        docker.secret_env_file(s, {"MY_PEM": "-----BEGIN-----\nsecretbody\n-----END-----"})
    text = str(raised.value)
    assert "MY_TOKEN" in text and "not set" in text and "export MY_TOKEN=" in text
    assert "MY_PEM" in text and "line break" in text
    assert "secretbody" not in text


def test_files_and_fetch_are_not_docker_options() -> None:
    s = spec(
        files=[HostFile(path="/var/lib/gpuctl/run/gpuctl-chat-0/config.json", content="{}")],
        fetch=ModelFetch(source="huggingface", repo="a/b", target="/data/models/x"),
    )
    assert "config.json" not in " ".join(docker.run_argv(s)).replace(
        docker.container_labels(s)[labels.SPEC], ""
    )


@pytest.mark.parametrize(
    ("stderr", "status", "expected"),
    [
        ("", 0, 0),
        ("Error response from daemon: No such container: abc", 1, 0),
        ("Error response from daemon: cannot remove: device busy", 1, 1),
    ],
)
def test_remove_is_idempotent(tmp_path: Path, stderr: str, status: int, expected: int) -> None:
    fake = tmp_path / "docker"
    fake.write_text(f"#!/bin/sh\necho {shlex.quote(stderr)} >&2\nexit {status}\n")
    fake.chmod(0o755)
    done = subprocess.run(
        ["sh", "-c", docker.remove_command("abc")],
        env={"PATH": f"{tmp_path}:/usr/bin:/bin"},
        capture_output=True,
    )
    assert done.returncode == expected
    if expected:
        assert "device busy" in done.stderr.decode()


def test_replaced_name_is_a_valid_unique_container_name() -> None:
    import re

    name = docker.replaced_name("gpuctl-chat-0", "0123456789abcdef0123")
    assert name == "gpuctl-chat-0.replaced-0123456789ab"
    assert re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+", name)
