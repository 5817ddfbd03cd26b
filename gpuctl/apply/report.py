"""The apply report for people: one line per change with its outcome, the reasons of failures
with the containers' last log lines, hosts that could not be changed, and a summary (pure)."""

from __future__ import annotations

from collections import defaultdict

from gpuctl.apply.results import ApplyResult, ChangeResult

MARK = {"done": "✓", "failed": "✗", "skipped": "-"}


def render(result: ApplyResult) -> str:
    lines: list[str] = []
    for change in result.changes:
        lines += _change(change)
    failed_hosts = [h for h in result.hosts if h.status == "failed"]
    if failed_hosts:
        lines.append("")
        lines += [f"Host {h.host} was not changed: {h.reason}" for h in failed_hosts]
    errors = [d for d in result.diagnostics if d.severity == "error"]
    if errors:
        lines.append("")
        lines.append("The plan has errors (their deployments were not changed):")
        lines += [f"  {d.host + ': ' if d.host else ''}{d.message}" for d in errors]
    lines.append("")
    lines.append(summary(result))
    return "\n".join(lines) + "\n"


def _change(change: ChangeResult) -> list[str]:
    where = f"{change.name} on {change.host}"
    head = f"{MARK[change.status]} {change.action:<7} {change.deployment}/{change.replica}"
    if change.role != "main":
        head += f" ({change.role})"
    text = f"{head}  {where}"
    if change.status == "done":
        text += f" ({change.seconds:.1f} s)" if change.seconds is not None else ""
        if change.reason:
            text += f": {change.reason}"
        return [text]
    lines = [f"{text}: {change.status}: {change.reason}"]
    if change.log_tail:
        lines.append("    last log lines:")
        lines += [f"      {line}" for line in change.log_tail]
    return lines


def summary(result: ApplyResult) -> str:
    counts: dict[str, int] = defaultdict(int)
    for change in result.changes:
        counts[change.status] += 1
    verdict = "Apply complete" if result.ok else "Apply failed"
    return (
        f"{verdict}: {counts['done']} done, {counts['failed']} failed, {counts['skipped']} skipped "
        f"in {result.seconds:.1f} s."
    )
