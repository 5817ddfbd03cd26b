"""`gpuctl lock` end to end: specs → hub (a local fake) → gpuctl.lock → `--check`."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from gpuctl.cli.main import _register_commands, app
from gpuctl.models.lock import load_lock, lookup
from gpuctl.spec.models import ModelSource

DATA = Path(__file__).parent.parent / "data" / "models"

_register_commands()
runner = CliRunner()

SPEC = """apiVersion: gpuctl.dev/v1alpha1
kind: ModelDeployment
metadata: {{name: {name}}}
spec:
  model: {{huggingface: {repo}{revision}}}
"""


def write_spec(folder: Path, name: str, repo: str, revision: str = "") -> None:
    folder.mkdir(exist_ok=True)
    extra = f", revision: {revision}" if revision else ""
    (folder / f"{name}.yaml").write_text(SPEC.format(name=name, repo=repo, revision=extra))


def test_lock_pins_every_deployment_and_check_reports_changes(hf_hub, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", hf_hub.url)
    repo = hf_hub.add("Qwen/Qwen3-8B", {"config.json": (DATA / "Qwen__Qwen3-8B.config.json").read_bytes()})
    specs, lock = tmp_path / "specs", tmp_path / "gpuctl.lock"
    write_spec(specs, "chat", "Qwen/Qwen3-8B")

    result = runner.invoke(app, ["lock", str(specs), "--lock", str(lock)])
    assert result.exit_code == 0, result.output
    locked = lookup(load_lock(lock), ModelSource(huggingface="Qwen/Qwen3-8B"))
    assert locked is not None and locked.revision == repo.commit and locked.num_layers == 36

    assert runner.invoke(app, ["lock", str(specs), "--lock", str(lock), "--check"]).exit_code == 0
    requests_before = len(hf_hub.requests)
    assert runner.invoke(app, ["lock", str(specs), "--lock", str(lock)]).exit_code == 0
    assert len(hf_hub.requests) == requests_before  # locked entries are not resolved again

    write_spec(specs, "chat", "Qwen/Qwen3-8B", revision="v2")
    stale = runner.invoke(app, ["lock", str(specs), "--lock", str(lock), "--check"])
    assert stale.exit_code == 1
    assert "deployment chat" in stale.output and "revision v2" in stale.output
