"""The probe script's sections → `HostFacts` (pure).

What makes a probe fail: the host basics (hostname, uname, nproc, meminfo) are missing or
unreadable, or a vendor tool is installed but cannot list its devices (a driver that is not
loaded): gpuctl then does not know what the host can run and says so. Everything else that is odd
(a missing table, an [N/A] value, a Docker daemon that does not answer) is recorded in the facts or
as a warning, and the host stays usable.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

from gpuctl.facts import Device, DockerInfo, DriverInfo, GpuProcess, HostFacts, HostInfo, ManagedContainer
from gpuctl.probe.devices import amd_usage, ascend_devices, nvidia_devices
from gpuctl.probe.parse.amd_smi import parse_amd_smi_monitor, parse_amd_smi_process, parse_amd_smi_static
from gpuctl.probe.parse.common import Parsed, ParseError
from gpuctl.probe.parse.docker import container_id_from_cgroup, parse_containers, parse_docker_info
from gpuctl.probe.parse.host import (
    parse_df,
    parse_key_values,
    parse_local_ports,
    parse_meminfo,
    parse_nproc,
    parse_proc_listening,
    parse_ss_listening,
    parse_uname,
)
from gpuctl.probe.parse.npu_smi import parse_npu_info, parse_npu_mapping
from gpuctl.probe.parse.nvidia_csv import parse_compute_apps, parse_query_gpu
from gpuctl.probe.parse.nvidia_list import parse_list
from gpuctl.probe.parse.nvidia_records import GpuRecord
from gpuctl.probe.parse.nvidia_table import parse_table
from gpuctl.probe.parse.rocm_smi import parse_rocm_smi_json
from gpuctl.probe.parse.sections import Section

GPU_FIELDS = (
    "index",
    "uuid",
    "name",
    "memory.total",
    "memory.used",
    "compute_cap",
    "driver_version",
    "mig.mode.current",
    "pci.bus_id",
)
BASIC_GPU_FIELDS = tuple(f for f in GPU_FIELDS if f != "compute_cap")
"""Drivers before 510 do not know compute_cap and refuse the whole query: the script asks again."""
APP_FIELDS = ("gpu_uuid", "pid", "process_name", "used_memory")

COMMANDS = {
    "nvidia-list": "nvidia-smi -L",
    "nvidia-table": "nvidia-smi",
    "nvidia-apps": "nvidia-smi --query-compute-apps",
    "npu-map": "npu-smi info -m",
    "amd-smi-process": "amd-smi process --csv",
    "amd-smi-monitor": "amd-smi monitor -v",
    "docker-inspect": "docker inspect",
}
"""The command behind each optional section, for messages."""

_VERSION = re.compile(r"\d+\.\d+(?:\.\w+)*")
T = TypeVar("T")


class ProbeFailed(Exception):
    """The host answered, but gpuctl cannot tell what it can run."""


Vendor = tuple[list[Device], list[GpuProcess], DriverInfo]


def host_facts(host: str, cluster: str, address: str, sections: dict[str, Section]) -> HostFacts:
    warnings: list[str] = []
    try:
        info = _host_info(sections, warnings)
        devices, processes, drivers = _accelerators(sections, warnings)
    except (ProbeFailed, ParseError) as failure:
        message = str(failure.diagnostics[0]) if isinstance(failure, ParseError) else str(failure)
        return HostFacts(
            host=host,
            cluster=cluster,
            address=address,
            status="probe-failed",
            message=message,
            warnings=warnings,
        )
    docker, containers = _docker(sections, warnings)
    return HostFacts(
        host=host,
        cluster=cluster,
        address=address,
        status="ok",
        info=info,
        drivers=drivers,
        devices=devices,
        processes=processes,
        docker=docker,
        containers=containers,
        warnings=warnings,
    )


def _required(sections: dict[str, Section], name: str, command: str) -> str:
    section = sections.get(name)
    if section is None or not section.ok:
        problem = "did not run" if section is None else f"failed: {section.error()}"
        raise ProbeFailed(f"`{command}` {problem}; the probe needs it to describe the host")
    return section.text


def _host_info(sections: dict[str, Section], warnings: list[str]) -> HostInfo:
    os_name, kernel, arch = parse_uname(_required(sections, "uname", "uname -s -r -m"))
    total, available = parse_meminfo(_required(sections, "meminfo", "cat /proc/meminfo"))
    release = sections.get("os-release")
    distro = parse_key_values(release.text).get("PRETTY_NAME") if release and release.ok else None
    disk = sections.get("df")
    disk_free = None
    if disk and disk.ok:
        disk_free = parse_df(disk.text)
    else:
        warnings.append("cannot tell the free disk space of the model directory (`df -PB1` failed)")
    ephemeral: tuple[int, int] | None = None
    reserved: list[tuple[int, int]] = []
    ports = sections.get("local-ports")
    if ports and ports.ok:
        try:
            ephemeral, reserved = parse_local_ports(ports.text)
        except ParseError as error:
            warnings.append(str(error.diagnostics[0]))
    listening: list[int] = []
    for name, parse in (("listening", parse_ss_listening), ("listening-proc", parse_proc_listening)):
        sockets = sections.get(name)
        if sockets and sockets.ok:
            try:
                listening = parse(sockets.text)
            except ParseError as error:
                warnings.append(str(error.diagnostics[0]))
    return HostInfo(
        hostname=_required(sections, "hostname", "hostname").strip(),
        os=os_name,
        distro=distro,
        kernel=kernel,
        arch=arch,
        cpu_count=parse_nproc(_required(sections, "nproc", "nproc")),
        memory_total=total,
        memory_available=available,
        disk_free=disk_free,
        ephemeral_ports=ephemeral,
        reserved_ports=reserved,
        listening_ports=listening,
    )


def _accelerators(sections: dict[str, Section], warnings: list[str]) -> Vendor:
    containers = {
        int(name.partition(":")[2]): cid
        for name, section in sections.items()
        if name.startswith("cgroup:") and section.ok and (cid := container_id_from_cgroup(section.text))
    }
    found: list[tuple[str, Vendor]] = []
    if "nvidia-gpus" in sections:
        found.append(("NVIDIA", _nvidia(sections, containers, warnings)))
    if "npu-info" in sections:
        found.append(("Ascend", _ascend(sections, containers, warnings)))
    if "rocm-smi" in sections or "amd-smi-static" in sections:
        found.append(("AMD", _amd(sections, warnings)))
    with_devices = [(vendor, result) for vendor, result in found if result[0]]
    if len(with_devices) > 1:
        warnings.append(
            f"the host has {' and '.join(v for v, _ in with_devices)} devices; gpuctl uses only the "
            f"{with_devices[0][0]} ones (one accelerator kind per host)"
        )
    drivers = DriverInfo(
        **{k: v for _, (_, _, d) in found for k, v in d.model_dump().items() if v is not None}
    )
    if not with_devices:
        return [], [], drivers
    devices, processes, _ = with_devices[0][1]
    return devices, processes, drivers


def _vendor_failure(section: Section, command: str, what: str) -> ProbeFailed:
    return ProbeFailed(
        f"`{command}` failed (exit {section.status}): {section.error()}; the host's {what} cannot be "
        f"listed. Check the driver on the host (run `{command}` there)"
    )


def _nvidia(sections: dict[str, Section], containers: dict[int, str], warnings: list[str]) -> Vendor:
    query, fields = sections["nvidia-gpus"], list(GPU_FIELDS)
    if not query.ok and "nvidia-gpus-basic" in sections:
        query, fields = sections["nvidia-gpus-basic"], list(BASIC_GPU_FIELDS)
    if not query.ok:
        if "no devices were found" in (query.text + query.stderr).lower():
            warnings.append("nvidia-smi is installed but finds no GPU")
            return [], [], DriverInfo()
        gpus = _gpus_from_table(sections, query, warnings)
    else:
        gpus = parse_query_gpu(query.text, fields)
    warnings += gpus.warnings
    if not gpus.value and query.text.strip():
        why = gpus.warnings[0] if gpus.warnings else "no GPU rows"
        raise ProbeFailed(f"`nvidia-smi --query-gpu` printed nothing gpuctl can read as a GPU: {why}")
    listed = _optional(sections, "nvidia-list", parse_list, warnings)
    table = _optional(sections, "nvidia-table", parse_table, warnings)
    apps = _optional(sections, "nvidia-apps", lambda text: parse_compute_apps(text, APP_FIELDS), warnings)
    merged = nvidia_devices(
        gpus.value,
        listed=listed if listed is not None else ([], []),
        table_gpus=table.gpus if table else None,
        table_migs=table.migs if table else None,
        table_processes=table.processes if table else None,
        apps=apps,
        containers=containers,
    )
    warnings += merged.warnings
    driver = next((g.driver_version for g in gpus.value if g.driver_version), None)
    drivers = DriverInfo(
        nvidia_driver=driver or (table.driver_version if table else None),
        cuda_version=table.cuda_version if table else None,
    )
    return *merged.value, drivers


def _gpus_from_table(
    sections: dict[str, Section], query: Section, warnings: list[str]
) -> Parsed[list[GpuRecord]]:
    """GPUs from the default table when the driver refuses the query's field list.

    Drivers before 450 know no `mig.mode.current` (nor, before 510, `compute_cap`), so both of the
    probe's queries fail on a host whose GPUs work; the table the probe also takes names them, with
    their memory, and docker --gpus takes their indexes. Any other failure is the driver's."""
    table = sections.get("nvidia-table")
    if "not a valid field" in (query.text + query.stderr) and table is not None and table.ok:
        gpus = parse_table(table.text).value.gpus
        if gpus:
            warnings.append(
                f"`nvidia-smi --query-gpu` refused its fields ({query.error()}): the driver predates "
                "them; the GPUs are read from the `nvidia-smi` table (no UUIDs or compute capability)"
            )
            return Parsed(gpus)
    raise _vendor_failure(query, "nvidia-smi --query-gpu", "NVIDIA GPUs")


