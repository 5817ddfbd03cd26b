"""Simulated Huawei `npu-smi` (910B, npu-smi 24.1.rc1 layout).

Formats follow tests/data/fixtures/ascend/: `npu-smi info` as in the 8 × 910B3 capture (and its
process table as in the 24.1.RC2 capture, widened to the 910B3 column widths), `npu-smi info -m`,
and `npu-smi info -t usages|common -i N` with the 8-space indentation the real tool prints. HBM in
use is what the host's foreign processes hold.
"""

from __future__ import annotations

from gpuctl.sandbox.hoststate import HostView, SimDevice

WIDTH = 98
RULE = "+" + "-" * 27 + "+" + "-" * 15 + "+" + "-" * 52 + "+"
DOUBLE_RULE = "+" + "=" * 27 + "+" + "=" * 15 + "+" + "=" * 52 + "+"


def info(view: HostView) -> str:
    """`npu-smi info`: the device table, then the process table."""
    version = view.profile.npu_smi_version or ""
    lines = [
        "+" + "-" * (WIDTH - 2) + "+",
        f"| npu-smi {version:<25}Version: {version}".ljust(WIDTH - 1) + "|",
        RULE,
        "| NPU   Name                | Health        | Power(W)    Temp(C)           Hugepages-Usage(page)|",
        "| Chip                      | Bus-Id        | AICore(%)   Memory-Usage(MB)  HBM-Usage(MB)        |",
        DOUBLE_RULE,
    ]
    for device in view.devices:
        acc = device.slot.accelerator
        power = f"{acc.idle_power_w:.1f}"
        hugepages = f"{0:<5}/ {0:<14}"
        hbm = f"{view.used_mib(device.key):<5}/ {acc.memory_mib:<14}"
        lines += [
            f"| {device.index:<6}{acc.name:<20}| {'OK':<14}| {power:<12}{acc.idle_temp_c:<18}{hugepages}|",
            f"| {0:<26}| {device.slot.bus_id:<14}| {0:<12}{0:<5}/ {0:<11}{hbm}|",
            DOUBLE_RULE,
        ]
    lines += [
        RULE,
        "| NPU     Chip              | Process id    | Process name             | Process memory(MB)      |",
        DOUBLE_RULE,
    ]
    for device in view.devices:
        processes = sorted((p for p in view.processes if p.device_key == device.key), key=lambda p: p.pid)
        for process in processes:
            name, mib = process.name[:24], process.memory_mib
            lines.append(f"| {device.index:<8}{0:<18}| {process.pid:<14}| {name:<25}| {mib:<24}|")
        if not processes:
            lines.append(f"| No running processes found in NPU {device.index}".ljust(WIDTH - 1) + "|")
        lines.append(DOUBLE_RULE)
    return "".join(line + "\n" for line in lines)


def mapping(view: HostView) -> str:
    """`npu-smi info -m`: one chip plus its Mcu per 910B card."""
    lines = [f"{'NPU ID':<31}{'Chip ID':<31}{'Chip Logic ID':<31}Chip Name"]
    for device in view.devices:
        lines.append(f"{device.index:<31}{0:<31}{device.index:<31}{device.slot.accelerator.chip_name}")
        lines.append(f"{device.index:<31}{1:<31}{'-':<31}Mcu")
    return "".join(line + "\n" for line in lines)


def _pairs(pairs: list[tuple[str, object] | None]) -> str:
    """Key : value lines as npu-smi prints them; None is an empty line."""
    return "".join(f"        {p[0]:<31}: {p[1]}\n" if p else "\n" for p in pairs)


def usages(view: HostView, device: SimDevice) -> str:
    """`npu-smi info -t usages -i N`."""
    acc = device.slot.accelerator
    hbm_rate = round(100 * view.used_mib(device.key) / acc.memory_mib)
    return _pairs(
        [
            ("NPU ID", device.index),
            ("Chip Count", 1),
            None,
            ("DDR Capacity(MB)", 15171),
            ("DDR Usage Rate(%)", 3),
            ("DDR Hugepages Total(page)", 0),
            ("DDR Hugepages Usage Rate(%)", 0),
            ("HBM Capacity(MB)", acc.memory_mib),
            ("HBM Usage Rate(%)", hbm_rate),
            ("Aicore Usage Rate(%)", 0),
            ("Aicpu Usage Rate(%)", 0),
            ("Ctrlcpu Usage Rate(%)", 9),
            ("DDR Bandwidth Usage Rate(%)", 0),
            ("HBM Bandwidth Usage Rate(%)", 0),
            ("Chip ID", 0),
        ]
    )


def common(view: HostView, device: SimDevice) -> str:
    """`npu-smi info -t common -i N`."""
    acc = device.slot.accelerator
    hbm_rate = round(100 * view.used_mib(device.key) / acc.memory_mib)
    return _pairs(
        [
            ("NPU ID", device.index),
            ("Chip Count", 1),
            None,
            ("Chip ID", 0),
            ("Memory Usage Rate(%)", 6),
            ("HBM Usage Rate(%)", hbm_rate),
            ("Aicore Usage Rate(%)", 0),
            ("Aicore Freq(MHZ)", 1800),
            ("Aicore curFreq(MHZ)", 1800),
            ("Aicore Count", acc.aicore_count),
            ("Temperature(C)", acc.idle_temp_c),
            ("NPU Real-time Power(W)", f"{acc.idle_power_w:.1f}"),
            None,
            ("Chip Name", "mcu"),
            ("Temperature(C)", acc.idle_temp_c + 4),
            ("NPU Real-time Power(W)", "45.2"),
        ]
    )


def run(view: HostView, args: list[str]) -> tuple[str, int]:
    """Output and exit status of `npu-smi ARGS`."""
    if args == ["info"]:
        return info(view), 0
    if args == ["info", "-m"]:
        return mapping(view), 0
    if len(args) == 5 and args[:2] == ["info", "-t"] and args[3] == "-i" and args[2] in ("usages", "common"):
        device = next((d for d in view.devices if str(d.index) == args[4]), None)
        if device is None:
            return f"Error: the NPU ID {args[4]} does not exist.\n", 1
        return (usages if args[2] == "usages" else common)(view, device), 0
    return "Usage: npu-smi info [-m | -t usages|common -i ID]  (gpuctl sandbox simulation)\n", 1
