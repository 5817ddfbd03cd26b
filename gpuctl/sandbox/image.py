"""The stub backend image: busybox-static plus the stub scripts, imported with `docker import` and
pushed to the sandbox registry under every default image name gpuctl may pull.

The rootfs tar is built in memory with fixed timestamps, so its hash (with the image list) names
the build: the registry storage, shared by all sandboxes of the machine, records the hash of what
it holds and a second `up` or a second sandbox skips the build.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path

from gpuctl.backends.images import all_default_images, with_mirror
from gpuctl.sandbox import system

STUB = "/usr/local/bin/gpuctl-stub"
HANDLER = "/usr/local/lib/gpuctl-stub/handler"
BACKEND_COMMANDS = (
    "vllm",
    "python3",
    "python",
    "sglang",
    "vox-box",
    "llama-box",
    "mindieservice_daemon",
    "tini",
    "ray",
)
MINDIE_DAEMON = "/usr/local/Ascend/mindie/latest/mindie-service/bin/mindieservice_daemon"
STAMP = "gpuctl-stub-image"
BASH = (
    b'#!/bin/sh\n# The backends run bash scripts (MindIE); busybox ash runs them here.\nexec /bin/sh "$@"\n'
)
"""busybox has no bash applet: /bin/bash hands its arguments to ash."""


def image_names() -> list[str]:
    """Every image the registry carries, as Docker Hub references (`library/busybox` included)."""
    return [*all_default_images(), "library/busybox:latest"]


def rootfs() -> bytes:
    """The stub image's filesystem as an uncompressed tar."""
    busybox = Path(system.tool("busybox"))
    applets = system.run([str(busybox), "--list"]).split()
    assets = resources.files("gpuctl.sandbox") / "assets"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:

        def add(path: str, *, data: bytes | None = None, link: str | None = None, mode: int = 0o755) -> None:
            info = tarfile.TarInfo(path.lstrip("/"))
            info.mode = mode
            if link is not None:
                info.type, info.linkname = tarfile.SYMTYPE, link
                tar.addfile(info)
            elif data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))

        for directory in ("bin", "etc", "root", "usr", "usr/local", "usr/local/bin", "usr/local/lib"):
            add(directory)
        add("tmp", mode=0o1777)
        add("bin/busybox", data=busybox.read_bytes())
        add("bin/bash", data=BASH)
        for applet in applets:
            if applet != "busybox":
                add(f"bin/{applet}", link="busybox")
        add("etc/passwd", data=b"root:x:0:0:root:/root:/bin/sh\n", mode=0o644)
        add("etc/group", data=b"root:x:0:\n", mode=0o644)
        add("usr/local/lib/gpuctl-stub")
        add(HANDLER, data=(assets / "stub-handler.sh").read_bytes())
        add(STUB, data=(assets / "stub.sh").read_bytes())
        for command in BACKEND_COMMANDS:
            add(f"usr/local/bin/{command}", link="gpuctl-stub")
        parts = MINDIE_DAEMON.strip("/").split("/")
        for depth in range(3, len(parts)):
            add("/".join(parts[:depth]))
        add(MINDIE_DAEMON, link=STUB)
    return buffer.getvalue()


def build_id(tar: bytes) -> str:
    digest = hashlib.sha256(tar)
    digest.update("\n".join(image_names()).encode())
    return digest.hexdigest()


def ensure_pushed(docker: list[str], mirror: str, storage: Path) -> bool:
    """Build the stub image with `docker` (a CLI bound to one sandbox dockerd) and push it under every
    name behind `mirror`, unless the registry storage already holds this build. True if it pushed."""
    tar = rootfs()
    ident = build_id(tar)
    stamp = storage / STAMP
    if stamp.exists() and stamp.read_text().strip() == ident:
        return False
    refs = [with_mirror(name, mirror) for name in image_names()]
    changes = ["--change", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    changes += ["--change", 'CMD ["/bin/sh"]']
    system.run([*docker, "import", *changes, "-", refs[0]], input=tar, timeout=120)
    for ref in refs[1:]:
        system.run([*docker, "tag", refs[0], ref])
    # The first push to a repository uploads the layer; concurrent uploads of one blob race in the
    # registry's storage, so those go one by one and the remaining tags (manifests only) in parallel.
    firsts = list({ref.rsplit(":", 1)[0]: ref for ref in reversed(refs)}.values())
    for ref in firsts:
        system.run([*docker, "push", ref], timeout=120)
    with ThreadPoolExecutor(max_workers=4) as pool:
        rest = [ref for ref in refs if ref not in firsts]
        list(pool.map(lambda ref: system.run([*docker, "push", ref], timeout=120), rest))
    # The build host's own image store stays as empty as every other host's.
    system.run([*docker, "rmi", *refs])
    stamp.write_text(ident + "\n")
    return True
