"""Host profiles of the sandbox: the simulated machines, as plain data.

A profile says what a host looks like to anything that probes it: its accelerators (name, memory,
compute capability, bus ids, MIG layout), driver and toolkit versions, CPUs, RAM, distro, kernel and
architecture. The simulated vendor tools (`gpuctl.sandbox.simtools`) print these values in the
formats of the real captures in tests/data/fixtures/, and tests compare what the prober finds with
the profile it came from.

Values are taken from the real captures where one exists (H100, H100 MIG slices, 910B3, A100-40GB
table, RTX 40-series field list); otherwise from vendor data sheets. Idle readings (temperature,
power, performance state) are fixed so that output is reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Vendor = Literal["nvidia", "ascend", "amd"]


@dataclass(frozen=True)
class MigSlice:
    """One MIG instance of a GPU, with the figures `nvidia-smi` prints in its "MIG devices" table."""

    profile: str
    """e.g. "3g.40gb"."""
    memory_mib: int
    bar1_mib: int
    sm: int
    engines: tuple[int, int, int, int, int]
    """CE, ENC, DEC, OFA, JPG counts."""
    gpu_instance: int
    compute_instance: int = 0


@dataclass(frozen=True)
class Accelerator:
    """A kind of accelerator board and how its vendor tool shows it when idle."""

    vendor: Vendor
    name: str
    """Product name as the vendor tool prints it ("NVIDIA H100 80GB HBM3", "910B3", ...)."""
    memory_mib: int
    compute_capability: str | None = None
    pci_device_id: str = ""
    """NVIDIA `pci.device_id` ("0x233010DE"), AMD device id ("0x74a1")."""
    pci_sub_device_id: str = ""
    power_limit_w: int = 0
    idle_power_w: float = 0.0
    idle_temp_c: int = 30
    idle_pstate: str = "P0"
    fan: str = "N/A"
    """Fan speed column of the nvidia-smi table: "N/A" on passively cooled boards, "0%" otherwise."""
    persistence: bool = True
    display_active: bool = False
    ecc: str = "0"
    """Volatile uncorrected ECC column of the nvidia-smi table: "0", or "N/A" without ECC."""
    field_template: str = "h100"
    """Which captured `--query-gpu` field set (gpuctl/sandbox/assets/nvidia_fields.json) answers
    queries for this board: the driver's field list and the values nothing here overrides."""
    chip_name: str = ""
    """Ascend chip name of `npu-smi info -m` ("Ascend 910B3")."""
    aicore_count: int = 0
    gfx_version: str = ""
    """AMD `GFX Version` (gfx942)."""


@dataclass(frozen=True)
class DeviceSlot:
    """One accelerator installed in a host."""

    accelerator: Accelerator
    bus_id: str
    """PCI address as the vendor tool prints it, e.g. "00000000:18:00.0" (NVIDIA), "0000:C1:00.0"."""
    mig: tuple[MigSlice, ...] = ()
    """MIG instances, in `nvidia-smi -L` order; empty when MIG mode is disabled."""


@dataclass(frozen=True)
class Distro:
    """What /etc/os-release says."""

    pretty_name: str
    name: str
    id: str
    version_id: str
    version: str
    codename: str
    id_like: str = ""


@dataclass(frozen=True)
class Profile:
    name: str
    short: str
    """Used in host names: <sandbox>-<short>-<n>."""
    description: str
    cpus: int
    memory_gib: int
    distro: Distro
    kernel: str
    arch: str = "x86_64"
    """`uname -m`."""
    devices: tuple[DeviceSlot, ...] = ()
    nvidia_driver: str | None = None
    cuda_version: str | None = None
    npu_smi_version: str | None = None
    ascend_driver: str | None = None
    cann_version: str | None = None
    rocm_version: str | None = None

    @property
    def vendor(self) -> Vendor | None:
        return self.devices[0].accelerator.vendor if self.devices else None


UBUNTU_2204 = Distro(
    pretty_name="Ubuntu 22.04.5 LTS",
    name="Ubuntu",
    id="ubuntu",
    version_id="22.04",
    version="22.04.5 LTS (Jammy Jellyfish)",
    codename="jammy",
    id_like="debian",
)
UBUNTU_2404 = Distro(
    pretty_name="Ubuntu 24.04.2 LTS",
    name="Ubuntu",
    id="ubuntu",
    version_id="24.04",
    version="24.04.2 LTS (Noble Numbat)",
    codename="noble",
    id_like="debian",
)
DEBIAN_12 = Distro(
    pretty_name="Debian GNU/Linux 12 (bookworm)",
    name="Debian GNU/Linux",
    id="debian",
    version_id="12",
    version="12 (bookworm)",
    codename="bookworm",
)

H100 = Accelerator(
    vendor="nvidia",
    name="NVIDIA H100 80GB HBM3",
    memory_mib=81559,
    compute_capability="9.0",
    pci_device_id="0x233010DE",
    pci_sub_device_id="0x16C110DE",
    power_limit_w=700,
    idle_power_w=69,
    idle_temp_c=41,
)
A100_40G = Accelerator(
    vendor="nvidia",
    name="NVIDIA A100-SXM4-40GB",
    memory_mib=40960,
    compute_capability="8.0",
    pci_device_id="0x20B010DE",
    pci_sub_device_id="0x134F10DE",
    power_limit_w=400,
    idle_power_w=52,
    idle_temp_c=32,
    persistence=False,
)
RTX_4090 = Accelerator(
    vendor="nvidia",
    name="NVIDIA GeForce RTX 4090",
    memory_mib=24564,
    compute_capability="8.9",
    pci_device_id="0x268410DE",
    pci_sub_device_id="0x16F110DE",
    power_limit_w=450,
    idle_power_w=18,
    idle_temp_c=36,
    idle_pstate="P8",
    fan="0%",
    persistence=False,
    ecc="N/A",
    field_template="geforce",
)
ASCEND_910B3 = Accelerator(
    vendor="ascend",
    name="910B3",
    memory_mib=65536,
    power_limit_w=400,
    idle_power_w=92.0,
    idle_temp_c=40,
    chip_name="Ascend 910B3",
    aicore_count=20,
)
MI300X = Accelerator(
    vendor="amd",
    name="AMD Instinct MI300X",
    memory_mib=196592,
    pci_device_id="0x74a1",
    pci_sub_device_id="0x74a1",
    power_limit_w=750,
    idle_power_w=131.0,
    idle_temp_c=38,
    gfx_version="gfx942",
)

