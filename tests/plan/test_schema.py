"""schemas/plan.schema.json is generated from the Plan model and describes what plan --json prints."""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest

from gpuctl.errors import GpuctlError
from gpuctl.plan.file import load_plan, save_plan
from gpuctl.plan.model import Change, Plan, PlanDiagnostic, Summary
from gpuctl.plan.schema import plan_schema, render_schema

SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "plan.schema.json"


def test_committed_schema_matches_the_model() -> None:
    if os.environ.get("GPUCTL_UPDATE_GOLDEN"):
        SCHEMA.write_text(render_schema(), encoding="utf-8")
    assert SCHEMA.read_text(encoding="utf-8") == render_schema(), (
        "schemas/plan.schema.json is stale: run GPUCTL_UPDATE_GOLDEN=1 pytest tests/plan/test_schema.py"
    )


def small_plan() -> Plan:
    return Plan(
        clusters=["lab"],
        changes=[
            Change(
                action="delete",
                cluster="lab",
                deployment="old",
                replica=0,
                role="main",
                host="gpu-01",
                name="gpuctl-old-0",
                reasons=["spec removed"],
            )
        ],
        diagnostics=[PlanDiagnostic(severity="warning", message="something to know", host="gpu-01")],
        summary=Summary(delete=1),
    )


def test_plan_json_validates_against_the_schema() -> None:
    jsonschema.validate(json.loads(small_plan().to_json()), plan_schema())


def test_saved_plan_reads_back_and_a_wrong_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    save_plan(small_plan(), path)
    assert load_plan(path) == small_plan()
    path.write_text(path.read_text().replace('"format_version":1', '"format_version":99'))
    with pytest.raises(GpuctlError, match="plan format 99 is not the format"):
        load_plan(path)
    path.write_text("{")
    with pytest.raises(GpuctlError, match="not JSON"):
        load_plan(path)
