"""Simulated AMD `rocm-smi` for `--json` and `--csv` output.

The real tool fills one dict per card as it handles each flag, in a fixed order (showid,
showuniqueid, showtemp, showpower, showuse, showserial, showmeminfo, showproductname), so a key a
later flag sets again keeps its first position; `--json` prints `json.dumps` of it on one line
(rocm_smi.py: `print(json.dumps(JSON_DATA))`) and `--csv` one row per card. Key names follow the
ROCm 6.x captures in tests/data/fixtures/amd/. VRAM in use is what the foreign processes hold.
"""

from __future__ import annotations

import argparse
import json

from gpuctl.sandbox.hoststate import HostView, SimDevice

VENDOR = "Advanced Micro Devices, Inc. [AMD/ATI]"
MIB = 1024 * 1024
FLAGS = ("showid", "showuniqueid", "showtemp", "showpower", "showuse", "showserial", "showproductname")


def _card(view: HostView, device: SimDevice, flags: argparse.Namespace) -> dict[str, str]:
    acc = device.slot.accelerator
    card: dict[str, str] = {}
    guid = str(10000 + int(device.uuid[2:7], 16) % 50000)
    if flags.showid:
        card.update(
            {
                "Device Name": acc.name,
                "Device ID": acc.pci_device_id,
                "Device Rev": "0x00",
                "Subsystem ID": acc.pci_sub_device_id,
                "GUID": guid,
            }
        )
    if flags.showuniqueid:
        card["Unique ID"] = device.uuid
    if flags.showtemp:
        for sensor, offset in (("edge", 0), ("junction", 3), ("memory", 2)):
            card[f"Temperature (Sensor {sensor}) (C)"] = f"{acc.idle_temp_c + offset:.1f}"
    if flags.showpower:
        card["Average Graphics Package Power (W)"] = f"{acc.idle_power_w:.1f}"
    if flags.showuse:
        card["GPU use (%)"] = "0"
    if flags.showserial:
        card["Serial Number"] = device.serial
    for kind in flags.showmeminfo or ():
        if kind in ("vram", "all"):
            card["VRAM Total Memory (B)"] = str(acc.memory_mib * MIB)
            card["VRAM Total Used Memory (B)"] = str(view.used_mib(device.key) * MIB)
    if flags.showproductname:
        card.update(
            {
                "Card Series": acc.name,
                "Card Model": acc.pci_device_id,
                "Card Vendor": VENDOR,
                "Card SKU": "M3000100",
                "Subsystem ID": acc.pci_sub_device_id,
                "Device Rev": "0x00",
                "Node ID": str(device.index + 2),
                "GUID": guid,
                "GFX Version": acc.gfx_version,
            }
        )
    return card


def _csv(cards: dict[str, dict[str, str]]) -> str:
    """rocm_smi.py's formatCsv: a header of every key seen, one row per card, commas removed."""
    keys: list[str] = []
    for card in cards.values():
        keys += [k for k in card if k not in keys]
    lines = [",".join(["device", *keys])]
    for name, card in cards.items():
        lines.append(",".join([name] + [card.get(k, "N/A").replace(",", "") for k in keys]))
    return "\n".join(lines) + "\n\n"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rocm-smi", add_help=True)
    for flag in FLAGS:
        p.add_argument(f"--{flag}", action="store_true")
    p.add_argument("--showmeminfo", nargs="+", choices=["vram", "vis_vram", "gtt", "all"])
    p.add_argument("--json", action="store_true")
    p.add_argument("--csv", action="store_true")
    p.add_argument("-d", "--device", nargs="+", type=int)
    return p


def run(view: HostView, args: list[str]) -> tuple[str, int]:
    """Output and exit status of `rocm-smi ARGS` (argparse errors exit 2 as in the real tool)."""
    flags = parser().parse_args(args)
    if not (flags.json or flags.csv):
        return "gpuctl sandbox: this rocm-smi answers --json and --csv only\n", 2
    devices = [d for d in view.devices if flags.device is None or d.index in flags.device]
    cards = {f"card{d.index}": _card(view, d, flags) for d in devices}
    cards = {name: card for name, card in cards.items() if card}
    if not cards:
        return "", 0
    return (_csv(cards) if flags.csv else json.dumps(cards) + "\n"), 0
