"""What an apply did, per host and per change: done, failed or skipped, each with its reason.

`gpuctl apply --json` prints `ApplyResult` (its `format_version` says which shape); the text
report is rendered from the same values.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gpuctl.plan.model import Change, PlanDiagnostic

FORMAT_VERSION = 1

Status = Literal["done", "failed", "skipped"]


class ResultValue(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChangeResult(ResultValue):
    action: str
    """create, replace or delete (as planned)."""
    cluster: str
    deployment: str
    replica: int
    role: str
    host: str
    name: str
    status: Status
    reason: str | None = None
    """Why it failed or was skipped; what happened instead (rolled back ...)."""
    log_tail: list[str] = Field(default_factory=list)
    """The last lines of a new container that exited or never became ready."""
    seconds: float | None = None
    """From the unit's start to its end (a unit is one replica: its containers start together)."""

    @classmethod
    def of(cls, change: Change, status: Status, reason: str | None = None, **more: object) -> ChangeResult:
        return cls(
            action=change.action,
            cluster=change.cluster,
            deployment=change.deployment,
            replica=change.replica,
            role=change.role,
            host=change.host,
            name=change.name,
            status=status,
            reason=reason,
            **more,  # type: ignore[arg-type]
        )


class StepTime(ResultValue):
    """Where the time went, for the report and the benchmark."""

    phase: str
    """probe, lock, pull, fetch, start, readiness, remove, ..."""
    host: str | None = None
    what: str | None = None
    seconds: float


class HostResult(ResultValue):
    host: str
    status: Literal["ok", "failed"]
    reason: str | None = None
    """Why the host could not be changed (unreachable, locked, image pull failed ...)."""


class ApplyResult(ResultValue):
    format_version: int = FORMAT_VERSION
    ok: bool
    """Every change done and the plan without errors: exit status 0."""
    changes: list[ChangeResult] = Field(default_factory=list)
    hosts: list[HostResult] = Field(default_factory=list)
    diagnostics: list[PlanDiagnostic] = Field(default_factory=list)
    """The plan's errors and warnings (an unschedulable deployment makes the apply fail)."""
    timings: list[StepTime] = Field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: Status) -> int:
        return sum(1 for c in self.changes if c.status == status)
