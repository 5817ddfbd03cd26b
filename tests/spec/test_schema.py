"""The committed JSON Schemas and the README's spec reference are what the models generate.

After changing gpuctl/spec/models.py, regenerate with `GPUCTL_UPDATE_GOLDEN=1 pytest tests/spec`
(or `make schemas`) and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from gpuctl.spec.models import KINDS
from gpuctl.spec.reference import markdown_reference
from gpuctl.spec.schema import SCHEMA_FILES, generate_schemas, render

ROOT = Path(__file__).resolve().parents[2]
UPDATE = bool(os.environ.get("GPUCTL_UPDATE_GOLDEN"))
BEGIN = "<!-- BEGIN spec-reference"
END = "<!-- END spec-reference -->"


@pytest.mark.parametrize("directory", ["schemas", "gpuctl/schemas"])
def test_committed_schemas_match_the_models(directory: str) -> None:
    for name, schema in generate_schemas().items():
        committed = ROOT / directory / name
        if UPDATE:
            committed.write_text(render(schema), encoding="utf-8")
        assert committed.read_text(encoding="utf-8") == render(schema), (
            f"{committed} is stale: run make schemas"
        )


@pytest.mark.parametrize("kind", list(SCHEMA_FILES))
def test_schemas_are_valid_and_their_examples_pass_schema_and_model(kind: str) -> None:
    schema = generate_schemas()[SCHEMA_FILES[kind]]
    Draft202012Validator.check_schema(schema)
    assert schema["$id"] == f"https://gpuctl.dev/schemas/{SCHEMA_FILES[kind]}"
    assert schema["examples"]
    for example in schema["examples"]:
        assert list(Draft202012Validator(schema).iter_errors(example)) == []
        KINDS[kind].model_validate(example)


def test_optional_fields_read_well_in_an_editor() -> None:
    spec = generate_schemas()["model-deployment.schema.json"]["$defs"]["ModelDeploymentSpec"]
    served_name = spec["properties"]["servedName"]
    assert served_name["title"] == "Served name"
    assert served_name["type"] == ["string", "null"]
    assert "anyOf" not in served_name
    assert spec["properties"]["env"]["propertyNames"] == {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}


def test_readme_spec_reference_is_current() -> None:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    start = text.index("\n", text.index(BEGIN)) + 1
    end = text.index(END)
    if UPDATE:
        text = text[:start] + markdown_reference() + text[end:]
        readme.write_text(text, encoding="utf-8")
    assert text[start:end] == markdown_reference(), "README.md's spec reference is stale"
    for field in ("`spec.hosts[].address`", "`spec.placement.devices`", "`spec.secrets.<NAME>.fromEnv`"):
        assert field in text[start:end]