def _optional(
    sections: dict[str, Section], name: str, parse: Callable[[str], Parsed[T]], warnings: list[str]
) -> T | None:
    """The parsed value of a section that adds detail, or None (with a warning) if it failed."""
    section = sections.get(name)
    if section is None:
        return None
    if not section.ok:
        warnings.append(f"`{COMMANDS.get(name, name)}` failed (exit {section.status}): {section.error()}")
        return None
    try:
        parsed = parse(section.text)
    except ParseError as error:
        warnings.append(error.diagnostics[0].message)
        return None
    warnings += parsed.warnings
    return parsed.value


def _version(sections: dict[str, Section], name: str, key: str) -> str | None:
    section = sections.get(name)
    if section is None or not section.ok:
        return None
    values = {k.lower(): v for k, v in parse_key_values(section.text).items()}
    if values.get(key):
        return values[key]
    match = _VERSION.search(section.text)
    return match[0] if match else None


def _ascend(sections: dict[str, Section], containers: dict[int, str], warnings: list[str]) -> Vendor:
    section = sections["npu-info"]
    if not section.ok:
        raise _vendor_failure(section, "npu-smi info", "Ascend NPUs")
    info = parse_npu_info(section.text)
    warnings += info.warnings
    mapping = _optional(sections, "npu-map", parse_npu_mapping, warnings)
    merged = ascend_devices(info.value, mapping, containers)
    warnings += merged.warnings
    drivers = DriverInfo(
        ascend_driver=_version(sections, "ascend-driver", "version") or info.value.version,
        cann_version=_version(sections, "cann", "version"),
    )
    return *merged.value, drivers


