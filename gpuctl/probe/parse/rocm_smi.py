"""`rocm-smi ... --json` and `rocm-smi ... --csv` (AMD, and Hygon DCUs whose DTK ships rocm-smi).

Keys changed across ROCm releases ("Card series" / "Card Series" / "Device Name", "VRAM Total
Memory (B)" / "vram Total Memory (B)" / Hygon's "vram Total Memory (MiB)"), so keys are compared
lower-case and memory keys carry their unit. Cards are keyed "cardN"; N is the device index that
HIP_VISIBLE_DEVICES / ROCR_VISIBLE_DEVICES count.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field

from gpuctl.facts import Device
from gpuctl.probe.parse.common import Parsed, ParseError, clean_text, optional, to_bytes

_CARD = re.compile(r"^card(\d+)$")
_MEMORY_KEY = re.compile(r"^vram total (used )?memory \((b|mib|mb)\)$")
HYGON = ("haiguang", "hygon")


@dataclass(frozen=True)
class RocmReport:
    devices: list[Device] = field(default_factory=list)
    driver_version: str | None = None


def _device(index: int, values: dict[str, str], warnings: list[str]) -> Device | None:
    fields = {key.strip().lower(): str(value) for key, value in values.items()}
    total = used = None
    for key, value in fields.items():
        if match := _MEMORY_KEY.match(key):
            size = to_bytes(value, default_unit="B" if match[2] == "b" else "MiB")
            used, total = (size, total) if match[1] else (used, size)
    names = [optional(fields.get(key)) for key in ("card series", "device name", "card model")]
    name = next((n for n in names if n), None)
    vendor = (fields.get("card vendor") or "").lower()
    if any(word in vendor for word in HYGON):
        warnings.append(
            f"card{index} is a Hygon DCU ({name}); it is listed as an AMD device, but the default ROCm "
            "images do not support it: set `image:` on deployments placed there"
        )
    if total is None:
        warnings.append(f"`rocm-smi`: card{index} has no VRAM total (was --showmeminfo vram passed?)")
        return None
    if used is None:
        warnings.append(f"`rocm-smi`: card{index} has no VRAM used figure; counted as 0")
    return Device(
        key=str(index),
        vendor="amd",
        index=index,
        name=name or "AMD GPU",
        uuid=optional(fields.get("unique id")),
        memory_total=total,
        memory_used=used or 0,
    )


def parse_rocm_smi_json(text: str) -> Parsed[RocmReport]:
    text = clean_text(text)
    start = text.find("{")
    try:
        data, _ = json.JSONDecoder().raw_decode(text[start:]) if start >= 0 else (None, 0)
    except json.JSONDecodeError as error:
        raise ParseError("rocm-smi --json", f"not valid JSON ({error})") from None
    if not isinstance(data, dict):
        raise ParseError("rocm-smi --json", "no JSON object in the output")
    warnings: list[str] = []
    devices = []
    for key, values in data.items():
        card = _CARD.match(key)
        if card and isinstance(values, dict):
            device = _device(int(card[1]), values, warnings)
            if device:
                devices.append(device)
    system = data.get("system")
    driver = optional(str(system.get("Driver version"))) if isinstance(system, dict) else None
    return Parsed(RocmReport(sorted(devices, key=lambda d: d.index), driver), warnings)


def parse_rocm_smi_csv(text: str) -> Parsed[RocmReport]:
    """`rocm-smi --showproductname --showmeminfo vram --showuniqueid --csv`: one "cardN" row each."""
    warnings: list[str] = []
    devices = []
    for row in csv.DictReader(io.StringIO(clean_text(text).strip())):
        card = _CARD.match((row.get("device") or "").strip())
        if not card:
            warnings.append(f"`rocm-smi --csv`: row without a cardN device: {row.get('device')!r}")
            continue
        device = _device(int(card[1]), {k: v for k, v in row.items() if k and v is not None}, warnings)
        if device:
            devices.append(device)
    return Parsed(RocmReport(sorted(devices, key=lambda d: d.index)), warnings)
