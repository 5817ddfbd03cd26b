"""What a sandbox host says about itself: `nproc`, `uname`, and the files bind-mounted over the real
ones in its mount namespace (/etc/os-release, /proc/meminfo, the Ascend and ROCm version files).

`hostname` needs no simulation: each host has its own UTS namespace.
"""

from __future__ import annotations

from gpuctl.sandbox.profiles import Profile

KIB_PER_GIB = 1024 * 1024


def nproc(profile: Profile, args: list[str]) -> tuple[str, int]:
    ignore = 0
    for arg in args:
        if arg.startswith("--ignore="):
            ignore = int(arg.split("=", 1)[1])
        elif arg != "--all":
            return f"nproc: unrecognized option '{arg}'\n", 1
    return f"{max(profile.cpus - ignore, 1)}\n", 0


def uname(profile: Profile, hostname: str, args: list[str]) -> tuple[str, int]:
    """GNU uname: fields in the fixed order s n r v m p i o whatever order the flags come in."""
    fields = {
        "s": "Linux",
        "n": hostname,
        "r": profile.kernel,
        "v": "#1 SMP PREEMPT_DYNAMIC",
        "m": profile.arch,
        "p": profile.arch,
        "i": profile.arch,
        "o": "GNU/Linux",
    }
    long = {
        "--kernel-name": "s",
        "--nodename": "n",
        "--kernel-release": "r",
        "--kernel-version": "v",
        "--machine": "m",
        "--processor": "p",
        "--hardware-platform": "i",
        "--operating-system": "o",
    }
    wanted: set[str] = set()
    for arg in args:
        if arg in ("-a", "--all"):
            wanted |= set("snrvmo")
        elif arg in long:
            wanted.add(long[arg])
        elif arg.startswith("-") and not arg.startswith("--") and set(arg[1:]) <= set(fields):
            wanted |= set(arg[1:])
        else:
            return f"uname: invalid option -- '{arg.lstrip('-')}'\n", 1
    return " ".join(fields[key] for key in "snrvmpio" if key in (wanted or {"s"})) + "\n", 0


def os_release(profile: Profile) -> str:
    d = profile.distro
    lines = [
        f'PRETTY_NAME="{d.pretty_name}"',
        f'NAME="{d.name}"',
        f'VERSION_ID="{d.version_id}"',
        f'VERSION="{d.version}"',
        f"VERSION_CODENAME={d.codename}",
        f"ID={d.id}",
    ]
    if d.id_like:
        lines.append(f"ID_LIKE={d.id_like}")
    return "\n".join(lines) + "\n"


def meminfo(profile: Profile) -> str:
    """/proc/meminfo of an idle host with the profile's RAM (the kernel's `%-16s%8lu kB` layout)."""
    total = profile.memory_gib * KIB_PER_GIB
    values = {
        "MemTotal": total,
        "MemFree": total * 90 // 100,
        "MemAvailable": total * 95 // 100,
        "Buffers": total // 200,
        "Cached": total * 4 // 100,
        "SwapCached": 0,
        "Active": total * 3 // 100,
        "Inactive": total * 2 // 100,
        "SwapTotal": 0,
        "SwapFree": 0,
        "Dirty": 0,
        "Shmem": total // 1000,
        "HugePages_Total": 0,
        "HugePages_Free": 0,
        "Hugepagesize": 2048,
    }
    lines = []
    for key, value in values.items():
        unit = "" if key.startswith("HugePages_") else " kB"
        lines.append(f"{key + ':':<16}{value:>8}{unit}")
    return "\n".join(lines) + "\n"


def files(profile: Profile) -> dict[str, str]:
    """Vendor files a prober reads for driver and toolkit versions, by absolute path."""
    arch = profile.arch
    found: dict[str, str] = {}
    if profile.ascend_driver:
        found["/usr/local/Ascend/driver/version.info"] = (
            f"Version={profile.ascend_driver}\nascendhal_version=7.35.23\n"
            f"package_version={profile.ascend_driver}\n"
        )
    if profile.cann_version:
        toolkit = "/usr/local/Ascend/ascend-toolkit/latest"
        found[f"{toolkit}/version.cfg"] = (
            "# version: 1.0\n"
            f"runtime_running_version=[7.7.0.1.238:{profile.cann_version}]\n"
            f"compiler_running_version=[7.7.0.1.238:{profile.cann_version}]\n"
        )
        found[f"{toolkit}/{arch}-linux/ascend_toolkit_install.info"] = (
            f"package_name=Ascend-cann-toolkit\nversion={profile.cann_version}\n"
            f"innerversion=V100R001C22SPC001B238\narch={arch}\nos=linux\n"
            f"path=/usr/local/Ascend/ascend-toolkit/{profile.cann_version}/{arch}-linux\n"
        )
    if profile.rocm_version:
        found["/opt/rocm/.info/version"] = f"{profile.rocm_version}-38\n"
    return found
