"""Golden plans: inputs → exactly the plan `gpuctl plan` must print and save.

Each folder under golden/ holds a case's inputs — inventory/ (the Cluster), specs/ (its
ModelDeployments), snapshot.json (host facts as `gpuctl inventory --save` writes them, gpuctl's
running containers included) and optionally args (extra options, e.g. `--target NAME`) — and what
must come out: expected.txt (the text plan, then the exit status of --detailed-exitcode) and
expected.json (the saved plan, indented for review). All cases share golden/gpuctl.lock, built from
the real configs in tests/data/models and the example lock.

Each case runs the real CLI in a subprocess in its folder, offline. Regenerate the expected files
with `GPUCTL_UPDATE_GOLDEN=1 pytest tests/plan/test_golden.py` and review the diff; that also
re-stamps each snapshot's fingerprint, so a hand-edited snapshot needs nothing more.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from gpuctl.facts import Inventory
from gpuctl.plan.schema import plan_schema
from gpuctl.probe.snapshot import save_snapshot

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(path for path in GOLDEN.iterdir() if path.is_dir())
UPDATE = bool(os.environ.get("GPUCTL_UPDATE_GOLDEN"))


def plan(case: Path, out: Path) -> subprocess.CompletedProcess[str]:
    extra = (case / "args").read_text().split() if (case / "args").exists() else []
    command = [
        *("plan", "-i", "inventory", "specs", "--inventory-snapshot", "snapshot.json"),
        *("--lock", "../gpuctl.lock", "--detailed-exitcode", "--out", str(out), *extra),
    ]
    return subprocess.run(
        [sys.executable, "-m", "gpuctl", *command],
        cwd=case,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "NO_COLOR": "1"},
    )


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_golden_plan(case: Path, tmp_path: Path) -> None:
    if UPDATE:
        snapshot = case / "snapshot.json"
        save_snapshot(Inventory.model_validate_json(snapshot.read_text()), snapshot)
    out = tmp_path / "plan.json"
    result = plan(case, out)
    assert "Traceback" not in result.stderr, result.stderr
    text = result.stdout.replace(str(out), "plan.json") + result.stderr + f"[exit {result.returncode}]\n"
    saved = json.loads(out.read_text())
    pretty = json.dumps(saved, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if UPDATE:
        (case / "expected.txt").write_text(text)
        (case / "expected.json").write_text(pretty)
    assert text == (case / "expected.txt").read_text()
    assert pretty == (case / "expected.json").read_text()
    jsonschema.validate(saved, plan_schema())


def test_the_same_inputs_give_the_same_bytes(tmp_path: Path) -> None:
    case = GOLDEN / "mixed-fleet"
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    assert plan(case, first).returncode == plan(case, second).returncode == 2
    assert first.read_bytes() == second.read_bytes()
