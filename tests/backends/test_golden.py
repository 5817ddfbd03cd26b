"""Golden cases: (deployment, model, placement, host facts) → container specs.

Each folder under cases/ holds case.yaml (the inputs) and expected/: containers.json (the
selected backend with its rule, and every ContainerSpec; HostFile contents are referenced, not
inlined) and files/<container>/<name> (each HostFile, e.g. MindIE's config.json), or error.txt
when rendering must refuse. Regenerate with `GPUCTL_UPDATE_GOLDEN=1 pytest tests/backends` and
review the diff.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from gpuctl import backends
from gpuctl.errors import GpuctlError

CASES = sorted(path for path in (Path(__file__).parent / "cases").iterdir() if path.is_dir())


def _devices(build: ModuleType, entries: list[Any]) -> list[Any]:
    devices = []
    for entry in entries:
        if isinstance(entry, str):
            devices.append(build.device(entry, len(devices)))
        elif "mig" in entry:
            devices.append(build.mig_device(*entry["mig"]))
        else:
            entry = dict(entry)
            devices.append(build.device(entry.pop("preset"), entry.pop("index", len(devices)), **entry))
    return devices


def render_case(case: dict[str, Any], build: ModuleType) -> dict[str, str]:
    """The case's outputs as {relative path: text}."""
    hosts = {
        h["name"]: build.host(
            h["name"],
            h["address"],
            _devices(build, h.get("devices", [])),
            arch=h.get("arch", "amd64"),
            docker=h.get("docker"),
        )
        for h in case["hosts"]
    }
    cluster_hosts = [{"name": h.host, "address": h.address} for h in hosts.values()]
    cluster = build.cluster(hosts=cluster_hosts, **case.get("cluster", {}))
    deployment = build.deployment(case["deployment"]["name"], **case["deployment"]["spec"])
    model = build.model(case["model"])
    backend, reason = backends.select_backend(deployment.spec, model)
    p = dict(case["placement"])
    workers = [w | {"address": hosts[w["host"]].address} for w in p.pop("workers")]
    placement = build.placement(
        backend, workers, deployment_name=deployment.metadata.name, reason=reason, **p
    )
    try:
        specs = backends.render(deployment, cluster, model, placement, hosts)
    except GpuctlError as error:
        return {"error.txt": "\n".join(str(d) for d in error.diagnostics) + "\n"}
    outputs: dict[str, str] = {}
    containers = []
    for spec in specs:
        data = spec.model_dump(mode="json")
        for file in data["files"]:
            ref = f"files/{spec.name}/{Path(file['path']).name}"
            outputs[ref] = file["content"]
            file["content"] = f"<{ref}>"
        containers.append(data | {"spec_hash": spec.spec_hash()})
    document = {"backend": backend, "reason": reason, "containers": containers}
    outputs["containers.json"] = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return outputs


def _read(directory: Path) -> dict[str, str]:
    return {str(p.relative_to(directory)): p.read_text() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("case_dir", CASES, ids=[path.name for path in CASES])
def test_golden(case_dir: Path, build: ModuleType) -> None:
    actual = render_case(yaml.safe_load((case_dir / "case.yaml").read_text()), build)
    expected_dir = case_dir / "expected"
    if os.environ.get("GPUCTL_UPDATE_GOLDEN"):
        shutil.rmtree(expected_dir, ignore_errors=True)
        for name, text in actual.items():
            (expected_dir / name).parent.mkdir(parents=True, exist_ok=True)
            (expected_dir / name).write_text(text)
    assert actual == _read(expected_dir)
