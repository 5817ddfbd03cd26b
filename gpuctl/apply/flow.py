"""`gpuctl apply` and `gpuctl destroy` from start to end: plan (or read a saved plan), show it,
ask, carry it out, report. The CLI only parses options and prints.

Locks are taken after the confirmation, not before: a person may take minutes to read a plan,
and holding every host meanwhile would block CI. The executor then probes the locked hosts again
and refuses when anything the plan depends on changed in between (another apply ran, a container
exited), exactly as for a saved plan: the plan that was confirmed is the plan carried out, or
nothing is.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gpuctl.apply.results import ApplyResult
from gpuctl.errors import Diagnostic, GpuctlError
from gpuctl.plan.model import Plan
from gpuctl.spec.models import Cluster

DESTROY_REASON = "destroy"


@dataclass(frozen=True)
class Planned:
    plan: Plan
    clusters: list[Cluster]
    saved: Path | None = None
    """The plan file, when the plan was read from one."""


def plan_file(paths: list[Path]) -> Path | None:
    """The saved plan among the arguments: a single file holding JSON (plans are JSON, specs YAML)."""
    if len(paths) != 1 or not paths[0].is_file():
        return None
    with paths[0].open("rb") as handle:
        head = handle.read(64).lstrip()
    return paths[0] if head.startswith(b"{") else None


def load_clusters(inventory: list[Path]) -> list[Cluster]:
    from gpuctl.spec.loader import load_specs

    clusters = list(load_specs(inventory).clusters)
    if not clusters:
        raise GpuctlError(
            Diagnostic(
                f"no Cluster document in {', '.join(map(str, inventory))}",
                hint="pass the inventory file with -i (e.g. -i inventory/lab.yaml)",
                code="no-cluster",
            )
        )
    return clusters


def make_plan(inventory: list[Path], specs: list[Path], targets: list[str], lock: Path) -> Planned:
    from gpuctl.plan.build import make_plan as build
    from gpuctl.plan.inputs import gather

    inputs = gather(inventory, specs, None, targets, lock)
    return Planned(build(inputs), list(inputs.clusters))


def read_plan(path: Path, inventory: list[Path]) -> Planned:
    from gpuctl.plan.file import load_plan

    plan = load_plan(path)
    clusters = [c for c in load_clusters(inventory) if c.metadata.name in plan.clusters]
    missing = sorted(set(plan.clusters) - {c.metadata.name for c in clusters})
    if missing:
        raise GpuctlError(
            Diagnostic(
                f"the plan is for cluster {', '.join(missing)}, which {', '.join(map(str, inventory))} "
                "does not define",
                hint="pass the inventory the plan was made with (-i)",
                code="plan-cluster-missing",
            )
        )
    return Planned(plan, clusters, path)


def destroy_plan(inventory: list[Path], targets: list[str], lock: Path) -> Planned:
    """A plan deleting every gpuctl container of the clusters (or of the `targets` deployments):
    the plan of the clusters with no deployments at all."""
    from gpuctl.plan.build import make_plan as build
    from gpuctl.plan.inputs import gather

    inputs = gather(inventory, [], None, targets, lock)
    inputs.deployments = []
    plan = build(inputs)
    changes = [
        c.model_copy(update={"reasons": [DESTROY_REASON]}) if c.action == "delete" else c
        for c in plan.changes
    ]
    return Planned(plan.model_copy(update={"changes": changes}), list(inputs.clusters))


def missing_secrets(plan: Plan, environ: dict[str, str]) -> list[str]:
    """Warnings for containers whose secret variables are not set here (they will fail)."""
    out = []
    for change in plan.changes:
        spec = change.container
        if change.action in ("create", "replace") and spec is not None:
            missing = sorted({v for v in spec.secret_env.values() if v not in environ})
            if missing:
                out.append(
                    f"{change.deployment}/{change.replica} needs {', '.join(missing)}, which is not set: "
                    "it will fail unless you export it"
                )
    return out


def confirm(question: str, auto_approve: bool, ask: Callable[[str], str] | None = None) -> bool:
    """Terraform's rule: only the word `yes` goes ahead. Without a terminal to ask on, only
    --auto-approve does (a CI job must say so explicitly)."""
    if auto_approve:
        return True
    if ask is None:
        if not sys.stdin.isatty():
            raise GpuctlError(
                Diagnostic(
                    "refusing to change hosts without confirmation: standard input is not a terminal, so "
                    "gpuctl cannot ask",
                    hint="review the plan, then pass --auto-approve (in CI), or run it in a terminal",
                    code="not-confirmed",
                )
            )

        def ask(prompt: str) -> str:
            sys.stderr.write(prompt)
            sys.stderr.flush()
            return sys.stdin.readline()

    answer = ask(f"{question}\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ")
    return answer.strip() == "yes"


def execute(planned: Planned, *, lock_timeout: float, command: str) -> ApplyResult:
    """Carry out the plan's changes on the hosts (gevent must already be patched)."""
    from gpuctl.apply import docker
    from gpuctl.apply.execute import Executor
    from gpuctl.apply.progress import reporter_for
    from gpuctl.apply.rollout import rollout
    from gpuctl.apply.session import Session
    from gpuctl.probe.inventory import targets_for

    steps = rollout(planned.plan)
    environ = dict(os.environ)
    hosts = set(steps.hosts())
    targets = [t for cluster in planned.clusters for t in targets_for(cluster) if t.host in hosts]
    secrets = [value for spec in steps.specs() for value in docker.secret_values(spec, environ)]
    reporter = reporter_for(sys.stderr, secrets)
    try:
        executor = Executor(
            planned.plan,
            steps,
            Session(targets),
            reporter,
            environ,
            lock_timeout=lock_timeout,
            command=command,
        )
        return executor.run()
    finally:
        reporter.close()
