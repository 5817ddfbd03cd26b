"""gpuctl's pyinfra facts: what apply reads from a host between its commands.

pyinfra's Docker facts describe containers in general; apply needs a container's state together
with its backend's readiness (`ContainerReadiness`, one round trip per poll) and whether a model
download is complete (`ModelFiles`). The commands come from the pure modules that own them.
"""

from __future__ import annotations

from pyinfra.api import FactBase

from gpuctl.apply import fetch, readiness


class ContainerReadiness(FactBase[readiness.Poll | None]):
    """State of a container and the HTTP status of its readiness endpoint."""

    def command(self, container: str, address: str, port: int, path: str) -> str:
        return readiness.poll_command(container, address, port, path)

    def process(self, output: list[str]) -> readiness.Poll | None:
        return readiness.parse_poll("\n".join(output))


class ModelFiles(FactBase[bool]):
    """Whether a model download into a target directory finished (its completion marker)."""

    def command(self, target: str, digest: str) -> str:
        return fetch.complete_command(target, digest)

    def process(self, output: list[str]) -> bool:
        return bool(output) and output[-1].strip() == "complete"

    @staticmethod
    def default() -> bool:
        return False
