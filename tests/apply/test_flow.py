"""The apply command's own decisions that need no hosts: confirmation, plan files, durations."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gpuctl.apply import flow
from gpuctl.errors import GpuctlError
from gpuctl.plan.model import Plan

ROOT = Path(__file__).resolve().parents[2]


def gpuctl(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gpuctl", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    ("answer", "approved"), [("yes\n", True), ("y\n", False), ("YES\n", False), ("\n", False)]
)
def test_only_yes_approves(answer: str, approved: bool) -> None:
    asked: list[str] = []
    assert flow.confirm("Go?", False, lambda prompt: asked.append(prompt) or answer) is approved
    assert "Only 'yes' will be accepted" in asked[0]


def test_auto_approve_never_asks() -> None:
    assert flow.confirm("Go?", True, lambda prompt: pytest.fail("asked")) is True


def test_plan_files_are_told_from_spec_files(tmp_path: Path) -> None:
    saved = tmp_path / "plan.out"
    saved.write_text(Plan(clusters=["lab"]).to_json())
    assert flow.plan_file([saved]) == saved
    assert flow.plan_file([ROOT / "specs" / "qwen3-8b.yaml"]) is None
    assert flow.plan_file([ROOT / "specs"]) is None
    assert flow.plan_file([saved, saved]) is None


def test_a_saved_plan_for_another_cluster_is_refused(tmp_path: Path) -> None:
    saved = tmp_path / "plan.json"
    saved.write_text(Plan(clusters=["production"]).to_json())
    with pytest.raises(GpuctlError, match="the plan is for cluster production"):
        flow.read_plan(saved, [ROOT / "inventory" / "example.yaml"])


def test_missing_secrets_are_warned_about_before_asking() -> None:
    plan = json.loads((ROOT / "tests" / "apply" / "data" / "secret-plan.json").read_text())
    warnings = flow.missing_secrets(Plan.model_validate(plan), {})
    assert warnings == ["flux-1-dev/0 needs HF_TOKEN, which is not set: it will fail unless you export it"]
    assert flow.missing_secrets(Plan.model_validate(plan), {"HF_TOKEN": "x"}) == []


def test_bad_lock_timeout_is_a_diagnostic() -> None:
    done = gpuctl("apply", "--lock-timeout", "soon")
    assert done.returncode == 1
    assert (
        done.stderr.strip() == "error: --lock-timeout 'soon' is not a duration (write e.g. 0, 30s, 5m or 1h)"
    )


def test_no_terminal_and_no_auto_approve_is_refused_before_any_host_is_touched(tmp_path: Path) -> None:
    """A saved plan with changes, applied from a pipe: refused with the reason, no SSH at all
    (the example cluster's documentation addresses would time out)."""
    plan = json.loads((ROOT / "tests" / "apply" / "data" / "secret-plan.json").read_text())
    saved = tmp_path / "plan.json"
    saved.write_text(json.dumps(plan))
    done = gpuctl("apply", "-i", str(ROOT / "inventory" / "example.yaml"), str(saved))
    assert done.returncode == 1
    assert "standard input is not a terminal" in done.stderr and "--auto-approve" in done.stderr


def test_a_refused_apply_still_prints_its_json_result(tmp_path: Path) -> None:
    """CI reads `apply --json` from stdout: an apply refused before it starts (here: no specs)
    says so there too, with the diagnostics; the sentences go to stderr."""
    done = gpuctl("apply", "--json", "--auto-approve", cwd=tmp_path)
    assert done.returncode == 1
    result = json.loads(done.stdout)
    assert result["ok"] is False and result["changes"] == []
    assert [(d["file"], d["message"]) for d in result["diagnostics"]] == [
        ("inventory", "no such file or directory"),
        ("specs", "no such file or directory"),
    ]
    assert "inventory: error: no such file or directory" in done.stderr
    assert "Traceback" not in done.stderr
