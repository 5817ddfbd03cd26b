"""Each calibrated constant re-derived from the measurements.csv rows its docstring cites.

Activation rows are checked with the architecture numbers of the measured models (vocabulary,
hidden and intermediate sizes, experts), so rows whose configs are not saved still count."""

from __future__ import annotations

import csv
import importlib.util
import json
import statistics
import sys
from pathlib import Path

import pytest

from gpuctl.estimate import constants as c
from gpuctl.estimate import estimate, weights
from gpuctl.estimate.types import EstimateRequest
from gpuctl.estimate.vllm import activation, non_torch
from gpuctl.models.config import model_info_from_config
from gpuctl.models.info import ModelInfo

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "models"
ROWS = list(csv.DictReader((DATA / "measurements.csv").open()))
GiB = 1 << 30
H100 = int(79.19 * GiB)

_spec = importlib.util.spec_from_file_location(
    "gpuctl_benchmarks_measured", ROOT / "benchmarks" / "measured.py"
)
measured = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = measured
_spec.loader.exec_module(measured)
CASES = {case.row: case for case in measured.load_cases()}


def arch(vocab: int, hidden: int, inter: int, **extra: object) -> ModelInfo:
    return ModelInfo(
        source="huggingface:x/y", vocab_size=vocab, hidden_size=hidden, intermediate_size=inter, **extra
    )


def act(
    model: ModelInfo, *, tp: int = 1, version: str = "0.19.0", last: bool = True, dtype_bytes: int = 2
) -> float:
    request = EstimateRequest(
        backend="vllm", device_memory=(H100,) * tp, tensor_parallel=tp, backend_version=version
    )
    return activation(model, request, dtype_bytes, first_stage=True, last_stage=last) / GiB


def measured_activation(row: int) -> float:
    return float(ROWS[row]["activation_gib"])


@pytest.mark.parametrize(
    ("row", "model"),
    [
        (19, arch(128256, 4096, 14336)),  # Llama-3.1-8B
        (7, arch(256000, 3072, 24576)),  # gemma-7b
        (37, arch(152064, 3584, 18944)),  # Qwen2.5-7B
        (28, arch(100352, 5120, 17920)),  # phi-4
        (4, arch(256000, 2304, 9216)),  # gemma-2-2b
        (3, arch(256000, 4608, 36864)),  # gemma-2-27b
        (36, arch(152064, 8192, 29568)),  # Qwen2.5-72B, TP2
    ],
)
def test_sampler_and_hidden_state_fit(row: int, model: ModelInfo) -> None:
    tp = int(ROWS[row]["tp"])
    assert act(model, tp=tp) == pytest.approx(measured_activation(row), abs=0.02)


def test_forward_pass_peak() -> None:
    assert act(arch(32016, 4096, 11008)) == pytest.approx(measured_activation(0), abs=0.02)  # CodeLlama-7b
    llama = arch(128256, 4096, 14336)
    for row in (20, 21):  # Llama-3.1-8B first pipeline stage: no sampler
        assert act(llama, last=False) == pytest.approx(measured_activation(row), abs=0.06)


def test_moe_workspace_and_the_version_cut() -> None:
    qwen_moe = arch(151936, 2048, 5632, num_experts=60, num_experts_per_token=4, moe_intermediate_size=1408)
    assert act(qwen_moe) == pytest.approx(measured_activation(34), abs=0.05)
    lite = arch(102400, 2048, 10944, num_experts=64, num_experts_per_token=6, moe_intermediate_size=1408)
    assert act(lite) == pytest.approx(measured_activation(1), abs=0.05)
    oss = arch(201088, 2880, 2880, num_experts=128, num_experts_per_token=4, moe_intermediate_size=2880)
    assert act(oss, version="0.11.0") == pytest.approx(measured_activation(50), abs=0.05)


def test_sampler_before_vllm_0_17() -> None:
    qwen3_14b = arch(151936, 5120, 17408)
    assert act(qwen3_14b, version="0.15.0") == pytest.approx(measured_activation(54), abs=0.05)
    assert act(qwen3_14b, version="0.17.0") == pytest.approx(measured_activation(56), abs=0.02)
    assert act(arch(128256, 4096, 14336), version="0.11.0") == pytest.approx(
        measured_activation(51), abs=0.05
    )
    assert act(arch(151936, 1024, 3072), version="0.11.0") == pytest.approx(measured_activation(52), abs=0.05)


