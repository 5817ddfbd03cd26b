"""Speech (VoxBox) and image (diffusion) models: weights plus a documented allowance.

Neither has a KV cache worth the name: faster-whisper / CosyVoice keep small decoding buffers,
diffusion pipelines keep latents and attention activations that grow with the image size. There
are no measurements for either in the data gpuctl was calibrated on, so the allowances in
constants.py are stated assumptions, repeated in every estimate's notes. VoxBox falls back to
the CPU when the devices cannot hold the model (and CPU offloading is allowed).

Pure.
"""

from __future__ import annotations

import math

from gpuctl.estimate import constants as c
from gpuctl.estimate.types import DeviceBreakdown, Estimate, EstimateRequest, Verdict
from gpuctl.models.info import ModelInfo


def estimate_weights_plus_overhead(model: ModelInfo, request: EstimateRequest) -> Estimate:
    speech = request.backend == "voxbox"
    weights = model.weight_bytes or 0
    if speech:
        fixed, factor, what = c.VOXBOX_OVERHEAD, c.VOXBOX_OVERHEAD_FACTOR, "VoxBox"
    else:
        fixed, factor, what = c.IMAGE_OVERHEAD, c.IMAGE_OVERHEAD_FACTOR, "diffusion pipeline"
    devices = len(request.device_memory)
    share = math.ceil(weights / max(request.tensor_parallel, 1))
    overhead = int(fixed + factor * share)
    need = share + overhead
    notes = [
        f"{what}: weights + {fixed / c.GiB:g} GiB + {factor:.0%} of the weights (an assumption, not measured)"
    ]
    if not weights:
        notes.append(
            "the weight size is unknown (resolve the model, or lock it on a machine that can see it)"
        )
    fraction = request.memory_fraction or 1.0
    on_gpu = devices > 0 and need <= min(request.device_memory) * fraction
    on_cpu = not on_gpu and speech and (request.cpu_offload or devices == 0)
    verdict: Verdict = "fits" if on_gpu or on_cpu else "does-not-fit"
    if on_cpu:
        notes.append("runs on the CPU: the devices cannot hold it" if devices else "runs on the CPU")
    if on_cpu and request.host_memory is not None and weights + overhead > request.host_memory:
        verdict = "does-not-fit"
        notes.append(f"the CPU needs {(weights + overhead) / c.GiB:.2f} GiB of host memory")
    breakdown = DeviceBreakdown(weights=share, kv_cache=0, activation=0, overhead=overhead, total=need)
    return Estimate(
        backend=request.backend,
        devices=0 if on_cpu else devices,
        tensor_parallel=request.tensor_parallel,
        pipeline_parallel=1,
        context_length=None,
        context_length_reason="",
        per_device=None if on_cpu else breakdown,
        device_breakdowns=[],
        required_per_device=math.ceil(need / fraction),
        kv_bytes_per_token=None,
        kv_pool_bytes=None,
        kv_pool_tokens=None,
        max_concurrency=None,
        verdict=verdict,
        max_context_that_fits=None,
        gpu_layers=None,
        total_layers=None,
        cpu_memory=weights + overhead if on_cpu else 0,
        on_cpu=on_cpu,
        notes=notes,
    )
