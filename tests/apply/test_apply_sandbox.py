"""Apply's behaviour under change and fault, against the sandbox: scaling, rollback of a backend
that never becomes ready, a host lost during an apply, an apply killed at a random point, two
applies at once, hostile spec strings, secrets, saved plans, status, logs and destroy."""

from __future__ import annotations

import json
import os
import random
import signal
import time
import uuid

import pytest

pytestmark = pytest.mark.sandbox

QUICK = "backend: vllm\nreadiness: {timeout: 30}\n"


def names(containers: dict[str, dict]) -> list[str]:
    return sorted(containers)


def wait_for(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_scale_up_and_down(fleet) -> None:
    fleet.use("nvidia-8xh100")
    fleet.write("chat", "chat", "nvidia-8xh100", QUICK + "replicas: 1\n")
    assert fleet.apply().code == 0
    fleet.write("chat", "chat", "nvidia-8xh100", QUICK + "replicas: 3\n")
    up = fleet.apply()
    assert up.code == 0, up.stderr
    assert sorted(up.results()) == [("chat", 1, "create"), ("chat", 2, "create")]
    assert names(fleet.containers()) == ["gpuctl-chat-0", "gpuctl-chat-1", "gpuctl-chat-2"]
    fleet.write("chat", "chat", "nvidia-8xh100", QUICK + "replicas: 1\n")
    down = fleet.apply()
    assert down.code == 0, down.stderr
    assert sorted(down.results()) == [("chat", 1, "delete"), ("chat", 2, "delete")]
    assert names(fleet.containers()) == ["gpuctl-chat-0"]
    assert fleet.plan_exit_code() == 0


def test_hosts_converge_in_parallel(fleet) -> None:
    """Two replicas on two hosts that each take 4 s to become ready finish in far less than 8 s."""
    fleet.use("nvidia-8xh100", "nvidia-2xrtx4090")
    slow = QUICK + "env: {GPUCTL_STUB_READY_AFTER: '4'}\n"
    fleet.write("left", "chat", "nvidia-8xh100", slow)
    fleet.write(
        "right", "chat", "nvidia-2xrtx4090", slow.replace("vllm", "vllm\nparameters: [--max-model-len=4096]")
    )
    result = fleet.apply()
    assert result.code == 0, result.stderr
    waits = [t for t in result.json["timings"] if t["phase"] == "readiness"]
    assert len(waits) == 2 and all(t["seconds"] >= 3.5 for t in waits)
    rollout = sum(t["seconds"] for t in waits)
    assert result.json["seconds"] < rollout, "the hosts were converged one after the other"


def test_a_backend_that_never_becomes_ready_is_rolled_back(fleet) -> None:
    """The old container takes longer to serve again than the new spec's timeout allows: the
    rollback waits for it as long as its own spec says."""
    fleet.use("nvidia-8xh100")
    slow_old = "env: {GPUCTL_STUB_READY_AFTER: '5'}\n"
    fleet.write(
        "chat",
        "chat",
        "nvidia-8xh100",
        QUICK + "replicas: 2\nparameters: [--max-model-len=8192]\n" + slow_old,
    )
    assert fleet.apply().code == 0
    before = {name: c["Id"] for name, c in fleet.containers().items()}
    broken = "backend: vllm\nreplicas: 2\nreadiness: {timeout: 3}\nparameters: [--max-model-len=4096]\n"
    fleet.write("chat", "chat", "nvidia-8xh100", broken + "env: {GPUCTL_STUB_NEVER_READY: '1'}\n")
    result = fleet.apply()
    assert result.code == 1
    first, second = result.results()[("chat", 0, "replace")], result.results()[("chat", 1, "replace")]
    assert first["status"] == "failed" and "did not become ready within 3 s" in first["reason"]
    assert "the old gpuctl-chat-0 serves again" in first["reason"]
    assert any("never becoming ready" in line for line in first["log_tail"])
    assert second["status"] == "skipped" and "chat/0" in second["reason"]  # one replica at a time
    after = fleet.containers()
    assert {name: c["Id"] for name, c in after.items()} == before
    assert all(c["State"]["Running"] for c in after.values())
    port = int(after["gpuctl-chat-0"]["Config"]["Labels"]["gpuctl.port"])
    assert fleet.http("nvidia-8xh100", port, "/health") == 200
    assert fleet.plan_exit_code() == 2


def test_a_container_that_exits_fails_with_its_last_log_lines(fleet) -> None:
    fleet.use("cpu")
    fleet.write(
        "crash",
        "gguf",
        "cpu",
        "backend: llama-box\nenv: {GPUCTL_STUB_NEVER_READY: '1', GPUCTL_STUB_EXIT_AFTER: '1'}\n",
        offload=True,
    )
    result = fleet.apply()
    assert result.code == 1
    [change] = result.json["changes"]
    assert change["status"] == "failed" and "the container exited" in change["reason"], change["reason"]
    assert "the new containers were removed" in change["reason"]
    assert any("exiting with status 1" in line for line in change["log_tail"])
    assert "last log lines" in fleet.gpuctl(*fleet.apply_args()).stdout
    assert fleet.containers() == {}


def _apply_with_a_fault(fleet, sandbox, fault: str) -> dict[str, dict]:
    """Apply two deployments, one on the CPU host and one on an RTX host; while the CPU host's
    container loads, inject `fault` there. The apply's results by deployment (it must exit 1)."""
    fleet.use("cpu", "nvidia-2xrtx4090")
    fleet.write(
        "lost", "gguf", "cpu", "backend: llama-box\nenv: {GPUCTL_STUB_READY_AFTER: '30'}\n", offload=True
    )
    fleet.write("kept", "chat", "nvidia-2xrtx4090", QUICK + "parameters: [--max-model-len=4096]\n")
    running = fleet.start_apply("--json", output=True)
    try:
        wait_for(lambda: "gpuctl-lost-0" in fleet.containers("cpu"), 120, "the container on the CPU host")
        sandbox.fault(fleet.host("cpu"), fault)
        stdout, stderr = running.communicate(timeout=240)
    finally:
        running.kill()
    assert running.returncode == 1, stderr
    return {c["deployment"]: c for c in json.loads(stdout)["changes"]}


def test_a_host_lost_during_the_apply_fails_its_changes_only(fleet, sandbox) -> None:
    results = _apply_with_a_fault(fleet, sandbox, "link-down")
    assert results["kept"]["status"] == "done"
    assert results["lost"]["status"] == "failed" and "stopped answering" in results["lost"]["reason"]
    sandbox.fault(fleet.host("cpu"), "link-up")
    again = fleet.apply()  # takes over the lock the first apply could not release on the lost host
    assert again.code == 0, again.stderr
    assert fleet.plan_exit_code() == 0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_an_apply_killed_at_a_random_point_converges_on_the_next(fleet, seed: int) -> None:
    """SIGKILL while containers are being replaced, created and deleted; the next apply takes
    over the lock, and the hosts end with exactly the containers the specs want, all serving."""
    fleet.use("nvidia-8xh100", "cpu")
    fleet.write("chat", "chat", "nvidia-8xh100", QUICK + "replicas: 2\nparameters: [--max-model-len=8192]\n")
    fleet.write("gone", "gguf", "cpu", "backend: llama-box\n", offload=True)
    assert fleet.apply().code == 0
    slow = "env: {GPUCTL_STUB_READY_AFTER: '1'}\n"
    fleet.write(
        "chat", "chat", "nvidia-8xh100", QUICK + "replicas: 3\nparameters: [--max-model-len=4096]\n" + slow
    )
    fleet.remove("gone")
    fleet.write("extra", "gguf", "cpu", "backend: llama-box\n" + slow, offload=True)
    delay = random.Random(seed).uniform(0.5, 6.0)
    running = fleet.start_apply()
    time.sleep(delay)
    os.kill(running.pid, signal.SIGKILL)
    running.wait()
    again = fleet.apply()
    assert again.code == 0, f"killed after {delay:.1f} s: {again.stderr}"
    containers = fleet.containers()
    assert names(containers) == ["gpuctl-chat-0", "gpuctl-chat-1", "gpuctl-chat-2", "gpuctl-extra-0"]
    assert all(c["State"]["Running"] for c in containers.values())
    assert fleet.plan_exit_code() == 0
    locked = {
        p for p in ("nvidia-8xh100", "cpu") if fleet.ssh(p, "ls -d /var/lib/gpuctl/lock 2>/dev/null").stdout
    }
    changed = {fleet.sandbox.host(c["host"]).profile for c in again.json["changes"]}
    assert not locked & changed  # the re-apply took over and released the locks of the hosts it changed
    if "cpu" in locked:  # the killed apply had finished there: the next apply changing it takes it over
        fleet.write("later", "gguf", "cpu", "backend: llama-box\n", offload=True)
        later = fleet.apply()
        assert later.code == 0 and "taking over a stale lock" in later.stderr, later.stderr
        assert not fleet.ssh("cpu", "ls -d /var/lib/gpuctl/lock 2>/dev/null").stdout


def kill_mid_replacement(fleet, profile: str, name: str) -> None:  # type: ignore[no-untyped-def]
    """Start an apply and SIGKILL it once it has renamed the old container `name` out of the way
    and started the new one (while it waits for the new one to serve)."""
    running = fleet.start_apply()

    def both() -> bool:
        names = list(fleet.containers(profile))
        return name in names and any(n.startswith(name + ".replaced-") for n in names)

    try:
        wait_for(both, 120, "the old container renamed and the new one started")
    finally:
        os.kill(running.pid, signal.SIGKILL)
        running.wait()


def test_a_replacement_a_killed_apply_left_is_finished_or_undone(fleet) -> None:
    """Killed while the new container loads (the old one stopped and renamed): the next apply does
    not trust the new one because it matches the spec. It waits for it to serve before removing the
    old one, and when it never serves brings the old one back, with the files it had."""
    fleet.use("ascend-8x910b")
    base = "backend: mindie\nreadiness: {timeout: 30}\n"
    fleet.write("mind", "mindie", "ascend-8x910b", base + "parameters: [--max-seq-len=8192]\n")
    assert fleet.apply().code == 0
    [old] = fleet.containers().values()
    config = "sha256sum /var/lib/gpuctl/run/gpuctl-mind-0/config.json; ls /var/lib/gpuctl/run"
    files = fleet.ssh("ascend-8x910b", config).stdout
    broken = "backend: mindie\nreadiness: {timeout: 4}\nenv: {GPUCTL_STUB_NEVER_READY: '1'}\n"
    fleet.write("mind", "mindie", "ascend-8x910b", broken + "parameters: [--max-seq-len=4096]\n")
    kill_mid_replacement(fleet, "ascend-8x910b", "gpuctl-mind-0")
    undone = fleet.apply()
    assert undone.code == 1, undone.stderr
    result = undone.results()[("mind", 0, "delete")]
    assert result["status"] == "failed" and "interrupted apply" in result["reason"], result["reason"]
    assert "did not become ready within 4 s" in result["reason"] and "serves again" in result["reason"]
    assert any("never becoming ready" in line for line in result["log_tail"])
    containers = fleet.containers()
    assert {name: c["Id"] for name, c in containers.items()} == {"gpuctl-mind-0": old["Id"]}
    assert fleet.http("ascend-8x910b", int(old["Config"]["Labels"]["gpuctl.port"]), "/v2/health/ready") == 200
    assert fleet.ssh("ascend-8x910b", config).stdout == files  # its own config back, no copy left
    assert fleet.plan_exit_code() == 2

    slow = "backend: mindie\nreadiness: {timeout: 30}\nenv: {GPUCTL_STUB_READY_AFTER: '3'}\n"
    fleet.write("mind", "mindie", "ascend-8x910b", slow + "parameters: [--max-seq-len=4096]\n")
    kill_mid_replacement(fleet, "ascend-8x910b", "gpuctl-mind-0")
    finished = fleet.apply()
    assert finished.code == 0, finished.stderr
    [new] = fleet.containers().values()
    assert new["Name"] == "/gpuctl-mind-0" and new["Id"] != old["Id"] and new["State"]["Running"]
    assert fleet.http("ascend-8x910b", int(new["Config"]["Labels"]["gpuctl.port"]), "/v2/health/ready") == 200
    assert fleet.ssh("ascend-8x910b", "ls /var/lib/gpuctl/run").stdout.split() == ["gpuctl-mind-0"]
    assert fleet.plan_exit_code() == 0

    # Killed after copying the files aside, before starting the new container: the next apply
    # replaces the renamed old one as any stopped container, and drops the copy once it serves.
    renamed = f"gpuctl-mind-0.replaced-{new['Id'][:12]}"
    fleet.docker("ascend-8x910b", "stop", "gpuctl-mind-0")
    fleet.docker("ascend-8x910b", "rename", "gpuctl-mind-0", renamed)
    fleet.ssh(
        "ascend-8x910b", "cp -a /var/lib/gpuctl/run/gpuctl-mind-0 /var/lib/gpuctl/run/gpuctl-mind-0.rollback"
    )
    fleet.write("mind", "mindie", "ascend-8x910b", slow + "parameters: [--max-seq-len=2048]\n")
    replaced = fleet.apply()
    assert replaced.code == 0, replaced.stderr
    assert names(fleet.containers()) == ["gpuctl-mind-0"]
    assert fleet.ssh("ascend-8x910b", "ls /var/lib/gpuctl/run").stdout.split() == ["gpuctl-mind-0"]
    assert fleet.plan_exit_code() == 0


def test_docker_stopped_during_the_apply_fails_that_host_with_the_cause(fleet, sandbox) -> None:
    results = _apply_with_a_fault(fleet, sandbox, "docker-stop")
    assert results["kept"]["status"] == "done"
    lost = results["lost"]
    assert lost["status"] == "failed" and "Docker on the host does not answer" in lost["reason"], lost
    assert "rolling back failed: removing the new gpuctl-lost-0" in lost["reason"]  # not "were removed"
    sandbox.fault(fleet.host("cpu"), "docker-start")
    again = fleet.apply()
    assert again.code == 0, again.stderr
    assert names(fleet.containers()) == ["gpuctl-kept-0", "gpuctl-lost-0"]
    assert fleet.plan_exit_code() == 0


def test_two_applies_at_once(fleet, tmp_path) -> None:
    """While one apply holds the host, another one fails at once naming the holder; a third that
    may wait gets the lock when the first is done and carries out its own plan."""
    fleet.use("cpu")
    fleet.write(
        "slow", "gguf", "cpu", "backend: llama-box\nenv: {GPUCTL_STUB_READY_AFTER: '8'}\n", offload=True
    )
    first = fleet.start_apply("--json", output=True)
    try:
        wait_for(lambda: "gpuctl-slow-0" in fleet.containers("cpu"), 120, "the first apply's container")
        fleet.write("other", "gguf", "cpu", "backend: llama-box\n", offload=True)
        refused = fleet.apply()
        waiting = fleet.apply("--lock-timeout", "2m")
        _, err = first.communicate(timeout=120)
    finally:
        first.kill()
    assert first.returncode == 0, err
    assert refused.code == 1, refused.stderr
    reason = refused.json["hosts"][0]["reason"]
    assert "is locked by" in reason and f"pid {first.pid}" in reason and "gpuctl apply" in reason
    assert "--lock-timeout" in reason
    assert refused.json["changes"][0]["status"] == "skipped"
    assert waiting.code == 0, waiting.stderr
    assert "waiting for the lock held by" in waiting.stderr
    assert names(fleet.containers()) == ["gpuctl-other-0", "gpuctl-slow-0"]


def test_shell_metacharacters_in_a_spec_execute_nothing(fleet, tmp_path) -> None:
    canary = f"/tmp/gpuctl-canary-{uuid.uuid4().hex}"
    hostile = f"x$(touch {canary})`touch {canary}`;touch {canary}&&touch {canary}|'\"\\$HOME*"
    fleet.use("cpu")
    body = (
        "backend: llama-box\n"
        f"env: {{USER_VALUE: {json.dumps(hostile)}}}\n"
        f"parameters: [{json.dumps('--temp=0.7' + hostile)}]\n"
        f"servedName: {json.dumps('name ' + hostile)}\n"
    )
    fleet.write("hostile", "gguf", "cpu", body, offload=True)
    result = fleet.apply()
    assert result.code == 0, result.stderr
    [container] = fleet.containers("cpu").values()
    assert f"USER_VALUE={hostile}" in container["Config"]["Env"]
    assert "--temp=0.7" + hostile in container["Config"]["Cmd"]
    assert container["Config"]["Labels"]["gpuctl.served-name"] == "name " + hostile
    assert fleet.ssh("cpu", f"test -e {canary} && echo executed || echo clean").stdout.strip() == "clean"
    assert not os.path.exists(canary)


def test_secrets_are_never_shown_or_stored(fleet) -> None:
    secret = "hf_" + uuid.uuid4().hex + "SECRET"
    fleet.use("nvidia-8xh100")
    body = QUICK + "secrets: {HF_TOKEN: {fromEnv: SANDBOX_SECRET}, API_KEY: {fromEnv: SANDBOX_SECRET}}\n"
    fleet.write("private", "chat", "nvidia-8xh100", body)
    env = {"SANDBOX_SECRET": secret}
    text = fleet.gpuctl(*fleet.apply_args(), env=env)
    assert text.code == 0, text.stderr
    fleet.write("private", "chat", "nvidia-8xh100", body + "parameters: [--max-model-len=4096]\n")
    as_json = fleet.apply(env=env)
    assert as_json.code == 0, as_json.stderr
    status = fleet.gpuctl("status", "-i", str(fleet.inventory), "--json")
    logs = fleet.gpuctl("logs", "private", "-i", str(fleet.inventory))
    for run in (text, as_json, status, logs):
        assert secret not in run.stdout + run.stderr
    [container] = fleet.containers().values()
    assert f"HF_TOKEN={secret}" in container["Config"]["Env"]  # the backend gets it ...
    assert secret not in json.dumps(container["Config"]["Labels"]) + " ".join(container["Config"]["Cmd"])
    # ... and nothing gpuctl left on the host holds it: no file of gpuctl's, no command line. (The
    # pattern is written so that these commands' own command lines do not contain the secret.)
    pattern = f"{secret[:-1]}[{secret[-1]}]"
    found = fleet.ssh(
        "nvidia-8xh100", f"grep -rl '{pattern}' /var/lib/gpuctl; ps -eo args | grep -c '{pattern}'"
    )
    assert found.stdout.split() == ["0"], found.stdout


def test_a_missing_secret_fails_that_deployment_clearly(fleet) -> None:
    fleet.use("nvidia-8xh100")
    fleet.write(
        "flux", "image", "nvidia-8xh100", "backend: sglang\nsecrets: {HF_TOKEN: {fromEnv: UNSET_TOKEN_X}}\n"
    )
    fleet.write("chat", "chat", "nvidia-8xh100", QUICK)
    result = fleet.apply()
    assert result.code == 1
    flux, chat = result.results()[("flux", 0, "create")], result.results()[("chat", 0, "create")]
    assert chat["status"] == "done"
    assert flux["status"] == "skipped" and "UNSET_TOKEN_X" in flux["reason"] and "not set" in flux["reason"]
    assert "Warning: flux/0 needs UNSET_TOKEN_X" in result.stderr


def test_a_saved_plan_is_refused_when_the_hosts_changed(fleet, sandbox) -> None:
    fleet.use("nvidia-8xh100")
    fleet.write("chat", "chat", "nvidia-8xh100", QUICK)
    saved = fleet.root / "plan.json"
    plan = fleet.gpuctl(*fleet.plan_args(), "--out", str(saved))
    assert plan.code == 0, plan.stderr
    sandbox.set_memory(fleet.host("nvidia-8xh100"), "5", 20000, process="someone-elses-job")
    try:
        stale = fleet.gpuctl("apply", "-i", str(fleet.inventory), str(saved), "--auto-approve")
    finally:
        sandbox.set_memory(fleet.host("nvidia-8xh100"), "5", 0)
    assert stale.code == 1
    assert "the hosts changed since the plan was made" in stale.stderr and "someone-elses-job" in stale.stderr
    assert fleet.containers() == {}
    fresh = fleet.gpuctl("apply", "-i", str(fleet.inventory), str(saved), "--auto-approve")
    assert fresh.code == 0, fresh.stderr
    assert names(fleet.containers()) == ["gpuctl-chat-0"]


def test_without_a_terminal_apply_needs_auto_approve(fleet) -> None:
    fleet.use("cpu")
    fleet.write("chat", "gguf", "cpu", "backend: llama-box\n", offload=True)
    args = [a for a in fleet.apply_args() if a != "--auto-approve"]
    refused = fleet.gpuctl(*args)
    assert refused.code == 1 and "--auto-approve" in refused.stderr and "not a terminal" in refused.stderr
    assert fleet.containers() == {}


def test_status_logs_request_and_destroy(fleet) -> None:
    fleet.use("nvidia-8xh100", "cpu")
    fleet.write("chat", "chat", "nvidia-8xh100", QUICK + "servedName: qwen\n")
    fleet.write("gguf", "gguf", "cpu", "backend: llama-box\n", offload=True)
    assert fleet.apply().code == 0
    status = fleet.gpuctl("status", "-i", str(fleet.inventory), "--json")
    assert status.code == 0, status.stderr
    rows = {row["deployment"]: row for row in json.loads(status.stdout)["containers"]}
    assert rows["chat"]["ready"] == "yes" and rows["chat"]["state"] == "running"
    assert rows["chat"]["endpoint"] == f"http://{fleet.address('nvidia-8xh100')}:30000"
    assert rows["chat"]["devices"] == "0" and rows["gguf"]["devices"] == "cpu"
    text = fleet.gpuctl("status", "-i", str(fleet.inventory)).stdout
    assert "DEPLOYMENT" in text and "qwen" in text
    import urllib.request

    request = urllib.request.Request(
        rows["chat"]["endpoint"] + "/v1/chat/completions",
        data=json.dumps({"model": "qwen", "messages": [{"role": "user", "content": "hi"}]}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert json.load(answer)["model"] == "qwen"
    logs = fleet.gpuctl("logs", "chat", "-i", str(fleet.inventory))
    assert logs.code == 0 and "POST /v1/chat/completions" in logs.stdout
    missing = fleet.gpuctl("logs", "chat", "--replica", "5", "-i", str(fleet.inventory))
    assert missing.code == 1 and "replica 0" in missing.stderr
    only = fleet.gpuctl("destroy", "-i", str(fleet.inventory), "--target", "gguf", "--auto-approve", "--json")
    assert only.code == 0, only.stderr
    assert names(fleet.containers()) == ["gpuctl-chat-0"]
    everything = fleet.gpuctl("destroy", "-i", str(fleet.inventory), "--auto-approve")
    assert everything.code == 0 and "Apply complete: 1 done" in everything.stdout
    assert fleet.containers() == {}


def test_force_unlock_removes_a_lock_left_behind(fleet) -> None:
    fleet.use("cpu")
    owner = json.dumps(
        {
            "id": "0123",
            "user": "ci",
            "machine": "runner-7",
            "machine_id": "elsewhere",
            "pid": 4242,
            "pid_start": 1,
            "started": "2026-01-01T00:00:00Z",
            "command": "gpuctl apply",
        }
    )
    fleet.ssh("cpu", f"mkdir -p /var/lib/gpuctl/lock && echo '{owner}' > /var/lib/gpuctl/lock/owner")
    fleet.write("chat", "gguf", "cpu", "backend: llama-box\n", offload=True)
    blocked = fleet.apply()
    assert blocked.code == 1 and "locked by ci@runner-7 (pid 4242" in blocked.json["hosts"][0]["reason"]
    unlocked = fleet.gpuctl("force-unlock", fleet.host("cpu"), "-i", str(fleet.inventory), "--yes")
    assert unlocked.code == 0 and "held by ci@runner-7" in unlocked.stdout
    assert fleet.apply().code == 0
