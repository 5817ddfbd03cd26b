"""`gpuctl validate` and `gpuctl schema` as a user runs them: subprocesses, exit codes, output."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INVALID = Path(__file__).parent / "invalid"
HEAVY = ("pyinfra", "gevent", "paramiko", "docker", "huggingface_hub", "gguf", "numpy")


def gpuctl(*args: str, cwd: Path = ROOT, python: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, *python, "-m", "gpuctl", *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )
    assert "Traceback" not in result.stdout + result.stderr
    return result


def test_validate_defaults_to_inventory_and_specs(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    (tmp_path / "inventory").mkdir()
    shutil.copy(ROOT / "inventory" / "example.yaml", tmp_path / "inventory")
    result = gpuctl("validate", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, "valid: 6 documents in 6 files\n")


def test_validate_json_reports_every_diagnostic() -> None:
    result = gpuctl("validate", ".", "--json", cwd=INVALID / "wrong-types")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert (report["valid"], report["documents"], report["files"]) == (False, 2, 2)
    first = report["diagnostics"][0]
    assert first == {
        "severity": "error",
        "code": "wrong-type",
        "message": "expected a whole number, got the string '22'",
        "hint": "write the number without quotes",
        "path": "spec.ssh.port",
        "file": "cluster.yaml",
        "line": 7,
        "column": 11,
        "host": None,
        "device": None,
    }
    assert len(report["diagnostics"]) == len(
        (INVALID / "wrong-types" / "expected.txt").read_text().splitlines()
    )


def test_validate_json_of_valid_specs() -> None:
    result = gpuctl("validate", "specs", "--json")
    assert result.returncode == 0
    assert json.loads(result.stdout) == {"valid": True, "documents": 5, "files": 5, "diagnostics": []}


def test_warnings_alone_do_not_fail(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    (tmp_path / "specs" / "compose.yml").write_text("services: {web: {image: nginx}}\n")
    result = gpuctl("validate", "specs", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.splitlines()[-1] == "valid: 5 documents in 6 files (1 warning)"


def test_schema_prints_the_committed_schema() -> None:
    result = gpuctl("schema", "model-deployment")
    assert result.returncode == 0
    assert result.stdout == (ROOT / "schemas" / "model-deployment.schema.json").read_text()
    both = json.loads(gpuctl("schema").stdout)
    assert set(both) == {"cluster.schema.json", "model-deployment.schema.json"}


def test_schema_write(tmp_path: Path) -> None:
    result = gpuctl("schema", "--write", str(tmp_path / "out"))
    assert result.returncode == 0
    for name in ("cluster.schema.json", "model-deployment.schema.json"):
        assert (tmp_path / "out" / name).read_text() == (ROOT / "schemas" / name).read_text()


def test_unknown_schema_name_is_a_diagnostic() -> None:
    result = gpuctl("schema", "deployment")
    assert result.returncode == 1
    assert result.stderr == "error: no schema named 'deployment' (choose cluster or model-deployment)\n"


@pytest.mark.parametrize(
    ("args", "forbidden"),
    [(("--help",), HEAVY), (("validate", "specs"), (*HEAVY, "rich", "jsonschema"))],
    ids=["help", "validate"],
)
def test_start_up_does_not_import_heavy_libraries(args: tuple[str, ...], forbidden: tuple[str, ...]) -> None:
    """-X importtime lists every module the process imports, on stderr. (typer itself brings rich
    in to format --help; validate of valid specs needs neither rich nor jsonschema.)"""
    result = gpuctl(*args, python=("-X", "importtime"))
    assert result.returncode == 0
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if "|" in line}
    assert "gpuctl.cli.main" in imported
    assert sorted(name for name in imported if name.split(".")[0] in forbidden) == []


@pytest.mark.parametrize("case", ["literal-secret-env", "literal-secret-parameters"])
def test_secret_values_are_never_printed(case: str) -> None:
    result = gpuctl("validate", ".", "--json", cwd=INVALID / case)
    assert result.returncode == 1
    for secret in (
        "my-token-value",
        "hf_AbCdEf",
        "AKIAIOSFODNN7EXAMPLE",
        "hunter2",
        "7654321",
        "not-so-secret",
        "sk-proj",
    ):
        assert secret not in result.stdout + result.stderr
