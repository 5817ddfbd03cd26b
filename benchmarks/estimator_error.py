"""Estimator error over measurements.csv: gpuctl against measured vLLM / SGLang start-ups, and
what GPUStack's rule (weights × 1.2 + 2 GiB, no KV term) would have said on the same rows.

    .venv/bin/python benchmarks/estimator_error.py

Rows: every row with a saved or architecture-equivalent config (benchmarks/measured.py).
"held-out" rows were not used to calibrate any constant. Errors are (estimate − measured) ÷
measured; a negative weight error means the estimate is below the measurement.

A second table covers tests/estimate/data/held_out.csv: start-ups found after the calibration
(other models, GPUs, TP sizes and vLLM versions). Its `used` column says which rows set a constant
("cal") and which are checks only ("check"); the KV error is on logged tokens, or on the KV GiB
where the source gives no token count.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from measured import GiB, load_cases, load_held_out

from gpuctl.estimate import estimate


def gpustack(weights_gib: float | None, budget_gib: float) -> str:
    if weights_gib is None:
        return "-"
    claim = weights_gib * 1.2 + 2
    return f"{claim:6.1f} {'fits' if claim <= budget_gib else 'no'}"


def main() -> None:
    header = (
        f"{'row':>3} {'set':<5} {'model':<44} {'engine':<12} {'tp':>2} {'pp':>2} {'weights':>7} {'est':>7} "
        f"{'err%':>6} {'KV tok':>9} {'est':>9} {'err%':>6}  {'verdict':<16} {'GPUStack GiB':<12}"
    )
    print(header)
    print("-" * len(header))
    weight_errors: dict[str, list[float]] = {"calibration": [], "held-out": []}
    kv_errors: dict[str, list[float]] = {"calibration": [], "held-out": []}
    below = []
    mislabeled = []
    connectors: list[str] = []
    for case in load_cases():
        result = estimate(case.info, case.request)
        group = "held-out" if case.held_out else "calibration"
        weights = result.per_device.weights / GiB if result.per_device else None
        w_err = k_err = None
        if case.weights_gib and weights:
            w_err = (weights - case.weights_gib) / case.weights_gib * 100
            weight_errors[group].append(w_err)
            if weights < case.weights_gib:
                below.append(case.row)
        if case.kv_tokens and result.kv_pool_tokens is not None:
            k_err = (result.kv_pool_tokens - case.kv_tokens) / case.kv_tokens * 100
            if case.kv_connector:
                connectors.append(f"{case.row} ({k_err:+.1f} %)")
            else:
                kv_errors[group].append(k_err)
        recorded = case.request.memory_fraction
        if case.implied_fraction and recorded and abs(case.implied_fraction - recorded) > 0.01:
            implied = case.implied_fraction
            mislabeled.append(f"{case.row} (recorded {recorded:g}, figures add up to {implied:.3f})")
        budget = (case.request.memory_fraction or 0.9) * min(case.request.device_memory) / GiB
        print(
            f"{case.row:>3} {'held' if case.held_out else 'cal':<5} {case.model[:44]:<44} "
            f"{(case.engine + ' ' + case.version)[:12]:<12} {case.request.tensor_parallel:>2} "
            f"{case.request.pipeline_parallel:>2} {_f(case.weights_gib, 7)} {_f(weights, 7)} "
            f"{_f(w_err, 6, '+')} "
            f"{_i(case.kv_tokens)} {_i(result.kv_pool_tokens)} {_f(k_err, 6, '+')}  {result.verdict:<16} "
            f"{gpustack(case.weights_gib, budget):<12}"
        )
    print()
    for group in ("calibration", "held-out"):
        weights, kv = weight_errors[group], [abs(e) for e in kv_errors[group]]
        if weights:
            size = [abs(e) for e in weights]
            print(
                f"{group:<12} weights: {len(weights)} rows, |err| median {statistics.median(size):.2f} %, "
                f"max {max(size):.2f} %, lowest {min(weights):+.2f} %"
            )
        if kv:
            median, largest = statistics.median(kv), max(kv)
            print(f"{group:<12} KV tokens: {len(kv)} rows, |err| median {median:.2f} %, max {largest:.2f} %")
    print(f"weight estimates below the measurement: {below or 'none'}")
    if connectors:
        print(
            f"not in the KV statistics: {', '.join(connectors)}, which ran a KV-transfer connector "
            "(LMCache) on a ~0.9 build and has ~1.6 GiB less KV cache than the terms measured on 0.10-0.11 "
            "leave (cause not established); gpuctl does not model connectors"
        )
    if mislabeled:
        print(
            "rows whose measured weights + KV + activation + non-torch do not add up to their recorded "
            f"gpu_memory_utilization × total: {', '.join(mislabeled)}; at the recorded fraction vLLM's "
            "own formula leaves less (or no) KV cache, so the verdict follows the recorded fraction"
        )
    print(
        "GPUStack's rule claims weights × 1.2 + 2 GiB and says nothing about the KV cache: "
        "it cannot tell how many tokens or full-length sequences fit."
    )
    print()
    held_out()


def held_out() -> None:
    header = (
        f"{'id':<3} {'used':<5} {'model':<40} {'gpu':<17} {'tp':>2} {'vLLM':<9} {'weights':>7} {'est':>7} "
        f"{'err%':>6} {'KV meas':>9} {'est':>9} {'err%':>6}  {'GPUStack GiB':<12}"
    )
    print("held-out start-ups (tests/estimate/data/held_out.csv)")
    print(header)
    print("-" * len(header))
    weights_err: list[float] = []
    kv_err: dict[str, list[float]] = {"cal": [], "check": []}
    for case in load_held_out():
        result = estimate(case.info, case.request)
        weights = result.per_device.weights / GiB if result.per_device else 0.0
        w_err = (weights - case.weights_gib) / case.weights_gib * 100
        weights_err.append(w_err)
        if case.kv_tokens:
            measured, est = f"{case.kv_tokens:9d}", f"{result.kv_pool_tokens or 0:9d}"
            k_err = ((result.kv_pool_tokens or 0) / case.kv_tokens - 1) * 100
        else:
            pool = (result.kv_pool_bytes or 0) / GiB
            measured, est = f"{case.kv_gib:6.2f}GiB", f"{pool:6.2f}GiB"
            k_err = (pool / case.kv_gib - 1) * 100
        used = "cal" if case.calibration else "check"
        kv_err[used].append(k_err)
        budget = (case.request.memory_fraction or 0.9) * min(case.request.device_memory) / GiB
        print(
            f"{case.id:<3} {used:<5} {case.model[:40]:<40} {(case.request.device_name or '')[:17]:<17} "
            f"{case.request.tensor_parallel:>2} {case.version[:9]:<9} {case.weights_gib:7.2f} {weights:7.2f} "
            f"{w_err:+6.2f} {measured} {est} {k_err:+6.2f}  {gpustack(case.weights_gib, budget):<12}"
        )
    print()
    print(
        f"held-out weights: {len(weights_err)} rows, |err| max {max(abs(e) for e in weights_err):.2f} %, "
        f"lowest {min(weights_err):+.2f} %"
    )
    everything = [abs(e) for errors in kv_err.values() for e in errors]
    for group, errors in (("all", everything), ("checks only", [abs(e) for e in kv_err["check"]])):
        print(
            f"held-out KV ({group}): {len(errors)} rows, |err| median {statistics.median(errors):.2f} %, "
            f"max {max(errors):.2f} %"
        )


def _f(value: float | None, width: int, sign: str = "") -> str:
    return f"{value:{sign}{width}.2f}" if value is not None else " " * (width - 1) + "-"


def _i(value: int | None) -> str:
    return f"{value:9d}" if value is not None else " " * 8 + "-"


if __name__ == "__main__":
    main()
