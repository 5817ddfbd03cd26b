"""The plan as people read it: grouped by host, Terraform's symbols, a device map, a summary line.

Symbols: `+` create, `~` replace in place (same host and devices), `-/+` replace elsewhere (the
replica moves), `-` delete. Hosts without changes are counted, not listed, so a plan over a large
fleet stays short. Colour (rich) only when asked for, i.e. on a terminal; the plain text is what
golden files pin.
"""

from __future__ import annotations

from collections import defaultdict

from gpuctl.estimate.types import Estimate
from gpuctl.plan.model import Change, DeviceUse, HostPlan, Plan, PlanDiagnostic
from gpuctl.schedule.types import Placement
from gpuctl.schedule.units import size

Segment = tuple[str, str]
Line = list[Segment]

SHOWN_FOREIGN = 256 << 20
"""Foreign use below this (driver reservations of a few MiB) is counted but not shown."""

STYLE = {"create": "green", "replace": "yellow", "moved": "magenta", "delete": "red", "no-op": "dim"}


def symbol(change: Change) -> tuple[str, str]:
    if change.action == "create":
        return "+", STYLE["create"]
    if change.action == "delete":
        return "-", STYLE["delete"]
    if change.action == "replace":
        return ("-/+", STYLE["moved"]) if change.moved else ("~", STYLE["replace"])
    return " ", STYLE["no-op"]


def render_text(plan: Plan, color: bool = False) -> str:
    lines = plan_lines(plan)
    if not color:
        return "".join("".join(text for text, _ in line).rstrip() + "\n" for line in lines)
    import io

    from rich.console import Console
    from rich.text import Text

    out = io.StringIO()
    console = Console(file=out, force_terminal=True, color_system="standard", width=200, soft_wrap=True)
    for line in lines:
        console.print(Text.assemble(*line))
    return out.getvalue()


def plan_lines(plan: Plan) -> list[Line]:
    by_host: dict[str, list[Change]] = defaultdict(list)
    for change in plan.changes:
        if change.action != "no-op":
            by_host[change.host].append(change)
    placements = {(p.cluster, p.deployment, p.replica): p for p in plan.placements}
    lines: list[Line] = [_header(plan), []]
    if by_host:
        lines.append(
            [
                ("Symbols: ", ""),
                ("+", STYLE["create"]),
                (" create  ", ""),
                ("~", STYLE["replace"]),
                (" replace in place  ", ""),
                ("-/+", STYLE["moved"]),
                (" replace elsewhere  ", ""),
                ("-", STYLE["delete"]),
                (" delete", ""),
            ]
        )
        lines.append([])
    quiet = 0
    for host in plan.hosts:
        changes = by_host.get(host.name, [])
        unprobed = host.status != "ok"
        if not changes and not unprobed:
            quiet += 1
            continue
        lines += _host(host, changes, placements)
    if quiet:
        lines += [[(f"{quiet} host{'s' if quiet != 1 else ''} without changes.", "dim")], []]
    if plan.diagnostics:
        lines.append([("Diagnostics:", "bold")])
        lines += [_diagnostic(d) for d in plan.diagnostics]
        lines.append([])
    lines.append(_summary(plan))
    return lines


def _header(plan: Plan) -> Line:
    hosts = len(plan.hosts)
    unprobed = sum(1 for h in plan.hosts if h.status != "ok")
    deployments = len({(p.cluster, p.deployment) for p in plan.placements})
    text = f"gpuctl plan: cluster{'s' if len(plan.clusters) != 1 else ''} {', '.join(plan.clusters) or '-'}"
    text += f", {hosts} host{'s' if hosts != 1 else ''}"
    if unprobed:
        text += f" ({unprobed} could not be probed)"
    text += f", {deployments} deployment{'s' if deployments != 1 else ''} placed"
    if plan.targets:
        text += f" (--target {', '.join(plan.targets)})"
    return [(text, "bold")]


def _host(
    host: HostPlan, changes: list[Change], placements: dict[tuple[str, str, int], Placement]
) -> list[Line]:
    title: Line = [(f"Host {host.name}", "bold"), (f"  {host.address}  {host.accelerator}", "")]
    if host.status != "ok":
        why = f": {host.message}" if host.message else ""
        title.append((f"  could not be probed ({host.status}){why}; nothing on it is changed", "red"))
    lines: list[Line] = [title]
    if host.devices:
        width = max(len(d.name) for d in host.devices)
        lines.append([(f"  {'device':>6}  {'product':<{width}} {'total':>9}   {'before':>9} → after", "dim")])
        lines += [_device(d, width) for d in host.devices]
    for change in changes:
        lines += _change(change, placements.get((change.cluster, change.deployment, change.replica)))
    lines.append([])
    return lines


