"""How a Plan's changes are carried out: replica units, their order, and what each must stop first
(pure: Plan in, Rollout out).

A *unit* is one replica of one deployment (all its containers, on one host or several): its new
containers start together, the one serving the API is waited on, and only then do its old
containers go; if the new ones never serve, they are removed and the old ones come back. Within a
unit, an old container is stopped before the new ones start only where a new container needs its
devices or its port on the same host (otherwise both run side by side until the new one is ready);
an old container whose name a new one takes on the same host is renamed out of the way.

Order between units:
- a unit waits for the unit that frees devices or a port it needs (`Change.displaces`: a moved
  replica leaving those devices); a displaced container that the plan simply deletes is removed by
  the unit that needs its place, first (`clears`);
- replicas of one deployment that replace running containers roll one at a time, in replica order,
  so the deployment keeps serving; replicas that are only created start together;
- containers the plan deletes outright go last (`deletions`), after every unit has finished.

Units that wait on each other in a circle cannot run; they are `blocked`, with the reason.

An apply interrupted during a replacement (SIGKILL, Ctrl-C, a lost connection) leaves two
containers of one replica: the new one, which matches the spec, so the next plan leaves it as it
is, and the old one, which that plan deletes as its duplicate. Nobody has seen the new one serve
yet: such a deletion is a `Leftover`, done before the units once the new container serves, and
undone (the old container comes back) when it does not. The deployment's replacing units wait
for it, as for a replica rolled before them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from gpuctl.apply.docker import replaced_name
from gpuctl.backends.types import ContainerSpec, ModelFetch
from gpuctl.plan.model import Change, ObservedContainer, Plan

UnitKey = tuple[str, str, int]
"""(cluster, deployment, replica)."""


@dataclass(frozen=True)
class Old:
    """A container a unit removes once its new containers serve, and brings back if they do not."""

    observed: ObservedContainer
    change: Change
    """The replace or delete change it belongs to."""
    stop_first: bool
    """A new container of the unit needs its devices or its port on the same host."""
    rename: bool
    """A new container of the unit takes its name on the same host."""


@dataclass(frozen=True)
class Unit:
    key: UnitKey
    starts: tuple[Change, ...]
    """Containers to start (create or replace changes), the one serving the API first."""
    olds: tuple[Old, ...] = ()
    clears: tuple[Change, ...] = ()
    """Deletions of other replicas' containers whose devices or port this unit needs: done first."""
    after: tuple[UnitKey, ...] = ()
    """Units that must have succeeded before this one starts."""

    @property
    def name(self) -> str:
        return f"{self.key[1]}/{self.key[2]}"

    @property
    def deployment(self) -> str:
        return self.key[1]

    @property
    def serving(self) -> Change:
        return self.starts[0]

    @property
    def replaces(self) -> bool:
        return bool(self.olds)

    @property
    def hosts(self) -> list[str]:
        names = {c.host for c in self.starts} | {o.observed.host for o in self.olds}
        return sorted(names | {c.host for c in self.clears})

    @property
    def changes(self) -> list[Change]:
        """Every change the unit carries out (its results are reported per change)."""
        return [*self.starts, *(o.change for o in self.olds if o.change.action == "delete")]


@dataclass(frozen=True)
class Leftover:
    """A replacement an interrupted apply left half done (see the module docstring)."""

    old: Change
    """The plan's deletion of the replica's old container, a duplicate of `new`."""
    new: Change
    """The no-op of the container that replaced it (running, matching the spec, never seen serving)."""

    @property
    def key(self) -> UnitKey:
        return (self.old.cluster, self.old.deployment, self.old.replica)

    @property
    def name(self) -> str:
        return f"{self.old.deployment}/{self.old.replica}"

    @property
    def hosts(self) -> list[str]:
        return sorted({self.old.host, self.new.host})

    @property
    def renamed(self) -> bool:
        """The old container was renamed out of the new one's way (same host): undoing it renames
        it back and restores the files the new one overwrote."""
        old, new = self.old.observed, self.new.observed
        assert old is not None and new is not None
        return old.host == new.host and old.name == replaced_name(new.name, old.id)


@dataclass(frozen=True)
class Rollout:
    units: tuple[Unit, ...]
    """In an order that respects `after` (each unit after the units it waits for)."""
    deletions: tuple[Change, ...]
    blocked: dict[UnitKey, str] = field(default_factory=dict)
    """Units that cannot run, with the reason."""
    leftovers: tuple[Leftover, ...] = ()
    """Half-done replacements of an interrupted apply: finished or undone before the units."""

    @property
    def empty(self) -> bool:
        return not self.units and not self.deletions and not self.blocked and not self.leftovers

    def hosts(self) -> list[str]:
        """Every host the rollout touches (each is locked for the whole apply)."""
        names = {h for unit in self.units for h in unit.hosts} | {c.host for c in self.deletions}
        return sorted(names | {h for leftover in self.leftovers for h in leftover.hosts})

    def images(self) -> dict[str, list[str]]:
        """Images each host pulls before any of its containers is stopped."""
        found: dict[str, set[str]] = defaultdict(set)
        for spec in self.specs():
            found[spec.host].add(spec.image)
        return {host: sorted(images) for host, images in sorted(found.items())}

    def fetches(self) -> dict[str, list[ModelFetch]]:
        """Model files each host downloads before its containers start (one per target)."""
        found: dict[str, dict[str, ModelFetch]] = defaultdict(dict)
        for spec in self.specs():
            if spec.fetch is not None:
                found[spec.host].setdefault(spec.fetch.target, spec.fetch)
        return {host: [f for _, f in sorted(by_target.items())] for host, by_target in sorted(found.items())}

    def specs(self) -> list[ContainerSpec]:
        return [c.container for unit in self.units for c in unit.starts if c.container is not None]


