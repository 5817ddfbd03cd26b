"""The order of a rollout: replica units, what each stops or renames first, who waits for whom."""

from __future__ import annotations

from gpuctl.apply.rollout import rollout
from gpuctl.backends.types import ContainerSpec, ModelFetch, Readiness
from gpuctl.plan.model import Change, ObservedContainer, Plan


def container(
    deployment: str,
    replica: int,
    host: str,
    port: int,
    role: str = "main",
    leader: str | None = None,
    **more: object,
) -> ContainerSpec:
    name = f"gpuctl-{deployment}-{replica}" + ("" if role == "main" else f"-{role}")
    return ContainerSpec.model_validate(
        {
            "name": name,
            "host": host,
            "image": f"mirror/runner:{more.pop('tag', 'v1')}",
            "command": ["serve"],
            "port": port,
            "readiness": Readiness(path="/health", port=port, timeout=60, address=leader),
        }
        | more
    )


def observed(host: str, name: str, devices: list[str], port: int, ident: str = "c0ffee") -> ObservedContainer:
    return ObservedContainer(
        host=host,
        id=ident * 4,
        name=name,
        image="mirror/runner:v0",
        state="running",
        devices=devices,
        port=port,
    )


def change(
    action: str, deployment: str, replica: int, host: str, devices: list[str], port: int, **more: object
) -> Change:
    role = str(more.pop("role", "main"))
    spec = None
    if action in ("create", "replace"):
        spec = container(
            deployment, replica, host, port, role, more.pop("leader", None), **more.pop("spec", {})
        )
    name = spec.name if spec else f"gpuctl-{deployment}-{replica}" + ("" if role == "main" else f"-{role}")
    return Change(
        action=action,
        cluster="lab",
        deployment=deployment,
        replica=replica,
        role=role,
        host=host,
        name=name,
        reasons=["why"],
        devices=devices,
        container=spec,
        **more,
    )


def plan(*changes: Change) -> Plan:
    return Plan(clusters=["lab"], changes=list(changes))


def test_creates_start_together_and_deletes_come_last() -> None:
    steps = rollout(
        plan(
            change("create", "chat", 0, "a", ["0"], 40000),
            change("create", "chat", 1, "b", ["0"], 40000),
            change(
                "delete", "old", 0, "a", ["1"], 40001, observed=observed("a", "gpuctl-old-0", ["1"], 40001)
            ),
            change("no-op", "kept", 0, "b", ["1"], 40001),
        )
    )
    assert [u.name for u in steps.units] == ["chat/0", "chat/1"]
    assert all(not u.after and not u.olds for u in steps.units)
    assert [c.name for c in steps.deletions] == ["gpuctl-old-0"]
    assert steps.hosts() == ["a", "b"]


def test_replace_in_place_stops_and_renames_the_old_container_and_replicas_roll_one_at_a_time() -> None:
    steps = rollout(
        plan(
            *(
                change(
                    "replace",
                    "chat",
                    r,
                    "a",
                    [str(r)],
                    40000 + r,
                    observed=observed("a", f"gpuctl-chat-{r}", [str(r)], 40000 + r),
                )
                for r in range(3)
            )
        )
    )
    units = {u.name: u for u in steps.units}
    assert [u.name for u in steps.units] == ["chat/0", "chat/1", "chat/2"]
    assert units["chat/0"].after == () and units["chat/1"].after == (("lab", "chat", 0),)
    assert units["chat/2"].after == (("lab", "chat", 1),)
    old = units["chat/1"].olds[0]
    assert old.stop_first and old.rename


def test_a_replica_moving_to_free_devices_runs_beside_the_old_one() -> None:
    other_host = change(
        "replace",
        "chat",
        0,
        "b",
        ["0"],
        40000,
        moved=True,
        observed=observed("a", "gpuctl-chat-0", ["0"], 40000),
    )
    same_host = change(
        "replace",
        "chat",
        1,
        "a",
        ["3"],
        40007,
        moved=True,
        observed=observed("a", "gpuctl-chat-1", ["1"], 40001),
    )
    units = {u.name: u for u in rollout(plan(other_host, same_host)).units}
    assert not units["chat/0"].olds[0].stop_first and not units["chat/0"].olds[0].rename
    assert not units["chat/1"].olds[0].stop_first and units["chat/1"].olds[0].rename


def test_the_same_port_on_the_same_host_means_stop_first_even_on_other_devices() -> None:
    moved = change(
        "replace",
        "chat",
        0,
        "a",
        ["3"],
        40000,
        moved=True,
        observed=observed("a", "gpuctl-chat-0", ["1"], 40000),
    )
    assert rollout(plan(moved)).units[0].olds[0].stop_first


def test_a_displaced_deletion_is_cleared_by_the_unit_that_needs_its_place() -> None:
    gone = change("delete", "old", 0, "a", ["0"], 40000, observed=observed("a", "gpuctl-old-0", ["0"], 40000))
    new = change("create", "chat", 0, "a", ["0"], 40000, displaces=["a/gpuctl-old-0"])
    steps = rollout(plan(gone, new))
    assert [c.name for c in steps.units[0].clears] == ["gpuctl-old-0"]
    assert steps.deletions == ()


