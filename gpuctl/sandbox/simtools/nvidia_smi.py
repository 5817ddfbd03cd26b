"""Simulated `nvidia-smi`: the queries gpuctl's prober (and people) run, in the real formats.

Formats follow the captures in tests/data/fixtures/nvidia/: the default table (driver ≥ 580 style,
and the 570 style with `|----` separators and blank lines of spaces), the "MIG devices" table,
`-L`, `--query-gpu` with any field the driver accepts (field list, units and idle values from the
captured `--query-gpu=<all fields>` output, see assets/nvidia_fields.json) and
`--query-compute-apps`. Values come from the host's profile and its foreign processes.

Pure functions from a HostView to text; `main` parses the arguments.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from functools import cache
from importlib import resources

from gpuctl.sandbox.hoststate import HostView, SimDevice

INVALID_ARGS = "Invalid combination of input arguments. Please run 'nvidia-smi -h' for help.\n"

COMPUTE_APP_FIELDS = {
    # canonical name: unit
    "timestamp": None,
    "gpu_name": None,
    "gpu_bus_id": None,
    "gpu_serial": None,
    "gpu_uuid": None,
    "pid": None,
    "process_name": None,
    "used_gpu_memory": "MiB",
}
COMPUTE_APP_ALIASES = {"name": "process_name", "used_memory": "used_gpu_memory"}


class UsageError(Exception):
    """What nvidia-smi prints (on stdout, as the real one does) before exiting with status 2."""


@dataclass(frozen=True)
class CsvFormat:
    header: bool = True
    units: bool = True


@cache
def field_catalogue() -> dict:
    return json.loads(resources.files("gpuctl.sandbox").joinpath("assets/nvidia_fields.json").read_text())


def _template(device: SimDevice) -> str:
    name = device.slot.accelerator.field_template
    return f"{name}-mig" if device.mig else name


def _stamp(now: float) -> str:
    return time.strftime("%Y/%m/%d %H:%M:%S", time.localtime(now)) + f".{int(now * 1000) % 1000:03d}"


def _gpu_values(view: HostView, device: SimDevice, now: float) -> dict[str, str]:
    """Values of the fields that depend on the profile and the foreign processes."""
    acc = device.slot.accelerator
    template = dict((f, v) for f, _, v in field_catalogue()["templates"][_template(device)])
    domain, bus, dev_fn = device.slot.bus_id.split(":")
    used = view.used_mib(device.key)
    reserved = int(template["memory.reserved"].split()[0])
    values = {
        "timestamp": _stamp(now),
        "driver_version": view.profile.nvidia_driver or "",
        "count": str(len(view.devices)),
        "name": acc.name,
        "uuid": device.uuid,
        "pci.bus_id": device.slot.bus_id,
        "pci.domain": f"0x{int(domain, 16):04X}",
        "pci.bus": f"0x{bus}",
        "pci.device": f"0x{dev_fn.split('.')[0]}",
        "pci.device_id": acc.pci_device_id,
        "pci.sub_device_id": acc.pci_sub_device_id,
        "index": str(device.index),
        "persistence_mode": "Enabled" if acc.persistence else "Disabled",
        "display_active": "Enabled" if acc.display_active else "Disabled",
        "fan.speed": "[N/A]" if acc.fan == "N/A" else acc.fan.replace("%", " %"),
        "pstate": acc.idle_pstate,
        "temperature.gpu": str(acc.idle_temp_c),
        "memory.total": f"{acc.memory_mib} MiB",
        "memory.used": f"{used} MiB",
        "memory.free": f"{max(acc.memory_mib - reserved - used, 0)} MiB",
        "compute_cap": acc.compute_capability or "[N/A]",
        "power.draw": f"{acc.idle_power_w:.2f} W",
        "power.draw.average": f"{acc.idle_power_w:.2f} W",
        "power.draw.instant": f"{acc.idle_power_w:.2f} W",
    }
    for limit in ("power.limit", "enforced.power.limit", "power.default_limit", "power.max_limit"):
        values[limit] = f"{acc.power_limit_w:.2f} W"
    if template["serial"] != "[N/A]":
        values["serial"] = device.serial
    if template["mig.mode.current"] != "[N/A]":
        values["mig.mode.current"] = values["mig.mode.pending"] = "Enabled" if device.mig else "Disabled"
    return values


def _resolve(names: list[str], known: dict[str, str | None], aliases: dict[str, str]) -> list[str]:
    resolved = []
    for name in names:
        canonical = aliases.get(name, name)
        if canonical not in known:
            raise UsageError(f'Field "{name}" is not a valid field to query.\n\n')
        resolved.append(canonical)
    return resolved


def _csv(fields: list[str], units: dict[str, str | None], rows: list[dict[str, str]], fmt: CsvFormat) -> str:
    lines = []
    if fmt.header:
        lines.append(", ".join(f + (f" [{units[f]}]" if units[f] else "") for f in fields))
    for row in rows:
        cells = []
        for f in fields:
            value = row[f]
            unit = units[f]
            if not fmt.units and unit and value.endswith(f" {unit}"):
                value = value[: -len(unit) - 1]
            cells.append(value)
        lines.append(", ".join(cells))
    return "".join(line + "\n" for line in lines)


def query_gpu(
    view: HostView, names: list[str], fmt: CsvFormat, now: float, ids: list[int] | None = None
) -> str:
    """`nvidia-smi --query-gpu=NAMES --format=csv[,noheader][,nounits]` (one row per GPU)."""
    catalogue = field_catalogue()
    devices = [d for d in view.devices if ids is None or d.index in ids]
    first = view.devices[0]
    units = {f: u for f, u, _ in catalogue["templates"][_template(first)]}
    fields = _resolve(names, units, catalogue["aliases"])
    rows = []
    for device in devices:
        row = {f: v for f, _, v in catalogue["templates"][_template(device)]}
        row.update(_gpu_values(view, device, now))
        rows.append(row)
    return _csv(fields, units, rows, fmt)


def query_compute_apps(view: HostView, names: list[str], fmt: CsvFormat, now: float) -> str:
    """`nvidia-smi --query-compute-apps=...`: the foreign processes. A process on a MIG device is
    listed with its GPU's UUID, as the real driver does (only the table shows GI/CI)."""
    fields = _resolve(names, COMPUTE_APP_FIELDS, COMPUTE_APP_ALIASES)
    rows = []
    for process in sorted(view.processes, key=lambda p: (int(p.device_key.split("/")[0]), p.pid)):
        device, _ = view.device_of(process.device_key)
        acc = device.slot.accelerator
        rows.append(
            {
                "timestamp": _stamp(now),
                "gpu_name": acc.name,
                "gpu_bus_id": device.slot.bus_id,
                "gpu_serial": "[N/A]" if acc.field_template == "geforce" else device.serial,
                "gpu_uuid": device.uuid,
                "pid": str(process.pid),
                "process_name": process.name,
                "used_gpu_memory": f"{process.memory_mib} MiB",
            }
        )
    return _csv(fields, COMPUTE_APP_FIELDS, rows, fmt)


