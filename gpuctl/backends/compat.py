"""Why a backend cannot serve a model, on a host, on a device or with a parallel layout.

Each function answers None when it can, else one sentence for the plan's "unschedulable"
reasons. The scheduler calls them while filtering candidates, so they are pure and cheap.
"""

from __future__ import annotations

from collections.abc import Mapping

from gpuctl.backends.selection import voxbox_model
from gpuctl.facts import Device, HostFacts
from gpuctl.models.info import ModelInfo

_VENDOR_NAMES = {"nvidia": "NVIDIA GPUs", "amd": "AMD GPUs", "ascend": "Ascend NPUs"}

MIN_SGLANG_CUDA_CAPABILITY = (8, 0)

_DEFAULT_SELECTORS: dict[str, dict[str, str]] = {"vllm": {"os": "linux", "arch": "amd64"}}


def default_selector(backend: str) -> dict[str, str]:
    """Host labels a backend requires unless the deployment's `placement.selector` says otherwise.

    vLLM's is `{os: linux, arch: amd64}` (seed 001). The scheduler matches hosts against
    `{**default_selector(backend), **spec.placement.selector}`, so a user overrides a key by
    setting it, e.g. `selector: {arch: arm64}` for vLLM on Ascend servers with Kunpeng CPUs.
    """
    return dict(_DEFAULT_SELECTORS.get(backend, {}))


def model_incompatibility(backend: str, model: ModelInfo) -> str | None:
    """Why `backend` cannot serve this model on any host."""
    what = _describe(model)
    if backend == "mindie":
        if model.is_gguf:
            return f"MindIE does not load GGUF files ({what}); use llama-box"
        if model.category in ("embedding", "reranker"):
            return f"MindIE does not serve embedding or reranker models ({what}); use vllm"
        if model.category in ("image", "omni", "speech-to-text", "text-to-speech"):
            return f"MindIE serves LLMs and vision-language models, not {model.category} models ({what})"
    speech = model.category in ("speech-to-text", "text-to-speech")
    if backend == "voxbox" and not speech and voxbox_model(model.source) is None:
        return f"VoxBox serves speech-to-text and text-to-speech models; {what} is a {model.category} model"
    if backend == "llama-box" and not model.is_gguf:
        return f"llama-box serves GGUF files; {what} has none chosen (set spec.model.file)"
    return None


def host_incompatibility(
    backend: str, model: ModelInfo, host: HostFacts, selector: Mapping[str, str] | None = None
) -> str | None:
    """Why `backend` cannot run this model on `host` at all (model, accelerator, runtime, the
    backend's default selector).

    `selector` is the deployment's `placement.selector`: a key it sets replaces the backend's
    default for that key (the scheduler matches the user's selector itself).
    """
    reason = model_incompatibility(backend, model) or _accelerator_incompatibility(backend, model, host)
    return (
        reason or _selector_incompatibility(backend, host, selector or {}) or _runtime_incompatibility(host)
    )


def device_incompatibility(backend: str, device: Device) -> str | None:
    """Why `backend` cannot use this particular device (hosts may mix GPU generations)."""
    if backend == "sglang" and device.vendor == "nvidia":
        capability = _capability(device)
        if capability is not None and capability < MIN_SGLANG_CUDA_CAPABILITY:
            return (
                f"SGLang needs NVIDIA compute capability 8.0 or newer; device {device.key} "
                f"({device.name}) has {device.compute_capability}"
            )
    return None


def parallelism_incompatibility(
    backend: str, model: ModelInfo, tensor_parallel: int, pipeline_parallel: int
) -> str | None:
    """Why the backend cannot split this model `tensor_parallel` × `pipeline_parallel` ways."""
    tp, pp = tensor_parallel, pipeline_parallel
    if tp < 1 or pp < 1:
        return f"tensor parallel {tp} and pipeline parallel {pp} must be at least 1"
    if backend == "voxbox" and tp * pp > 1:
        return f"VoxBox runs a model on one GPU, not {tp * pp}"
    if backend == "llama-box" and model.category == "image" and tp * pp > 1:
        return f"llama-box runs image models on one device, not {tp * pp}"
    if backend == "mindie" and tp & (tp - 1):
        return f"MindIE needs a power-of-2 tensor parallel size; {tp} is not"
    if backend not in ("vllm", "sglang", "mindie"):
        return None
    divisors = [("attention heads", model.num_attention_heads)]
    if backend != "mindie":
        vision_heads = model.vision.num_heads if model.vision else None
        divisors += [("vision attention heads", vision_heads), ("vocabulary size", model.vocab_size)]
    for noun, count in divisors:
        if count and count % tp:
            return f"tensor parallel size {tp} does not divide the model's {count} {noun}"
    if model.num_layers and pp > model.num_layers:
        return f"pipeline parallel size {pp} exceeds the model's {model.num_layers} layers"
    return None


