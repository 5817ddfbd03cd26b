"""How fast the scheduler can ask the estimator: 2,000 deployments × candidate device sets.

    .venv/bin/python benchmarks/estimator_speed.py

Each deployment is its own ModelInfo object (as a plan loads them from the lock), cycling over
the saved configs; each is estimated for every device shape of a mixed fleet (H100/H200/L40S/
RTX 4090/A100, TP 1/2/4/8). "cold" is the first pass (nothing cached), "warm" a second pass, as
when the scheduler revisits hosts of the same shape. Times are CPU time of this process
(`time.process_time`), so that other work on a shared machine does not inflate them.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gpuctl.estimate import estimate
from gpuctl.estimate.gpus import parse_gpu
from gpuctl.estimate.types import EstimateRequest
from gpuctl.models.config import model_info_from_config

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "models"
DEPLOYMENTS = 2000
CONFIGS = [
    "meta-llama__Llama-3.1-8B-Instruct",
    "meta-llama__Llama-3.1-70B-Instruct",
    "Qwen__Qwen3-8B",
    "Qwen__Qwen3-32B",
    "Qwen__Qwen3-30B-A3B",
    "Qwen__Qwen2.5-VL-7B-Instruct",
    "google__gemma-2-9b-it",
    "mistralai__Mixtral-8x7B-v0.1",
    "openai__gpt-oss-20b",
    "deepseek-ai__DeepSeek-R1",
]


def main() -> None:
    configs = [json.loads((DATA / f"{name}.config.json").read_text()) for name in CONFIGS]
    start = time.process_time()
    models = [
        model_info_from_config(configs[i % len(configs)], source=f"huggingface:org/model-{i}")
        for i in range(DEPLOYMENTS)
    ]
    parsed = time.process_time() - start
    shapes = [
        (parse_gpu(gpu), tp)
        for gpu in ("H100-80GB", "H200", "L40S", "RTX 4090", "A100-80GB")
        for tp in (1, 2, 4, 8)
    ]
    requests = [
        EstimateRequest(
            backend="vllm",
            device_memory=(size,) * tp,
            device_name=name,
            tensor_parallel=tp,
            memory_fraction=0.9,
        )
        for (name, size), tp in shapes
    ]
    for label in ("cold", "warm"):
        start = time.process_time()
        fits = 0
        for model in models:
            for request in requests:
                fits += estimate(model, request).verdict == "fits"
        elapsed = time.process_time() - start
        calls = len(models) * len(requests)
        print(
            f"{label}: {calls} estimates in {elapsed:.2f} s ({elapsed / calls * 1e6:.1f} µs each), {fits} fit"
        )
    print(f"parsing {DEPLOYMENTS} configs into ModelInfo: {parsed:.2f} s (done once, or read from the lock)")


if __name__ == "__main__":
    main()
