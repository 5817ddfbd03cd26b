"""Inventory snapshots: a saved inventory loads back equal, and one that cannot be trusted is
refused with a sentence (not JSON, wrong format version, edited facts, invalid facts)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gpuctl.errors import GpuctlError
from gpuctl.facts import Device, DockerInfo, HostFacts, HostInfo, Inventory
from gpuctl.probe.snapshot import fingerprint, load_snapshot, save_snapshot, with_fingerprint

GIB = 1024**3


def inventory(used: int = 0, seconds: float = 0.4) -> Inventory:
    host = HostFacts(
        host="gpu-01",
        cluster="lab",
        address="10.0.0.11",
        status="ok",
        info=HostInfo(
            hostname="gpu-01", arch="amd64", cpu_count=64, memory_total=512 * GIB, memory_available=400 * GIB
        ),
        devices=[
            Device(
                key="0",
                vendor="nvidia",
                index=0,
                name="NVIDIA H100 80GB HBM3",
                memory_total=80 * GIB,
                memory_used=used,
            )
        ],
        docker=DockerInfo(reachable=True, server_version="27.3.1", runtimes=["nvidia", "runc"]),
        probe_seconds=seconds,
    )
    down = HostFacts(host="gpu-02", cluster="lab", address="10.0.0.12", status="unreachable", message="down")
    return Inventory(taken_at="2026-11-25T10:00:00Z", hosts=[host, down])


def test_round_trip(tmp_path: Path) -> None:
    saved = with_fingerprint(inventory())
    save_snapshot(saved, tmp_path / "inv.json")
    assert load_snapshot(tmp_path / "inv.json") == saved
    assert saved.fingerprint.startswith("sha256:") and len(saved.fingerprint) == 71


def test_fingerprint_ignores_timing_but_not_facts() -> None:
    assert fingerprint(inventory(seconds=0.4)) == fingerprint(inventory(seconds=9.9))
    assert fingerprint(inventory(used=0)) != fingerprint(inventory(used=GIB))


def test_edited_snapshot_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "inv.json"
    save_snapshot(inventory(), path)
    data = json.loads(path.read_text())
    data["hosts"][0]["devices"][0]["memory_used"] = 0 + 1
    path.write_text(json.dumps(data))
    with pytest.raises(GpuctlError, match="do not match its fingerprint") as caught:
        load_snapshot(path)
    assert caught.value.diagnostics[0].location.file == str(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json at all", "is not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"format_version": 2, "hosts": []}', "format 2 is not the format this gpuctl reads"),
        ('{"format_version": 1, "taken_at": "x", "hosts": [{"host": "a"}]}', "invalid at hosts.0"),
    ],
)
def test_untrustworthy_snapshots_are_refused(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "inv.json"
    path.write_text(content)
    with pytest.raises(GpuctlError, match=message):
        load_snapshot(path)


def test_missing_snapshot_is_a_diagnostic(tmp_path: Path) -> None:
    with pytest.raises(GpuctlError, match="cannot read the inventory snapshot"):
        load_snapshot(tmp_path / "nope.json")
