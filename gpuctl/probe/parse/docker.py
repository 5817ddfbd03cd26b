"""Docker: `docker info --format '{{json .}}'`, gpuctl's containers, and /proc/PID/cgroup.

Containers are read through `INSPECT_FORMAT`, a Go template that makes `docker inspect` print one
JSON object per container with only the fields gpuctl uses. In particular only the visible-device
variables of the environment leave the host: a container's other variables may hold secrets
(HF_TOKEN), and what is never sent can never be printed or logged.
"""

from __future__ import annotations

import json
import re
from typing import Any

from gpuctl.facts import DockerInfo, ManagedContainer
from gpuctl.probe.parse.common import Parsed, ParseError, clean_text

VISIBLE_DEVICE_VARIABLES = (
    "NVIDIA_VISIBLE_DEVICES",
    "CUDA_VISIBLE_DEVICES",
    "ASCEND_VISIBLE_DEVICES",
    "ASCEND_RT_VISIBLE_DEVICES",
    "HIP_VISIBLE_DEVICES",
    "ROCR_VISIBLE_DEVICES",
)

INSPECT_FORMAT = (
    '{"Id":{{json .Id}},"Name":{{json .Name}},"Image":{{json .Config.Image}},'
    '"Status":{{json .State.Status}},"StartedAt":{{json .State.StartedAt}},'
    '"Health":{{with index .State "Health"}}{{json .Status}}{{else}}null{{end}},'
    '"Labels":{{json .Config.Labels}},"DeviceRequests":{{json .HostConfig.DeviceRequests}},'
    '"Devices":{{json .HostConfig.Devices}},'
    '"Env":[{{range .Config.Env}}{{if eq (index (split . "=") 0) '
    + " ".join(f'"{name}"' for name in VISIBLE_DEVICE_VARIABLES)
    + "}}{{json .}},{{end}}{{end}}null]}"
)
"""`docker inspect --format` template: one line of JSON per container (see module docstring)."""

_CONTAINER_ID = re.compile(r"(?:docker[-/]|/docker/containers/)([0-9a-f]{64})")
_DAVINCI = re.compile(r"^/dev/davinci(\d+)$")


def parse_docker_info(text: str) -> DockerInfo:
    """The daemon's answer. A CLI that could not reach it prints JSON with ServerErrors (or no
    JSON at all): that is an unreachable daemon, not a failed probe."""
    start = clean_text(text).find("{")
    try:
        data = json.loads(clean_text(text)[start:]) if start >= 0 else None
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        return DockerInfo(reachable=False, error="`docker info` printed no JSON")
    errors = data.get("ServerErrors") or []
    if errors or not data.get("ServerVersion"):
        return DockerInfo(reachable=False, error=str(errors[0]) if errors else "no server version")
    runtimes = data.get("Runtimes")
    return DockerInfo(
        reachable=True,
        server_version=str(data["ServerVersion"]),
        runtimes=sorted(runtimes) if isinstance(runtimes, dict) else [],
        gpus_supported="nvidia" in (runtimes or {}),
    )


def _device_ids(item: dict[str, Any]) -> list[str]:
    """Device ids from --gpus requests, --device /dev/davinciN, and visible-device variables."""
    ids: list[str] = []
    for request in item.get("DeviceRequests") or []:
        if not isinstance(request, dict):
            continue
        ids += [str(i) for i in request.get("DeviceIDs") or []]
        if request.get("Count") == -1:
            ids.append("all")
    for device in item.get("Devices") or []:
        match = _DAVINCI.match(str(device.get("PathOnHost", ""))) if isinstance(device, dict) else None
        if match:
            ids.append(match[1])
    for entry in item.get("Env") or []:
        _, _, value = str(entry).partition("=")
        ids += [v.strip() for v in value.split(",") if v.strip() and v.strip() not in ("none", "void")]
    return list(dict.fromkeys(ids))


def parse_containers(text: str) -> Parsed[list[ManagedContainer]]:
    """Lines printed by `docker inspect --format INSPECT_FORMAT ID...`."""
    containers = []
    warnings: list[str] = []
    for number, line in enumerate(clean_text(text).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            raise ParseError("docker inspect", f"line {number} is not JSON") from None
        if not isinstance(item, dict) or not isinstance(item.get("Id"), str):
            raise ParseError("docker inspect", f"line {number} is not a container")
        labels = item.get("Labels")
        labels = labels if isinstance(labels, dict) else {}
        started = item.get("StartedAt")
        if not isinstance(started, str) or started.startswith("0001-"):
            started = None  # Docker's zero time: never started
        containers.append(
            ManagedContainer(
                id=item["Id"],
                name=str(item.get("Name") or "").lstrip("/"),
                image=str(item.get("Image") or ""),
                state=str(item.get("Status") or "unknown"),
                health=item.get("Health") if isinstance(item.get("Health"), str) else None,
                started_at=started,
                labels={str(k): str(v) for k, v in labels.items()},
                device_requests=_device_ids(item),
            )
        )
    return Parsed(sorted(containers, key=lambda c: c.name), warnings)


def container_id_from_cgroup(text: str) -> str | None:
    """The Docker container a process runs in, from its /proc/PID/cgroup (v1 `/docker/ID`,
    v2 systemd `docker-ID.scope`), or None for a process on the host itself."""
    match = _CONTAINER_ID.search(clean_text(text))
    return match[1] if match else None
