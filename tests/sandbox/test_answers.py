"""Pre-rendered tool answers (gpuctl/sandbox/answers.py): for the prober's command lines a sandbox
host's tool prints, byte for byte, what the simulation renders; the answers follow the host's
state; a probe never starts the Python simulation; answers older than the state are not used.

No root needed: a host here is its state directory and its tool scripts, run by the real `sh`.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gpuctl.probe.inventory import facts_from, probe_command, probe_script
from gpuctl.probe.ssh import Outcome, Target
from gpuctl.sandbox import answers, hoststate
from gpuctl.sandbox.profiles import PROFILES
from gpuctl.sandbox.simtools import host_tools, run

BASE_TOOLS = ("sh", "hostname", "cat", "df", "date", "env")
"""What the probe script and the tool scripts need besides the simulated tools."""


class Host:
    """A sandbox host's state and tool scripts; `python` is what the scripts fall back to."""

    def __init__(self, root: Path, profile: str, python: str) -> None:
        self.dir = root / "host"
        self.bin = root / "bin"
        self.bin.mkdir()
        hoststate.write_host(self.dir, "t", f"t-{PROFILES[profile].short}-1", profile)
        for tool in host_tools(PROFILES[profile]):
            script = self.bin / tool
            script.write_text("#!/bin/sh\n" + answers.wrapper(tool, self.dir, "a test host", python))
            script.chmod(0o755)
        base = root / "base"
        base.mkdir()
        for name in BASE_TOOLS:
            (base / name).symlink_to(shutil.which(name))  # type: ignore[arg-type]
        self.path = f"{self.bin}:{base}"

    def tool(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / tool), *args], capture_output=True, text=True, env={"PATH": self.path}, timeout=30
        )

    def view(self) -> hoststate.HostView:
        return hoststate.load(self.dir)


@pytest.fixture
def fallbacks(tmp_path: Path) -> Path:
    """A stand-in for the Python simulation that records each call and fails."""
    log = tmp_path / "fallbacks.log"
    script = tmp_path / "no-python"
    script.write_text(f'#!/bin/sh\necho "$*" >> {log}\nexit 97\n')
    script.chmod(0o755)
    return script


def fallback_calls(fallbacks: Path) -> list[str]:
    log = fallbacks.with_name("fallbacks.log")
    return log.read_text().splitlines() if log.exists() else []


@pytest.mark.parametrize("profile", PROFILES)
def test_answers_are_the_simulation_byte_for_byte(profile: str, tmp_path: Path, fallbacks: Path) -> None:
    host = Host(tmp_path, profile, str(fallbacks))
    view = host.view()
    for tool in host_tools(view.profile):
        for args in answers.PROBE_CALLS[tool]:
            before = time.time()
            done = host.tool(tool, *args)
            after = time.time()
            # nvidia-smi's table starts with the time: the answer matches the simulation at one of
            # the instants around the call
            expected = {run(tool, view, list(args), now) for now in (before, after)}
            assert (done.stdout, done.returncode) in expected
            assert done.stderr == ""
    assert fallback_calls(fallbacks) == []


def test_answers_follow_set_memory(tmp_path: Path, fallbacks: Path) -> None:
    host = Host(tmp_path, "nvidia-h100-mig", str(fallbacks))
    apps, table = answers.PROBE_CALLS["nvidia-smi"][-1], ()
    hoststate.set_memory(host.dir, "0/1", 1500, pid=4242, name="trainer")
    out = host.tool("nvidia-smi", *apps).stdout
    assert out == run("nvidia-smi", host.view(), list(apps))[0]
    assert ", 4242, trainer, 1500" in out
    assert "|  0    3   0   1  |            1500MiB / 20096MiB    |" in host.tool("nvidia-smi", *table).stdout
    hoststate.set_memory(host.dir, "0/1", 0, pid=4242)
    assert host.tool("nvidia-smi", *apps).stdout == ""
    assert fallback_calls(fallbacks) == []


def test_other_command_lines_run_the_simulation(tmp_path: Path) -> None:
    host = Host(tmp_path, "nvidia-2xrtx4090", sys.executable)
    args = ["--query-gpu=name,memory.free,power.limit", "--format=csv"]
    done = host.tool("nvidia-smi", *args)
    assert (done.stdout, done.returncode) == run("nvidia-smi", host.view(), args)
    assert done.stdout.startswith("name, memory.free [MiB], power.limit [W]\nNVIDIA GeForce RTX 4090, ")


def test_answers_older_than_the_state_are_not_used(tmp_path: Path, fallbacks: Path) -> None:
    """processes.json written by other means than `set_memory`: the answers may be stale."""
    host = Host(tmp_path, "ascend-8x910b", str(fallbacks))
    later = time.time() + 60
    os.utime(host.dir / hoststate.PROCESSES_FILE, (later, later))
    assert host.tool("npu-smi", "info").returncode == 97
    assert fallback_calls(fallbacks) == [f"-s -m gpuctl.sandbox.simtools npu-smi {host.dir} info"]


@pytest.mark.parametrize("profile", PROFILES)
def test_a_probe_needs_no_simulation(profile: str, tmp_path: Path, fallbacks: Path) -> None:
    """Every tool command line of gpuctl/probe/probe.sh has its answer ready (PROBE_CALLS is the
    script's list), and the facts the probe makes of them are the host's."""
    host = Host(tmp_path, profile, str(fallbacks))
    target = Target(host="h", cluster="c", address="192.0.2.1", port=22, user="root", known_hosts=tmp_path)
    nonce = secrets.token_hex(8)
    done = subprocess.run(
        probe_command(target, nonce),
        shell=True,
        input=probe_script(),
        capture_output=True,
        env={"PATH": host.path},
        timeout=60,
    )
    outcome = Outcome(target, "ok", stdout=done.stdout.decode(), exit_status=done.returncode)
    facts = facts_from(outcome, nonce)
    assert fallback_calls(fallbacks) == []
    assert facts.status == "ok", facts.message
    view = host.view()
    assert sorted(d.key for d in facts.devices) == sorted(view.schedulable_keys())
    assert facts.accelerator == (view.profile.vendor or "none")
    assert (facts.info.cpu_count, facts.info.kernel) == (view.profile.cpus, view.profile.kernel)