def list_gpus(view: HostView) -> str:
    """`nvidia-smi -L`."""
    lines = []
    for device in view.devices:
        lines.append(f"GPU {device.index}: {device.slot.accelerator.name} (UUID: {device.uuid})")
        for mig in device.mig:
            lines.append(f"  MIG {mig.slice.profile:<12}Device {mig.index:>2}: (UUID: {mig.uuid})")
    return "".join(line + "\n" for line in lines)


def version(view: HostView) -> str:
    """`nvidia-smi --version`."""
    driver = view.profile.nvidia_driver or ""
    nvml = ".".join(driver.split(".")[:2])
    return (
        f"NVIDIA-SMI version  : {driver}\nNVML version        : {nvml}\n"
        f"DRIVER version      : {driver}\nCUDA Version        : {view.profile.cuda_version}\n"
    )


def _short_name(name: str, width: int) -> str:
    return name if len(name) <= width - 2 else name[: width - 7] + "..."


DATE_LINE = "%a %b %e %H:%M:%S %Y       "
"""strftime format of the table's first line (the real tool pads it with seven spaces)."""


def table(view: HostView, now: float) -> str:
    """The default `nvidia-smi` output: the date, then `table_body`."""
    return time.strftime(DATE_LINE, time.localtime(now)) + "\n" + table_body(view)


def table_body(view: HostView) -> str:
    """The table without its date line: GPU table, MIG devices table, processes table."""
    driver = view.profile.nvidia_driver or ""
    modern = int(driver.split(".")[0]) >= 580
    wide = "+" + "-" * 89 + "+"
    columns = "+-----------------------------------------+------------------------+----------------------+"
    gap = "" if modern else " " * 89
    lines = [
        wide,
        f"| NVIDIA-SMI {driver:<23}Driver Version: {driver:<15}CUDA Version: {view.profile.cuda_version:<9}|",
        columns if modern else "|" + columns[1:],
        "| GPU  Name                 Persistence-M | Bus-Id          Disp.A | Volatile Uncorr. ECC |",
        "| Fan  Temp   Perf          Pwr:Usage/Cap |           Memory-Usage | GPU-Util  Compute M. |",
        "|                                         |                        |               MIG M. |",
        "|=========================================+========================+======================|",
    ]
    for device in view.devices:
        acc = device.slot.accelerator
        mig_enabled = bool(device.mig)
        persistence = "On" if acc.persistence else "Off"
        display = "On" if acc.display_active else "Off"
        ecc = "On" if mig_enabled else acc.ecc
        util = "N/A" if mig_enabled else "0%"
        mig_mode = "N/A" if acc.field_template == "geforce" else ("Enabled" if mig_enabled else "Disabled")
        power = f"{acc.idle_power_w:.0f}W / {acc.power_limit_w:>4}W"
        lines += [
            f"|{device.index:>4}  {_short_name(acc.name, 31):<31}{persistence:<3} |"
            f"{device.slot.bus_id:>19} {display:>3} |{ecc:>21} |",
            f"|{acc.fan:>4}   {acc.idle_temp_c:>2}C    {acc.idle_pstate:<2}{power:>24} |"
            f"{view.used_mib(device.key):>8}MiB / {acc.memory_mib:>6}MiB |{util:>8}      Default |",
            f"|                                         |                        |{mig_mode:>21} |",
            columns,
        ]
    lines.append(gap)
    if any(device.mig for device in view.devices):
        lines += [*_mig_table(view), gap]
    lines += _process_table(view, wide)
    return "".join(line + "\n" for line in lines)


