"""The sandbox's image registry: Debian's `docker-registry` on the sandbox's bridge address.

Each sandbox runs its own registry process on its own gateway address (so its Cluster file can name
`<gateway>:5000` as the mirror). Its storage is the directory of its stub build (under
REGISTRY_STORAGE, named by the build's hash): images built for one sandbox serve the next sandbox
of the same build, and two checkouts with different stubs never overwrite each other's images.
"""

from __future__ import annotations

from pathlib import Path

from gpuctl.sandbox import system
from gpuctl.sandbox.layout import REGISTRY_PORT, REGISTRY_STORAGE


def _config(run_dir: Path) -> Path:
    return run_dir / "registry.yml"


def pid(run_dir: Path) -> int | None:
    return system.read_pid(run_dir / "registry.pid", str(_config(run_dir)))


def answering(address: str) -> bool:
    return system.http_status(address, REGISTRY_PORT, "/v2/") == 200


def ensure(run_dir: Path, address: str, log: Path, storage: Path = REGISTRY_STORAGE) -> None:
    """A registry on `address` serving `storage`: started, or restarted if it serves another."""
    config = (
        "version: 0.1\n"
        "log:\n  level: warn\n"
        f"storage:\n  filesystem:\n    rootdirectory: {storage}\n"
        f"http:\n  addr: {address}:{REGISTRY_PORT}\n"
    )
    running = pid(run_dir)
    if running is not None and answering(address):
        if _config(run_dir).read_text() == config:
            return
        stop(run_dir)
    storage.mkdir(parents=True, exist_ok=True)
    run_dir.mkdir(parents=True, exist_ok=True)
    _config(run_dir).write_text(config)
    started = system.start_background([system.tool("docker-registry"), "serve", str(_config(run_dir))], log)
    (run_dir / "registry.pid").write_text(f"{started}\n")
    system.wait_for(
        lambda: answering(address), 15, f"the registry on {address}:{REGISTRY_PORT} answering", str(log)
    )


def stop(run_dir: Path) -> None:
    running = pid(run_dir)
    if running is not None:
        system.terminate([running], grace=3)
