"""`nvidia-smi -L`: GPUs and their MIG devices with UUIDs and profiles.

    GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-...)
      MIG 3g.40gb     Device  0: (UUID: MIG-...)

It is the only output that names each MIG device's profile next to the UUID `docker --gpus`
takes, and its `Device N` order defines the MIG part of gpuctl's device keys ("0/N").
"""

from __future__ import annotations

import re

from gpuctl.probe.parse.common import Parsed, clean_text
from gpuctl.probe.parse.nvidia_records import GpuRecord, MigRecord

_GPU = re.compile(r"^GPU (\d+): (.*) \(UUID: ([^)]*)\)\s*$")
_MIG = re.compile(r"^\s+MIG (\S+)\s+Device\s+(\d+): \(UUID: ([^)]*)\)\s*$")


def parse_list(text: str) -> Parsed[tuple[list[GpuRecord], list[MigRecord]]]:
    gpus: list[GpuRecord] = []
    migs: list[MigRecord] = []
    warnings: list[str] = []
    for line in clean_text(text).split("\n"):
        if not line.strip():
            continue
        if gpu := _GPU.match(line):
            gpus.append(GpuRecord(index=int(gpu[1]), name=gpu[2].strip(), uuid=gpu[3].strip()))
        elif (mig := _MIG.match(line)) and gpus:
            migs.append(MigRecord(gpu=gpus[-1].index, index=int(mig[2]), profile=mig[1], uuid=mig[3].strip()))
        else:
            warnings.append(f"`nvidia-smi -L`: cannot read line {line.strip()!r}")
    return Parsed((gpus, migs), warnings)
