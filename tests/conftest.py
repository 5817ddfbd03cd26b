"""Shared fixtures.

`sandbox`: one sandbox fleet (every host profile, one host each) for the whole test session,
brought up on first use and removed at the end. It is a `gpuctl.sandbox.Sandbox`: `sandbox.hosts`,
`sandbox.host("nvidia-8xh100")` (by name or profile) with `.name`, `.address`, `.profile`;
`sandbox.ssh(host, "command")` runs a command over real SSH with strict host key checking,
`sandbox.ssh_args(host)` gives that ssh command line, `sandbox.docker_args(host)` a docker CLI bound
to the host's daemon, `sandbox.inventory` its Cluster file. Tests using it are marked
`@pytest.mark.sandbox`. Without root or a needed program they skip with the reason; with
CI=true they fail instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from gpuctl.sandbox import Sandbox


def sandbox_prerequisites() -> None:
    """Skip (fail in CI) when this machine cannot run a sandbox."""
    from gpuctl.sandbox.system import missing_prerequisites

    problems = missing_prerequisites()
    if problems:
        reason = "the sandbox cannot run here: " + "; ".join(problems)
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    from gpuctl.sandbox.profiles import PROFILES

    sandbox_prerequisites()
    root = tmp_path_factory.mktemp("sandbox")
    inventory = root / "inventory" / "fleet.yaml"
    fleet = Sandbox(f"pytest-{os.getpid()}", state_dir=root / "state", inventory=inventory)
    try:
        fleet.up(list(PROFILES))
        yield fleet
    finally:
        fleet.down()