def _device(dev: DeviceUse, width: int) -> Line:
    moved = dev.before != dev.after or dev.holders_before != dev.holders_after
    figures = f"{size(dev.before):>9} → {size(dev.after):<9}"
    who = ", ".join(dev.holders_after)
    notes = []
    if dev.foreign >= SHOWN_FOREIGN:
        notes.append(f"foreign {size(dev.foreign)}")
    if not dev.schedulable:
        notes.append("unhealthy")
    tail = "  " + who if who else ""
    tail += f"  ({'; '.join(notes)})" if notes else ""
    return [
        (f"  {dev.key:>6}  {dev.name:<{width}} {size(dev.total):>9}   ", ""),
        (figures, "bold" if moved else ""),
        (tail, ""),
    ]


def _change(change: Change, placement: Placement | None) -> list[Line]:
    mark, style = symbol(change)
    where = ", ".join(change.devices) if change.devices else "CPU"
    what = f"{change.deployment} replica {change.replica}" + (
        "" if change.role == "main" else f" ({change.role})"
    )
    port = change.container.port if change.container else (change.observed.port if change.observed else None)
    head: Line = [
        (f"  {mark:>3} ", style),
        (what, "bold"),
        (f"  {change.name}  devices {where}" + (f"  port {port}" if port else ""), ""),
    ]
    lines: list[Line] = [head]
    lines += [[(f"        {reason}", style)] for reason in change.reasons]
    if change.displaces:
        lines.append([(f"        after removing {', '.join(change.displaces)}", "dim")])
    if change.action in ("create", "replace") and placement is not None and change.container is not None:
        lines.append(
            [
                (
                    f"        backend {placement.backend} ({placement.backend_reason}),"
                    f" image {change.container.image}",
                    "",
                )
            ]
        )
        lines += [[(f"        {text}", "")] for text in _estimate(placement.estimate, placement)]
    return lines


def _estimate(est: Estimate, placement: Placement) -> list[str]:
    out: list[str] = []
    split = ""
    if placement.tensor_parallel > 1 or placement.pipeline_parallel > 1:
        split = (
            f" (tensor parallel {placement.tensor_parallel}, pipeline parallel {placement.pipeline_parallel})"
        )
    part = est.per_device
    if part is not None:
        out.append(
            f"memory per device: weights {size(part.weights)} + KV cache {size(part.kv_cache)}"
            f" + activation {size(part.activation)} + overhead {size(part.overhead)}"
            f" = {size(part.total)}{split}"
        )
    if est.cpu_memory:
        layers = f", {est.gpu_layers}/{est.total_layers} layers on the device" if est.total_layers else ""
        out.append(f"host memory: {size(est.cpu_memory)}{' (runs on the CPU)' if est.on_cpu else ''}{layers}")
    verdict = f"verdict: {est.verdict}"
    if est.context_length:
        verdict += f", context {est.context_length}"
        if est.context_length_reason:
            verdict += f" ({est.context_length_reason})"
    if est.kv_pool_tokens:
        verdict += f", KV pool {est.kv_pool_tokens:,} tokens"
        if est.max_concurrency is not None:
            verdict += f" ({est.max_concurrency:.1f} full-length sequences)"
    if placement.overcommit:
        verdict += "; OVERCOMMITTED (placement.allowOvercommit)"
    out.append(verdict)
    return out


def _diagnostic(d: PlanDiagnostic) -> Line:
    where = ""
    if d.file:
        where = d.file + (f":{d.line}" if d.line else "") + (f":{d.column}" if d.column and d.line else "")
    elif d.host:
        where = f"host {d.host}" + (f" device {d.device}" if d.device else "")
    text = f"  {where + ': ' if where else ''}{d.severity}: {d.message}"
    if d.hint:
        text += f" ({d.hint})"
    return [(text, "red" if d.severity == "error" else "yellow")]


def _summary(plan: Plan) -> Line:
    s = plan.summary
    text = f"Plan: {s.create} to create, {s.replace} to replace, {s.delete} to delete."
    errors = len(plan.errors)
    if errors:
        text += f" {errors} error{'s' if errors != 1 else ''}: see the diagnostics above."
    return [(text, "bold")]
