"""Desired containers against the containers that run: create, replace, delete or leave alone.

Containers are matched by identity (cluster, deployment, replica, role), then compared by spec
hash and state. Only containers with gpuctl's labels are ever considered, so nothing else on a
host can be replaced or deleted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gpuctl import labels
from gpuctl.backends.types import ContainerSpec
from gpuctl.plan.explain import spec_changes
from gpuctl.plan.model import Action, Change, ObservedContainer
from gpuctl.schedule.observed import Observed

Identity = tuple[str, str, int, str]

MOVED_FIELDS = ("gpus", "devices", "host changed")
"""Spec changes a move implies; "moved a:0 → b:1" says them already."""


@dataclass(frozen=True)
class Desired:
    """One container the plan wants, with the identity and devices of its placement."""

    identity: Identity
    host: str
    devices: tuple[str, ...]
    spec: ContainerSpec


def observed_value(obs: Observed) -> ObservedContainer:
    c = obs.container
    return ObservedContainer(
        host=obs.host,
        id=c.id,
        name=c.name,
        image=c.image,
        state=c.state,
        spec_hash=obs.spec_hash,
        devices=list(obs.devices),
        port=obs.port,
    )


def diff(
    desired: list[Desired],
    current: dict[Identity, Observed],
    deletions: list[tuple[Observed, str]],
    moved: dict[tuple[str, str, int], str],
    kept: dict[tuple[str, str, int], str],
    create_reason: dict[tuple[str, str], str],
    spared: Sequence[tuple[Observed, str]] = (),
) -> list[Change]:
    """All changes, sorted by host and container name (then action, for determinism).

    `current`: the container the plan compares against, per identity; `deletions`: containers
    the plan removes outright with the reason; `moved`/`kept`: the scheduler's word on running
    replicas; `create_reason`: per (cluster, deployment), why its missing replicas are created;
    `spared`: containers the plan would delete but leaves for now, with the reason.
    """
    changes: list[Change] = []
    wanted = {d.identity for d in desired}
    for want in desired:
        cluster, deployment, replica, _ = want.identity
        spec_hash = want.spec.spec_hash()
        obs = current.get(want.identity)
        if obs is None:
            reason = moved.get((cluster, deployment, replica)) or create_reason.get((cluster, deployment), "")
            changes.append(_wanted(want, "create", [reason] if reason else []))
            continue
        is_moved = obs.host != want.host or tuple(obs.devices) != want.devices
        reasons: list[str] = []
        if is_moved:
            why = moved.get((cluster, deployment, replica))
            where = f"{_where(obs.host, obs.devices)} → {_where(want.host, want.devices)}"
            reasons.append(f"moved {where}" + (f": {why}" if why else ""))
        if obs.spec_hash != spec_hash:
            details = spec_changes(obs.container.labels.get(labels.SPEC), want.spec)
            if not details and not is_moved:
                details = [f"spec hash changed {obs.spec_hash or '(none)'} → {spec_hash}"]
            reasons += [d for d in details if not (is_moved and d.startswith(MOVED_FIELDS))]
        if not obs.running:
            reasons.append(f"container {obs.container.state}")
        action: Action = "replace" if reasons else "no-op"
        changes.append(_wanted(want, action, reasons, moved=is_moved, obs=obs))
    for ident, obs in current.items():
        if ident in wanted:
            continue
        key = ident[:3]
        if key in kept:
            changes.append(_leave(obs, kept[key]))
        else:
            changes.append(_delete(obs, f"role {obs.role} is no longer part of replica {obs.replica}"))
    changes += [_delete(obs, reason) for obs, reason in deletions]
    changes += [_leave(obs, reason) for obs, reason in spared]
    _mark_displaced(changes)
    changes.sort(key=lambda c: (c.host, c.name, c.action, c.observed.id if c.observed else ""))
    return changes


def _where(host: str, devices: tuple[str, ...]) -> str:
    return f"{host}:{','.join(devices) or 'cpu'}"


def _wanted(
    want: Desired, action: Action, reasons: list[str], moved: bool = False, obs: Observed | None = None
) -> Change:
    cluster, deployment, replica, role = want.identity
    return Change(
        action=action,
        cluster=cluster,
        deployment=deployment,
        replica=replica,
        role=role,
        host=want.host,
        name=want.spec.name,
        reasons=reasons,
        moved=moved,
        devices=list(want.devices),
        spec_hash=want.spec.spec_hash(),
        container=want.spec if action != "no-op" else None,
        observed=observed_value(obs) if obs is not None else None,
    )


def _delete(obs: Observed, reason: str) -> Change:
    return _of_observed("delete", obs, reason)


def _leave(obs: Observed, reason: str) -> Change:
    return _of_observed("no-op", obs, reason, spec_hash=obs.spec_hash)


def _of_observed(action: Action, obs: Observed, reason: str, spec_hash: str | None = None) -> Change:
    """A change about a container that is there and no deployment wants changed."""
    return Change(
        action=action,
        cluster=obs.cluster,
        deployment=obs.deployment,
        replica=obs.replica,
        role=obs.role,
        host=obs.host,
        name=obs.name,
        reasons=[reason],
        devices=list(obs.devices),
        spec_hash=spec_hash,
        observed=observed_value(obs),
    )


def _mark_displaced(changes: list[Change]) -> None:
    """Record, on each container to start, the removed containers whose devices or port it needs."""
    leaving = [c.observed for c in changes if c.observed is not None and c.action in ("delete", "replace")]
    for i, change in enumerate(changes):
        if change.action not in ("create", "replace") or change.container is None:
            continue
        port = change.container.port
        needs = sorted(
            f"{old.host}/{old.name}"
            for old in leaving
            if old.host == change.host
            and (change.observed is None or old.id != change.observed.id)
            and (set(old.devices) & set(change.devices) or old.port == port)
        )
        if needs:
            changes[i] = change.model_copy(update={"displaces": needs})
