"""The example cluster and deployments in inventory/ and specs/ are valid and cover every backend."""

from __future__ import annotations

from pathlib import Path

import yaml
from jsonschema import Draft202012Validator

from gpuctl.spec.loader import read_specs
from gpuctl.spec.schema import SCHEMA_FILES, packaged_schema

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = [ROOT / "inventory" / "example.yaml", *sorted((ROOT / "specs").glob("*.yaml"))]


def test_examples_are_valid_and_cover_every_backend() -> None:
    result = read_specs(EXAMPLES)
    assert result.diagnostics == ()
    assert (result.files, result.documents) == (len(EXAMPLES), len(EXAMPLES))
    deployments = {d.spec.backend: d for d in result.specs.deployments}
    assert set(deployments) == {"vllm", "sglang", "mindie", "voxbox", "llama-box"}
    assert deployments["mindie"].spec.placement.selector == {"accelerator": "ascend"}
    assert deployments["llama-box"].spec.model.file
    for deployment in result.specs.deployments:
        # Examples are planned against clusters whose host names differ: nothing is pinned.
        assert not deployment.spec.placement.hosts and not deployment.spec.placement.devices
        assert deployment.spec.cluster is None


def test_each_example_names_its_schema_for_editors() -> None:
    result = read_specs(EXAMPLES)
    for document in (*result.specs.clusters, *result.specs.deployments):
        source = result.specs.location(document).file
        first_line = Path(source).read_text(encoding="utf-8").splitlines()[0]
        assert first_line == f"# yaml-language-server: $schema=../schemas/{SCHEMA_FILES[document.kind]}"


def test_examples_pass_the_packaged_schema_too() -> None:
    """The loader consults the schema only for documents the (strict) models refuse; valid
    documents must therefore pass both."""
    for path in EXAMPLES:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert list(Draft202012Validator(packaged_schema(document["kind"])).iter_errors(document)) == []
