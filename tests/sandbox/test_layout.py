"""Names, addresses and paths of sandbox hosts, and the paths `up` refuses (no root needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpuctl.errors import GpuctlError
from gpuctl.sandbox import Sandbox, layout
from gpuctl.sandbox.fleet import INVENTORY_HEADER, _check_paths
from gpuctl.spec.models import NAME_PATTERN


def test_hosts_are_named_after_sandbox_and_profile() -> None:
    hosts = layout.hosts("dev", 3, Path("/s"), ["nvidia-8xh100", "cpu", "cpu"])
    assert [h.name for h in hosts] == ["dev-h100-1", "dev-cpu-1", "dev-cpu-2"]
    assert [h.address for h in hosts] == ["198.18.3.11", "198.18.3.12", "198.18.3.13"]
    assert layout.registry_address(3) == "198.18.3.1:5000"


def test_longest_names_still_fit_linux_and_dns_limits() -> None:
    import re

    name = "a" * 32
    (host,) = layout.hosts(name, layout.MAX_SANDBOXES, Path("/s"), ["nvidia-h100-mig"])
    host = layout.SandboxHost(
        host.name, host.profile, layout.MAX_HOSTS - 1, name, layout.MAX_SANDBOXES, Path("/s")
    )
    assert re.fullmatch(NAME_PATTERN, host.name) and len(host.name) <= 63
    assert len(host.veth) <= 15  # IFNAMSIZ - 1
    assert len(str(host.docker_socket)) < 100  # sun_path holds 108 bytes


def test_sandbox_names_are_dns_labels() -> None:
    with pytest.raises(GpuctlError, match="not a lower-case DNS label"):
        Sandbox("Dev_1")


def test_up_refuses_paths_down_would_wrongly_delete(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(GpuctlError, match="holds files that are not a sandbox's"):
        _check_paths(tmp_path, tmp_path / "cluster.yaml")
    cluster = tmp_path / "prod.yaml"
    cluster.write_text("kind: Cluster\n")
    with pytest.raises(GpuctlError, match="was not written by `gpuctl sandbox up`"):
        _check_paths(tmp_path / "state", cluster)
    with pytest.raises(GpuctlError, match="space, comma, colon"):
        _check_paths(tmp_path / "my state", tmp_path / "c.yaml")
    cluster.write_text(INVENTORY_HEADER + "kind: Cluster\n")
    _check_paths(tmp_path / "state", cluster)  # its own Cluster file may be rewritten
