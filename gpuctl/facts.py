"""Observed state of a host: the contract between the probe and the planner.

The probe (I/O) fills these from one SSH round trip per host; the planner (pure) reads them. They
serialise to JSON for `gpuctl inventory --json` and inventory snapshots (`--save`), so a plan can be
made offline from recorded facts. All memory figures are bytes.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Vendor = Literal["nvidia", "ascend", "amd"]
HostStatus = Literal[
    "ok",  # probed; facts are complete (parser warnings may still be listed)
    "unreachable",  # TCP connect or handshake failed / timed out
    "auth-failed",  # the server refused our key
    "host-key-unknown",  # not in known_hosts: refused, see `gpuctl trust`
    "host-key-changed",  # known_hosts has a different key: refused loudly
    "probe-failed",  # connected, but the probe command failed or its output made no sense
]


class Fact(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Device(Fact):
    """One schedulable accelerator: a whole GPU/NPU, or one MIG instance of a GPU."""

    key: str
    """Stable id within the host used in pins (`host:KEY`) and placements: the device index
    (`"0"`), or `"GPU/MIG"` for MIG instance MIG (0-based, in `nvidia-smi -L` order) of GPU."""
    vendor: Vendor
    index: int
    """nvidia-smi GPU index / Ascend NPU id (logical id used by ASCEND_VISIBLE_DEVICES) / AMD
    card index."""
    name: str
    """Product name as the vendor tool prints it, e.g. "NVIDIA H100 80GB HBM3"."""
    uuid: str | None = None
    """GPU-... or MIG-... UUID (NVIDIA), unique id (AMD); what `docker --gpus device=` takes."""
    memory_total: int
    memory_used: int
    compute_capability: str | None = None
    """NVIDIA compute capability, e.g. "9.0"."""
    mig_profile: str | None = None
    """e.g. "3g.40gb" for a MIG instance."""
    chip_id: int | None = None
    """Ascend chip id within the NPU card."""
    health: str | None = None
    """Health as reported (Ascend "OK"/"Warning"/...; None where the tool has none)."""
    bus_id: str | None = None
    render_node: str | None = None
    """AMD: the DRI render node of this GPU, e.g. "/dev/dri/renderD129" (from
    /sys/bus/pci/devices/BUS_ID/drm). Backends pass it with --device; when unknown they fall back
    to /dev/dri/renderD(128 + index), the numbering ROCm's container guide describes."""


class GpuProcess(Fact):
    """A process holding device memory (nvidia-smi --query-compute-apps and equivalents)."""

    device_key: str
    pid: int
    name: str = ""
    used_memory: int | None = None
    """None where the driver cannot say (Windows WDDM prints [N/A])."""
    container_id: str | None = None
    """Docker container id the process belongs to, from /proc/PID/cgroup, if any."""


class HostInfo(Fact):
    hostname: str
    os: str = "linux"
    """Lower-case kernel name: linux."""
    distro: str | None = None
    """PRETTY_NAME from /etc/os-release."""
    kernel: str | None = None
    arch: str
    """Docker-style architecture: amd64, arm64."""
    cpu_count: int
    memory_total: int
    memory_available: int
    disk_free: int | None = None
    """Free bytes on the filesystem of the cluster's modelDir (or its nearest existing parent)."""
    ephemeral_ports: tuple[int, int] | None = None
    """net.ipv4.ip_local_port_range: the ports outgoing connections take their local port from."""
    reserved_ports: list[tuple[int, int]] = Field(default_factory=list)
    """net.ipv4.ip_local_reserved_ports, as ranges: left out of `ephemeral_ports`."""
    listening_ports: list[int] = Field(default_factory=list)
    """TCP ports something listens on (IPv4 or IPv6, any address), sorted: gpuctl's backends and
    whatever else runs there. A backend cannot bind one of them."""

    def port_is_ephemeral(self, port: int) -> bool:
        """An outgoing connection may hold this port, and a backend then cannot bind it."""
        if self.ephemeral_ports is None:
            return False
        low, high = self.ephemeral_ports
        return low <= port <= high and not any(a <= port <= b for a, b in self.reserved_ports)


class DriverInfo(Fact):
    nvidia_driver: str | None = None
    cuda_version: str | None = None
    ascend_driver: str | None = None
    cann_version: str | None = None
    rocm_version: str | None = None


class DockerInfo(Fact):
    reachable: bool
    """Whether the daemon answered."""
    server_version: str | None = None
    runtimes: list[str] = Field(default_factory=list)
    """Registered runtimes, e.g. ["io.containerd.runc.v2", "nvidia", "runc"]."""
    gpus_supported: bool = False
    """`docker run --gpus` works: the NVIDIA container runtime hook is installed."""
    error: str | None = None


class ManagedContainer(Fact):
    """A container carrying gpuctl's labels (see gpuctl.labels). Others are never read or touched."""

    id: str
    name: str
    image: str
    state: str
    """Docker state: created, running, restarting, exited, paused, dead."""
    health: str | None = None
    """Docker health status if the container has a healthcheck."""
    started_at: str | None = None
    labels: dict[str, str]
    device_requests: list[str] = Field(default_factory=list)
    """Device ids from HostConfig.DeviceRequests (--gpus) and visible-device env variables."""


class HostFacts(Fact):
    """Everything one probe of one host found."""

    host: str
    """Host name from the Cluster spec."""
    cluster: str
    address: str
    status: HostStatus
    message: str | None = None
    """Why the status is not ok, phrased for a person with what to do."""
    info: HostInfo | None = None
    drivers: DriverInfo = Field(default_factory=DriverInfo)
    devices: list[Device] = Field(default_factory=list)
    processes: list[GpuProcess] = Field(default_factory=list)
    docker: DockerInfo | None = None
    containers: list[ManagedContainer] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    """Parser diagnostics that did not stop the probe (an unknown field, an [N/A] value)."""
    probe_seconds: float | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def accelerator(self) -> str:
        """The label value gpuctl adds to the host: nvidia, ascend, amd or none."""
        return self.devices[0].vendor if self.devices else "none"


class Inventory(Fact):
    """Facts of every host of one or more clusters at one moment: `gpuctl inventory --save`."""

    format_version: int = 1
    taken_at: str
    """ISO 8601 UTC time of the probe."""
    hosts: list[HostFacts]
    fingerprint: str = ""
    """sha256 over the canonical JSON of `hosts` (see gpuctl.probe.snapshot); a saved plan records
    it so apply can refuse a plan made from facts that have changed."""
