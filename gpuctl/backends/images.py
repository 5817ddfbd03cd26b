"""Default backend images and the registry mirror.

GPUStack publishes its backends as `gpustack/runner` images tagged
`{ACCEL}{ACCEL_VERSION}[-{VARIANT}]-{SERVICE}{SERVICE_VERSION}` (gpustack-runner's naming
convention), e.g. `gpustack/runner:cuda12.8-vllm0.11.0` or `gpustack/runner:cann8.2-910b-mindie2.1.rc2`.
gpuctl pins one backend version per backend (overridable per deployment with `backendVersion`, or
replaced entirely with `image`) and one accelerator toolkit per accelerator kind; where runner
publishes no image of that version for the toolkit, ACCELERATOR_VERSIONS pins one that exists.

llama-box is published upstream as release binaries, not as a runner image; gpuctl names its image
with the same scheme (`gpustack/runner:cuda12.8-llama-box0.0.154`) so that a registry mirror can
carry it; set `image:` to use your own build.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from gpuctl.facts import Device

Accelerator = Literal["nvidia", "amd", "ascend-910b", "ascend-310p", "cpu"]

NAMESPACE = "gpustack/runner"

DEFAULT_VERSIONS: dict[str, str] = {
    "vllm": "0.11.0",
    "sglang": "0.5.5",
    "mindie": "2.1.rc2",
    "voxbox": "0.0.20",
    "llama-box": "0.0.154",
}

ACCELERATOR_VERSIONS: dict[tuple[str, Accelerator], str] = {
    ("vllm", "ascend-310p"): "0.10.0",
    ("sglang", "amd"): "0.5.6.post2",
    ("sglang", "ascend-910b"): "0.5.2",
}
"""Where gpustack/runner publishes no image of DEFAULT_VERSIONS for the accelerator's toolkit
(runner's release list: CANN 8.2 310P carries vLLM up to 0.10.0, CANN 8.2 910B SGLang up to
0.5.2, ROCm 7.0 SGLang from 0.5.6.post2), the version gpuctl pins there instead."""

TOOLKITS: dict[Accelerator, str] = {
    "nvidia": "cuda12.8",
    "amd": "rocm7.0",
    "ascend-910b": "cann8.2-910b",
    "ascend-310p": "cann8.2-310p",
    "cpu": "cpu",
}

SUPPORTED: dict[str, tuple[Accelerator, ...]] = {
    "vllm": ("nvidia", "amd", "ascend-910b", "ascend-310p"),
    "sglang": ("nvidia", "amd", "ascend-910b"),
    "mindie": ("ascend-910b", "ascend-310p"),
    # VoxBox on CPU runs the CUDA image with no device visible (it falls back to the CPU itself).
    "voxbox": ("nvidia",),
    "llama-box": ("nvidia", "amd", "ascend-910b", "ascend-310p", "cpu"),
}
"""Accelerators for which a default image exists. Others need an explicit `image`."""

SERVICE_TAGS = {
    "vllm": "vllm",
    "sglang": "sglang",
    "mindie": "mindie",
    "voxbox": "voxbox",
    "llama-box": "llama-box",
}


def accelerator_for(devices: Sequence[Device]) -> Accelerator:
    """The image variant for the devices a container gets.

    No devices: cpu. Ascend NPUs whose product name says 310P (Atlas 300I Duo: "310P3") take the
    310P toolkit; every other Ascend NPU (910B1..4, 910B3, names npu-smi masks) the 910B one.
    """
    if not devices:
        return "cpu"
    vendor = devices[0].vendor
    if vendor == "ascend":
        return "ascend-310p" if any("310p" in device.name.lower() for device in devices) else "ascend-910b"
    return vendor


def default_image(backend: str, accelerator: Accelerator, version: str | None = None) -> str:
    """`gpustack/runner:<toolkit>-<service><version>` for a backend on an accelerator kind."""
    if backend == "voxbox" and accelerator == "cpu":
        accelerator = "nvidia"
    toolkit = TOOLKITS[accelerator]
    pinned = ACCELERATOR_VERSIONS.get((backend, accelerator), DEFAULT_VERSIONS[backend])
    return f"{NAMESPACE}:{toolkit}-{SERVICE_TAGS[backend]}{version or pinned}"


def with_mirror(image: str, mirror: str | None) -> str:
    """Rewrite a Docker Hub image reference to pull through `mirror`.

    `gpustack/runner:tag` → `MIRROR/gpustack/runner:tag`; `docker.io/x/y` likewise; an image that
    already names another registry (a first path part with a dot or a colon, or localhost) is
    left alone: the user chose that registry explicitly.
    """
    if not mirror:
        return image
    mirror = mirror.rstrip("/")
    first, _, rest = image.partition("/")
    if rest and first in ("docker.io", "index.docker.io", "registry-1.docker.io"):
        image = rest
    elif rest and ("." in first or ":" in first or first == "localhost"):
        return image
    if "/" not in image:
        image = f"library/{image}"
    return f"{mirror}/{image}"


def all_default_images() -> list[str]:
    """Every default image reference gpuctl may pull (the sandbox registry carries all of them)."""
    images = {default_image(backend, accel) for backend, accels in SUPPORTED.items() for accel in accels}
    return sorted(images)
