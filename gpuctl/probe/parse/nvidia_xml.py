"""`nvidia-smi -q -x`: the XML report (DTD versions 10 to 13 read the same way).

Entity declarations are refused before parsing: nvidia-smi never writes them, and a hostile file
could use them to expand into gigabytes ("billion laughs").
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from gpuctl.probe.parse.common import Parsed, ParseError, clean_text, optional, to_bytes, to_int
from gpuctl.probe.parse.nvidia_records import GpuRecord, MigRecord, NvidiaReport, ProcessRecord

SOURCE = "nvidia-smi -q -x"


def _text(element: ET.Element, path: str) -> str | None:
    return optional(element.findtext(path))


def parse_xml(text: str) -> Parsed[NvidiaReport]:
    text = clean_text(text)
    if "<!ENTITY" in text:
        raise ParseError(SOURCE, "the XML declares entities, which nvidia-smi never does")
    try:
        root = ET.fromstring(text.encode())
    except (ET.ParseError, LookupError) as error:  # LookupError: an encoding Python does not know
        raise ParseError(SOURCE, f"not well-formed XML ({error})") from None
    if root.tag != "nvidia_smi_log":
        raise ParseError(SOURCE, f"the root element is <{root.tag}>, not <nvidia_smi_log>")
    warnings: list[str] = []
    driver = _text(root, "driver_version")
    gpus, migs, processes = [], [], []
    for index, gpu in enumerate(root.findall("gpu")):
        mig = _text(gpu, "mig_mode/current_mig")
        total = to_bytes(gpu.findtext("fb_memory_usage/total"))
        if total is None:
            warnings.append(f"`{SOURCE}`: GPU {index} has no fb_memory_usage/total")
        gpus.append(
            GpuRecord(
                index=index,
                name=_text(gpu, "product_name"),
                uuid=_text(gpu, "uuid"),
                memory_total=total,
                memory_used=to_bytes(gpu.findtext("fb_memory_usage/used")),
                driver_version=driver,
                mig_enabled=None if mig is None else mig.lower() == "enabled",
                bus_id=gpu.get("id"),
            )
        )
        for position, device in enumerate(gpu.findall("mig_devices/mig_device")):
            mig_index = to_int(device.findtext("index"))
            migs.append(
                MigRecord(
                    gpu=index,
                    index=position if mig_index is None else mig_index,
                    gpu_instance=to_int(device.findtext("gpu_instance_id")),
                    compute_instance=to_int(device.findtext("compute_instance_id")),
                    memory_total=to_bytes(device.findtext("fb_memory_usage/total")),
                    memory_used=to_bytes(device.findtext("fb_memory_usage/used")),
                )
            )
        for info in gpu.findall("processes/process_info"):
            pid = to_int(info.findtext("pid"))
            if pid is None:
                continue
            processes.append(
                ProcessRecord(
                    pid=pid,
                    name=_text(info, "process_name") or "",
                    gpu_index=index,
                    gpu_instance=to_int(info.findtext("gpu_instance_id")),
                    compute_instance=to_int(info.findtext("compute_instance_id")),
                    used_memory=to_bytes(info.findtext("used_memory")),
                )
            )
    attached = to_int(root.findtext("attached_gpus"))
    if attached is not None and attached != len(gpus):
        warnings.append(f"`{SOURCE}`: says {attached} GPUs are attached but describes {len(gpus)}")
    report = NvidiaReport(
        driver_version=driver,
        cuda_version=_text(root, "cuda_version"),
        gpus=gpus,
        migs=migs,
        processes=processes,
    )
    return Parsed(report, warnings)
