"""JSON Schemas (2020-12) of the spec kinds: generated from the models, committed, packaged.

`generate_schemas()` turns the pydantic models into the schemas an editor uses for completion and
hover help (`# yaml-language-server: $schema=...`). They are committed twice: in `schemas/` for
people and editors, and in `gpuctl/schemas/` inside the package, which the loader reads at run
time (reading JSON is fast; generating it is not). A test fails when either copy drifts from the
models; `gpuctl schema --write DIR` regenerates them.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from gpuctl.spec.models import API_VERSION

SCHEMA_FILES = {"Cluster": "cluster.schema.json", "ModelDeployment": "model-deployment.schema.json"}
SCHEMA_BASE_URL = "https://gpuctl.dev/schemas/"
PACKAGED_DIR = Path(__file__).resolve().parent.parent / "schemas"

EXAMPLES: dict[str, dict[str, Any]] = {
    "Cluster": {
        "apiVersion": API_VERSION,
        "kind": "Cluster",
        "metadata": {"name": "lab"},
        "spec": {
            "ssh": {"user": "gpuctl", "identityFile": "~/.ssh/id_ed25519"},
            "hosts": [
                {"name": "gpu-01", "address": "192.0.2.11", "labels": {"gpu": "h100"}},
                {"name": "gpu-02", "address": "192.0.2.12", "labels": {"gpu": "l40s"}},
            ],
        },
    },
    "ModelDeployment": {
        "apiVersion": API_VERSION,
        "kind": "ModelDeployment",
        "metadata": {"name": "qwen3-8b"},
        "spec": {
            "model": {"huggingface": "Qwen/Qwen3-8B"},
            "backend": "vllm",
            "replicas": 1,
            "parameters": ["--max-model-len=16384"],
        },
    },
}


@cache
def packaged_schema(kind: str) -> dict[str, Any]:
    """The schema of `kind` as shipped with gpuctl (what validation uses)."""
    return json.loads((PACKAGED_DIR / SCHEMA_FILES[kind]).read_text(encoding="utf-8"))


def generate_schemas() -> dict[str, dict[str, Any]]:
    """File name → schema, generated from the models."""
    from gpuctl.spec.models import KINDS

    schemas = {}
    for kind, model in KINDS.items():
        body = model.model_json_schema(by_alias=True, mode="validation")
        body["required"] = ["apiVersion", "kind", *body.get("required", [])]
        schema = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": SCHEMA_BASE_URL + SCHEMA_FILES[kind],
            "title": "",
            "description": "",
            "examples": [EXAMPLES[kind]],
            **body,
        }
        schema["title"] = f"gpuctl {kind}"
        schemas[SCHEMA_FILES[kind]] = _tidy(schema)
    return schemas


def render(schema: dict[str, Any]) -> str:
    """The committed text of a schema."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def write_schemas(directory: Path) -> list[Path]:
    """Write every schema into `directory` (created if needed); return the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in generate_schemas().items():
        target = directory / name
        target.write_text(render(schema), encoding="utf-8")
        written.append(target)
    return written


_DATA_KEYWORDS = frozenset({"examples", "default", "const", "enum"})
"""Keywords whose values are data, not schemas: left as they are."""


def _tidy(node: Any) -> Any:
    """Make pydantic's output read well in an editor and in error messages.

    - `anyOf: [X, {type: null}]` (an Optional field) becomes X with `type: [T, "null"]`;
    - `patternProperties` (a dict with constrained keys) becomes `propertyNames` +
      `additionalProperties`, so keys that do not match are errors, not silently allowed;
    - descriptions lose the line breaks of the source code and gain a `markdownDescription`
      (rendered by yaml-language-server) with the same text.
    """
    if isinstance(node, list):
        return [_tidy(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: value if key in _DATA_KEYWORDS else _tidy(value) for key, value in node.items()}
    branches = node.get("anyOf")
    if isinstance(branches, list) and len(branches) == 2 and {"type": "null"} in branches:
        (other,) = [branch for branch in branches if branch != {"type": "null"}]
        if "type" in other:
            del node["anyOf"]
            node = {**other, **node, "type": [other["type"], "null"]}
    patterns = node.pop("patternProperties", None)
    if patterns:
        ((pattern, values),) = patterns.items()
        node["propertyNames"] = {"pattern": pattern}
        node["additionalProperties"] = values
    description = node.get("description")
    if isinstance(description, str):
        node["description"] = re.sub(r"\s*\n\s*", " ", description.strip())
        node["markdownDescription"] = node["description"]
    return node
