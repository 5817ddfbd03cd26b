"""Every real capture in tests/data/fixtures goes through its parser and gives the expected values.

The fixture folder is walked: a file that is neither in CASES nor in SKIPPED fails the test, so a new
capture cannot be added without saying what gpuctl reads from it. Each parser's result is reduced to
a few plain values (memory in MiB, as the tools print it) and compared with the table below, whose
values were checked against the capture files by eye.
"""

# ruff: noqa: E501  (the expected-values table keeps one capture's values on few lines)
from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from gpuctl.probe.devices import ascend_devices, nvidia_devices
from gpuctl.probe.parse.amd_smi import (
    parse_amd_smi_monitor,
    parse_amd_smi_process,
    vram_bytes,
)
from gpuctl.probe.parse.docker import parse_docker_info
from gpuctl.probe.parse.npu_smi import parse_npu_details, parse_npu_info, parse_npu_mapping
from gpuctl.probe.parse.nvidia_csv import parse_compute_apps, parse_query_gpu
from gpuctl.probe.parse.nvidia_list import parse_list
from gpuctl.probe.parse.nvidia_q import parse_q_text
from gpuctl.probe.parse.nvidia_records import NvidiaReport
from gpuctl.probe.parse.nvidia_table import parse_table
from gpuctl.probe.parse.nvidia_xml import parse_xml
from gpuctl.probe.parse.rocm_smi import RocmReport, parse_rocm_smi_csv, parse_rocm_smi_json

FIXTURES = Path(__file__).parents[1] / "data" / "fixtures"
NOT_OUTPUTS = {"SOURCES.md"}
"""Files in the folder that are not command outputs (.cmd sidecars hold the command line)."""

MIB = 1024 * 1024


def mib(value: int | None) -> int | float | None:
    if value is None:
        return None
    return value // MIB if value % MIB == 0 else round(value / MIB, 3)


def _query_gpu(text: str, fields: list[str] | None = None) -> dict:
    parsed = parse_query_gpu(text, fields)
    gpus = parsed.value
    return {
        "count": len(gpus),
        "names": sorted({g.name for g in gpus if g.name}),
        "total_mib": [mib(g.memory_total) for g in gpus],
        "used_mib": [mib(g.memory_used) for g in gpus],
        "uuids": sorted({g.uuid for g in gpus if g.uuid}),
        "driver": sorted({g.driver_version for g in gpus if g.driver_version}),
        "cc": sorted({g.compute_capability for g in gpus if g.compute_capability}),
        "mig": [g.mig_enabled for g in gpus],
        "warnings": len(parsed.warnings),
    }


def _pdsh(text: str) -> dict:
    """pdsh prefixes every line with `node: `: one query output per node."""
    nodes: dict[str, list[str]] = {}
    for line in text.splitlines():
        node, _, rest = line.partition(": ")
        nodes.setdefault(node, []).append(rest)
    per_node = [_query_gpu("\n".join(lines), ["name", "memory.total"]) for lines in nodes.values()]
    return {
        "nodes": len(nodes),
        "count": sum(s["count"] for s in per_node),
        "names": sorted({n for s in per_node for n in s["names"]}),
        "total_mib": sorted({t for s in per_node for t in s["total_mib"]}),
    }


def _compute_apps(text: str) -> dict:
    apps = parse_compute_apps(text).value
    return {
        "count": len(apps),
        "first_pids": [p.pid for p in apps[:3]],
        "used_mib": [mib(p.used_memory) for p in apps[:3]],
        "uuids": sorted({p.gpu_uuid for p in apps if p.gpu_uuid}),
    }


def _list(text: str) -> dict:
    gpus, migs = parse_list(text).value
    return {
        "gpus": [(g.index, g.name, g.uuid) for g in gpus],
        "migs": [(m.gpu, m.index, m.profile, m.uuid) for m in migs],
    }


def _report(parse: Callable[[str], object]) -> Callable[[str], dict]:
    def summary(text: str) -> dict:
        parsed = parse(text)
        report: NvidiaReport = parsed.value  # type: ignore[attr-defined]
        return {
            "driver": report.driver_version,
            "cuda": report.cuda_version,
            "count": len(report.gpus),
            "names": sorted({g.name for g in report.gpus if g.name}),
            "total_mib": [mib(g.memory_total) for g in report.gpus],
            "used_mib": [mib(g.memory_used) for g in report.gpus],
            "uuids": sorted({g.uuid for g in report.gpus if g.uuid}),
            "mig": [g.mig_enabled for g in report.gpus],
            "migs": [
                (m.gpu, m.index, m.gpu_instance, m.compute_instance, mib(m.memory_total), mib(m.memory_used))
                for m in report.migs
            ],
            "processes": len(report.processes),
            "first_process": (
                (report.processes[0].pid, mib(report.processes[0].used_memory)) if report.processes else None
            ),
            "warnings": len(parsed.warnings),  # type: ignore[attr-defined]
        }

    return summary


CAPTURE_SECTION = re.compile(r"^#{80}\n# [^\n]*\n# \$ ([^\n]*)\n#{80}\n", re.MULTILINE)


def capture_sections(text: str) -> list[tuple[str, str]]:
    """(command, output) pairs of a nvidia_gpu_exporter capture file, in file order."""
    parts = CAPTURE_SECTION.split(text)
    return [(parts[i].strip(), parts[i + 1]) for i in range(1, len(parts) - 1, 2)]


def _capture(text: str) -> dict:
    """The devices gpuctl builds from one host's real outputs (its last, loaded, state)."""
    last: dict[str, str] = {}
    for command, output in capture_sections(text):
        if command == "nvidia-smi -L":
            last["list"] = output
        elif command == "nvidia-smi":
            last["table"] = output
        elif command.startswith("nvidia-smi --query-gpu="):
            last["gpus"] = output
        elif command.startswith("nvidia-smi --query-compute-apps="):
            last["apps"] = output
    table = parse_table(last["table"]).value
    merged = nvidia_devices(
        parse_query_gpu(last["gpus"]).value,
        listed=parse_list(last["list"]).value,
        table_gpus=table.gpus,
        table_migs=table.migs,
        table_processes=table.processes,
        apps=parse_compute_apps(last["apps"]).value,
    )
    devices, processes = merged.value
    return {
        "devices": [(d.key, d.name, mib(d.memory_total), mib(d.memory_used), d.uuid) for d in devices],
        "processes": len(processes),
        "first_processes": [(p.device_key, p.pid, mib(p.used_memory)) for p in processes[:3]],
        "warnings": len(merged.warnings),
    }


def _npu_info(text: str) -> dict:
    parsed = parse_npu_info(text)
    info = parsed.value
    devices, processes = ascend_devices(info).value
    return {
        "version": info.version,
        "chips": [(c.npu_id, c.chip_id, c.logic_id, c.name, c.health) for c in info.chips],
        "total_mib": [mib(c.memory_total) for c in info.chips],
        "used_mib": [mib(c.memory_used) for c in info.chips],
        "processes": len(info.processes),
        "device_keys": [d.key for d in devices],
        "first_processes": [(p.device_key, p.pid, p.name, mib(p.used_memory)) for p in processes[:2]],
        "warnings": len(parsed.warnings),
    }


def _npu_map(text: str) -> dict:
    return {"rows": [(m.npu_id, m.chip_id, m.logic_id, m.name) for m in parse_npu_mapping(text).value]}


def _npu_details(text: str) -> dict:
    details = parse_npu_details(text).value
    used, total = details.memory(0)
    return {
        "npu": details.npu_id,
        "chip_count": details.chip_count,
        "chips": sorted(details.chips),
        "chip0_used_mib": mib(used),
        "chip0_total_mib": mib(total),
    }


def _rocm(parse: Callable[[str], object]) -> Callable[[str], dict]:
    def summary(text: str) -> dict:
        parsed = parse(text)
        report: RocmReport = parsed.value  # type: ignore[attr-defined]
        return {
            "driver": report.driver_version,
            "devices": [(d.key, d.name, d.uuid, d.memory_total, d.memory_used) for d in report.devices],
            "warnings": len(parsed.warnings),  # type: ignore[attr-defined]
        }

    return summary


def _amd_vram(text: str) -> dict:
    return {"vram_bytes": vram_bytes(json.loads(text))}


def _amd_monitor(text: str) -> dict:
    rows = parse_amd_smi_monitor(text).value
    return {"gpus": sorted(rows), "gpu0": rows.get(0)}


def _amd_process(text: str) -> dict:
    processes = parse_amd_smi_process(text).value
    return {
        "count": len(processes),
        "first": (processes[0].device_key, processes[0].pid, processes[0].name, processes[0].used_memory),
        "vram_bytes": sum(p.used_memory or 0 for p in processes),
    }


def _docker_info(text: str) -> dict:
    info = parse_docker_info(text)
    return {
        "reachable": info.reachable,
        "server_version": info.server_version,
        "runtimes": info.runtimes,
        "gpus_supported": info.gpus_supported,
    }


KINDS: dict[str, Callable[..., dict]] = {
    "query-gpu": _query_gpu,
    "pdsh": _pdsh,
    "compute-apps": _compute_apps,
    "list": _list,
    "table": _report(parse_table),
    "q-text": _report(parse_q_text),
    "xml": _report(parse_xml),
    "capture": _capture,
    "npu-info": _npu_info,
    "npu-map": _npu_map,
    "npu-details": _npu_details,
    "rocm-json": _rocm(parse_rocm_smi_json),
    "rocm-csv": _rocm(parse_rocm_smi_csv),
    "amd-vram": _amd_vram,
    "amd-monitor": _amd_monitor,
    "amd-process": _amd_process,
    "docker-info": _docker_info,
}


def summarize(kind: str, path: Path, fields: list[str] | None = None) -> dict:
    text = path.read_text(encoding="utf-8")
    return KINDS[kind](text, fields) if fields else KINDS[kind](text)


@dataclass(frozen=True)
class Case:
    kind: str
    expect: dict
    fields: list[str] | None = None
    """The query's field list, for CSV captured with noheader."""