def _amd(sections: dict[str, Section], warnings: list[str]) -> Vendor:
    processes = _optional(sections, "amd-smi-process", parse_amd_smi_process, warnings) or []
    drivers = DriverInfo(rocm_version=_version(sections, "rocm-version", "version"))
    if "rocm-smi" in sections:
        section = sections["rocm-smi"]
        if not section.ok:
            raise _vendor_failure(section, "rocm-smi", "AMD GPUs")
        report = parse_rocm_smi_json(section.text)
        warnings += report.warnings
        return report.value.devices, processes, drivers
    section = sections["amd-smi-static"]
    if not section.ok:
        raise _vendor_failure(section, "amd-smi static", "AMD GPUs")
    static = parse_amd_smi_static(section.text)
    warnings += static.warnings
    monitor = _optional(sections, "amd-smi-monitor", parse_amd_smi_monitor, warnings)
    filled = amd_usage(static.value, monitor, processes)
    warnings += filled.warnings
    return filled.value, processes, drivers


def _docker(sections: dict[str, Section], warnings: list[str]) -> tuple[DockerInfo, list[ManagedContainer]]:
    section = sections.get("docker-info")
    if section is None:
        return DockerInfo(reachable=False, error="docker is not installed (no `docker` on PATH)"), []
    docker = parse_docker_info(section.text)
    if not docker.reachable:
        error = section.stderr.strip().split("\n")[0] if section.stderr.strip() else docker.error
        return docker.model_copy(update={"error": error}), []
    hooks = sections.get("gpu-hooks")
    if hooks and hooks.text.strip():
        docker = docker.model_copy(update={"gpus_supported": True})
    listing = sections.get("docker-ps")
    if listing is not None and not listing.ok:
        warnings.append(f"cannot list gpuctl's containers: {listing.error()}")
    containers = _optional(sections, "docker-inspect", parse_containers, warnings) or []
    return docker, containers
