"""How long a 10-host sandbox takes to come up (and down), and how much memory it holds.

Run as root from the repository: `sudo .venv/bin/python benchmarks/sandbox_up.py [--hosts N]`.
Memory is summed over every sandbox process (sshd, dockerd, containerd, registry): RSS, which
counts shared pages once per process, and PSS, which splits them (what the fleet really costs).
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from pathlib import Path

from gpuctl.sandbox import Sandbox
from gpuctl.sandbox.profiles import PROFILES


def memory_kib(pids: list[int]) -> tuple[int, int]:
    rss = pss = 0
    for pid in pids:
        try:
            rss += int(
                next(
                    line
                    for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                    if line.startswith("VmRSS:")
                ).split()[1]
            )
            pss += int(
                next(
                    line
                    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
                    if line.startswith("Pss:")
                ).split()[1]
            )
        except (OSError, StopIteration):
            continue  # a process that exited meanwhile, or a zombie
    return rss, pss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=10)
    parser.add_argument("--name", default="bench")
    args = parser.parse_args()
    profiles = list(itertools.islice(itertools.cycle(PROFILES), args.hosts))
    with tempfile.TemporaryDirectory(prefix="gpuctl-bench-") as tmp:
        sandbox = Sandbox(args.name, state_dir=Path(tmp) / "state", inventory=Path(tmp) / "inventory.yaml")
        try:
            start = time.monotonic()
            sandbox.up(profiles)
            up_seconds = time.monotonic() - start
            time.sleep(2)  # let the daemons settle after start-up
            pids = sandbox.pids()
            rss, pss = memory_kib(pids)
            start = time.monotonic()
            sandbox.up()
            check_seconds = time.monotonic() - start
        finally:
            start = time.monotonic()
            sandbox.down()
            down_seconds = time.monotonic() - start
    print(f"hosts: {args.hosts} ({', '.join(sorted(set(profiles)))})")
    print(f"up: {up_seconds:.1f} s, second up (check and repair): {check_seconds:.1f} s")
    print(f"down: {down_seconds:.1f} s")
    print(f"memory of {len(pids)} sandbox processes: RSS {rss / 1024:.0f} MiB, PSS {pss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