def _accelerator_incompatibility(backend: str, model: ModelInfo, host: HostFacts) -> str | None:
    vendor = host.accelerator
    has = _VENDOR_NAMES.get(vendor, "no accelerator")
    name = host.host
    if backend == "mindie" and vendor != "ascend":
        return f"MindIE runs only on Ascend NPUs; host {name} has {has}"
    if backend in ("vllm", "sglang") and vendor == "none":
        return f"{_title(backend)} needs NVIDIA, AMD or Ascend accelerators; host {name} has none"
    if backend == "sglang":
        if vendor == "ascend" and any("310p" in d.name.lower() for d in host.devices):
            return f"SGLang does not support Ascend 310P NPUs (host {name})"
        if vendor == "nvidia" and all(device_incompatibility(backend, d) for d in host.devices):
            oldest = min(host.devices, key=lambda d: _capability(d) or (99, 0))
            return (
                f"SGLang needs NVIDIA compute capability 8.0 or newer; host {name} has "
                f"{oldest.name} ({oldest.compute_capability})"
            )
    if backend == "voxbox":
        if vendor in ("amd", "ascend"):
            return f"VoxBox runs on NVIDIA GPUs or on the CPU; host {name} has {has}"
        return voxbox_platform_incompatibility(model, host)
    return None


def voxbox_platform_incompatibility(model: ModelInfo, host: HostFacts) -> str | None:
    """Why VoxBox cannot run this model on the host's architecture (seed 000's table: CosyVoice
    and Dia on AMD64 only)."""
    row = voxbox_model(model.source)
    arch = host.info.arch if host.info else None
    if row and arch and arch not in row.platforms:
        return f"{row.name} runs only on {'/'.join(row.platforms)} hosts; host {host.host} is {arch}"
    return None


def _selector_incompatibility(backend: str, host: HostFacts, selector: Mapping[str, str]) -> str | None:
    facts = {"os": host.info.os, "arch": host.info.arch} if host.info else {}
    for key, wanted in default_selector(backend).items():
        if key not in selector and key in facts and facts[key] != wanted:
            return (
                f"{_title(backend)}'s default host selector is {key}={wanted}; host {host.host} is "
                f"{key}={facts[key]} (set placement.selector.{key}: {facts[key]} to allow it)"
            )
    return None


def _runtime_incompatibility(host: HostFacts) -> str | None:
    docker = host.docker
    if docker is None or not docker.reachable:
        detail = f" ({docker.error})" if docker and docker.error else ""
        return f"Docker is not reachable on host {host.host}{detail}"
    vendor = host.accelerator
    if vendor == "nvidia" and not docker.gpus_supported:
        return (
            f"Docker on host {host.host} cannot pass NVIDIA GPUs to containers (`docker run --gpus` "
            "is unsupported): install the NVIDIA Container Toolkit and restart Docker"
        )
    if vendor == "ascend" and "ascend" not in docker.runtimes:
        return (
            f"Docker on host {host.host} has no `ascend` runtime: install Ascend Docker Runtime "
            "(ascend-docker-runtime) and restart Docker"
        )
    return None


def _capability(device: Device) -> tuple[int, int] | None:
    if not device.compute_capability:
        return None
    major, _, minor = device.compute_capability.partition(".")
    try:
        return int(major), int(minor or 0)
    except ValueError:
        return None


def _describe(model: ModelInfo) -> str:
    return model.source.split(":", 1)[-1]


def _title(backend: str) -> str:
    return {"vllm": "vLLM", "sglang": "SGLang"}.get(backend, backend)