# The MIG layout of the real H100 capture (nvidia/list/nge__linux-x86_64__nvidia-h100-mig__590.48.01).
H100_MIG_LAYOUT = (
    MigSlice("3g.40gb", 40448, 24739, 60, (3, 0, 3, 0, 3), gpu_instance=2),
    MigSlice("2g.20gb", 20096, 12369, 32, (2, 0, 2, 0, 2), gpu_instance=3),
    MigSlice("1g.10gb", 9984, 6184, 16, (1, 0, 1, 0, 1), gpu_instance=9),
    MigSlice("1g.10gb", 9984, 6184, 16, (1, 0, 1, 0, 1), gpu_instance=10),
)

HGX_BUS_IDS = ("18", "2A", "3A", "5D", "9A", "AB", "BA", "DB")
ATLAS_BUS_IDS = ("C1", "C2", "81", "82", "01", "02", "41", "42")  # the 910B3 capture's order


def _nvidia_slots(accelerator: Accelerator, buses: tuple[str, ...]) -> tuple[DeviceSlot, ...]:
    return tuple(DeviceSlot(accelerator, f"00000000:{bus}:00.0") for bus in buses)


PROFILES: dict[str, Profile] = {
    profile.name: profile
    for profile in (
        Profile(
            name="nvidia-8xh100",
            short="h100",
            description="HGX H100: 8 × H100 80GB HBM3, driver 590.48.01 / CUDA 13.1",
            cpus=224,
            memory_gib=2048,
            distro=UBUNTU_2204,
            kernel="5.15.0-185-generic",
            devices=_nvidia_slots(H100, HGX_BUS_IDS),
            nvidia_driver="590.48.01",
            cuda_version="13.1",
        ),
        Profile(
            name="nvidia-4xa100-40g",
            short="a100",
            description="DGX A100 half: 4 × A100-SXM4-40GB, driver 570.133.20 / CUDA 12.8",
            cpus=128,
            memory_gib=1024,
            distro=UBUNTU_2204,
            kernel="5.15.0-131-generic",
            devices=_nvidia_slots(A100_40G, ("07", "0F", "47", "4E")),
            nvidia_driver="570.133.20",
            cuda_version="12.8",
        ),
        Profile(
            name="nvidia-2xrtx4090",
            short="rtx4090",
            description="Workstation: 2 × GeForce RTX 4090, driver 595.71.05 / CUDA 13.2",
            cpus=32,
            memory_gib=128,
            distro=UBUNTU_2404,
            kernel="6.8.0-60-generic",
            devices=_nvidia_slots(RTX_4090, ("01", "02")),
            nvidia_driver="595.71.05",
            cuda_version="13.2",
        ),
        Profile(
            name="nvidia-h100-mig",
            short="h100mig",
            description="2 × H100 80GB HBM3: GPU 0 as MIG 3g.40gb + 2g.20gb + 2 × 1g.10gb, GPU 1 whole",
            cpus=64,
            memory_gib=512,
            distro=UBUNTU_2204,
            kernel="5.15.0-185-generic",
            devices=(
                DeviceSlot(H100, "00000000:00:09.0", mig=H100_MIG_LAYOUT),
                DeviceSlot(H100, "00000000:00:0A.0"),
            ),
            nvidia_driver="590.48.01",
            cuda_version="13.1",
        ),
        Profile(
            name="ascend-8x910b",
            short="910b",
            description="Atlas 800I A2: 8 × Ascend 910B3 64 GB HBM, npu-smi 24.1.rc1.b030, CANN 8.2.RC1",
            cpus=192,
            memory_gib=1024,
            distro=UBUNTU_2204,
            kernel="5.15.0-119-generic",
            devices=tuple(DeviceSlot(ASCEND_910B3, f"0000:{bus}:00.0") for bus in ATLAS_BUS_IDS),
            npu_smi_version="24.1.rc1.b030",
            ascend_driver="24.1.rc1",
            cann_version="8.2.RC1",
        ),
        Profile(
            name="amd-8xmi300x",
            short="mi300x",
            description="8 × AMD Instinct MI300X 192 GB, ROCm 7.0.0",
            cpus=256,
            memory_gib=2048,
            distro=UBUNTU_2204,
            kernel="5.15.0-141-generic",
            devices=tuple(
                DeviceSlot(MI300X, f"0000:{bus}:00.0")
                for bus in ("05", "15", "65", "75", "85", "95", "E5", "F5")
            ),
            rocm_version="7.0.0",
        ),
        Profile(
            name="cpu",
            short="cpu",
            description="CPU-only server: 16 cores, 64 GiB, no accelerator",
            cpus=16,
            memory_gib=64,
            distro=DEBIAN_12,
            kernel="6.1.0-37-amd64",
        ),
    )
}

DEFAULT_HOSTS = ("nvidia-8xh100", "ascend-8x910b", "cpu")
"""The demo fleet: every backend has a host it fits (vLLM/SGLang/VoxBox on H100, MindIE on
Ascend, llama-box on CPU)."""