# fmt: off
CASES: dict[str, Case] = {
    "amd/gpustack__rx7800xt-rocm6.2.4__rocm-smi_--showid_--showmeminfo_vram_--showpower_--showserial_--showuse_--showtemp_--showproductname_--showuniqueid_--json.json": Case("rocm-json", {
        "devices": [("0", "Navi 32 [Radeon RX 7700 XT / 7800 XT]", "0x5c88007d760374f3", 17163091968, 11615076352)],
        "warnings": 0,
    }),
    "amd/localai-pr-7761__rx6800+raphael-igpu__rocm-smi_--showproductname_--showmeminfo_vram_--showuniqueid_--csv.csv": Case("rocm-csv", {
        "devices": [("0", "Navi 21 [Radeon RX 6800/6800 XT / 6900 XT]", "0x9246____________", 17163091968, 692142080), ("1", "Raphael", None, 67108864, 26079232)],
        "warnings": 0,
    }),
    "amd/marimo-issue-9237__rx7900xt__rocm-smi_--showproductname_--showuse_--showmeminfo_vram_--csv.csv": Case("rocm-csv", {
        "devices": [("0", "Radeon RX 7900 XT", None, 21458059264, 27856896)],
        "warnings": 0,
    }),
    "amd/marimo-issue-9237__rx7900xt__rocm-smi_--showproductname_--showuse_--showmeminfo_vram_--json.json": Case("rocm-json", {
        "driver": None,
        "devices": [("0", "Radeon RX 7900 XT", None, 21458059264, 27856896)],
        "warnings": 0,
    }),
    "amd/pai__vega20__rocm-smi_json.json": Case("rocm-json", {
        "driver": "5.3.0-26-generic",
        "devices": [("1", "Vega 20", "7c96610172fc1a8d", 17163091968, 325533696), ("2", "Vega 20", "249220e172fc1a88", 17163091968, 19095552)],
        "warnings": 0,
    }),
    "amd/rocm-blogs__8x-mi300x__amd-smi_monitor_-putm.txt": Case("amd-monitor", {
        "gpus": [0, 1, 2, 3, 4, 5, 6, 7],
        "gpu0": {"POWER": "182 W", "GPU_TEMP": "42 °C", "MEM_TEMP": "41 °C", "GFX_UTIL": "83 %", "GFX_CLOCK": "1613 MHz", "MEM_UTIL": "0 %", "MEM_CLOCK": "1230 MHz"},
    }),
    "amd/rocm-blogs__8x-mi300x__amd-smi_process_--csv.csv": Case("amd-process", {
        "count": 8,
        "first": ("0", 207590, "pt_main_thread", 7889485824),
        "vram_bytes": 63048867840,
    }),
    "amd/rocm-blogs__mi300x__amd-smi_static_--json__jq_vram_of_gpu0.json": Case("amd-vram", {
        "vram_bytes": 206141652992,
    }),
    "amd/telegraf__mi100_rocm571__rocm-smi_multiflag_--json.json": Case("rocm-json", {
        "driver": "6.2.4",
        "devices": [("0", "Arcturus GL-XL [Instinct MI100]", None, 34342961152, 6782976), ("1", "Arcturus GL-XL [Instinct MI100]", None, 34342961152, 6782976), ("2", "Arcturus GL-XL [Instinct MI100]", None, 34342961152, 6782976), ("3", "Arcturus GL-XL [Instinct MI100]", None, 34342961152, 6782976), ("4", "Arcturus GL-XL [Instinct MI100]", None, 34342961152, 6782976), ("5", "Arcturus GL-XL [Instinct MI100]", None, 34342961152, 6782976)],
        "warnings": 0,
    }),
    "amd/telegraf__mi100_rocm602__rocm-smi_multiflag_--json.json": Case("rocm-json", {
        "driver": "6.3.6",
        "devices": [("0", "Arcturus GL-XL [Instinct MI100]", "0x79ccd55167a2124a", 34342961152, 6750208), ("1", "Arcturus GL-XL [Instinct MI100]", "0x4edfb117a17a07d", 34342961152, 6750208), ("2", "Arcturus GL-XL [Instinct MI100]", "0xd4a9ec48d03d261d", 34342961152, 6750208), ("3", "Arcturus GL-XL [Instinct MI100]", "0x1b9dd972253c3736", 34342961152, 6750208)],
        "warnings": 0,
    }),
    "amd/telegraf__rx6700xt_rocm612__rocm-smi_multiflag_--json.json": Case("rocm-json", {
        "driver": "6.3.6",
        "devices": [("0", "Navi 22 [Radeon RX 6700/6700 XT / 6800M]", None, 12868124672, 1572745216)],
        "warnings": 0,
    }),
    "amd/telegraf__vega-20-WKS-GL-XE__rocm-smi_multiflag_--json.json": Case("rocm-json", {
        "driver": "5.9.17",
        "devices": [("0", "Radeon Instinct MI50 32GB", "0x2f048617326b1ea", 34342961152, 10850304)],
        "warnings": 0,
    }),
    "ascend/cann-lane-health-test__3x-ascend950pr__npu-smi_info.txt": Case("npu-info", {
        # Ascend 950 layout: the NPU ID has its own column, no chip row id; the NPU ID is the logic id
        "version": "25.7.rc1",
        "chips": [(0, 0, 0, "Ascend950PR", "Alarm"), (1, 0, 1, "Ascend950PR", "Alarm"), (2, 0, 2, "Ascend950PR", "OK")],
        "total_mib": [114688, 114688, 131072],
        "used_mib": [90633, 30492, 5413],
        "processes": 2,
        "device_keys": ["0", "1", "2"],
        "first_processes": [("0", 1530715, "python", 4724), ("0", 1655234, "python", 4728)],
        "warnings": 0,
    }),
    "ascend/gpustack-data__ai-server_atlas-800-inference-server_model-3000_version-1.0.0-1.0.10.txt": Case("npu-info", {
        "version": "20.2.0",
        "chips": [(215, 0, 0, "310", "OK"), (215, 1, 1, "310", "OK"), (215, 2, 2, "310", "OK"), (215, 3, 3, "310", "OK")],
        "total_mib": [8192] * 4,
        "used_mib": [2703] * 4,
        "processes": 0,
    }),
    "ascend/gpustack-data__ai-server_atlas-800-inference-server_model-3000_version-1.0.0-1.0.10_mapping.txt": Case("npu-map", {
        "rows": [(215, 0, 0, "MiniD"), (215, 1, 1, "MiniD"), (215, 2, 2, "MiniD"), (215, 3, 3, "MiniD")],
    }),
    "ascend/gpustack-data__ai-server_atlas-800-inference-server_model-3000_version-1.0.11-1.0.15.txt": Case("npu-info", {
        "version": "21.0.4.B030",
        "chips": [(6, 0, 3, "310", "OK"), (6, 1, 4, "310", "OK"), (6, 2, 5, "310", "OK"), (6, 3, 6, "310", "OK")],
        "total_mib": [8192] * 4,
        "used_mib": [2703, 2867, 2867, 2867],
        "processes": 0,
    }),
    "ascend/gpustack-data__ai-server_atlas-800-inference-server_model-3000_version-1.0.11-1.0.15_mapping.txt": Case("npu-map", {
        "rows": [(6, 0, 0, "MiniD"), (6, 1, 1, "MiniD"), (6, 2, 2, "MiniD"), (6, 3, 3, "MiniD"), (6, 4, None, "Mcu")],
    }),
    "ascend/gpustack-data__ai-server_atlas-800-training-server_model-9010_version-24.1.RC2.txt": Case("npu-info", {
        "version": "24.1.RC2",
        "chips": [(0, 0, None, "xxx", "OK"), (1, 0, None, "xxx", "OK"), (2, 0, None, "xxx", "OK"), (3, 0, None, "xxx", "Warning"), (4, 0, None, "xxx", "OK"), (5, 0, None, "xxx", "OK"), (6, 0, None, "xxx", "OK"), (7, 0, None, "xxx", "Warning")],
        "total_mib": [32768] * 8,
        "used_mib": [0] * 8,
        "processes": 32,
    }),
    "ascend/gpustack-data__ai-server_atlas-800-training-server_model-9010_version-24.1.RC2_mapping.txt": Case("npu-map", {
        "rows": [(0, 0, 0, "Ascend 910A"), (1, 0, 1, "Ascend 910A"), (2, 0, 2, "Ascend 910A"), (3, 0, 3, "Ascend 910A"), (4, 0, 4, "Ascend 910A"), (5, 0, 5, "Ascend 910A"), (6, 0, 6, "Ascend 910A"), (7, 0, 7, "Ascend 910A")],
    }),
    "ascend/gpustack-data__ai-server_atlas-800-training-server_model-9010_version-6.0.RC1.txt": Case("npu-info", {
        "version": "22.0.3.1",
        "chips": [(0, 0, None, "910A", "OK"), (1, 0, None, "910A", "OK"), (2, 0, None, "910A", "OK"), (3, 0, None, "910A", "OK"), (4, 0, None, "910A", "OK"), (5, 0, None, "910A", "OK"), (6, 0, None, "910A", "OK"), (7, 0, None, "910A", "OK")],
        "total_mib": [32768] * 8,
        "used_mib": [0] * 8,
        "processes": 0,
    }),
    "ascend/gpustack-data__ai-server_atlas-800-training-server_model-9010_version-6.0.RC1_mapping.txt": Case("npu-map", {
        "rows": [(0, 0, 0, "Ascend 910A"), (1, 0, 1, "Ascend 910A"), (2, 0, 2, "Ascend 910A"), (3, 0, 3, "Ascend 910A"), (4, 0, 4, "Ascend 910A"), (5, 0, 5, "Ascend 910A"), (6, 0, 6, "Ascend 910A"), (7, 0, 7, "Ascend 910A")],
    }),
    "ascend/gpustack-test__310p__npu-smi_info_-m.txt": Case("npu-map", {
        "rows": [(1, 0, 0, "Ascend xxx"), (1, 1, 1, "Ascend xxx"), (1, 2, None, "Mcu"), (2, 0, 2, "Ascend xxx"), (2, 1, 3, "Ascend xxx"), (2, 2, None, "Mcu"), (4, 0, 4, "Ascend xxx"), (4, 1, 5, "Ascend xxx"), (4, 2, None, "Mcu"), (5, 0, 6, "Ascend xxx"), (5, 1, 7, "Ascend xxx"), (5, 2, None, "Mcu")],
    }),
    "ascend/gpustack-test__310p__npu-smi_info_-t_common_-i_1.txt": Case("npu-details", {
        "npu": 1,
        "chip_count": 2,
        "chips": [0, 1],
    }),
    "ascend/gpustack-test__310p__npu-smi_info_-t_usages_-i_1.txt": Case("npu-details", {
        "npu": 1,
        "chip_count": 2,
        "chips": [0, 1],
        "chip0_used_mib": 1328.4,
        "chip0_total_mib": 44280,
    }),
    "ascend/gpustack-test__910b__npu-smi_info_-m.txt": Case("npu-map", {
        "rows": [(0, 0, 0, "Ascend xxx"), (0, 1, None, "Mcu"), (1, 0, 1, "Ascend xxx"), (1, 1, None, "Mcu"), (2, 0, 2, "Ascend xxx"), (2, 1, None, "Mcu"), (3, 0, 3, "Ascend xxx"), (3, 1, None, "Mcu"), (4, 0, 4, "Ascend xxx"), (4, 1, None, "Mcu"), (5, 0, 5, "Ascend xxx"), (5, 1, None, "Mcu"), (6, 0, 6, "Ascend xxx"), (6, 1, None, "Mcu"), (7, 0, 7, "Ascend xxx"), (7, 1, None, "Mcu")],
    }),
    "ascend/gpustack-test__910b__npu-smi_info_-t_common_-i_0.txt": Case("npu-details", {
        "chip_count": 1,
        "chips": [0],
    }),
    "ascend/gpustack-test__910b__npu-smi_info_-t_usages_-i_0.txt": Case("npu-details", {
        "chip_count": 1,
        "chips": [0],
        "chip0_total_mib": 32768,
    }),
    "ascend/ms-swift__8x-910b3__npu-smi_info.txt": Case("npu-info", {
        "version": "24.1.rc1.b030",
        "chips": [(0, 0, None, "910B3", "OK"), (1, 0, None, "910B3", "OK"), (2, 0, None, "910B3", "OK"), (3, 0, None, "910B3", "OK"), (4, 0, None, "910B3", "OK"), (5, 0, None, "910B3", "OK"), (6, 0, None, "910B3", "OK"), (7, 0, None, "910B3", "OK")],
        "total_mib": [65536] * 8,
        "used_mib": [3318, 3314, 3314, 3314, 3314, 3314, 3314, 3315],
        "processes": 0,
    }),
    "ascend/nvtop-issue-421__atlas300i-duo-310p3__npu-smi_info.PARTIAL.txt": Case("npu-info", {
        "version": "25.2.0",
        "chips": [(2, 0, 0, "310P3", "OK"), (2, 1, 1, "310P3", "OK")],
        "total_mib": [44280, 43693],
        "used_mib": [1529, 1412],
        "processes": 0,
    }),
    "ascend/npu-smi-parser-test__8x-910b3__npu-smi_info.txt": Case("npu-info", {
        # npu-smi 26.1.0: the process table gained a "Process id in container" column
        "version": "26.1.0",
        "chips": [(n, 0, None, "910B3", "OK") for n in range(8)],
        "total_mib": [65536] * 8,
        "used_mib": [8676, 3403, 3403, 3407, 3403, 3402, 3402, 3403],
        "processes": 1,
        "device_keys": [str(n) for n in range(8)],
        "first_processes": [("0", 485946, "pytest", 5175)],
        "warnings": 0,
    }),
    "ascend/sync-ait__310p3__npu-smi_info_-m.txt": Case("npu-map", {
        "rows": [(4, 0, 0, "Ascend 310P3"), (4, 1, None, "Mcu")],
    }),
    "ascend/vllm-ascend-issue-3002__atlas-a3-16x-ascend910__npu-smi_info.txt": Case("npu-info", {
        # Atlas A3 (910C): two chips per NPU, the second id column is Phy-ID; process names are empty
        "version": "25.2.0",
        "chips": [(n // 2, n % 2, n, "Ascend910", "OK") for n in range(16)],
        "total_mib": [65536] * 16,
        "used_mib": [61609, 61625, 61616, 61619, 61633, 61623, 61625, 61628, 61602, 61618, 61578, 61603, 61614, 61623, 61627, 61631],
        "processes": 23,
        "device_keys": [str(n) for n in range(16)],
        "first_processes": [("0", 935440, "", 141), ("0", 936673, "", 141)],
        "warnings": 0,
    }),
    "docker/tanzu-community-edition__20.10.12__docker_info_--format_json.json": Case("docker-info", {
        "reachable": True,
        "server_version": "20.10.12",
        "runtimes": ["io.containerd.runc.v2", "io.containerd.runtime.v1.linux", "runc"],
        "gpus_supported": False,
    }),
    "nvidia/captures-nvidia_gpu_exporter/linux-x86_64__nvidia-geforce-rtx-2080-super__595.71.05.txt": Case("capture", {
        "devices": [("0", "NVIDIA GeForce RTX 2080 SUPER", 8192, 819, "GPU-00000000-0000-0000-0000-000000000000")],
        "processes": 2,
        "first_processes": [("0", 5268, 370), ("0", 5267, 230)],
        "warnings": 0,
    }),
    "nvidia/captures-nvidia_gpu_exporter/linux-x86_64__nvidia-geforce-rtx-2080-super__610.57.04.txt": Case("capture", {
        "devices": [("0", "NVIDIA GeForce RTX 2080 SUPER", 8192, 815, "GPU-00000000-0000-0000-0000-000000000000")],
        "processes": 2,
        "first_processes": [("0", 28512, 370), ("0", 28511, 230)],
        "warnings": 0,
    }),
    "nvidia/captures-nvidia_gpu_exporter/linux-x86_64__nvidia-geforce-rtx-4080-super__595.71.05.txt": Case("capture", {
        "devices": [("0", "NVIDIA GeForce RTX 4080 SUPER", 16376, 1474, "GPU-00000000-0000-0000-0000-000000000000")],
        "processes": 3,
        "first_processes": [("0", 2165, 25), ("0", 5022, 503), ("0", 5021, 360)],
        "warnings": 0,
    }),
    "nvidia/captures-nvidia_gpu_exporter/linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01.txt": Case("capture", {
        "devices": [("0", "NVIDIA H100 80GB HBM3", 81559, 19818, "GPU-00000000-0000-0000-0000-000000000000")],
        "processes": 3,
        "first_processes": [("0", 11327, 2566), ("0", 11328, 1542), ("0", 11345, 15690)],
        "warnings": 0,
    }),
    "nvidia/captures-nvidia_gpu_exporter/linux-x86_64__nvidia-h100-mig__590.48.01.txt": Case("capture", {
        "devices": [("0/0", "NVIDIA H100 80GB HBM3 MIG 3g.40gb", 40448, 11091, "MIG-00000000-0000-0000-0000-000000000000"), ("0/1", "NVIDIA H100 80GB HBM3 MIG 2g.20gb", 20096, 17, "MIG-00000001-0000-0000-0000-000000000001"), ("0/2", "NVIDIA H100 80GB HBM3 MIG 1g.10gb", 9984, 9, "MIG-00000002-0000-0000-0000-000000000002"), ("0/3", "NVIDIA H100 80GB HBM3 MIG 1g.10gb", 9984, 9, "MIG-00000003-0000-0000-0000-000000000003")],
        "processes": 3,
        "first_processes": [("0/0", 21180, 2296), ("0/0", 21181, 1272), ("0/0", 21198, 7484)],
        "warnings": 0,
    }),
    "nvidia/captures-nvidia_gpu_exporter/linux-x86_64__nvidia-h200-mig__590.48.01.txt": Case("capture", {
        "devices": [("0/0", "NVIDIA H200 MIG 1c.3g.71gb", 71424, 16925, "MIG-00000000-0000-0000-0000-000000000000"), ("0/1", "NVIDIA H200 MIG 2c.3g.71gb", 71424, 16925, "MIG-00000001-0000-0000-0000-000000000001"), ("0/2", "NVIDIA H200 MIG 2g.35gb", 33280, 17, "MIG-00000002-0000-0000-0000-000000000002"), ("0/3", "NVIDIA H200 MIG 1g.18gb", 16384, 9, "MIG-00000003-0000-0000-0000-000000000003"), ("0/4", "NVIDIA H200 MIG 1g.18gb", 16384, 9, "MIG-00000004-0000-0000-0000-000000000004")],
        "processes": 3,
        "first_processes": [("0/1", 12249, 2194), ("0/1", 12250, 1170), ("0/1", 12267, 13526)],
        "warnings": 1,
    }),
    "nvidia/captures-nvidia_gpu_exporter/linux-x86_64__nvidia-h200__590.48.01.txt": Case("capture", {
        "devices": [("0", "NVIDIA H200", 143771, 32362, "GPU-00000000-0000-0000-0000-000000000000")],
        "processes": 3,
        "first_processes": [("0", 10291, 2566), ("0", 10293, 1542), ("0", 10309, 28234)],
        "warnings": 0,
    }),
    "nvidia/captures-nvidia_gpu_exporter/linux-x86_64__nvidia-l40s__595.80.txt": Case("capture", {
        "devices": [("0", "NVIDIA L40S", 46068, 1235, "GPU-00000000-0000-0000-0000-000000000000")],
        "processes": 2,
        "first_processes": [("0", 20037, 538), ("0", 20038, 681)],
        "warnings": 0,
    }),
    "nvidia/captures-nvidia_gpu_exporter/windows-x86_64__nvidia-geforce-rtx-2080-super__591.86.txt": Case("capture", {
        "devices": [("0", "NVIDIA GeForce RTX 2080 SUPER", 8192, 1296, "GPU-00000000-0000-0000-0000-000000000000")],
        "processes": 12,
        "first_processes": [("0", 12444, None), ("0", 15076, None), ("0", 2056, None)],
        "warnings": 0,
    }),
    "nvidia/captures-nvidia_gpu_exporter/windows-x86_64__nvidia-geforce-rtx-2080-super__610.62.txt": Case("capture", {
        "devices": [("0", "NVIDIA GeForce RTX 2080 SUPER", 8192, 1366, "GPU-00000000-0000-0000-0000-000000000000")],
        "processes": 21,
        "first_processes": [("0", 2140, None), ("0", 13264, None), ("0", 13504, None)],
        "warnings": 0,
    }),
    "nvidia/compute-apps/nge__linux-x86_64__nvidia-geforce-rtx-2080-super__595.71.05__load.csv": Case("compute-apps", {
        "count": 2,
        "first_pids": [5268, 5267],
        "used_mib": [370, 230],
        "uuids": ["GPU-00000000-0000-0000-0000-000000000000"],
    }),
    "nvidia/compute-apps/nge__linux-x86_64__nvidia-geforce-rtx-2080-super__610.57.04__load.csv": Case("compute-apps", {
        "count": 2,
        "first_pids": [28512, 28511],
        "used_mib": [370, 230],
        "uuids": ["GPU-00000000-0000-0000-0000-000000000000"],
    }),
    "nvidia/compute-apps/nge__linux-x86_64__nvidia-geforce-rtx-4080-super__595.71.05__load.csv": Case("compute-apps", {
        "count": 3,
        "first_pids": [2165, 5022, 5021],
        "used_mib": [25, 503, 360],
        "uuids": ["GPU-00000000-0000-0000-0000-000000000000"],
    }),
    "nvidia/compute-apps/nge__linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01__load.csv": Case("compute-apps", {
        "count": 3,
        "first_pids": [11327, 11328, 11345],
        "used_mib": [2566, 1542, 15690],
        "uuids": ["GPU-00000000-0000-0000-0000-000000000000"],
    }),
    "nvidia/compute-apps/nge__linux-x86_64__nvidia-h100-mig__590.48.01__load.csv": Case("compute-apps", {
        "count": 3,
        "first_pids": [21180, 21181, 21198],
        "used_mib": [2296, 1272, 7484],
        "uuids": ["GPU-00000000-0000-0000-0000-000000000000"],
    }),
    "nvidia/compute-apps/nge__linux-x86_64__nvidia-h200-mig__590.48.01__load.csv": Case("compute-apps", {
        "count": 3,
        "first_pids": [12249, 12250, 12267],
        "used_mib": [2194, 1170, 13526],
        "uuids": ["GPU-00000000-0000-0000-0000-000000000000"],
    }),
    "nvidia/compute-apps/nge__linux-x86_64__nvidia-h200__590.48.01__load.csv": Case("compute-apps", {
        "count": 3,
        "first_pids": [10291, 10293, 10309],
        "used_mib": [2566, 1542, 28234],
        "uuids": ["GPU-00000000-0000-0000-0000-000000000000"],
    }),
    "nvidia/compute-apps/nge__linux-x86_64__nvidia-l40s__595.80__load.csv": Case("compute-apps", {
        "count": 2,
        "first_pids": [20037, 20038],
        "used_mib": [538, 681],
        "uuids": ["GPU-00000000-0000-0000-0000-000000000000"],
    }),
    "nvidia/compute-apps/nge__windows-x86_64__nvidia-geforce-rtx-2080-super__591.86__load.csv": Case("compute-apps", {
        "count": 12,
        "first_pids": [12444, 15076, 2056],
        "uuids": ["GPU-00000000-0000-0000-0000-000000000000"],
    }),
    "nvidia/compute-apps/nge__windows-x86_64__nvidia-geforce-rtx-2080-super__610.62__load.csv": Case("compute-apps", {
        "count": 21,
        "first_pids": [2140, 13264, 13504],
        "uuids": ["GPU-00000000-0000-0000-0000-000000000000"],
    }),
    "nvidia/list/johns-blog__8x-h200-gpu0-mig__nvidia-smi_-L.txt": Case("list", {
        # GPU 0 in MIG mode (one 2g.35gb, five 1g.18gb), GPUs 1-7 whole
        "gpus": [(0, "NVIDIA H200", "GPU-b2acda36-db78-a209-f9ef-d07b4336c449"), (1, "NVIDIA H200", "GPU-af5e38ec-d1d6-1c20-67c8-c8001109e6d8"), (2, "NVIDIA H200", "GPU-da9f3cba-5f87-5830-26d6-b3f5a545ae34"), (3, "NVIDIA H200", "GPU-f2c60745-001d-1948-52bb-c9616b34da97"), (4, "NVIDIA H200", "GPU-7b8f55d1-e1d9-30a2-590b-3eff9b86ae05"), (5, "NVIDIA H200", "GPU-a73089ba-c8f9-f9dc-bd1e-9da99cb2104b"), (6, "NVIDIA H200", "GPU-4e19f7d9-e5d6-1223-e9d2-983f01ef45f6"), (7, "NVIDIA H200", "GPU-5b73e21c-9b5d-4156-8b8d-aed96f9f8d86")],
        "migs": [(0, 0, "2g.35gb", "MIG-b05c0034-4d0e-5d3c-a25c-e6795d1779df"), (0, 1, "1g.18gb", "MIG-be041b89-b751-5c96-84aa-85315833c669"), (0, 2, "1g.18gb", "MIG-605bf89c-7be6-586e-a729-a2369e833b3e"), (0, 3, "1g.18gb", "MIG-02b4e55e-29a1-5d28-b9ee-8e9445e355f0"), (0, 4, "1g.18gb", "MIG-dc7ad5d3-20d8-5dcb-adf7-fb22c2459352"), (0, 5, "1g.18gb", "MIG-148a1759-0dd2-59c6-9605-26206ae0e79b")],
    }),
    "nvidia/list/nge__linux-x86_64__nvidia-geforce-rtx-2080-super__595.71.05.txt": Case("list", {
        "gpus": [(0, "NVIDIA GeForce RTX 2080 SUPER", "GPU-00000000-0000-0000-0000-000000000000")],
    }),
    "nvidia/list/nge__linux-x86_64__nvidia-geforce-rtx-2080-super__610.57.04.txt": Case("list", {
        "gpus": [(0, "NVIDIA GeForce RTX 2080 SUPER", "GPU-00000000-0000-0000-0000-000000000000")],
    }),
    "nvidia/list/nge__linux-x86_64__nvidia-geforce-rtx-4080-super__595.71.05.txt": Case("list", {
        "gpus": [(0, "NVIDIA GeForce RTX 4080 SUPER", "GPU-00000000-0000-0000-0000-000000000000")],
    }),
    "nvidia/list/nge__linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01.txt": Case("list", {
        "gpus": [(0, "NVIDIA H100 80GB HBM3", "GPU-00000000-0000-0000-0000-000000000000")],
    }),
    "nvidia/list/nge__linux-x86_64__nvidia-h100-mig__590.48.01.txt": Case("list", {
        "gpus": [(0, "NVIDIA H100 80GB HBM3", "GPU-00000000-0000-0000-0000-000000000000")],
        "migs": [(0, 0, "3g.40gb", "MIG-00000000-0000-0000-0000-000000000000"), (0, 1, "2g.20gb", "MIG-00000001-0000-0000-0000-000000000001"), (0, 2, "1g.10gb", "MIG-00000002-0000-0000-0000-000000000002"), (0, 3, "1g.10gb", "MIG-00000003-0000-0000-0000-000000000003")],
    }),
    "nvidia/list/nge__linux-x86_64__nvidia-h200-mig__590.48.01.txt": Case("list", {
        "gpus": [(0, "NVIDIA H200", "GPU-00000000-0000-0000-0000-000000000000")],
        "migs": [(0, 0, "1c.3g.71gb", "MIG-00000000-0000-0000-0000-000000000000"), (0, 1, "2c.3g.71gb", "MIG-00000001-0000-0000-0000-000000000001"), (0, 2, "2g.35gb", "MIG-00000002-0000-0000-0000-000000000002"), (0, 3, "1g.18gb", "MIG-00000003-0000-0000-0000-000000000003"), (0, 4, "1g.18gb", "MIG-00000004-0000-0000-0000-000000000004")],
    }),
    "nvidia/list/nge__linux-x86_64__nvidia-h200__590.48.01.txt": Case("list", {
        "gpus": [(0, "NVIDIA H200", "GPU-00000000-0000-0000-0000-000000000000")],
    }),
    "nvidia/list/nge__linux-x86_64__nvidia-l40s__595.80.txt": Case("list", {
        "gpus": [(0, "NVIDIA L40S", "GPU-00000000-0000-0000-0000-000000000000")],
    }),
    "nvidia/list/nge__windows-x86_64__nvidia-geforce-rtx-2080-super__591.86.txt": Case("list", {
        "gpus": [(0, "NVIDIA GeForce RTX 2080 SUPER", "GPU-00000000-0000-0000-0000-000000000000")],
    }),
    "nvidia/list/nge__windows-x86_64__nvidia-geforce-rtx-2080-super__610.62.txt": Case("list", {
        "gpus": [(0, "NVIDIA GeForce RTX 2080 SUPER", "GPU-00000000-0000-0000-0000-000000000000")],
    }),
    "nvidia/q-text/cuda_test__rtx4090-wsl2__537.13.txt": Case("q-text", {
        "driver": "537.13",
        "cuda": "12.2",
        "count": 1,
        "names": ["NVIDIA GeForce RTX 4090"],
        "total_mib": [24564],
        "used_mib": [2136],
        "uuids": ["GPU-e1f55e56-2016-d918-7dd5-7cd29c440e50"],
        "processes": 3,
        "first_process": (20, None),
        "warnings": 0,
    }),
    "nvidia/q-text/nge__linux-x86_64__nvidia-geforce-rtx-2080-super__595.71.05__idle.txt": Case("q-text", {
        "driver": "595.71.05",
        "cuda": "13.2",
        "count": 1,
        "names": ["NVIDIA GeForce RTX 2080 SUPER"],
        "total_mib": [8192],
        "used_mib": [214],
        "uuids": ["GPU-00000000-0000-0000-0000-000000000000"],
        "processes": 2,
        "first_process": (1696, 176),
        "warnings": 0,
    }),
    "nvidia/q-text/nge__linux-x86_64__nvidia-geforce-rtx-2080-super__610.57.04__idle.txt": Case("q-text", {
        "driver": "610.57.04",
        "cuda": "13.3",
        "count": 1,
        "names": ["NVIDIA GeForce RTX 2080 SUPER"],
        "total_mib": [8192],
        "used_mib": [211],
        "uuids": ["GPU-00000000-0000-0000-0000-000000000000"],
        "processes": 2,
        "first_process": (1720, 173),
        "warnings": 0,
    }),
    "nvidia/q-text/nge__linux-x86_64__nvidia-geforce-rtx-4080-super__595.71.05__idle.txt": Case("q-text", {
        "driver": "595.71.05",
        "cuda": "13.2",
        "count": 1,
        "names": ["NVIDIA GeForce RTX 4080 SUPER"],
        "total_mib": [16376],
        "used_mib": [596],
        "uuids": ["GPU-00000000-0000-0000-0000-000000000000"],
        "processes": 5,
        "first_process": (2165, 25),
        "warnings": 0,
    }),
    "nvidia/q-text/nge__linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01__idle.txt": Case("q-text", {
        "driver": "590.48.01",
        "cuda": "13.1",
        "count": 1,
        "names": ["NVIDIA H100 80GB HBM3"],
        "total_mib": [81559],
        "used_mib": [0],
        "uuids": ["GPU-00000000-0000-0000-0000-000000000000"],
        "mig": [False],
        "processes": 0,
        "warnings": 0,
    }),
    "nvidia/q-text/nge__linux-x86_64__nvidia-h100-mig__590.48.01__idle.txt": Case("q-text", {
        "driver": "590.48.01",
        "cuda": "13.1",
        "count": 1,
        "names": ["NVIDIA H100 80GB HBM3"],
        "total_mib": [81559],
        "used_mib": [59],
        "uuids": ["GPU-00000000-0000-0000-0000-000000000000"],
        "mig": [True],
        "migs": [(0, 0, 2, 0, 40448, 26), (0, 1, 3, 0, 20096, 17), (0, 2, 9, 0, 9984, 9), (0, 3, 10, 0, 9984, 9)],
        "processes": 0,
        "warnings": 0,
    }),
    "nvidia/q-text/nge__linux-x86_64__nvidia-h200-mig__590.48.01__idle.txt": Case("q-text", {
        "driver": "590.48.01",
        "cuda": "13.1",
        "count": 1,
        "names": ["NVIDIA H200"],
        "total_mib": [143771],
        "used_mib": [55],
        "uuids": ["GPU-00000000-0000-0000-0000-000000000000"],
        "mig": [True],
        "migs": [(0, 0, 2, 0, 71424, 22), (0, 1, 2, 1, 71424, 22), (0, 2, 3, 0, 33280, 17), (0, 3, 9, 0, 16384, 9), (0, 4, 10, 0, 16384, 9)],
        "processes": 0,
        "warnings": 0,
    }),
    "nvidia/q-text/nge__linux-x86_64__nvidia-h200__590.48.01__idle.txt": Case("q-text", {
        "driver": "590.48.01",
        "cuda": "13.1",
        "count": 1,
        "names": ["NVIDIA H200"],
        "total_mib": [143771],
        "used_mib": [0],
        "uuids": ["GPU-00000000-0000-0000-0000-000000000000"],
        "mig": [False],
        "processes": 0,
        "warnings": 0,
    }),
    "nvidia/q-text/nge__linux-x86_64__nvidia-l40s__595.80__idle.txt": Case("q-text", {
        "driver": "595.80",
        "cuda": "13.2",
        "count": 1,
        "names": ["NVIDIA L40S"],
        "total_mib": [46068],
        "used_mib": [0],
        "uuids": ["GPU-00000000-0000-0000-0000-000000000000"],
        "processes": 0,
        "warnings": 0,
    }),
    "nvidia/q-text/nge__windows-x86_64__nvidia-geforce-rtx-2080-super__591.86__idle.txt": Case("q-text", {
        "driver": "591.86",
        "cuda": "13.1",
        "count": 1,
        "names": ["NVIDIA GeForce RTX 2080 SUPER"],
        "total_mib": [8192],
        "used_mib": [702],
        "uuids": ["GPU-00000000-0000-0000-0000-000000000000"],
        "processes": 10,
        "first_process": (2056, None),
        "warnings": 0,
    }),
    "nvidia/q-text/nge__windows-x86_64__nvidia-geforce-rtx-2080-super__610.62__idle.txt": Case("q-text", {
        "driver": "610.62",
        "cuda": "13.3",
        "count": 1,
        "names": ["NVIDIA GeForce RTX 2080 SUPER"],
        "total_mib": [8192],
        "used_mib": [797],
        "uuids": ["GPU-00000000-0000-0000-0000-000000000000"],
        "processes": 19,
        "first_process": (2140, None),
        "warnings": 0,
    }),
    "nvidia/query-gpu-csv/akash-issue-81__2x-quadro-rtx6000__name_memtotal_driver_devid__noheader.csv": Case("query-gpu", {
        "count": 2,
        "names": ["Quadro RTX 6000"],
        "total_mib": [24576, 24576],
        "driver": ["570.211.01"],
        "warnings": 0,
    }, fields=["name", "memory.total", "driver_version", "pci.device_id"]),
    "nvidia/query-gpu-csv/akash-pr-91__h100-nvl__name_devid__noheader.csv": Case("query-gpu", {
        "count": 1,
        "names": ["NVIDIA H100 NVL"],
        "warnings": 0,
    }, fields=["name", "pci.device_id"]),
    "nvidia/query-gpu-csv/akash-pr-95__1x-l40s-aws-g6e__name_devid_busid_memtotal__noheader.csv": Case("query-gpu", {
        "count": 1,
        "names": ["NVIDIA L40S"],
        "total_mib": [46068],
        "warnings": 0,
    }, fields=["name", "pci.device_id", "pci.bus_id", "memory.total"]),
    "nvidia/query-gpu-csv/bpytop-issue-26__gtx1080ti+gtx1060__name_fan_mem_util_temp_power_clocks__csv.csv": Case("query-gpu", {
        "count": 2,
        "names": ["GeForce GTX 1060 6GB", "GeForce GTX 1080 Ti"],
        "total_mib": [11175, 6078],
        "used_mib": [2856, 4],
        "warnings": 0,
    }),
    "nvidia/query-gpu-csv/marimo-pr-6822__1x-gb10-dgx-spark__580.95.05__noheader_nounits.csv": Case("query-gpu", {
        # DGX Spark: unified memory, every memory field is [N/A]: no size, and a warning for each
        "count": 1,
        "names": ["NVIDIA GB10"],
        "total_mib": [None],
        "used_mib": [None],
        "mig": [None],
        "warnings": 2,
    }, fields=["index", "name", "memory.total", "memory.used", "memory.free"]),
    "nvidia/query-gpu-csv/netdata__tesla-p100.csv": Case("query-gpu", {
        "count": 1,
        "names": ["Tesla P100-PCIE-16GB"],
        "total_mib": [16383],
        "used_mib": [0],
        "uuids": ["GPU-ef1b2c9b-38d8-2090-2bd1-f567a3eb42a6"],
        "warnings": 0,
    }),
    "nvidia/query-gpu-csv/nge__linux-x86_64__nvidia-geforce-rtx-2080-super__595.71.05__idle__allfields.csv": Case("query-gpu", {
        "count": 1,
        "names": ["NVIDIA GeForce RTX 2080 SUPER"],
        "total_mib": [8192],
        "used_mib": [214],
        "uuids": ["GPU-00000000-0000-0000-0000-000000000000"],
        "driver": ["595.71.05"],
        "cc": ["7.5"],
        "warnings": 0,
    }),
    "nvidia/query-gpu-csv/nge__linux-x86_64__nvidia-geforce-rtx-2080-super__595.71.05__load__allfields.csv": Case("query-gpu", {
        "count": 1,
        "names": ["NVIDIA GeForce RTX 2080 SUPER"],
        "total_mib": [8192],
        "used_mib": [819],
        "uuids": ["GPU-00000000-0000-0000-0000-000000000000"],
        "driver": ["595.71.05"],
        "cc": ["7.5"],
        "warnings": 0,
    }),
    "nvidia/query-gpu-csv/nge__linux-x86_64__nvidia-geforce-rtx-2080-super__610.57.04__idle__allfields.csv": Case("query-gpu", {
        "count": 1,
        "names": ["NVIDIA GeForce RTX 2080 SUPER"],
        "total_mib": [8192],
        "used_mib": [211],
        "uuids": ["GPU-00000000-0000-0000-0000-000000000000"],
        "driver": ["610.57.04"],
        "cc": ["7.5"],
        "warnings": 0,
    }),
    "nvidia/query-gpu-csv/nge__linux-x86_64__nvidia-geforce-rtx-2080-super__610.57.04__load__allfields.csv": Case("query-gpu", {
        "count": 1,
        "names": ["NVIDIA GeForce RTX 2080 SUPER"],
        "total_mib": [8192],
        "used_mib": [815],
        "uuids": ["GPU-00000000-0000-0000-0000-000000000000"],
        "driver": ["610.57.04"],
        "cc": ["7.5"],
        "warnings": 0,
    }),
    "nvidia/query-gpu-csv/nge__linux-x86_64__nvidia-geforce-rtx-4080-super__595.71.05__idle__allfields.csv": Case("query-gpu", {
        "count": 1,
        "names": ["NVIDIA GeForce RTX 4080 SUPER"],
        "total_mib": [16376],
        "used_mib": [596],
        "uuids": ["GPU-00000000-0000-0000-0000-000000000000"],
        "driver": ["595.71.05"],
        "cc": ["8.9"],
        "warnings": 0,
    }),
    "nvidia/query-gpu-csv/nge__linux-x86_64__nvidia-geforce-rtx-4080-super__595.71.05__load__allfields.csv": Case("query-gpu", {
        "count": 1,
        "names": ["NVIDIA GeForce RTX 4080 SUPER"],
        "total_mib": [16376],
        "used_mib": [1474],
        "uuids": ["GPU-00000000-0000-0000-0000-000000000000"],
        "driver": ["595.71.05"],
        "cc": ["8.9"],
        "warnings": 0,
    }),
    "nvidia/query-gpu-csv/nge__linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01__idle__allfields.csv": Case("query-gpu", {
        "count": 1,
        "names": ["NVIDIA H100 80GB HBM3"],
        "total_mib": [81559],
        "used_mib": [0],
        "uuids": ["GPU-00000000-0000-0000-0000-000000000000"],
        "driver": ["590.48.01"],
        "cc": ["9.0"],
        "mig": [False],
        "warnings": 0,
    }),
    "nvidia/query-gpu-csv/nge__linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01__load__allfields.csv": Case("query-gpu", {
        "count": 1,
        "names": ["NVIDIA H100 80GB HBM3"],
        "total_mib": [81559],
        "used_mib": [19818],
        "uuids": ["GPU-00000000-0000-0000-0000-000000000000"],
        "driver": ["590.48.01"],
        "cc": ["9.0"],
        "mig": [False],
        "warnings": 0,
    }),
    "nvidia/query-gpu-csv/nge__linux-x86_64__nvidia-h100-mig__590.48.01__idle__allfields.csv": Case("query-gpu", {
        "count": 1,
        "names": ["NVIDIA H100 80GB HBM3"],
        "total_mib": [81559],
        "used_mib": [59],
        "uuids": ["GPU-00000000-0000-0000-0000-000000000000"],
        "driver": ["590.48.01"],
        "cc": ["9.0"],
        "mig": [True],
        "warnings": 0,
    }),
    "nvidia/query-gpu-csv/nge__linux-x86_64__nvidia-h100-mig__590.48.01__load__allfields.csv": Case("query-gpu", {
        "count": 1,
        "names": ["NVIDIA H100 80GB HBM3"],
        "total_mib": [81559],
        "used_mib": [11125],
        "uuids": ["GPU-00000000-0000-0000-0000-000000000000"],
        "driver": ["590.48.01"],
        "cc": ["9.0"],
        "mig": [True],
        "warnings": 0,
    }),
    "nvidia/query-gpu-csv/nge__linux-x86_64__nvidia-h200-mig__590.48.01__idle__allfields.csv": Case("query-gpu", {
        "count": 1,
        "names": ["NVIDIA H200"],
        "total_mib": [143771],
        "used_mib": [55],
        "uuids": ["GPU-00000000-0000-0000-0000-000000000000"],
        "driver": ["590.48.01"],
        "cc": ["9.0"],
        "mig": [True],
        "warnings": 0,
    }),
    "nvidia/query-gpu-csv/nge__linux-x86_64__nvidia-h200-mig__590.48.01__load__allfields.csv": Case("query-gpu", {
        "count": 1,
        "names": ["NVIDIA H200"],
        "total_mib": [143771],
        "used_mib": [16959],
        "uuids": ["GPU-00000000-0000-0000-0000-000000000000"],
        "driver": ["590.48.01"],
        "cc": ["9.0"],
        "mig": [True],
        "warnings": 0,
    }),
    "nvidia/query-gpu-csv/nge__linux-x86_64__nvidia-h200__590.48.01__idle__allfields.csv": Case("query-gpu", {
        "count": 1,
        "names": ["NVIDIA H200"],
        "total_mib": [143771],
        "used_mib": [0],
        "uuids": ["GPU-00000000-0000-0000-0000-000000000000"],
        "driver": ["590.48.01"],
        "cc": ["9.0"],
        "mig": [False],
        "warnings": 0,
    }),
    "nvidia/query-gpu-csv/nge__linux-x86_64__nvidia-h200__590.48.01__load__allfields.csv": Case("query-gpu", {
        "count": 1,
        "names": ["NVIDIA H200"],
        "total_mib": [143771],
        "used_mib": [32362],
        "uuids": ["GPU-00000000-0000-0000-0000-000000000000"],
        "driver": ["590.48.01"],
        "cc": ["9.0"],
        "mig": [False],
        "warnings": 0,
    }),
    "nvidia/query-gpu-csv/nge__linux-x86_64__nvidia-l40s__595.80__idle__allfields.csv": Case("query-gpu", {
        "count": 1,
        "names": ["NVIDIA L40S"],
        "total_mib": [46068],
        "used_mib": [0],
        "uuids": ["GPU-00000000-0000-0000-0000-000000000000"],
        "driver": ["595.80"],
        "cc": ["8.9"],
        "warnings": 0,
    }),
    "nvidia/query-gpu-csv/nge__linux-x86_64__nvidia-l40s__595.80__load__allfields.csv": Case("query-gpu", {
        "count": 1,
        "names": ["NVIDIA L40S"],
        "total_mib": [46068],
        "used_mib": [1235],
        "uuids": ["GPU-00000000-0000-0000-0000-000000000000"],
        "driver": ["595.80"],
        "cc": ["8.9"],
        "warnings": 0,
    }),
    "nvidia/query-gpu-csv/nge__windows-x86_64__nvidia-geforce-rtx-2080-super__591.86__idle__allfields.csv": Case("query-gpu", {
        "count": 1,
        "names": ["NVIDIA GeForce RTX 2080 SUPER"],
        "total_mib": [8192],
        "used_mib": [702],
        "uuids": ["GPU-00000000-0000-0000-0000-000000000000"],
        "driver": ["591.86"],
        "cc": ["7.5"],
        "warnings": 0,
    }),
    "nvidia/query-gpu-csv/nge__windows-x86_64__nvidia-geforce-rtx-2080-super__591.86__load__allfields.csv": Case("query-gpu", {
        "count": 1,
        "names": ["NVIDIA GeForce RTX 2080 SUPER"],
        "total_mib": [8192],
        "used_mib": [1296],
        "uuids": ["GPU-00000000-0000-0000-0000-000000000000"],
        "driver": ["591.86"],
        "cc": ["7.5"],
        "warnings": 0,
    }),
    "nvidia/query-gpu-csv/nge__windows-x86_64__nvidia-geforce-rtx-2080-super__610.62__idle__allfields.csv": Case("query-gpu", {
        "count": 1,
        "names": ["NVIDIA GeForce RTX 2080 SUPER"],
        "total_mib": [8192],
        "used_mib": [797],
        "uuids": ["GPU-00000000-0000-0000-0000-000000000000"],
        "driver": ["610.62"],
        "cc": ["7.5"],
        "warnings": 0,
    }),
    "nvidia/query-gpu-csv/nge__windows-x86_64__nvidia-geforce-rtx-2080-super__610.62__load__allfields.csv": Case("query-gpu", {
        "count": 1,
        "names": ["NVIDIA GeForce RTX 2080 SUPER"],
        "total_mib": [8192],
        "used_mib": [1366],
        "uuids": ["GPU-00000000-0000-0000-0000-000000000000"],
        "driver": ["610.62"],
        "cc": ["7.5"],
        "warnings": 0,
    }),
    "nvidia/query-gpu-csv/orcd-pdsh__name_memtotal__noheader__cluster.txt": Case("pdsh", {
        "nodes": 146,
        "count": 508,
        "names": ["NVIDIA A100 80GB PCIe", "NVIDIA A100-SXM4-80GB", "NVIDIA A40", "NVIDIA GeForce RTX 2080 Ti", "NVIDIA H100 80GB HBM3", "NVIDIA H100 NVL", "NVIDIA H200", "NVIDIA L4", "NVIDIA L40S", "NVIDIA TITAN V", "Tesla K20m", "Tesla K40m", "Tesla K80", "Tesla P100-PCIE-12GB", "Tesla V100S-PCIE-32GB"],
        "total_mib": [4743, 11264, 11441, 12288, 23034, 32768, 46068, 81559, 81920, 95830, 143771],
    }),
    "nvidia/query-gpu-csv/orcd__10x-v100s-pcie-32gb__name_memtotal__noheader.csv": Case("query-gpu", {
        "count": 10,
        "names": ["Tesla V100S-PCIE-32GB"],
        "total_mib": [32768] * 10,
        "warnings": 0,
    }, fields=["name", "memory.total"]),
    "nvidia/query-gpu-csv/orcd__1x-l4__name_memtotal__noheader.csv": Case("query-gpu", {
        "count": 1,
        "names": ["NVIDIA L4"],
        "total_mib": [23034],
        "warnings": 0,
    }, fields=["name", "memory.total"]),
    "nvidia/query-gpu-csv/orcd__2x-h100-nvl__name_memtotal__noheader.csv": Case("query-gpu", {
        "count": 2,
        "names": ["NVIDIA H100 NVL"],
        "total_mib": [95830, 95830],
        "warnings": 0,
    }, fields=["name", "memory.total"]),
    "nvidia/query-gpu-csv/orcd__4x-a100-80gb-pcie__name_memtotal__noheader.csv": Case("query-gpu", {
        "count": 4,
        "names": ["NVIDIA A100 80GB PCIe"],
        "total_mib": [81920] * 4,
        "warnings": 0,
    }, fields=["name", "memory.total"]),
    "nvidia/query-gpu-csv/orcd__4x-a100-sxm4-80gb__name_memtotal__noheader.csv": Case("query-gpu", {
        "count": 4,
        "names": ["NVIDIA A100-SXM4-80GB"],
        "total_mib": [81920] * 4,
        "warnings": 0,
    }, fields=["name", "memory.total"]),
    "nvidia/query-gpu-csv/orcd__4x-l40s__name_memtotal__noheader.csv": Case("query-gpu", {
        "count": 4,
        "names": ["NVIDIA L40S"],
        "total_mib": [46068] * 4,
        "warnings": 0,
    }, fields=["name", "memory.total"]),
    "nvidia/query-gpu-csv/orcd__8x-h100-80gb-hbm3__name_memtotal__noheader.csv": Case("query-gpu", {
        "count": 8,
        "names": ["NVIDIA H100 80GB HBM3"],
        "total_mib": [81559] * 8,
        "warnings": 0,
    }, fields=["name", "memory.total"]),
    "nvidia/query-gpu-csv/orcd__8x-h200__name_memtotal__noheader.csv": Case("query-gpu", {
        "count": 8,
        "names": ["NVIDIA H200"],
        "total_mib": [143771] * 8,
        "warnings": 0,
    }, fields=["name", "memory.total"]),
    "nvidia/query-gpu-csv/orcd__8x-rtx-2080ti__name_memtotal__noheader.csv": Case("query-gpu", {
        "count": 8,
        "names": ["NVIDIA GeForce RTX 2080 Ti"],
        "total_mib": [11264] * 8,
        "warnings": 0,
    }, fields=["name", "memory.total"]),
    "nvidia/table/arctictraining-pr-345__1x-gb10-dgx-spark__580.126.09.PARTIAL.txt": Case("table", {
        # Memory-Usage "Not Supported" (unified memory): no figures, one warning naming the cell
        "driver": "580.126.09",
        "cuda": "13.0",
        "count": 1,
        "names": ["NVIDIA GB10"],
        "total_mib": [None],
        "used_mib": [None],
        "processes": 0,
        "warnings": 1,
    }),
    "nvidia/table/cllm_baseline__8x-h200__570.133.20.txt": Case("table", {
        "driver": "570.133.20",
        "cuda": "12.8",
        "count": 8,
        "names": ["NVIDIA H200"],
        "total_mib": [143771] * 8,
        "used_mib": [0] * 8,
        "mig": [False] * 8,
        "processes": 0,
        "warnings": 0,
    }),
    "nvidia/table/gpu_and_inference_hw__1x-l40s__580.126.09.txt": Case("table", {
        "driver": "580.126.09",
        "cuda": "13.0",
        "count": 1,
        "names": ["NVIDIA L40S"],
        "total_mib": [46068],
        "used_mib": [803],
        "processes": 1,
        "first_process": (5997, 794),
        "warnings": 0,
    }),
    "nvidia/table/guarantees-mi-data__1x-rtx3090__535.161.07.txt": Case("table", {
        # a process table with no rows at all (not even "No running processes found")
        "driver": "535.161.07",
        "cuda": "12.2",
        "count": 1,
        "names": ["NVIDIA GeForce RTX 3090"],
        "total_mib": [24576],
        "used_mib": [404],
        "processes": 0,
        "warnings": 0,
    }),
    "nvidia/table/johns-blog__h200-2-mig-in-container__570.86.15.txt": Case("table", {
        # inside a container given two MIG devices: the GPU row says N/A, the MIG rows hold the memory
        "driver": "570.86.15",
        "cuda": "12.8",
        "count": 1,
        "names": ["NVIDIA H200"],
        "total_mib": [None],
        "used_mib": [None],
        "mig": [True],
        "migs": [(0, 0, 5, 0, 33280, 29), (0, 1, 7, 0, 16384, 15)],
        "processes": 0,
        "warnings": 0,
    }),
    "nvidia/table/lisa__1x-rtx3060-windows-wddm__560.94.txt": Case("table", {
        # Windows: "Driver-Model" header, C+G processes with N/A memory
        "driver": "560.94",
        "cuda": "12.6",
        "count": 1,
        "names": ["NVIDIA GeForce RTX 3060"],
        "total_mib": [12288],
        "used_mib": [1342],
        "processes": 19,
        "first_process": (192, None),
        "warnings": 0,
    }),
    "nvidia/table/lsaie-gipfelsturm__4x-gh200-120gb__590.48.01.txt": Case("table", {
        "driver": "590.48.01",
        "cuda": "13.1",
        "count": 4,
        "names": ["NVIDIA GH200 120GB"],
        "total_mib": [97871] * 4,
        "used_mib": [3, 3, 3, 4],
        "mig": [False] * 4,
        "processes": 0,
        "warnings": 0,
    }),
    "nvidia/table/mczuk-cuda-utils__gtx1070+titan-rtx__418.87.01.txt": Case("table", {
        # driver 418: no MIG column, process rows without GI/CI, names cut from the left ("...")
        "driver": "418.87.01",
        "cuda": "10.1",
        "count": 2,
        "names": ["GeForce GTX 1070", "TITAN RTX"],
        "total_mib": [8116, 24190],
        "used_mib": [5164, 23176],
        "mig": [None, None],
        "processes": 5,
        "first_process": (2432, 4713),
        "warnings": 0,
    }),
    "nvidia/table/muscles_with_codebook__8x-v100s-pcie-32gb__535.171.04.txt": Case("table", {
        "driver": "535.171.04",
        "cuda": "12.2",
        "count": 8,
        "names": ["Tesla V100S-PCIE-32GB"],
        "total_mib": [32768] * 8,
        "used_mib": [774, 4, 4, 4, 4, 4, 4, 4],
        "processes": 1,
        "first_process": (3472395, 770),
        "warnings": 0,
    }),
    "nvidia/table/nge__linux-x86_64__nvidia-geforce-rtx-2080-super__595.71.05__idle.txt": Case("table", {
        "driver": "595.71.05",
        "cuda": "13.2",
        "count": 1,
        "names": ["NVIDIA GeForce RTX 2080 ..."],
        "total_mib": [8192],
        "used_mib": [214],
        "processes": 2,
        "first_process": (1696, 176),
        "warnings": 0,
    }),
    "nvidia/table/nge__linux-x86_64__nvidia-geforce-rtx-2080-super__595.71.05__load.txt": Case("table", {
        "driver": "595.71.05",
        "cuda": "13.2",
        "count": 1,
        "names": ["NVIDIA GeForce RTX 2080 ..."],
        "total_mib": [8192],
        "used_mib": [819],
        "processes": 4,
        "first_process": (1696, 176),
        "warnings": 0,
    }),
    "nvidia/table/nge__linux-x86_64__nvidia-geforce-rtx-2080-super__610.57.04__idle.txt": Case("table", {
        "driver": "610.57.04",
        "cuda": "13.3",
        "count": 1,
        "names": ["NVIDIA GeForce RTX 2080 ..."],
        "total_mib": [8192],
        "used_mib": [211],
        "processes": 2,
        "first_process": (1720, 173),
        "warnings": 0,
    }),
    "nvidia/table/nge__linux-x86_64__nvidia-geforce-rtx-2080-super__610.57.04__load.txt": Case("table", {
        "driver": "610.57.04",
        "cuda": "13.3",
        "count": 1,
        "names": ["NVIDIA GeForce RTX 2080 ..."],
        "total_mib": [8192],
        "used_mib": [815],
        "processes": 4,
        "first_process": (1720, 173),
        "warnings": 0,
    }),
    "nvidia/table/nge__linux-x86_64__nvidia-geforce-rtx-4080-super__595.71.05__idle.txt": Case("table", {
        "driver": "595.71.05",
        "cuda": "13.2",
        "count": 1,
        "names": ["NVIDIA GeForce RTX 4080 ..."],
        "total_mib": [16376],
        "used_mib": [596],
        "processes": 5,
        "first_process": (2165, 25),
        "warnings": 0,
    }),
    "nvidia/table/nge__linux-x86_64__nvidia-geforce-rtx-4080-super__595.71.05__load.txt": Case("table", {
        "driver": "595.71.05",
        "cuda": "13.2",
        "count": 1,
        "names": ["NVIDIA GeForce RTX 4080 ..."],
        "total_mib": [16376],
        "used_mib": [1474],
        "processes": 7,
        "first_process": (2165, 25),
        "warnings": 0,
    }),
    "nvidia/table/nge__linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01__idle.txt": Case("table", {
        "driver": "590.48.01",
        "cuda": "13.1",
        "count": 1,
        "names": ["NVIDIA H100 80GB HBM3"],
        "total_mib": [81559],
        "used_mib": [0],
        "mig": [False],
        "processes": 0,
        "warnings": 0,
    }),
    "nvidia/table/nge__linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01__load.txt": Case("table", {
        "driver": "590.48.01",
        "cuda": "13.1",
        "count": 1,
        "names": ["NVIDIA H100 80GB HBM3"],
        "total_mib": [81559],
        "used_mib": [19818],
        "mig": [False],
        "processes": 3,
        "first_process": (11327, 2566),
        "warnings": 0,
    }),
    "nvidia/table/nge__linux-x86_64__nvidia-h100-mig__590.48.01__idle.txt": Case("table", {
        "driver": "590.48.01",
        "cuda": "13.1",
        "count": 1,
        "names": ["NVIDIA H100 80GB HBM3"],
        "total_mib": [81559],
        "used_mib": [59],
        "mig": [True],
        "migs": [(0, 0, 2, 0, 40448, 26), (0, 1, 3, 0, 20096, 17), (0, 2, 9, 0, 9984, 9), (0, 3, 10, 0, 9984, 9)],
        "processes": 0,
        "warnings": 0,
    }),
    "nvidia/table/nge__linux-x86_64__nvidia-h100-mig__590.48.01__load.txt": Case("table", {
        "driver": "590.48.01",
        "cuda": "13.1",
        "count": 1,
        "names": ["NVIDIA H100 80GB HBM3"],
        "total_mib": [81559],
        "used_mib": [11125],
        "mig": [True],
        "migs": [(0, 0, 2, 0, 40448, 11091), (0, 1, 3, 0, 20096, 17), (0, 2, 9, 0, 9984, 9), (0, 3, 10, 0, 9984, 9)],
        "processes": 3,
        "first_process": (21180, 2296),
        "warnings": 0,
    }),
    "nvidia/table/nge__linux-x86_64__nvidia-h200-mig__590.48.01__idle.txt": Case("table", {
        "driver": "590.48.01",
        "cuda": "13.1",
        "count": 1,
        "names": ["NVIDIA H200"],
        "total_mib": [143771],
        "used_mib": [55],
        "mig": [True],
        "migs": [(0, 0, 2, 0, 71424, 22), (0, 1, 2, 1, 71424, 22), (0, 2, 3, 0, 33280, 17), (0, 3, 9, 0, 16384, 9), (0, 4, 10, 0, 16384, 9)],
        "processes": 0,
        "warnings": 0,
    }),
    "nvidia/table/nge__linux-x86_64__nvidia-h200-mig__590.48.01__load.txt": Case("table", {
        "driver": "590.48.01",
        "cuda": "13.1",
        "count": 1,
        "names": ["NVIDIA H200"],
        "total_mib": [143771],
        "used_mib": [16959],
        "mig": [True],
        "migs": [(0, 0, 2, 0, 71424, 16925), (0, 1, 2, 1, 71424, 16925), (0, 2, 3, 0, 33280, 17), (0, 3, 9, 0, 16384, 9), (0, 4, 10, 0, 16384, 9)],
        "processes": 3,
        "first_process": (12249, 2194),
        "warnings": 0,
    }),
    "nvidia/table/nge__linux-x86_64__nvidia-h200__590.48.01__idle.txt": Case("table", {
        "driver": "590.48.01",
        "cuda": "13.1",
        "count": 1,
        "names": ["NVIDIA H200"],
        "total_mib": [143771],
        "used_mib": [0],
        "mig": [False],
        "processes": 0,
        "warnings": 0,
    }),
    "nvidia/table/nge__linux-x86_64__nvidia-h200__590.48.01__load.txt": Case("table", {
        "driver": "590.48.01",
        "cuda": "13.1",
        "count": 1,
        "names": ["NVIDIA H200"],
        "total_mib": [143771],
        "used_mib": [32362],
        "mig": [False],
        "processes": 3,
        "first_process": (10291, 2566),
        "warnings": 0,
    }),
    "nvidia/table/nge__linux-x86_64__nvidia-l40s__595.80__idle.txt": Case("table", {
        "driver": "595.80",
        "cuda": "13.2",
        "count": 1,
        "names": ["NVIDIA L40S"],
        "total_mib": [46068],
        "used_mib": [0],
        "processes": 0,
        "warnings": 0,
    }),
    "nvidia/table/nge__linux-x86_64__nvidia-l40s__595.80__load.txt": Case("table", {
        "driver": "595.80",
        "cuda": "13.2",
        "count": 1,
        "names": ["NVIDIA L40S"],
        "total_mib": [46068],
        "used_mib": [1235],
        "processes": 2,
        "first_process": (20037, 538),
        "warnings": 0,
    }),
    "nvidia/table/nge__windows-x86_64__nvidia-geforce-rtx-2080-super__591.86__idle.txt": Case("table", {
        "driver": "591.86",
        "cuda": "13.1",
        "count": 1,
        "names": ["NVIDIA GeForce RTX 2080 ..."],
        "total_mib": [8192],
        "used_mib": [702],
        "processes": 10,
        "first_process": (2056, None),
        "warnings": 0,
    }),
    "nvidia/table/nge__windows-x86_64__nvidia-geforce-rtx-2080-super__591.86__load.txt": Case("table", {
        "driver": "591.86",
        "cuda": "13.1",
        "count": 1,
        "names": ["NVIDIA GeForce RTX 2080 ..."],
        "total_mib": [8192],
        "used_mib": [1296],
        "processes": 12,
        "first_process": (2056, None),
        "warnings": 0,
    }),
    "nvidia/table/nge__windows-x86_64__nvidia-geforce-rtx-2080-super__610.62__idle.txt": Case("table", {
        "driver": "610.62",
        "cuda": "13.3",
        "count": 1,
        "names": ["NVIDIA GeForce RTX 2080 ..."],
        "total_mib": [8192],
        "used_mib": [797],
        "processes": 19,
        "first_process": (2140, None),
        "warnings": 0,
    }),
    "nvidia/table/nge__windows-x86_64__nvidia-geforce-rtx-2080-super__610.62__load.txt": Case("table", {
        "driver": "610.62",
        "cuda": "13.3",
        "count": 1,
        "names": ["NVIDIA GeForce RTX 2080 ..."],
        "total_mib": [8192],
        "used_mib": [1366],
        "processes": 21,
        "first_process": (2140, None),
        "warnings": 0,
    }),
    "nvidia/table/predator-prey__1x-p100-pcie-12gb__470.82.01.txt": Case("table", {
        "driver": "470.82.01",
        "cuda": "11.4",
        "count": 1,
        "names": ["Tesla P100-PCIE..."],
        "total_mib": [12198],
        "used_mib": [0],
        "mig": [None],
        "processes": 0,
        "warnings": 0,
    }),
    "nvidia/table/runai-docs__a100-sxm4-40gb-3-mig-3-processes__460.91.03.txt": Case("table", {
        # driver 460 MIG layout; processes carry GI/CI
        "driver": "460.91.03",
        "cuda": "11.2",
        "count": 1,
        "names": ["A100-SXM4-40GB"],
        "total_mib": [40536],
        "used_mib": [27254],
        "mig": [True],
        "migs": [(0, 0, 3, 0, 9984, 9118), (0, 1, 4, 0, 9984, 9118), (0, 2, 5, 0, 9984, 9016)],
        "processes": 3,
        "first_process": (142213, 9111),
        "warnings": 0,
    }),
    "nvidia/table/runai-docs__a100-sxm4-40gb-mig-no-devices__460.91.03.txt": Case("table", {
        # MIG on, no instances yet: "No MIG devices found" is not an unreadable row
        "driver": "460.91.03",
        "cuda": "11.2",
        "count": 1,
        "names": ["A100-SXM4-40GB"],
        "total_mib": [40536],
        "used_mib": [0],
        "mig": [True],
        "migs": [],
        "processes": 0,
        "warnings": 0,
    }),
    "nvidia/table/saug-pfllib__1x-rtx5060-windows-wddm__576.88.txt": Case("table", {
        "driver": "576.88",
        "cuda": "12.9",
        "count": 1,
        "names": ["NVIDIA GeForce RTX 5060"],
        "total_mib": [8151],
        "used_mib": [2590],
        "processes": 27,
        "first_process": (1180, None),
        "warnings": 0,
    }),
    "nvidia/table/triton-on-computecanada__1x-a100-sxm4-40gb__550.144.03.txt": Case("table", {
        "driver": "550.144.03",
        "cuda": "12.4",
        "count": 1,
        "names": ["NVIDIA A100-SXM4-40GB"],
        "total_mib": [40960],
        "used_mib": [1],
        "mig": [False],
        "processes": 0,
        "warnings": 0,
    }),
    "nvidia/xml/netdata__a100-sxm4-mig.xml": Case("xml", {
        "driver": "510.47.03",
        "cuda": "11.6",
        "count": 1,
        "names": ["NVIDIA A100-SXM4-40GB"],
        "total_mib": [40960],
        "used_mib": [38],
        "uuids": ["GPU-27b94a00-ed54-5c24-b1fd-1054085de32a"],
        "mig": [True],
        "migs": [(0, 0, 1, 0, 19968, 19), (0, 1, 2, 0, 19968, 19)],
        "processes": 0,
        "warnings": 0,
    }),
    "nvidia/xml/netdata__rtx-2080-win.xml": Case("xml", {
        "driver": "516.59",
        "cuda": "11.7",
        "count": 1,
        "names": ["NVIDIA GeForce RTX 2080"],
        "total_mib": [8192],
        "used_mib": [862],
        "uuids": ["GPU-fbd55ed4-1eec-4423-0a47-ad594b4333e3"],
        "processes": 26,
        "first_process": (7724, None),
        "warnings": 0,
    }),
    "nvidia/xml/netdata__rtx-4090-driver-535.xml": Case("xml", {
        "driver": "535.86.05",
        "cuda": "12.2",
        "count": 1,
        "names": ["NVIDIA GeForce RTX 4090"],
        "total_mib": [24564],
        "used_mib": [2],
        "uuids": ["GPU-71d1acc2-662d-2166-bf9f-65272d2fc437"],
        "processes": 0,
        "warnings": 0,
    }),
    "nvidia/xml/netdata__tesla-p100.xml": Case("xml", {
        "driver": "510.47.03",
        "cuda": "11.6",
        "count": 1,
        "names": ["Tesla P100-PCIE-16GB"],
        "total_mib": [16384],
        "used_mib": [0],
        "uuids": ["GPU-d3da8716-eaab-75db-efc1-60e88e1cd55e"],
        "processes": 0,
        "warnings": 0,
    }),
    "nvidia/xml/pai__rtx-2080ti-x2.xml": Case("xml", {
        "driver": "410.73",
        "cuda": "10.0",
        "count": 2,
        "names": ["GeForce RTX 2080 Ti"],
        "total_mib": [10989, 10989],
        "used_mib": [0, 0],
        "uuids": ["GPU-57567e11-0be2-381b-5132-2ad95c262e58", "GPU-ef1d0068-5bfd-f1e4-7e79-ff35d71d44b8"],
        "processes": 0,
        "warnings": 0,
    }),
    "nvidia/xml/pai__tesla-k80-x4.xml": Case("xml", {
        "driver": "430.26",
        "count": 4,
        "names": ["Tesla K80"],
        "total_mib": [11441] * 4,
        "used_mib": [587, 587, 0, 0],
        "uuids": ["GPU-30bc2701-3bc2-5f35-0ebd-9867a077e138", "GPU-3341aba2-f01d-2c1f-7dd4-e389779faec2", "GPU-b01b80eb-0f18-1df0-cf88-0725bd90f1e1", "GPU-c3b26f7a-8dcb-619c-fa1b-8029265a4db0"],
        "processes": 2,
        "first_process": (58813, 576),
        "warnings": 0,
    }),
    "nvidia/xml/telegraf__3090-v13.xml": Case("xml", {
        "driver": "590.44.01",
        "cuda": "13.1",
        "count": 1,
        "names": ["NVIDIA GeForce RTX 3090"],
        "total_mib": [24576],
        "used_mib": [7],
        "uuids": ["GPU-12345678-aaaa-bbbb-cccc-0123456789ab"],
        "processes": 0,
        "warnings": 0,
    }),
    "nvidia/xml/telegraf__a100-sxm4-v12.xml": Case("xml", {
        "driver": "535.54.03",
        "cuda": "12.2",
        "count": 1,
        "names": ["NVIDIA A100-SXM4-80GB"],
        "total_mib": [81920],
        "used_mib": [50],
        "uuids": ["GPU-513536b6-7d19-9063-b049-1e69664bb298"],
        "mig": [True],
        "migs": [(0, 0, 3, 0, 19968, 12), (0, 1, 4, 0, 19968, 12), (0, 2, 5, 0, 19968, 12), (0, 3, 6, 0, 19968, 12)],
        "processes": 0,
        "warnings": 1,
    }),
    "nvidia/xml/telegraf__a10g.xml": Case("xml", {
        "driver": "515.105.01",
        "cuda": "11.7",
        "count": 1,
        "names": ["NVIDIA A10G"],
        "total_mib": [23028],
        "used_mib": [22],
        "uuids": ["GPU-9a9a6c50-2a47-2f51-a902-b82c3b127e94"],
        "processes": 1,
        "first_process": (725, 22),
        "warnings": 0,
    }),
    "nvidia/xml/telegraf__dual_2070-v13.xml": Case("xml", {
        "driver": "590.44.01",
        "cuda": "13.1",
        "count": 2,
        "names": ["NVIDIA GeForce RTX 2070"],
        "total_mib": [8192, 8192],
        "used_mib": [1, 1],
        "uuids": ["GPU-12345678-aaaa-bbbb-cccc-0123456789ab", "GPU-12345678-aaaa-bbbb-cccc-0123456789cd"],
        "processes": 0,
        "warnings": 0,
    }),
    "nvidia/xml/telegraf__dual_a5000-v13.xml": Case("xml", {
        "driver": "590.44.01",
        "cuda": "13.1",
        "count": 2,
        "names": ["NVIDIA RTX A5000"],
        "total_mib": [24564, 24564],
        "used_mib": [22437, 17253],
        "uuids": ["GPU-12345678-aaaa-bbbb-cccc-0123456789ab", "GPU-12345678-aaaa-bbbb-cccc-0123456789cd"],
        "processes": 2,
        "first_process": (100477, 22430),
        "warnings": 0,
    }),
    "nvidia/xml/telegraf__pro-6000-maxq-blackwell-v13.xml": Case("xml", {
        "driver": "590.44.01",
        "cuda": "13.1",
        "count": 1,
        "names": ["NVIDIA RTX PRO 6000 Blackwell Max-Q Workstation Edition"],
        "total_mib": [97887],
        "used_mib": [65720],
        "uuids": ["GPU-12345678-aaaa-bbbb-cccc-0123456789ab"],
        "processes": 1,
        "first_process": (116860, 65710),
        "warnings": 0,
    }),
    "nvidia/xml/telegraf__quadro-p2000-v12.xml": Case("xml", {
        "driver": "525.125.06",
        "cuda": "12.0",
        "count": 1,
        "names": ["Quadro P2000"],
        "total_mib": [5120],
        "used_mib": [1],
        "uuids": ["GPU-396caaed-39ca-3199-2e68-717cdb786ec6"],
        "processes": 0,
        "warnings": 0,
    }),
    "nvidia/xml/telegraf__rtx-3060-v12.xml": Case("xml", {
        "driver": "570.124.04",
        "cuda": "12.8",
        "count": 1,
        "names": ["NVIDIA GeForce RTX 3060"],
        "total_mib": [12288],
        "used_mib": [116],
        "uuids": ["GPU-d6889ff6-2523-9142-ca3c-1ca3f396a625"],
        "processes": 0,
        "warnings": 0,
    }),
    "nvidia/xml/telegraf__rtx-3080-v13.xml": Case("xml", {
        "driver": "595.58.03",
        "cuda": "13.2",
        "count": 1,
        "names": ["NVIDIA GeForce RTX 3080"],
        "total_mib": [10240],
        "used_mib": [9184],
        "uuids": ["GPU-19d6d965-2acc-f646-00f8-4c76979aabb4"],
        "processes": 0,
        "warnings": 0,
    }),
    "nvidia/xml/telegraf__rtx-3090-v12.xml": Case("xml", {
        "driver": "525.147.05",
        "cuda": "12.0",
        "count": 1,
        "names": ["NVIDIA GeForce RTX 3090"],
        "total_mib": [24576],
        "used_mib": [1],
        "uuids": ["GPU-12345678-aaaa-bbbb-cccc-0123456789ab"],
        "processes": 0,
        "warnings": 0,
    }),
    "nvidia/xml/telegraf__rtx-4000-sff-ada-v13.xml": Case("xml", {
        "driver": "595.84",
        "cuda": "13.2",
        "count": 1,
        "names": ["NVIDIA RTX 4000 SFF Ada Generation"],
        "total_mib": [20475],
        "used_mib": [3534],
        "uuids": ["GPU-37037c3f-65c8-ec4d-24a9-420204ad8026"],
        "processes": 4,
        "first_process": (1842, 410),
        "warnings": 0,
    }),
    "nvidia/xml/telegraf__tesla-t4.xml": Case("xml", {
        "driver": "515.105.01",
        "cuda": "11.7",
        "count": 1,
        "names": ["Tesla T4"],
        "total_mib": [15360],
        "used_mib": [1032],
        "uuids": ["GPU-d37e67a5-91dd-3774-a5cb-99096249601a"],
        "processes": 2,
        "first_process": (675, 22),
        "warnings": 0,
    }),
    "other/gpustack__hygon-dcu-dtk24.04.3__rocm-smi_--showid_--showmeminfo_vram_--showpower_--showserial_--showuse_--showtemp_--showproductname_--showuniqueid_--json.json": Case("rocm-json", {
        "devices": [("0", "DCU xxxx", "7100fa8866904061", 68702699520, 2097152)],
        "warnings": 1,
    }),
}
# fmt: on

SKIPPED: dict[str, str] = {
    # Captures gpuctl reads nothing from, each with the reason.
    "amd/gpustack__rx7800xt-rocm6.2.4__rocminfo.txt": "rocminfo lists HSA agents (CPU and GPU ISA); gpuctl reads devices from rocm-smi / amd-smi",
    "amd/rocm-issue-4750__mi300a__rocm-smi_-i.txt": "`rocm-smi -i` prints ids only, no memory: nothing to build a device from; the probe runs the --json form",
    "ascend/ms-swift__8x-910b3__npu-smi_info_-t_topo.txt": "HCCS topology: gpuctl does not place by interconnect (yet)",
    "other/gpustack__hygon-dcu-dtk24.04.3__rocminfo.txt": "rocminfo, as for AMD above",
    "other/ms-swift__metax-c500__mx-smi.txt": "MetaX GPUs: no backend gpuctl runs supports them",
    "other/ms-swift__metax-c500__mx-smi_topo_-m.txt": "MetaX topology, as above",
    "other/ms-swift__mtt-s5000__mthreads-gmi.PARTIAL.txt": "Moore Threads GPUs: no backend gpuctl runs supports them",
    "other/rocm-container-toolkit-pr-4__amd-ctk_gpu_list.txt": "amd-ctk lists GPUs for the AMD container toolkit, no memory figures",
}


def _outputs() -> list[str]:
    return sorted(
        str(path.relative_to(FIXTURES))
        for path in FIXTURES.rglob("*")
        if path.is_file() and path.suffix != ".cmd" and path.name not in NOT_OUTPUTS
    )


def test_every_capture_has_a_parser_or_a_reason() -> None:
    outputs = set(_outputs())
    assert outputs - CASES.keys() - SKIPPED.keys() == set(), "captures with no case and no reason"
    assert (CASES.keys() | SKIPPED.keys()) - outputs == set(), "cases for captures that do not exist"
    assert len(CASES) > 145


@pytest.mark.parametrize("name", sorted(CASES))
def test_capture(name: str) -> None:
    case = CASES[name]
    summary = summarize(case.kind, FIXTURES / name, case.fields)
    assert {key: summary.get(key) for key in case.expect} == case.expect
