"""Cold start-up time of `gpuctl --help` and `gpuctl validate` on the examples.

Each run is a new process (the way a user or CI runs gpuctl), so the figure includes the Python
interpreter, imports and the work itself. Prints the median, min and max of N runs per command.

    .venv/bin/python benchmarks/startup.py [--runs N]

Target (issue 2): validate on the examples ≤ 0.3 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 0.3
COMMANDS = {
    "gpuctl --help": ["--help"],
    "gpuctl validate specs/": ["validate", "specs/"],
    "gpuctl validate (inventory/ + specs/)": ["validate", "inventory/example.yaml", "specs/"],
}


def entry_point() -> list[str]:
    """The installed console script next to this interpreter, else `python -m gpuctl`."""
    script = Path(sys.executable).with_name("gpuctl")
    return [str(script)] if script.exists() else [sys.executable, "-m", "gpuctl"]


ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
"""An installed gpuctl has its bytecode compiled (pip does it); so may this checkout's, after the
first run, even where the environment says not to write bytecode."""


def time_runs(argv: list[str], runs: int) -> list[float]:
    subprocess.run(argv, cwd=ROOT, capture_output=True, check=False, env=ENV)  # write .pyc files once
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        result = subprocess.run(argv, cwd=ROOT, capture_output=True, check=False, env=ENV)
        seconds.append(time.perf_counter() - start)
        if result.returncode != 0:
            sys.exit(f"{' '.join(argv)} failed:\n{result.stdout.decode()}{result.stderr.decode()}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs per command (default 15)")
    runs = parser.parse_args().runs
    base = entry_point()
    print(f"{runs} runs each, {' '.join(base)}, Python {sys.version.split()[0]}")
    for label, args in COMMANDS.items():
        seconds = time_runs([*base, *args], runs)
        median = statistics.median(seconds)
        verdict = (
            ""
            if "validate" not in label
            else f"  target ≤ {TARGET_SECONDS} s: {'ok' if median <= TARGET_SECONDS else 'MISSED'}"
        )
        print(f"{label:40} median {median:.3f} s  min {min(seconds):.3f}  max {max(seconds):.3f}{verdict}")


if __name__ == "__main__":
    main()
