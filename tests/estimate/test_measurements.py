"""The estimator against every measured start-up of measurements.csv that has a saved (or
architecture-equivalent) config: weights never below the measurement and within 1 %, KV-cache
tokens close to what vLLM / SGLang reported. The rows are read by benchmarks/measured.py, the
same code that prints the error table."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from gpuctl.estimate import estimate

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    "gpuctl_benchmarks_measured", ROOT / "benchmarks" / "measured.py"
)
measured = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = measured
_spec.loader.exec_module(measured)

CASES = measured.load_cases()
GiB = 1 << 30


def label(case) -> str:
    return f"row{case.row}-{case.model.rsplit('/', 1)[-1]}-tp{case.request.tensor_parallel}"


def test_the_rows_cover_tp_pp_dtypes_quantization_and_both_engines() -> None:
    requests = [c.request for c in CASES]
    assert {r.tensor_parallel for r in requests} >= {1, 2, 4, 8}
    assert {r.pipeline_parallel for r in requests} >= {1, 2, 4}
    assert {r.dtype for r in requests} >= {None, "float16", "float32"}
    assert {r.backend for r in requests} == {"vllm", "sglang"}
    assert len([c for c in CASES if c.held_out]) == 6


@pytest.mark.parametrize("case", [c for c in CASES if c.weights_gib], ids=label)
def test_weights_within_one_percent_and_never_below(case) -> None:
    weights = estimate(case.info, case.request).per_device.weights / GiB
    assert case.weights_gib <= weights <= case.weights_gib * 1.01


@pytest.mark.parametrize("case", [c for c in CASES if c.kv_tokens and not c.kv_connector], ids=label)
def test_kv_cache_tokens(case) -> None:
    tokens = estimate(case.info, case.request).kv_pool_tokens
    tolerance = 0.01 if case.version == "0.19.0" else 0.02
    assert tokens == pytest.approx(case.kv_tokens, rel=tolerance)


def test_a_kv_connector_start_up_has_less_kv_cache_than_estimated() -> None:
    """Row 64 (a ~0.9 build, Qwen3-235B-FP8 TP4) ran LMCacheConnectorV1: its 8.11 GiB pool is
    ~1.6 GiB below what weights, the sampler profile and the TP non-torch memory measured on 0.10-0.11
    leave. The cause is not established (the connector's buffers, or a profiling change of that
    build); gpuctl models neither, so its estimate is above the measurement, by less than 25 %."""
    (case,) = [c for c in CASES if c.kv_connector]
    tokens = estimate(case.info, case.request).kv_pool_tokens
    assert case.kv_tokens < tokens < case.kv_tokens * 1.25