def rollout(plan: Plan) -> Rollout:
    groups: dict[UnitKey, list[Change]] = defaultdict(list)
    for change in plan.changes:
        if change.action != "no-op":
            groups[(change.cluster, change.deployment, change.replica)].append(change)
    owners = {_where(c.observed): c for c in plan.changes if c.observed and c.action in ("delete", "replace")}
    starting = {key for key, changes in groups.items() if any(c.action != "delete" for c in changes)}

    units: dict[UnitKey, Unit] = {}
    cleared: set[str] = set()
    for key in sorted(starting):
        changes = groups[key]
        starts = sorted((c for c in changes if c.action != "delete"), key=_serving_first)
        olds = [c for c in changes if c.observed is not None and c.action != "create"]
        clears: list[Change] = []
        after: list[UnitKey] = []
        for start in starts:
            for where in start.displaces:
                owner = owners.get(where)
                if owner is None:
                    continue
                owner_key = (owner.cluster, owner.deployment, owner.replica)
                if owner_key == key:
                    continue
                if owner_key in starting:
                    after.append(owner_key)
                elif owner not in clears:
                    clears.append(owner)
                    cleared.add(where)
        units[key] = Unit(
            key=key,
            starts=tuple(starts),
            olds=tuple(_old(change, starts) for change in olds),
            clears=tuple(clears),
            after=tuple(sorted(set(after))),
        )
    deletions = [
        c
        for key, changes in sorted(groups.items())
        if key not in starting
        for c in changes
        if _where(c.observed) not in cleared
    ]
    leftovers = _leftovers(plan, deletions)
    deletions = [c for c in deletions if all(c is not left.old for left in leftovers)]
    _roll_one_at_a_time(units, [left.key for left in leftovers])
    ordered, blocked = _order(units)
    return Rollout(tuple(ordered), tuple(deletions), blocked, tuple(leftovers))


def _leftovers(plan: Plan, deletions: list[Change]) -> list[Leftover]:
    """Deletions of a duplicate whose replica the plan leaves as it is, running (only a duplicate
    deletion has a no-op of the same replica and role: scale-downs, removed specs and dropped
    roles have none)."""
    kept = {
        (c.cluster, c.deployment, c.replica, c.role): c
        for c in plan.changes
        if c.action == "no-op" and c.observed is not None and c.observed.state == "running"
    }
    found = []
    for change in deletions:
        new = kept.get((change.cluster, change.deployment, change.replica, change.role))
        old = change.observed
        if new is not None and new.observed is not None and old is not None and new.observed.id != old.id:
            found.append(Leftover(old=change, new=new))
    return found


def _where(observed: ObservedContainer | None) -> str:
    return f"{observed.host}/{observed.name}" if observed else ""


def _serving_first(change: Change) -> tuple[bool, str]:
    spec = change.container
    return (spec is None or spec.readiness.address is not None, change.role)


def _ports(role: str, port: int | None) -> set[int]:
    """Ports a container holds: its own, and the distributed-init port next to a leader's."""
    if port is None:
        return set()
    return {port, port + 1} if role == "leader" else {port}


def _old(change: Change, starts: list[Change]) -> Old:
    observed = change.observed
    assert observed is not None
    stop_first = rename = False
    for start in starts:
        spec = start.container
        if spec is None or start.host != observed.host:
            continue
        if set(start.devices) & set(observed.devices) or (
            _ports(start.role, spec.port) & _ports(change.role, observed.port)
        ):
            stop_first = True
        if spec.name == observed.name:
            rename = True
    return Old(observed=observed, change=change, stop_first=stop_first, rename=rename)


def _roll_one_at_a_time(units: dict[UnitKey, Unit], leftovers: list[UnitKey]) -> None:
    """Each replacing unit of a deployment waits for the previous one (replica order), and the
    first one for the deployment's leftovers (done before any unit: a replica whose new container
    does not serve stops the rollout as a failed unit would)."""
    previous: dict[tuple[str, str], set[UnitKey]] = defaultdict(set)
    for key in leftovers:
        previous[key[:2]].add(key)
    for key in sorted(units):
        unit = units[key]
        if not unit.replaces:
            continue
        deployment = key[:2]
        if previous[deployment]:
            units[key] = Unit(
                key=unit.key,
                starts=unit.starts,
                olds=unit.olds,
                clears=unit.clears,
                after=tuple(sorted({*unit.after, *previous[deployment]})),
            )
        previous[deployment] = {key}


def _order(units: dict[UnitKey, Unit]) -> tuple[list[Unit], dict[UnitKey, str]]:
    """Kahn's topological sort by `after`; what is left waits in a circle."""
    waiting = {key: {k for k in unit.after if k in units} for key, unit in units.items()}
    ordered: list[Unit] = []
    ready = sorted(key for key, deps in waiting.items() if not deps)
    done: set[UnitKey] = set()
    while ready:
        key = ready.pop(0)
        ordered.append(units[key])
        done.add(key)
        for other, deps in sorted(waiting.items()):
            if key in deps:
                deps.discard(key)
                if not deps and other not in done and other not in ready:
                    ready.append(other)
        ready.sort()
    stuck = sorted(set(units) - done)
    names = ", ".join(units[k].name for k in stuck)
    blocked = {
        key: f"waits in a circle for devices or ports among {names}; apply them one at a time with --target"
        for key in stuck
    }
    return ordered, blocked
