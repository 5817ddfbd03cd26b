"""Every broken spec in tests/spec/invalid/<case>/ gives exactly the diagnostics of its expected.txt.

Each case runs the real CLI in a subprocess, in the case directory: `gpuctl validate .`, or plain
`gpuctl validate` (the default inventory/ and specs/) when the case has one of those directories.
Regenerate the expected files with `GPUCTL_UPDATE_GOLDEN=1 pytest tests/spec` and review the diff.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

CASES = sorted(path for path in (Path(__file__).parent / "invalid").iterdir() if path.is_dir())
LINE = re.compile(r"^[^:]+(:\d+:\d+)?: (error|warning): \S")


def validate(case: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    args = [] if (case / "specs").is_dir() or (case / "inventory").is_dir() else ["."]
    return subprocess.run(
        [sys.executable, "-m", "gpuctl", "validate", *args, *extra],
        cwd=case,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_invalid_case_reports_expected_diagnostics(case: Path) -> None:
    result = validate(case)
    assert "Traceback" not in result.stderr + result.stdout
    *diagnostics, summary = result.stdout.splitlines()
    expected = case / "expected.txt"
    if os.environ.get("GPUCTL_UPDATE_GOLDEN"):
        expected.write_text("".join(f"{line}\n" for line in diagnostics), encoding="utf-8")
    assert diagnostics == expected.read_text(encoding="utf-8").splitlines()
    assert result.returncode == 1, result.stdout
    assert summary.startswith("invalid: ")
    assert all(LINE.match(line) for line in diagnostics), diagnostics
