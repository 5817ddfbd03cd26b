"""`schemas/plan.schema.json`: the JSON Schema (2020-12) of `gpuctl plan --json`, from the Plan model.

A test fails when the committed file drifts from the model; regenerate it with
`GPUCTL_UPDATE_GOLDEN=1 pytest tests/plan/test_schema.py`.
"""

from __future__ import annotations

import json
from typing import Any

SCHEMA_ID = "https://gpuctl.dev/schemas/plan.schema.json"


def plan_schema() -> dict[str, Any]:
    from gpuctl.plan.model import Plan

    body = Plan.model_json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **body,
        "title": "gpuctl plan",
        "description": "What `gpuctl plan --json` prints and `gpuctl plan --out FILE` saves: placements with "
        "memory estimates, changes with reasons, diagnostics, device maps and the fingerprint of the facts "
        "the plan was made from.",
    }


def render_schema() -> str:
    return json.dumps(plan_schema(), indent=2, ensure_ascii=False) + "\n"
