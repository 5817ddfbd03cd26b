"""The Plan: what `gpuctl plan` decided and `gpuctl apply` carries out (a versioned JSON document).

`schemas/plan.schema.json` is generated from these classes. The same inputs give byte-identical
JSON (`to_json`): keys are sorted, lists are in a fixed order (placements by deployment and
replica, changes by host and container name, hosts and devices by name), and nothing depends on
the clock.
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gpuctl.backends.types import ContainerSpec
from gpuctl.errors import Diagnostic
from gpuctl.schedule.types import Placement

FORMAT_VERSION = 1

Action = Literal["create", "replace", "delete", "no-op"]


class PlanValue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class PlanDiagnostic(PlanValue):
    """A problem found while planning (the JSON form of gpuctl.errors.Diagnostic)."""

    severity: Literal["error", "warning"]
    code: str | None = None
    """unschedulable, held, overcommit, unreachable, model, binding, ..."""
    message: str
    hint: str | None = None
    path: str | None = None
    file: str | None = None
    line: int | None = None
    column: int | None = None
    host: str | None = None
    device: str | None = None

    @classmethod
    def of(cls, diagnostic: Diagnostic) -> PlanDiagnostic:
        return cls.model_validate(diagnostic.to_json())


class ObservedContainer(PlanValue):
    """The existing container a change replaces, deletes or leaves alone."""

    host: str
    id: str
    name: str
    image: str
    state: str
    spec_hash: str | None = None
    devices: list[str] = Field(default_factory=list)
    port: int | None = None


class Change(PlanValue):
    """One container to create, replace or delete (or leave as it is: no-op)."""

    action: Action
    cluster: str
    deployment: str
    replica: int
    role: str
    host: str
    """Where the new container runs (create, replace, no-op) or the old one ran (delete)."""
    name: str
    """Container name on `host`."""
    reasons: list[str]
    """Why, for people: "image changed a → b", "spec removed", "device 3 now busy (...)"."""
    moved: bool = False
    """A replace that puts the replica on other devices or another host (the old container stays
    until the new one is ready, where memory allows)."""
    devices: list[str] = Field(default_factory=list)
    """Device keys of the new container on `host` (delete: of the old one)."""
    spec_hash: str | None = None
    """Hash of `container` (create, replace, no-op)."""
    container: ContainerSpec | None = None
    """The container to run (create, replace). A no-op carries only its `spec_hash`: a converged
    fleet's plan stays small."""
    observed: ObservedContainer | None = None
    """The container there now (replace, delete, no-op)."""
    displaces: list[str] = Field(default_factory=list)
    """`host/name` of containers this plan removes whose devices or port this container needs:
    apply removes them before starting it."""


class DeviceUse(PlanValue):
    """One device's memory before and after the plan."""

    key: str
    name: str
    total: int
    before: int
    """Bytes in use or claimed before the plan (gpuctl's claims + foreign use)."""
    after: int
    foreign: int
    """Bytes used by processes that are not gpuctl's."""
    holders_before: list[str] = Field(default_factory=list)
    """gpuctl replicas holding memory here before: "qwen3-8b/0"."""
    holders_after: list[str] = Field(default_factory=list)
    schedulable: bool = True


class HostPlan(PlanValue):
    """A host of the planned clusters and its device map."""

    name: str
    cluster: str
    address: str
    status: str
    message: str | None = None
    accelerator: str
    devices: list[DeviceUse] = Field(default_factory=list)


class HostDigest(PlanValue):
    """The facts about a host a plan depends on (see gpuctl.plan.facts)."""

    host: str
    status: str
    devices: list[str] = Field(default_factory=list)
    """`KEY NAME TOTAL`: the devices and their sizes."""
    foreign: list[str] = Field(default_factory=list)
    """`KEY pid PID NAME`: processes that are not gpuctl's, by identity (not their memory)."""
    containers: list[str] = Field(default_factory=list)
    """`NAME ID SPEC_HASH STATE`: gpuctl's containers."""


class Summary(PlanValue):
    create: int = 0
    replace: int = 0
    delete: int = 0
    unchanged: int = 0


class Plan(PlanValue):
    """Everything `gpuctl plan` decided, and what it was decided from."""

    format_version: int = FORMAT_VERSION
    clusters: list[str]
    targets: list[str] = Field(default_factory=list)
    """Deployments `--target` limited the plan to (empty: all)."""
    placements: list[Placement] = Field(default_factory=list)
    """Where each replica runs, with its memory estimate and breakdown."""
    changes: list[Change] = Field(default_factory=list)
    diagnostics: list[PlanDiagnostic] = Field(default_factory=list)
    hosts: list[HostPlan] = Field(default_factory=list)
    summary: Summary = Field(default_factory=Summary)
    facts: list[HostDigest] = Field(default_factory=list)
    facts_fingerprint: str = ""
    """sha256 over `facts`: apply refuses a saved plan when the hosts' facts differ."""

    @property
    def errors(self) -> list[PlanDiagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def has_changes(self) -> bool:
        return any(c.action != "no-op" for c in self.changes)

    def exit_code(self) -> int:
        """Terraform's --detailed-exitcode: 1 error (unschedulable, unreachable), 2 changes, 0 none."""
        if self.errors:
            return 1
        return 2 if self.has_changes else 0

    def to_json(self, indent: int | None = None) -> str:
        """Canonical JSON: sorted keys, compact (or indented), a trailing newline.

        Every field holds JSON-native values, so the Python dump serialises as is (and three
        times faster than pydantic's JSON mode for a 2,000-deployment plan).
        """
        separators = (",", ": ") if indent else (",", ":")
        text = json.dumps(
            self.model_dump(), sort_keys=True, indent=indent, separators=separators, ensure_ascii=False
        )
        return text + "\n"
