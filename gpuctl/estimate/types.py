"""The estimator's contract: what it is asked and what it answers (pure values, bytes).

`gpuctl.estimate.estimate(model: ModelInfo, request: EstimateRequest) -> Estimate` is pure and
fast (the scheduler calls it for many candidate device sets): it caches results per model object
and request (which is hashable), so callers need not.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Verdict = Literal["fits", "context-too-long", "does-not-fit"]
BackendName = Literal["vllm", "sglang", "mindie", "voxbox", "llama-box"]


class EstimateValue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EstimateRequest(EstimateValue):
    backend: BackendName
    device_memory: tuple[int, ...] = ()
    """Total memory of each device one replica would use (empty: CPU only), as the runtime sees
    it: for NVIDIA GPUs CUDA's total, which is nvidia-smi's FB total minus its "Reserved" line
    (an H100 80GB HBM3: 81559 − 479 MiB = 79.18 GiB)."""
    device_name: str | None = None
    """Product name of the devices (e.g. "NVIDIA A100-SXM4-80GB"): vLLM picks smaller scheduler
    defaults on A100s, which changes its activation memory."""
    tensor_parallel: int = 1
    pipeline_parallel: int = 1
    context_length: int | None = None
    """Context the backend will be started with; None: the backend's default rule (vLLM: the
    model's maximum capped at 8192 when larger; SGLang: the model's maximum)."""
    memory_fraction: float | None = None
    """vLLM --gpu-memory-utilization, SGLang --mem-fraction-static, MindIE --npu-memory-fraction;
    None: the backend default (0.9)."""
    kv_cache_dtype: str = "auto"
    """"auto" (the model dtype), "fp8" / "fp8_e4m3" / "fp8_e5m2", "bfloat16", "float16", "float32";
    llama-box: "f16", "q8_0", "q4_0"."""
    dtype: str | None = None
    """`--dtype`: "auto"/None follows the checkpoint (float32 checkpoints run in 16-bit)."""
    quantization: str | None = None
    """`--quantization` applied at load time to an unquantized checkpoint (e.g. "fp8")."""
    backend_version: str | None = None
    """Backend version the deployment runs; None: the newest calibrated behaviour (vLLM 0.19).
    vLLM before 0.17 profiled about three times the sampler memory (see constants)."""
    max_batched_tokens: int | None = None
    max_num_seqs: int | None = None
    """vLLM `--max-num-seqs` (None: 1024 on GPUs of 70 GiB or more except A100s, else 256)."""
    cpu_offload: bool = False
    """llama-box: allow layers on the CPU; VoxBox: allow the whole model on the CPU."""
    host_memory: int | None = None
    """Available host RAM, to decide whether CPU offloading can hold the remainder."""


class DeviceBreakdown(EstimateValue):
    """Memory on one device, by what uses it."""

    weights: int
    kv_cache: int
    """KV cache pool the engine will allocate (vLLM/SGLang/MindIE) or the KV for the context
    (llama-box)."""
    activation: int
    overhead: int
    """CUDA context, NCCL buffers, CUDA graphs, runtime: memory that is neither weights, KV nor
    activations."""
    total: int
    """Memory this deployment claims on the device (what the scheduler reserves)."""


class Estimate(EstimateValue):
    backend: str
    devices: int
    tensor_parallel: int = 1
    pipeline_parallel: int = 1
    context_length: int | None = None
    """Context length the backend will run with."""
    context_length_reason: str = ""
    """e.g. "model maximum 40960 > 8192: vLLM default caps at 8192"."""
    per_device: DeviceBreakdown | None = None
    """The device that binds (the fullest one: with pipeline parallelism the stage with the
    smallest KV pool, with llama-box the device holding the most)."""
    device_breakdowns: list[DeviceBreakdown] = Field(default_factory=list)
    """One breakdown per device in request order, where devices differ (pipeline stages,
    llama-box's layer split); empty when every device is like `per_device`."""
    required_per_device: int = 0
    """Smallest device memory each device needs: weights + activation + overhead + KV for one
    full-length sequence (for vLLM: divided by gpu_memory_utilization, since vLLM only uses that
    fraction)."""
    kv_bytes_per_token: int | None = None
    """KV cache bytes per token per device (after TP/PP split; MLA is replicated)."""
    kv_pool_bytes: int | None = None
    kv_pool_tokens: int | None = None
    max_concurrency: float | None = None
    """Full-length sequences the KV pool holds at context_length."""
    verdict: Verdict
    max_context_that_fits: int | None = None
    """Largest context that fits on these devices (None when nothing fits)."""
    gpu_layers: int | None = None
    """llama-box: layers on the devices (the rest on the CPU)."""
    total_layers: int | None = None
    cpu_memory: int = 0
    """Host RAM the deployment needs (offloaded layers, CPU inference)."""
    on_cpu: bool = False
    """The whole model runs on the CPU (VoxBox fallback, llama-box without devices)."""
    notes: list[str] = Field(default_factory=list)
    """Human explanations: formulas used, defaults applied, why it does not fit."""
