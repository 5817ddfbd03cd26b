"""The committed gpuctl.lock covers every example spec, so the demo and CI plan offline."""

from pathlib import Path

from gpuctl.models.lock import check, load_lock
from gpuctl.spec.loader import load_specs

ROOT = Path(__file__).resolve().parents[2]


def test_every_example_deployment_is_locked() -> None:
    specs = load_specs([ROOT / "specs"])
    lock = load_lock(ROOT / "gpuctl.lock")
    sources = {d.metadata.name: d.spec.model for d in specs.deployments}
    assert len(sources) >= 5
    assert check(lock, sources) == []