def _mig_table(view: HostView) -> list[str]:
    rule = "+------------------+----------------------------------+-----------+-----------------------+"
    lines = [
        "+" + "-" * 89 + "+",
        f"| {'MIG devices:':<88}|",
        rule,
        "| GPU  GI  CI  MIG |              Shared Memory-Usage |        Vol|        Shared         |",
        "|      ID  ID  Dev |                Shared BAR1-Usage | SM     Unc| CE ENC  DEC  OFA  JPG |",
        "|                  |                                  |        ECC|                       |",
        "|==================+==================================+===========+=======================|",
    ]
    for device in view.devices:
        for mig in device.mig:
            s = mig.slice
            ce, enc, dec, ofa, jpg = s.engines
            lines += [
                f"|{device.index:>3}  {s.gpu_instance:>3} {s.compute_instance:>3} {mig.index:>3}  |"
                f"{view.used_mib(mig.key):>16}MiB / {s.memory_mib:>5}MiB    |{s.sm:>3}      0 |"
                f"{ce:>3}{enc:>4}{dec:>5}{ofa:>5}{jpg:>5} |",
                f"|{'':18}|{0:>16}MiB / {s.bar1_mib:>5}MiB    |{'':11}|{'':23}|",
                rule,
            ]
    return lines


def _process_table(view: HostView, rule: str) -> list[str]:
    lines = [
        rule,
        f"| {'Processes:':<88}|",
        "|  GPU   GI   CI              PID   Type   Process name                        GPU Memory |",
        "|        ID   ID                                                               Usage      |",
        "|" + "=" * 89 + "|",
    ]
    for process in sorted(view.processes, key=lambda p: (tuple(map(int, p.device_key.split("/"))), p.pid)):
        device, mig = view.device_of(process.device_key)
        if mig:
            gi, ci = mig.slice.gpu_instance, mig.slice.compute_instance
            ids = f"{device.index:>5}{gi:>5}{ci:>5}{process.pid:>17}"
        else:
            ids = f"{device.index:>5}   N/A  N/A{process.pid:>16}"
        name = process.name if len(process.name) <= 36 else "..." + process.name[-33:]
        lines.append(f"|{ids}      C   {name:<36}{process.memory_mib:>7}MiB |")
    if not view.processes:
        lines.append(f"|  {'No running processes found':<87}|")
    lines.append(rule)
    return lines


def _option(args: list[str], i: int) -> tuple[str, str | None, int]:
    """Split `--opt=value` / `--opt value` at position i; returns (option, value, next index)."""
    arg = args[i]
    if "=" in arg and arg.startswith("--"):
        option, value = arg.split("=", 1)
        return option, value, i + 1
    return arg, (args[i + 1] if i + 1 < len(args) else None), i + 2


def run(view: HostView, args: list[str], now: float) -> tuple[str, int]:
    """Output and exit status of `nvidia-smi ARGS`."""
    if not args:
        return table(view, now), 0
    if args in (["-L"], ["--list-gpus"]):
        return list_gpus(view), 0
    if args == ["--version"]:
        return version(view), 0
    query = fmt_text = None
    mode = ""
    ids: list[int] | None = None
    i = 0
    try:
        while i < len(args):
            option, value, i = _option(args, i)
            if value is None:
                raise UsageError(INVALID_ARGS)
            if option in ("--query-gpu", "--query-compute-apps"):
                mode, query = option, value
            elif option == "--format":
                fmt_text = value
            elif option in ("-i", "--id"):
                ids = [int(part) for part in value.split(",")]
            else:
                raise UsageError(INVALID_ARGS)
        if not query or fmt_text is None:
            raise UsageError(INVALID_ARGS)
        options = fmt_text.split(",")
        if "csv" not in options or not set(options) <= {"csv", "noheader", "nounits"}:
            raise UsageError(INVALID_ARGS)
        fmt = CsvFormat(header="noheader" not in options, units="nounits" not in options)
        names = [name.strip() for name in query.split(",")]
        if mode == "--query-gpu":
            return query_gpu(view, names, fmt, now, ids), 0
        return query_compute_apps(view, names, fmt, now), 0
    except UsageError as error:
        return str(error), 2
    except ValueError:
        return INVALID_ARGS, 2
