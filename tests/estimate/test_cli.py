"""`gpuctl estimate` from a config, a spec's deployment, or the lock; errors as diagnostics."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gpuctl.cli.main import _register_commands, app
from gpuctl.errors import GpuctlError
from gpuctl.models.config import model_info_from_config
from gpuctl.models.lock import Lock, write_lock
from gpuctl.spec.models import ModelSource

DATA = Path(__file__).resolve().parents[1] / "data" / "models"
GiB = 1 << 30

_register_commands()
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def test_json_from_a_config_file() -> None:
    result = run(
        "estimate", "--config", str(DATA / "Qwen__Qwen3-8B.config.json"), "--gpu", "H100-80GB", "--json"
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    estimate = data["estimate"]
    assert estimate["verdict"] == "fits"
    assert estimate["kv_bytes_per_token"] == 147456
    assert estimate["per_device"]["weights"] > 15 * GiB
    assert estimate["kv_pool_tokens"] > 0 and estimate["kv_pool_bytes"] > 0
    assert estimate["max_concurrency"] > 1 and estimate["max_context_that_fits"] == 40960
    assert data["model"]["num_layers"] == 36


def test_table_for_people() -> None:
    result = run(
        "estimate",
        "--config",
        str(DATA / "meta-llama__Llama-3.1-8B-Instruct.config.json"),
        "--gpu",
        "RTX 4090",
        "--max-model-len",
        "131072",
    )
    assert result.exit_code == 0, result.output
    assert "verdict    context-too-long (largest context that fits:" in result.output
    assert "weights" in result.output and "GiB" in result.output


def test_deployment_from_a_spec_file_uses_its_parameters(tmp_path: Path) -> None:
    model = tmp_path / "models" / "gemma"
    model.mkdir(parents=True)
    shutil.copy(DATA / "google__gemma-2-9b-it.config.json", model / "config.json")
    shutil.copy(
        DATA / "google__gemma-2-9b-it.model.safetensors.index.json", model / "model.safetensors.index.json"
    )
    spec = tmp_path / "chat.yaml"
    spec.write_text(
        "apiVersion: gpuctl.dev/v1alpha1\nkind: ModelDeployment\nmetadata: {name: chat}\n"
        f"spec:\n  model: {{local: {model}}}\n"
        "  parameters: ['--max-model-len=4096', '--gpu-memory-utilization', '0.8']\n"
    )
    result = run("estimate", str(spec), "--gpu", "80GiB", "--json")
    assert result.exit_code == 0, result.output
    estimate = json.loads(result.output)["estimate"]
    assert estimate["context_length"] == 4096
    d = estimate["per_device"]
    assert d["total"] - int(0.9 * GiB) == pytest.approx(0.8 * 80 * GiB, rel=0.002)
    assert d["weights"] >= 18483411968  # the exact size from the index


def test_locked_model_needs_no_network(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens: any request would fail
    config = json.loads((DATA / "Qwen__Qwen3-8B.config.json").read_text())
    info = model_info_from_config(config, source="huggingface:Qwen/Qwen3-8B", revision="c" * 40)
    lock = Lock(path=str(tmp_path / "gpuctl.lock"))
    lock.add(ModelSource(huggingface="Qwen/Qwen3-8B"), info)
    write_lock(lock)
    result = run("estimate", "--model", "hf:Qwen/Qwen3-8B", "--gpu", "H100-80GB", "--lock", lock.path)
    assert result.exit_code == 0, result.output
    assert "huggingface:Qwen/Qwen3-8B @ cccccccccccc" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["estimate", "--config", str(DATA / "Qwen__Qwen3-8B.config.json")], "pass --gpu"),
        (["estimate", "--config", str(DATA / "Qwen__Qwen3-8B.config.json"), "--gpu", "B9000"], "unknown GPU"),
        (["estimate"], "nothing to estimate"),
        (
            ["estimate", "--config", "/nonexistent/config.json", "--gpu", "L4"],
            "cannot read /nonexistent/config.json",
        ),
    ],
)
def test_bad_input_is_a_diagnostic(args: list[str], message: str) -> None:
    result = run(*args)
    assert isinstance(result.exception, GpuctlError)
    assert message in str(result.exception)


def test_entry_point_prints_diagnostics_not_tracebacks(tmp_path: Path) -> None:
    broken = tmp_path / "config.json"
    broken.write_text('{"architectures": ["LlamaForCausalLM"], "hidden_size": 4096}')
    process = subprocess.run(
        [sys.executable, "-m", "gpuctl", "estimate", "--config", str(broken), "--gpu", "L4"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert process.returncode == 1
    assert "lacks num_hidden_layers" in process.stderr and "Traceback" not in process.stderr
