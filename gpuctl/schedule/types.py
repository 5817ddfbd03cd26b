"""Placement: the scheduler's decision for one replica, the input the backends render from."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from gpuctl.estimate.types import Estimate


class Worker(BaseModel):
    """A part of a replica on one host (distributed replicas have several)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str
    address: str
    devices: list[str] = Field(default_factory=list)
    """Device keys on that host ("0", "1", "0/1" for a MIG instance); empty = CPU only."""
    role: str = "main"
    """main for a single-host replica; leader / worker-1 ... across hosts."""
    port: int
    """Backend port on that host (host networking)."""


class Placement(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    deployment: str
    cluster: str
    replica: int
    backend: str
    """Backend chosen (never "auto")."""
    backend_reason: str
    """Which rule chose it: "explicit", "GGUF file → llama-box", ..."""
    workers: list[Worker]
    """workers[0] is the host that serves the API."""
    tensor_parallel: int = 1
    pipeline_parallel: int = 1
    estimate: Estimate
    overcommit: bool = False
    """Pinned devices cannot hold the estimate and the user allowed it anyway."""

    @property
    def main(self) -> Worker:
        return self.workers[0]
