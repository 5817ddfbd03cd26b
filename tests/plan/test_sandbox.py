"""`gpuctl plan` end to end on the sandbox: real SSH, real Docker, simulated accelerators.

The example specs (one per backend) and the repository's gpuctl.lock are planned against every
sandbox profile: each deployment finds a host, and --detailed-exitcode says there are changes. A
foreign process that fills a device is seen over SSH and the plan keeps off that device.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gpuctl.plan.file import load_plan
from gpuctl.plan.model import Plan
from gpuctl.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = {"qwen3-8b", "qwen3-8b-gguf", "qwen2-5-7b-instruct", "faster-whisper-large-v3", "flux-1-dev"}


def plan(sandbox: Sandbox, out: Path) -> tuple[subprocess.CompletedProcess[str], Plan]:
    result = subprocess.run(
        [
            *(sys.executable, "-m", "gpuctl", "plan", "-i", str(sandbox.inventory), "specs/"),
            *("--detailed-exitcode", "--out", str(out)),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result, load_plan(out)


@pytest.mark.sandbox
def test_every_example_finds_a_host(sandbox: Sandbox, tmp_path: Path) -> None:
    result, made = plan(sandbox, tmp_path / "plan.json")
    assert result.returncode == 2, result.stdout + result.stderr
    assert made.errors == []
    assert {p.deployment for p in made.placements} == EXAMPLES
    assert {p.backend for p in made.placements} == {"vllm", "sglang", "mindie", "voxbox", "llama-box"}
    assert all(c.action == "create" for c in made.changes)
    assert "Plan: " in result.stdout and " to create, 0 to replace, 0 to delete." in result.stdout


@pytest.mark.sandbox
def test_a_busy_device_is_avoided(sandbox: Sandbox, tmp_path: Path) -> None:
    _, before = plan(sandbox, tmp_path / "before.json")
    (qwen,) = [p for p in before.placements if p.deployment == "qwen3-8b"]
    host, taken = qwen.main.host, qwen.main.devices[0]
    (total,) = [d.total for h in before.hosts if h.name == host for d in h.devices if d.key == taken]
    busy = total * 9 // 10 >> 20
    sandbox.set_memory(host, taken, busy, process="python3 train.py")
    try:
        _, after = plan(sandbox, tmp_path / "after.json")
    finally:
        sandbox.set_memory(host, taken, 0)
    (moved,) = [p for p in after.placements if p.deployment == "qwen3-8b"]
    assert (moved.main.host, moved.main.devices) != (host, [taken])
    (device,) = [d for h in after.hosts if h.name == host for d in h.devices if d.key == taken]
    assert device.foreign >= busy << 20
