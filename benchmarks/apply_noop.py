"""Apply on a 10-host sandbox: the first apply of 10 deployments, and a no-op apply against plan.

    sudo .venv/bin/python benchmarks/apply_noop.py [--hosts 10] [--runs 5] [--keep]

Brings up a sandbox of `--hosts` hosts (GPU, NPU and CPU profiles in turn), writes one deployment
per host (vLLM on GPUs and NPUs, llama-box on CPUs, each pinned to its host), and prints:

- the first apply's wall time and where it goes: planning (probe + schedule, before apply starts
  on the hosts), then the executor's phases (connect, lock, probe again, pull, download, start,
  readiness, ...) as total and slowest-host seconds;
- on the converged fleet, the best of `--runs` no-op `apply --auto-approve` against the best of
  `--runs` `plan`, and their ratio (target ≤ 1.5).

Each run is a new `gpuctl` process, as in CI. The machine is shared: the best of several runs is
the figure least disturbed by other work.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 1.5
PROFILES = [
    "nvidia-8xh100",
    "nvidia-2xrtx4090",
    "ascend-8x910b",
    "cpu",
    "nvidia-4xa100-40g",
    "nvidia-h100-mig",
]


def spec(index: int, host: str, profile: str) -> str:
    """vLLM pinned to a GPU or NPU host; llama-box on the CPU of a CPU host."""
    if profile == "cpu":
        model = "huggingface: Qwen/Qwen3-8B-GGUF\n    file: Qwen3-8B-Q4_K_M.gguf"
        rest = f"  backend: llama-box\n  placement:\n    hosts: [{host}]\n    cpuOffload: true\n"
    else:
        model = "huggingface: Qwen/Qwen3-8B"
        rest = f"  backend: vllm\n  placement:\n    hosts: [{host}]\n  parameters: [--max-model-len=4096]\n"
    header = "apiVersion: gpuctl.dev/v1alpha1\nkind: ModelDeployment\n"
    return f"{header}metadata:\n  name: bench-{index}\nspec:\n  model:\n    {model}\n{rest}"


def gpuctl(*args: str, env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    begin = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "gpuctl", *args], capture_output=True, text=True, env=env, cwd=ROOT
    )
    return time.perf_counter() - begin, done


def best(runs: int, *args: str, env: dict[str, str], expect: int) -> float:
    times = []
    for _ in range(runs):
        seconds, done = gpuctl(*args, env=env)
        if done.returncode != expect:
            sys.exit(f"`gpuctl {' '.join(args)}` exited {done.returncode}:\n{done.stderr[-3000:]}")
        times.append(seconds)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="leave the sandbox up")
    options = parser.parse_args()

    from gpuctl.sandbox import Sandbox

    work = Path(tempfile.mkdtemp(prefix="gpuctl-apply-bench-"))
    profiles = [PROFILES[i % len(PROFILES)] for i in range(options.hosts)]
    sandbox = Sandbox("bench", state_dir=work / "state", inventory=work / "inventory" / "bench.yaml")
    begin = time.perf_counter()
    sandbox.up(profiles)
    print(f"sandbox of {options.hosts} hosts up in {time.perf_counter() - begin:.1f} s")
    try:
        status = sandbox.status()
        env = {**os.environ, "HF_ENDPOINT": status.hub or "", "MODELSCOPE_ENDPOINT": status.hub or ""}
        specs = work / "specs"
        specs.mkdir()
        for index, host in enumerate(sandbox.hosts):
            (specs / f"bench-{index}.yaml").write_text(spec(index, host.name, host.profile))
        inventory, lock = str(sandbox.inventory), str(ROOT / "gpuctl.lock")
        apply = ["apply", "-i", inventory, str(specs), "--lock", lock, "--auto-approve", "--json"]
        plan = ["plan", "-i", inventory, str(specs), "--lock", lock]

        wall, done = gpuctl(*apply, env=env)
        if done.returncode != 0:
            sys.exit(f"the first apply failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        report = json.loads(done.stdout)
        print(f"\nfirst apply: {len(report['changes'])} deployments on {options.hosts} hosts in {wall:.2f} s")
        print(f"  {'plan (probe + schedule) and start-up':<38} {wall - report['seconds']:7.2f} s")
        phases: dict[str, list[float]] = defaultdict(list)
        hosts: dict[tuple[str, str], float] = defaultdict(float)
        for step in report["timings"]:
            phases[step["phase"]].append(step["seconds"])
            if step.get("host"):
                hosts[(step["phase"], step["host"])] += step["seconds"]
        for phase, seconds in phases.items():
            slowest = max((s for (p, _), s in hosts.items() if p == phase), default=max(seconds))
            print(
                f"  {phase:<38} {sum(seconds):7.2f} s in {len(seconds):3d} steps, "
                f"slowest host {slowest:6.2f} s"
            )
        print(f"  {'executor (hosts in parallel)':<38} {report['seconds']:7.2f} s")

        noop = best(options.runs, *apply, env=env, expect=0)
        planned = best(options.runs, *plan, env=env, expect=0)
        ratio = noop / planned
        verdict = "ok" if ratio <= TARGET_RATIO else "over target"
        print(f"\nconverged, best of {options.runs}: plan {planned:.2f} s, no-op apply {noop:.2f} s")
        print(f"no-op apply / plan = {ratio:.2f} (target ≤ {TARGET_RATIO}: {verdict})")
    finally:
        if options.keep:
            print(f"\nsandbox kept: {sandbox.inventory}")
        else:
            sandbox.down()


if __name__ == "__main__":
    main()