def test_a_unit_needing_the_devices_of_a_moving_replica_waits_for_it() -> None:
    leaving = change(
        "replace",
        "big",
        0,
        "b",
        ["0", "1"],
        40000,
        moved=True,
        observed=observed("a", "gpuctl-big-0", ["0", "1"], 40000),
    )
    arriving = change("create", "small", 0, "a", ["0"], 40001, displaces=["a/gpuctl-big-0"])
    steps = rollout(plan(arriving, leaving))
    assert [u.name for u in steps.units] == ["big/0", "small/0"]
    assert steps.units[1].after == (("lab", "big", 0),)


def test_units_waiting_in_a_circle_are_blocked() -> None:
    one = change(
        "replace",
        "x",
        0,
        "b",
        ["0"],
        40000,
        moved=True,
        observed=observed("a", "gpuctl-x-0", ["0"], 40000),
        displaces=["b/gpuctl-y-0"],
    )
    two = change(
        "replace",
        "y",
        0,
        "a",
        ["0"],
        40000,
        moved=True,
        observed=observed("b", "gpuctl-y-0", ["0"], 40000),
        displaces=["a/gpuctl-x-0"],
    )
    steps = rollout(plan(one, two))
    assert steps.units == ()
    assert set(steps.blocked) == {("lab", "x", 0), ("lab", "y", 0)}
    assert "circle" in steps.blocked[("lab", "x", 0)]


def test_a_distributed_replica_is_one_unit_led_by_the_serving_container() -> None:
    worker = change("create", "big", 0, "b", ["0"], 40000, role="worker-1", leader="10.0.0.1")
    leader = change("create", "big", 0, "a", ["0"], 40000, role="leader")
    steps = rollout(plan(worker, leader))
    unit = steps.units[0]
    assert [c.role for c in unit.starts] == ["leader", "worker-1"]
    assert unit.serving.role == "leader" and unit.hosts == ["a", "b"]


def test_a_leader_holds_the_next_port_too() -> None:
    old_leader = observed("a", "gpuctl-big-0-leader", ["0"], 40000)
    new_main = change("create", "big", 0, "a", ["5"], 40001)
    gone = change("delete", "big", 0, "a", ["0"], 40000, role="leader", observed=old_leader)
    unit = rollout(plan(new_main, gone)).units[0]
    assert unit.olds[0].stop_first and unit.olds[0].change.action == "delete"
    assert [c.action for c in unit.changes] == ["create", "delete"]


def test_images_and_fetches_per_host() -> None:
    fetch = ModelFetch(source="huggingface", repo="a/b", files=["m.gguf"], target="/models/a/b/main")
    steps = rollout(
        plan(
            change("create", "one", 0, "a", ["0"], 40000, spec={"tag": "v2", "fetch": fetch}),
            change("create", "two", 0, "a", ["1"], 40001, spec={"tag": "v2", "fetch": fetch}),
            change("create", "three", 0, "b", [], 40000, spec={"tag": "v3"}),
        )
    )
    assert steps.images() == {"a": ["mirror/runner:v2"], "b": ["mirror/runner:v3"]}
    assert steps.fetches() == {"a": [fetch]}


def test_an_empty_plan_is_an_empty_rollout() -> None:
    assert rollout(plan(change("no-op", "kept", 0, "a", ["0"], 40000))).empty


def test_a_duplicate_left_by_an_interrupted_replacement_is_a_leftover() -> None:
    """Killed mid-replacement: the plan leaves the new gpuctl-chat-0 as it is (it matches the spec)
    and deletes the renamed old one as its duplicate; nobody has seen the new one serve."""
    new = change("no-op", "chat", 0, "a", ["0"], 40000, observed=observed("a", "gpuctl-chat-0", ["0"], 40000))
    old = observed("a", "gpuctl-chat-0.replaced-0123abcd0123", ["0"], 40000, ident="0123abcd")
    old = old.model_copy(update={"state": "exited"})
    duplicate = change("delete", "chat", 0, "a", ["0"], 40000, observed=old)
    next_replica = change(
        "replace", "chat", 1, "a", ["1"], 40001, observed=observed("a", "gpuctl-chat-1", ["1"], 40001)
    )
    steps = rollout(plan(new, duplicate, next_replica))
    [leftover] = steps.leftovers
    assert leftover.old is duplicate and leftover.new is new and leftover.renamed
    assert steps.deletions == () and not steps.empty and steps.hosts() == ["a"]
    assert steps.units[0].after == (("lab", "chat", 0),)  # waits for the leftover, as for replica 0


def test_only_a_duplicate_of_a_running_replica_is_a_leftover() -> None:
    """Scale-downs and removed specs have no replica left as it is; a duplicate on another host
    (a move interrupted) is one, but without renaming anything back."""
    running = change(
        "no-op", "chat", 0, "b", ["0"], 40000, observed=observed("b", "gpuctl-chat-0", ["0"], 40000)
    )
    elsewhere = change(
        "delete", "chat", 0, "a", ["0"], 40000, observed=observed("a", "gpuctl-chat-0", ["0"], 40000, "bead")
    )
    scaled = change(
        "delete", "chat", 1, "a", ["1"], 40001, observed=observed("a", "gpuctl-chat-1", ["1"], 40001)
    )
    removed = change(
        "delete", "old", 0, "a", ["2"], 40002, observed=observed("a", "gpuctl-old-0", ["2"], 40002)
    )
    steps = rollout(plan(running, elsewhere, scaled, removed))
    [leftover] = steps.leftovers
    assert leftover.old is elsewhere and not leftover.renamed and leftover.hosts == ["a", "b"]
    assert [c.name for c in steps.deletions] == ["gpuctl-chat-1", "gpuctl-old-0"]
