"""Every backend on every accelerator profile it runs on, against the sandbox: create, a no-op
re-apply, a changed parameter (replace), removal of the spec (prune). The stub backends are
started with each backend's real command line and answer their real readiness paths."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

pytestmark = pytest.mark.sandbox


@dataclass(frozen=True)
class Case:
    model: str
    backend: str
    profile: str
    before: str
    """Spec lines under `spec:` (backend, parameters ...)."""
    after: str
    """The same with one parameter changed."""
    changed: str
    """An argument only the replaced container has (or a line of its config file, with `file`)."""
    env: tuple[tuple[str, str], ...] = ()
    offload: bool = False
    file: str | None = None
    """A HostFile of the container (MindIE's config.json) to look for `changed` in."""


def case(
    model: str, backend: str, profile: str, flag: str, old: str, new: str, offload: bool = False
) -> Case:
    lines = f"backend: {backend}\n"
    return Case(
        model,
        backend,
        profile,
        lines + f"parameters: [{flag}={old}]\n",
        lines + f"parameters: [{flag}={new}]\n",
        f"{flag}={new}",
        offload=offload,
    )


TOKEN = "backend: sglang\nsecrets: {HF_TOKEN: {fromEnv: SANDBOX_HF_TOKEN}}\n"
"""FLUX.1-dev is gated: its spec references a token (any value does in the sandbox)."""
CASES = {
    "vllm-h100": case("chat", "vllm", "nvidia-8xh100", "--max-model-len", "8192", "4096"),
    "vllm-a100": case("chat", "vllm", "nvidia-4xa100-40g", "--max-model-len", "8192", "4096"),
    "vllm-rtx4090": case("chat", "vllm", "nvidia-2xrtx4090", "--max-model-len", "4096", "2048"),
    "vllm-mig": case("chat", "vllm", "nvidia-h100-mig", "--max-model-len", "8192", "4096"),
    "vllm-910b": case("chat", "vllm", "ascend-8x910b", "--max-model-len", "8192", "4096"),
    "sglang-h100": case("chat", "sglang", "nvidia-8xh100", "--context-length", "8192", "4096"),
    "sglang-910b": case("chat", "sglang", "ascend-8x910b", "--context-length", "8192", "4096"),
    "sglang-diffusion": Case(
        "image",
        "sglang",
        "nvidia-8xh100",
        TOKEN,
        TOKEN + "env: {GPUCTL_STUB_READY_AFTER: '1'}\n",
        "GPUCTL_STUB_READY_AFTER=1",
        env=(("SANDBOX_HF_TOKEN", "hf_" + "s" * 34),),
    ),
    "mindie-910b": Case(
        "mindie",
        "mindie",
        "ascend-8x910b",
        "backend: mindie\nparameters: [--max-seq-len=8192]\n",
        "backend: mindie\nparameters: [--max-seq-len=4096]\n",
        '"maxSeqLen": 4096,',
        file="/var/lib/gpuctl/run/gpuctl-mindie-910b-0/config.json",
    ),
    "voxbox-rtx4090": Case(
        "speech",
        "voxbox",
        "nvidia-2xrtx4090",
        "backend: voxbox\n",
        "backend: voxbox\nparameters: [-d]\n",
        "-d",
    ),
    "voxbox-cpu": Case(
        "speech",
        "voxbox",
        "cpu",
        "backend: voxbox\n",
        "backend: voxbox\nparameters: [-d]\n",
        "-d",
        offload=True,
    ),
    "llama-box-cpu": case("gguf", "llama-box", "cpu", "--ctx-size", "4096", "2048", offload=True),
    "llama-box-mig": case("gguf", "llama-box", "nvidia-h100-mig", "--ctx-size", "4096", "2048"),
    "llama-box-910b": case("gguf", "llama-box", "ascend-8x910b", "--ctx-size", "4096", "2048"),
}


def args_of(item: dict) -> list[str]:
    return [*(item["Config"]["Entrypoint"] or []), *(item["Config"]["Cmd"] or [])]


@pytest.mark.parametrize("name", list(CASES))
def test_create_noop_replace_prune(fleet, name: str) -> None:
    c = CASES[name]
    env = dict(c.env)
    fleet.use(c.profile)
    fleet.write(name, c.model, c.profile, c.before, c.offload)

    created = fleet.apply(env=env)
    assert created.code == 0, created.stderr
    assert {r["action"] for r in created.json["changes"]} == {"create"}
    containers = fleet.containers(c.profile)
    assert list(containers) == [f"gpuctl-{name}-0"], containers
    first = containers[f"gpuctl-{name}-0"]
    labels = first["Config"]["Labels"]
    assert labels["gpuctl.backend"] == c.backend and labels["gpuctl.spec-hash"]
    port, path = int(labels["gpuctl.port"]), labels["gpuctl.readiness-path"]
    assert fleet.http(c.profile, port, path) == 200

    assert fleet.plan_exit_code() == 0
    again = fleet.apply(env=env)
    assert again.code == 0 and again.json["changes"] == [], again.stderr

    fleet.write(name, c.model, c.profile, c.after, c.offload)
    replaced = fleet.apply(env=env)
    assert replaced.code == 0, replaced.stderr
    assert [(r["action"], r["status"]) for r in replaced.json["changes"]] == [("replace", "done")]
    second = fleet.containers(c.profile)[f"gpuctl-{name}-0"]
    assert second["Id"] != first["Id"]
    if c.file:
        everything = fleet.ssh(c.profile, f"cat {c.file}").stdout
    else:
        everything = " ".join(args_of(second) + second["Config"]["Env"])
    assert c.changed in everything
    assert fleet.http(c.profile, port, path) == 200
    assert fleet.plan_exit_code() == 0

    fleet.remove(name)
    fleet.write("placeholder", "chat", c.profile, "replicas: 0\n")
    pruned = fleet.apply(env=env)
    assert pruned.code == 0, pruned.stderr
    assert [(r["action"], r["status"]) for r in pruned.json["changes"]] == [("delete", "done")]
    assert fleet.containers() == {}
    leftovers = fleet.ssh(
        c.profile, "ls /var/lib/gpuctl/run 2>/dev/null; ls -d /var/lib/gpuctl/lock 2>/dev/null"
    )
    assert leftovers.stdout.strip() == ""


def test_amd_hosts_fail_clearly_without_device_nodes(fleet) -> None:
    """The sandbox does not simulate /dev/kfd (see docs/design.md): Docker's refusal is reported
    as the change's failure, and nothing is left behind."""
    fleet.use("amd-8xmi300x")
    fleet.write("rocm", "chat", "amd-8xmi300x", "backend: vllm\n")
    result = fleet.apply()
    assert result.code == 1
    [change] = result.json["changes"]
    assert change["status"] == "failed" and "/dev/kfd" in change["reason"]
    assert fleet.containers() == {}
