"""`gpuctl trust` and `gpuctl inventory` as a user runs them: the installed command, a Cluster spec
file, and the real sshd of conftest.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gpuctl.probe.known_hosts import find_entries
from gpuctl.probe.snapshot import load_snapshot

LocalSshd = Any  # the `sshd` fixture's value (conftest.LocalSshd)


def gpuctl(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gpuctl", *args], input=stdin, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def cluster_file(sshd: LocalSshd, tmp_path: Path, closed_port: int) -> Path:
    """Two hosts on the local sshd (one as a second name for it) and one where nothing listens."""
    path = tmp_path / "inventory" / "lab.yaml"
    path.parent.mkdir()
    path.write_text(
        f"""apiVersion: gpuctl.dev/v1alpha1
kind: Cluster
metadata: {{name: lab}}
spec:
  ssh:
    user: {sshd.user}
    port: {sshd.port}
    identityFile: {sshd.client_key}
    knownHostsFile: known_hosts
    connectTimeout: 3
  modelDir: {tmp_path}/models
  hosts:
    - {{name: gpu-01, address: 127.0.0.1}}
    - {{name: gpu-02, address: localhost}}
    - {{name: gpu-03, address: 127.0.0.1, port: {closed_port}}}
"""
    )
    return path


def test_trust_shows_the_fingerprint_and_records_after_yes(sshd: LocalSshd, cluster_file: Path) -> None:
    answered_no = gpuctl("trust", "gpu-01", "-i", str(cluster_file), stdin="n\n")
    assert answered_no.returncode == 1
    assert sshd.fingerprint() in answered_no.stdout
    known_hosts = cluster_file.parent / "known_hosts"
    assert not known_hosts.exists()

    scripted = gpuctl("trust", "gpu-01", "gpu-02", "-i", str(cluster_file), "--yes")
    assert scripted.returncode == 0, scripted.stdout + scripted.stderr
    assert [e.line for e in find_entries(known_hosts, "127.0.0.1", sshd.port)] == [1]
    assert [e.line for e in find_entries(known_hosts, "localhost", sshd.port)] == [2]
    again = gpuctl("trust", "gpu-01", "-i", str(cluster_file), "--yes")
    assert "already trusted" in again.stdout and known_hosts.read_text().count("\n") == 2


def test_trust_refuses_a_changed_key_without_replace(sshd: LocalSshd, cluster_file: Path) -> None:
    known_hosts = cluster_file.parent / "known_hosts"
    other = "AAAAC3NzaC1lZDI1NTE5AAAAIHPMUS2zwhRT0K8l1xpSFbS0ppKZ9n6X8zXQ7sRRTyDB"
    known_hosts.write_text(f"[127.0.0.1]:{sshd.port} ssh-ed25519 {other}\n")
    refused = gpuctl("trust", "gpu-01", "-i", str(cluster_file), "--yes")
    assert refused.returncode == 1
    assert "HOST KEY CHANGED" in refused.stdout and "line 1" in refused.stdout
    replaced = gpuctl("trust", "gpu-01", "-i", str(cluster_file), "--yes", "--replace")
    assert replaced.returncode == 0
    assert other not in known_hosts.read_text()


def test_trust_of_a_host_not_in_the_spec_names_the_known_ones(cluster_file: Path) -> None:
    result = gpuctl("trust", "gpu-1", "-i", str(cluster_file))
    assert result.returncode == 1
    assert "no host named 'gpu-1'" in result.stderr and "gpu-01" in result.stderr


def test_inventory_table_json_and_snapshot(sshd: LocalSshd, cluster_file: Path, tmp_path: Path) -> None:
    assert gpuctl("trust", "gpu-01", "-i", str(cluster_file), "--yes").returncode == 0
    table = gpuctl("inventory", "-i", str(cluster_file.parent))
    assert table.returncode == 1  # gpu-02's key is not trusted, gpu-03 is down
    for expected in ("gpu-01", "gpu-02", "gpu-03", "host-key-unknown", "unreachable", "gpuctl trust gpu-02"):
        assert expected in table.stdout

    snapshot = tmp_path / "inventory.json"
    as_json = gpuctl("inventory", "-i", str(cluster_file), "--json", "--save", str(snapshot))
    assert as_json.returncode == 1
    printed = json.loads(as_json.stdout)
    assert [(h["host"], h["status"]) for h in printed["hosts"]] == [
        ("gpu-01", "ok"),
        ("gpu-02", "host-key-unknown"),
        ("gpu-03", "unreachable"),
    ]
    assert printed["hosts"][0]["info"]["cpu_count"] >= 1
    saved = load_snapshot(snapshot)
    assert saved.fingerprint == printed["fingerprint"]


def test_inventory_with_a_broken_spec_is_a_diagnostic(tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text("kind: Cluster\nmetadata: {name: lab}\nspec:\n  hosts: []\n  sshh: {}\n")
    result = gpuctl("inventory", "-i", str(spec))
    assert result.returncode == 1
    assert f"{spec}:1:1: error: missing apiVersion" in result.stderr
    assert f"{spec}:5:3: error: spec.sshh: unknown field 'sshh' (did you mean 'ssh'?)" in result.stderr
    assert "Traceback" not in result.stderr