def test_multimodal_profile_allowance() -> None:
    for row, hidden in ((5, 3840), (6, 2560)):  # gemma-3-12b / -4b
        model = arch(262208, hidden, 4 * hidden, category="vision-language")
        assert act(model) == pytest.approx(measured_activation(row), abs=0.05)


def test_non_torch_memory() -> None:
    request = EstimateRequest(backend="vllm", device_memory=(H100,))
    assert non_torch(request) / GiB == pytest.approx(0.25, abs=0.01)
    tp2 = [float(ROWS[r]["non_torch_gib"]) for r in (22, 30, 33, 36, 47)]
    tp4 = [float(ROWS[r]["non_torch_gib"]) for r in (23, 26, 31)]
    for tp, rows in ((2, tp2), (4, tp4)):
        request = EstimateRequest(backend="vllm", device_memory=(H100,) * tp, tensor_parallel=tp)
        assert non_torch(request) / GiB == pytest.approx(statistics.mean(rows), abs=0.005)


def test_weight_loading_overhead_covers_the_measured_excess_tightly() -> None:
    excess = []
    for row in (2, 13, 14, 19, 22, 23, 37, 45, 48):
        case = CASES[row]
        estimated = estimate(case.info, case.request).per_device.weights / GiB
        excess.append(case.weights_gib / (estimated / (1 + c.WEIGHT_LOADING_OVERHEAD)) - 1)
    assert max(excess) <= c.WEIGHT_LOADING_OVERHEAD <= max(excess) + 0.001


def test_marlin_and_mxfp4_allowances_are_what_the_measurements_need(monkeypatch) -> None:
    for row, constant, neutral in ((45, "MARLIN_INT4_OVERHEAD", 0.0), (50, "MXFP4_PADDING", 1)):
        case = CASES[row]
        assert estimate(case.info, case.request).per_device.weights / GiB >= case.weights_gib
        monkeypatch.setattr(weights, constant, neutral)
        weights._LAYOUTS.clear()
        fresh = case.info.model_copy()  # a new object: no cached estimate
        assert estimate(fresh, case.request).per_device.weights / GiB < case.weights_gib
        monkeypatch.undo()
        weights._LAYOUTS.clear()


def test_vision_share_replicated_under_tp() -> None:
    # Mistral-Small-3.1 w8a8 (rows 46, 47): TP2 holds 0.075 GiB more than half of TP1; its Pixtral
    # tower and projector have 438,958,080 parameters (bf16) of which a share r is not split.
    tp1, tp2 = float(ROWS[46]["weights_gib"]), float(ROWS[47]["weights_gib"])
    vision = 438_958_080 * 2 / GiB
    share = (tp2 - tp1 / 2) / (vision / 2)
    assert pytest.approx(share, abs=0.05) == c.VISION_TP_REPLICATED


def test_sglang_runtime_overhead() -> None:
    implied = []
    for row, tokens in ((65, 367404), (66, 509000)):
        case = CASES[row]
        result = estimate(case.info, case.request)
        budget = case.request.memory_fraction * min(case.request.device_memory)
        implied.append((budget - result.per_device.weights - tokens * result.kv_bytes_per_token) / GiB)
    assert c.SGLANG_RUNTIME_OVERHEAD / GiB == pytest.approx(statistics.mean(implied), abs=0.01)


def test_cuda_graph_allowance_is_the_median_capture() -> None:
    graphs = [float(r["cuda_graph_gib"]) for r in ROWS[:50] if r["cuda_graph_gib"]]
    assert c.CUDA_GRAPH_MEMORY / GiB == pytest.approx(statistics.median(graphs), abs=0.05)


def test_a100_gets_vllms_small_scheduler_defaults() -> None:
    config = json.loads((DATA / "meta-llama__Llama-3.1-8B-Instruct.config.json").read_text())
    info = model_info_from_config(config, source="huggingface:meta-llama/Llama-3.1-8B-Instruct")
    a100 = EstimateRequest(backend="vllm", device_memory=(H100,), device_name="NVIDIA A100-SXM4-80GB")
    h100 = EstimateRequest(backend="vllm", device_memory=(H100,), device_name="NVIDIA H100 80GB HBM3")
    assert estimate(info, a100).per_device.activation < estimate(info, h100).per_device.activation / 2
