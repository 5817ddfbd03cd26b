"""The apply report and progress output: outcomes, reasons, log lines, and secrets scrubbed."""

from __future__ import annotations

import io

from gpuctl.apply.progress import PlainReporter, reporter_for
from gpuctl.apply.report import render
from gpuctl.apply.results import ApplyResult, ChangeResult, HostResult
from gpuctl.plan.model import PlanDiagnostic


def result(**changes: object) -> ChangeResult:
    base: dict[str, object] = {
        "action": "create",
        "cluster": "lab",
        "deployment": "chat",
        "replica": 0,
        "role": "main",
        "host": "gpu-01",
        "name": "gpuctl-chat-0",
        "status": "done",
        "seconds": 3.25,
    }
    return ChangeResult.model_validate(base | changes)


def test_report_lists_each_change_with_its_outcome() -> None:
    text = render(
        ApplyResult(
            ok=False,
            changes=[
                result(),
                result(
                    action="replace",
                    deployment="flux",
                    status="failed",
                    reason="did not become ready within 30 s; rolled back",
                    log_tail=["loading", "CUDA out of memory"],
                ),
                result(
                    action="delete", deployment="old", role="worker-1", status="skipped", reason="host down"
                ),
            ],
            hosts=[
                HostResult(host="gpu-02", status="failed", reason="unreachable"),
                HostResult(host="gpu-01", status="ok"),
            ],
            diagnostics=[PlanDiagnostic(severity="error", message="0/3 hosts fit big", host=None)],
            seconds=12.34,
        )
    )
    assert text.splitlines() == [
        "✓ create  chat/0  gpuctl-chat-0 on gpu-01 (3.2 s)",
        "✗ replace flux/0  gpuctl-chat-0 on gpu-01: failed: did not become ready within 30 s; rolled back",
        "    last log lines:",
        "      loading",
        "      CUDA out of memory",
        "- delete  old/0 (worker-1)  gpuctl-chat-0 on gpu-01: skipped: host down",
        "",
        "Host gpu-02 was not changed: unreachable",
        "",
        "The plan has errors (their deployments were not changed):",
        "  0/3 hosts fit big",
        "",
        "Apply failed: 1 done, 1 failed, 1 skipped in 12.3 s.",
    ]


def test_progress_lines_never_show_a_secret() -> None:
    stream = io.StringIO()
    reporter = PlainReporter(stream, secrets=["hf_topsecret", ""])
    reporter.begin("k", "pulling with hf_topsecret")
    reporter.end("k", False, "backend said: token hf_topsecret is invalid")
    reporter.line("nothing here")
    assert "hf_topsecret" not in stream.getvalue() and stream.getvalue().count("***") == 2
    assert reporter.scrub("x hf_topsecret y") == "x *** y"


def test_plain_lines_off_a_terminal() -> None:
    assert isinstance(reporter_for(io.StringIO(), []), PlainReporter)
