"""Known accelerators and the memory their runtime sees, for `gpuctl estimate --gpu`.

The figures are what CUDA (or the vendor runtime) reports as total memory, which is what vLLM's
`gpu_memory_utilization` multiplies: nvidia-smi's FB "Total" minus its "Reserved" line. Where a
log gave the CUDA figure it is used as is (H100-80GB 79.19 GiB, H200 140.4 GiB, 24 GB GeForce
cards 23.6 GiB, RTX 4060 8.00 GiB: tests/data/models/README.md; A100-80GB 79.25 GiB, A100-40GB 39.49
GiB, L40S 44.42 GiB, T4 14.56 GiB: vLLM's "Free memory on device (free/total GiB)" and
"total_gpu_memory (… GiB)" lines, tests/estimate/data/held_out.csv); otherwise nvidia-smi's total
from the captured fixtures minus the reserve measured on the same generation (tests/data/fixtures).

Pure.
"""

from __future__ import annotations

import re

GiB = 1 << 30
MiB = 1 << 20

KNOWN_GPUS: dict[str, tuple[str, int]] = {
    # key (normalised name): (display name, bytes the runtime sees)
    "h100": ("H100-80GB", int(79.19 * GiB)),
    "h10080gb": ("H100-80GB", int(79.19 * GiB)),
    "h10080gbhbm3": ("H100-80GB", int(79.19 * GiB)),
    "h100sxm": ("H100-80GB", int(79.19 * GiB)),
    "h100nvl": ("H100-NVL", (95830 - 479) * MiB),
    "h200": ("H200", int(140.4 * GiB)),
    "a10080gb": ("A100-80GB", int(79.25 * GiB)),
    "a100sxm480gb": ("A100-80GB", int(79.25 * GiB)),
    "a10080gbpcie": ("A100-80GB", int(79.25 * GiB)),
    "a100": ("A100-80GB", int(79.25 * GiB)),
    "a10040gb": ("A100-40GB", int(39.49 * GiB)),
    "a100sxm440gb": ("A100-40GB", int(39.49 * GiB)),
    "l40s": ("L40S", int(44.42 * GiB)),
    "l40": ("L40", (46068 - 609) * MiB),
    "l4": ("L4", (23034 - 479) * MiB),
    "a10g": ("A10G", (23028 - 479) * MiB),
    "a10": ("A10", (23028 - 479) * MiB),
    "v10032gb": ("V100-32GB", (32768 - 479) * MiB),
    "v100s": ("V100-32GB", (32768 - 479) * MiB),
    "v10016gb": ("V100-16GB", (16384 - 479) * MiB),
    "t4": ("T4", int(14.56 * GiB)),
    "rtx4090": ("RTX 4090", int(23.6 * GiB)),
    "4090": ("RTX 4090", int(23.6 * GiB)),
    "rtx3090": ("RTX 3090", int(23.6 * GiB)),
    "3090": ("RTX 3090", int(23.6 * GiB)),
    "rtx4080super": ("RTX 4080 SUPER", (16376 - 434) * MiB),
    "rtx4080": ("RTX 4080", (16376 - 434) * MiB),
    "rtx4060": ("RTX 4060", 8 * GiB),
    "rtx2080super": ("RTX 2080 SUPER", (8192 - 408) * MiB),
    "rtx2080ti": ("RTX 2080 Ti", (11264 - 408) * MiB),
    "rtxa6000": ("RTX A6000", (49140 - 479) * MiB),
    "rtx6000ada": ("RTX 6000 Ada", (49140 - 479) * MiB),
    "mi300x": ("MI300X", 196592 * MiB),  # amd-smi static: VRAM 196592 MB
    "910b3": ("Ascend 910B3", 65536 * MiB),  # npu-smi info: HBM 65536 MB
    "910b": ("Ascend 910B", 32768 * MiB),  # npu-smi info -t common: HBM Capacity 32768 MB
}

SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(gib|gb|mib|mb|tib|tb|g|m)?\s*$", re.IGNORECASE)
UNITS = {"gib": GiB, "g": GiB, "gb": 10**9, "mib": MiB, "m": MiB, "mb": 10**6, "tib": 1 << 40, "tb": 10**12}


def normalise(name: str) -> str:
    name = name.lower()
    for noise in ("nvidia", "geforce", "tesla", "-sxm5", "hbm3", "pcie"):
        name = name.replace(noise, "")
    return re.sub(r"[^a-z0-9]", "", name)


GENERATIONS: tuple[tuple[str, float], ...] = (
    # (name fragment after normalise(), CUDA compute capability), most specific first
    ("gb300", 10.3), ("b300", 10.3), ("gb200", 10.0), ("b200", 10.0), ("b100", 10.0),
    ("rtxpro6000", 12.0), ("rtx50", 12.0), ("5090", 12.0), ("5080", 12.0), ("5070", 12.0),
    ("gh200", 9.0), ("h200", 9.0), ("h100", 9.0), ("h800", 9.0), ("h20", 9.0),
    ("l40", 8.9), ("l4", 8.9), ("rtx6000ada", 8.9), ("rtx40", 8.9), ("4090", 8.9), ("4080", 8.9),
    ("4070", 8.9), ("4060", 8.9), ("a100", 8.0), ("a800", 8.0), ("a30", 8.0), ("a10", 8.6),
    ("a40", 8.6), ("rtxa", 8.6), ("a6000", 8.6), ("a5000", 8.6), ("a4000", 8.6), ("3090", 8.6),
    ("3080", 8.6), ("3070", 8.6), ("3060", 8.6), ("t4", 7.5), ("2080", 7.5), ("v100", 7.0),
)  # fmt: skip


def compute_capability(device_name: str | None) -> float | None:
    """CUDA compute capability of an NVIDIA GPU named like nvidia-smi or `--gpu` does ("NVIDIA
    A100-SXM4-80GB", "L40S"); None when the name is missing or not recognised."""
    if not device_name:
        return None
    key = normalise(device_name)
    for fragment, capability in GENERATIONS:
        if fragment in key:
            return capability
    return None


def parse_gpu(text: str) -> tuple[str, int]:
    """(display name, bytes) for a GPU name ("H100-80GB", "NVIDIA L40S") or a size ("80GiB",
    "24GB" = 24·10⁹ bytes, "81559MiB"). Raises ValueError naming the accepted forms."""
    if match := SIZE.match(text):
        value, unit = float(match.group(1)), (match.group(2) or "gib").lower()
        return text.strip(), int(value * UNITS[unit])
    key = normalise(text)
    if key in KNOWN_GPUS:
        return KNOWN_GPUS[key]
    known = sorted({display for display, _ in KNOWN_GPUS.values()})
    raise ValueError(f"unknown GPU {text!r}: use a size such as 80GiB or one of {', '.join(known)}")
