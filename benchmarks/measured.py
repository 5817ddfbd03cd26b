"""The rows of tests/data/models/measurements.csv that gpuctl can estimate, as (ModelInfo,
EstimateRequest) pairs next to what was measured; and the held-out start-ups of
tests/estimate/data/held_out.csv (`load_held_out`), which spell out every setting explicitly.

A row qualifies when its config is saved (`config_saved: yes: FILE`) or an architecture-equivalent
one is (`arch-equivalent: FILE`: a quantized re-release of the same architecture, whose
quantization the row's dtype/quant column names). Shared by benchmarks/estimator_error.py and the
tests, so both read the rows the same way.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path

from gpuctl.estimate.types import EstimateRequest
from gpuctl.models.config import model_info_from_config
from gpuctl.models.info import ModelInfo, Quantization

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "models"
HELD_OUT_CSV = Path(__file__).resolve().parent.parent / "tests" / "estimate" / "data" / "held_out.csv"
GiB = 1 << 30

HELD_OUT = frozenset({12, 16, 35, 43, 44, 49})
"""Rows no constant was calibrated on (see gpuctl/estimate/constants.py)."""

GPU_TOTALS = {"79.19": 79.19, "79.18": 79.18, "79.22": 79.22}
"""CUDA totals the rows state (H100 80GB); rows naming an H100 without one use 79.19 GiB, H200
rows 140.4 GiB; a row whose GPU is not stated is compared on weights only."""


@dataclass(frozen=True)
class Case:
    row: int
    model: str
    engine: str
    version: str
    info: ModelInfo
    request: EstimateRequest
    weights_gib: float | None
    kv_tokens: int | None
    kv_gib: float | None
    implied_fraction: float | None = None
    """vLLM rows: (weights + KV + activation + non-torch) ÷ device total, the memory fraction the
    measured figures add up to (vLLM sizes the KV cache as fraction × total − the rest)."""
    kv_connector: bool = False
    """The start-up ran a KV-transfer connector (LMCache), whose GPU buffers vLLM counts as
    non-torch memory; gpuctl does not model connectors."""

    @property
    def held_out(self) -> bool:
        return self.row in HELD_OUT


def _number(text: str) -> float | None:
    match = re.match(r"\s*~?([0-9][0-9,]*\.?[0-9]*)", text or "")
    return float(match.group(1).replace(",", "")) if match else None


def _quantization(model: str, column: str) -> Quantization | None:
    """The checkpoint quantization of an arch-equivalent re-release, from its name and column."""
    lowered = f"{model} {column}".lower()
    if "w4a16" in lowered or "gptq" in lowered:
        return Quantization(method="gptq", bits=4, group_size=128)
    if "fp8-dynamic" in lowered:
        return Quantization(method="fp8", bits=8, float_weights=True)
    if "w8a8" in lowered:
        return Quantization(method="int8", bits=8)
    return None


def _device_total(gpu: str) -> float | None:
    for key, value in GPU_TOTALS.items():
        if key in gpu:
            return value
    if "H200" in gpu:
        return 140.4
    if "H100" in gpu:
        return 79.19
    return None


def _implied_fraction(row: dict[str, str], total: float) -> float | None:
    if row["engine"] != "vllm":
        return None
    parts = [_number(row[k]) for k in ("weights_gib", "kv_cache_gib", "activation_gib", "non_torch_gib")]
    if any(part is None for part in parts) or "not stated" in row["gpu"]:
        return None
    return sum(part or 0 for part in parts) / total


def load_cases() -> list[Case]:
    cases: list[Case] = []
    with (DATA / "measurements.csv").open() as handle:
        for index, row in enumerate(csv.DictReader(handle)):
            saved = row["config_saved"]
            if not saved.startswith(("yes:", "arch-equivalent:")):
                continue
            unstated = "not stated" in row["gpu"]
            total = 79.19 if unstated else _device_total(row["gpu"])
            if total is None:
                continue
            config = json.loads((DATA / saved.split(":", 1)[1].strip()).read_text())
            column = row["dtype/quant"]
            info = model_info_from_config(config, source=f"huggingface:{row['model']}", name=row["model"])
            if saved.startswith("arch-equivalent") and (quant := _quantization(row["model"], column)):
                info = info.model_copy(update={"quantization": quant})
            if (
                row["model"] == "meta-llama/Meta-Llama-3-8B"
            ):  # Llama 3 (not 3.1): 8192 positions, no rope scaling
                info = info.model_copy(update={"max_context": 8192})
            tp = int(row["tp"] or 1)
            pp = int(row["pp"] or 1)
            fraction = _number(row["gpu_memory_utilization"].replace("mem_fraction_static", ""))
            if row["gpu_memory_utilization"].startswith("sglang default"):
                fraction = None
            request = EstimateRequest(
                backend="sglang" if row["engine"] == "sglang" else "vllm",
                device_memory=(int(total * GiB),) * (tp * pp),
                device_name=row["gpu"],
                tensor_parallel=tp,
                pipeline_parallel=pp,
                context_length=int(_number(row["max_model_len"]) or 0) or None,
                memory_fraction=fraction,
                kv_cache_dtype="fp8" if "kv_cache_dtype=fp8" in column else "auto",
                dtype="float16"
                if column.startswith("float16")
                else "float32"
                if column.startswith("float32")
                else None,
                quantization="fp8" if "quant=fp8" in column else None,
                backend_version=None
                if row["engine"] == "sglang"
                else row["engine_version"].split()[0].lstrip("~"),
            )
            tokens = None if unstated else _number(row["kv_cache_tokens"])  # depends on the unknown GPU
            if _number(row["weights_gib"]) is None and not tokens:
                continue  # nothing measured that the estimate could be compared with
            cases.append(
                Case(
                    row=index,
                    model=row["model"],
                    engine=row["engine"],
                    version=row["engine_version"].split()[0],
                    info=info,
                    request=request,
                    weights_gib=_number(row["weights_gib"]),
                    kv_tokens=int(tokens) if tokens else None,
                    kv_gib=_number(row["kv_cache_gib"]),
                    implied_fraction=_implied_fraction(row, total),
                    kv_connector="LMCacheConnector" in row["note"],
                )
            )
    return cases


@dataclass(frozen=True)
class HeldOutCase:
    """One row of held_out.csv: a measured vLLM start-up with its settings spelled out."""

    id: str
    model: str
    version: str
    info: ModelInfo
    request: EstimateRequest
    weights_gib: float
    kv_gib: float
    kv_tokens: int | None
    """Logged "GPU KV cache size"; None where the source gives only the KV GiB (block-128 runs)."""
    used_for: str
    source_url: str

    @property
    def calibration(self) -> bool:
        return self.used_for.startswith("calibration")


def _quant_spec(spec: str) -> Quantization | None:
    """ "awq:4:128:zp" / "gptq:4:128" / "fp8" → Quantization; "" → None (the config's own)."""
    if not spec:
        return None
    method, *rest = spec.split(":")
    if method == "fp8":
        return Quantization(method="fp8", bits=8, float_weights=True)
    return Quantization(
        method=method,
        bits=int(rest[0]) if rest else 4,
        group_size=int(rest[1]) if len(rest) > 1 else None,
        zero_point="zp" in rest[2:],
    )


def load_held_out() -> list[HeldOutCase]:
    cases = []
    with HELD_OUT_CSV.open() as handle:
        for row in csv.DictReader(handle):
            config = json.loads((DATA / row["config"]).read_text())
            info = model_info_from_config(config, source=f"huggingface:{row['model']}", name=row["model"])
            if quant := _quant_spec(row["quantization"]):
                info = info.model_copy(update={"quantization": quant})
            if row["dtype"] and info.quantization and info.quantization.method in ("awq", "gptq"):
                info = info.model_copy(update={"dtype": row["dtype"]})
            tp, pp = int(row["tp"]), int(row["pp"] or 1)
            total = float(row["gpu_total_gib"])
            request = EstimateRequest(
                backend="vllm",
                device_memory=(int(total * GiB),) * (tp * pp),
                device_name=row["gpu"],
                tensor_parallel=tp,
                pipeline_parallel=pp,
                context_length=int(row["max_model_len"]),
                memory_fraction=float(row["gpu_memory_utilization"]),
                kv_cache_dtype=row["kv_cache_dtype"] or "auto",
                dtype=row["dtype"] or None,
                backend_version=row["engine_version"] or None,
                max_batched_tokens=int(row["max_num_batched_tokens"])
                if row["max_num_batched_tokens"]
                else None,
                max_num_seqs=int(row["max_num_seqs"]) if row["max_num_seqs"] else None,
            )
            cases.append(
                HeldOutCase(
                    id=row["id"],
                    model=row["model"],
                    version=row["engine_version"] or "newest",
                    info=info,
                    request=request,
                    weights_gib=float(row["weights_gib"]),
                    kv_gib=float(row["kv_cache_gib"]),
                    kv_tokens=int(row["kv_cache_tokens"]) if row["kv_cache_tokens"] else None,
                    used_for=row["used_for"],
                    source_url=row["source_url"],
                )
            )
    return cases
