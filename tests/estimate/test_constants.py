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


# --------------------------------------------------------------------------- held-out rows

HELD = {case.id: case for case in measured.load_held_out()}
HELD_ROWS = {row["id"]: row for row in csv.DictReader((ROOT / "tests/estimate/data/held_out.csv").open())}


def held(row: str, column: str) -> float:
    return float(HELD_ROWS[row][column])


def budget_gib(row: str) -> float:
    return held(row, "gpu_memory_utilization") * held(row, "gpu_total_gib")


def test_v0_forward_pass_fit() -> None:
    """V0_FORWARD_* are the least-squares line through the four forward-bound V0 rows."""
    points = []
    for row in ("G2", "G3", "H1", "H2"):
        info = HELD[row].info
        tokens = held(row, "max_model_len")
        points.append(
            (
                tokens * info.intermediate_size * 2 / GiB,
                tokens * info.hidden_size * 2 / GiB,
                held(row, "activation_gib"),
            )
        )
    n = len(points)
    # normal equations of act = b + k1·x1 + k2·x2
    sums = [[0.0] * 4 for _ in range(3)]
    for x1, x2, y in points:
        row_vec = (1.0, x1, x2)
        for i in range(3):
            for j, v in enumerate((*row_vec, y)):
                sums[i][j] += row_vec[i] * v
    assert n == 4
    for col in range(3):  # Gauss-Jordan on the 3×4 augmented matrix
        pivot = sums[col][col]
        sums[col] = [v / pivot for v in sums[col]]
        for other in range(3):
            if other != col:
                factor = sums[other][col]
                sums[other] = [a - factor * b for a, b in zip(sums[other], sums[col], strict=True)]
    base, copies, hidden_copies = (sums[i][3] for i in range(3))
    assert c.V0_FORWARD_BASE / GiB == pytest.approx(base, abs=0.002)
    assert pytest.approx(copies, abs=0.01) == c.V0_FORWARD_COPIES
    assert pytest.approx(hidden_copies, abs=0.01) == c.V0_FORWARD_HIDDEN_COPIES
    for row in ("G2", "G3", "H1", "H2"):
        case = HELD[row]
        dtype_bytes = 2
        estimated = activation(
            case.info,
            case.request,
            dtype_bytes,
            first_stage=True,
            last_stage=True,
            context=int(held(row, "max_model_len")),
        )
        assert estimated / GiB == pytest.approx(held(row, "activation_gib"), abs=0.01)


def test_v0_samples_256_sequences() -> None:
    # Phi-4 GPTQ at 2048 tokens (held_out G1): the sampler over 256 sequences is the peak.
    case = HELD["G1"]
    estimated = activation(case.info, case.request, 2, first_stage=True, last_stage=True, context=2048)
    assert estimated / GiB == pytest.approx(held("G1", "activation_gib"), abs=0.05)


def test_flashinfer_sampler_of_vllm_0_10() -> None:
    """Qwen2-7B on an A100 with vLLM 0.10.1.1: what the budget leaves besides weights, KV cache and
    the 0.13 GiB of non-torch memory is the forward peak; the sort-based sampler would be 1.4 GiB."""
    for row in ("A1", "A2"):
        case = HELD[row]
        implied = budget_gib(row) - held(row, "weights_gib") - held(row, "kv_cache_gib") - 0.13
        estimated = activation(case.info, case.request, 2, first_stage=True, last_stage=True) / GiB
        assert estimated == pytest.approx(implied, abs=0.03)
        sort_based = case.request.model_copy(update={"backend_version": "0.11.0"})
        assert activation(case.info, sort_based, 2, first_stage=True, last_stage=True) / GiB > implied + 0.8


def test_tensor_parallel_non_torch_by_version_and_gpu() -> None:
    small = statistics.mean(held(row, "non_torch_gib") for row in ("B2", "B4"))
    assert c.NON_TORCH_TP_SMALL / GiB == pytest.approx(small, abs=0.01)
    a3 = HELD["A3"]
    a3_activation = activation(a3.info, a3.request, 2, first_stage=True, last_stage=True) / GiB
    a3_implied = budget_gib("A3") - held("A3", "weights_gib") - held("A3", "kv_cache_gib") - a3_activation
    pcie = statistics.mean((held("C1", "non_torch_gib"), 0.20, a3_implied))
    assert c.NON_TORCH_TP_PCIE / GiB == pytest.approx(pcie, abs=0.01)

    def nt(device: str | None, version: str | None) -> float:
        request = EstimateRequest(
            backend="vllm",
            device_memory=(H100,) * 2,
            tensor_parallel=2,
            device_name=device,
            backend_version=version,
        )
        return non_torch(request) / GiB

    assert nt("NVIDIA H100 80GB HBM3", "0.11.0") == pytest.approx(small, abs=0.01)
    assert nt("NVIDIA H100 80GB HBM3", "0.19.0") > 2.0
    assert nt(None, None) > 2.0  # unknown GPU, newest vLLM: the larger, safer figure
    assert nt("NVIDIA L40S", "0.19.0") == pytest.approx(c.NON_TORCH_TP_PCIE / GiB)
    assert nt("NVIDIA A100-SXM4-80GB", "0.19.0") == pytest.approx(c.NON_TORCH_TP_SMALL / GiB)


def test_mxfp4_marlin_padding(monkeypatch) -> None:
    case = HELD["A4"]  # gpt-oss-120b TP4 on A100s
    assert estimate(case.info, case.request).per_device.weights / GiB >= case.weights_gib
    monkeypatch.setattr(weights, "MXFP4_MARLIN_PADDING", (1, 1))
    weights._LAYOUTS.clear()
    assert estimate(case.info.model_copy(), case.request).per_device.weights / GiB < case.weights_gib
    monkeypatch.undo()
    weights._LAYOUTS.clear()


def test_awq_marlin_overhead(monkeypatch) -> None:
    for row in ("D2", "E1"):
        case = HELD[row]
        estimated = estimate(case.info, case.request).per_device.weights / GiB
        assert case.weights_gib + 0.005 <= estimated <= case.weights_gib * 1.01  # the logs round to 0.01
    monkeypatch.setattr(weights, "AWQ_MARLIN_OVERHEAD", c.MARLIN_INT4_OVERHEAD)
    weights._LAYOUTS.clear()
    below = [
        estimate(HELD[row].info.model_copy(), HELD[row].request).per_device.weights / GiB
        < HELD[row].weights_gib
        for row in ("D2", "E1")
    ]
    assert all(below)
    monkeypatch.undo()
    weights._LAYOUTS.clear()
