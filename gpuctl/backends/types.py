"""ContainerSpec: what a backend renders and apply runs (one container on one host).

The plan diffs desired ContainerSpecs against observed ManagedContainers by identity (cluster,
deployment, replica, role) and by `spec_hash()`. Apply turns a ContainerSpec into one quoted
`docker run` command line; nothing else about a container is decided at apply time, except the
secret values, which are read from the local environment then and never stored.
"""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gpuctl import labels


class ContainerValue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Mount(ContainerValue):
    source: str
    """Path on the host."""
    target: str
    """Path in the container."""
    read_only: bool = False


class HostFile(ContainerValue):
    """A file apply writes on the host before the container starts (e.g. MindIE's config.json),
    usually bind-mounted into the container. Its content is part of the spec hash."""

    path: str
    content: str
    mode: int = 0o644


class Readiness(ContainerValue):
    """How apply and `gpuctl status` know the backend serves: GET http://ADDRESS:port/path → 200."""

    path: str
    port: int
    timeout: int
    """Seconds to wait after start before the change counts as failed."""
    address: str | None = None
    """Where to poll; None: the container's own host. Workers of a replica that spans hosts (Ray
    workers, SGLang nodes of rank > 0, llama-box RPC servers) serve no HTTP themselves: their
    readiness is the leader's API, so apply starts every container of such a replica before it
    waits on any of them."""


class ModelFetch(ContainerValue):
    """Model files apply downloads on the host before the container starts.

    Only for backends that cannot download by themselves (MindIE, llama-box); vLLM, SGLang and
    VoxBox fetch into the cluster's `modelDir` cache on their own. The files land in `target`, a
    directory under `modelDir` laid out as `<modelDir>/<source>/<org>/<name>/<revision>`.
    """

    source: Literal["huggingface", "modelscope"]
    repo: str
    """Repository id, e.g. "Qwen/Qwen3-8B-GGUF"."""
    revision: str | None = None
    """Commit (pinned by `gpuctl lock`) or branch; None: the default branch."""
    files: list[str] = Field(default_factory=list)
    """Paths inside the repository to fetch; empty: the whole repository."""
    target: str
    """Host directory the files are downloaded into (`huggingface_hub` `local_dir`)."""


class ContainerSpec(ContainerValue):
    name: str
    """Container name: gpuctl-<deployment>-<replica>[-<role>] (unique per host)."""
    host: str
    image: str
    """Fully qualified image reference with the registry mirror applied."""
    entrypoint: list[str] | None = None
    """Overrides the image entrypoint when set."""
    command: list[str]
    """Arguments after the image, e.g. ["vllm", "serve", "/models/...", "--port", "40000"]."""
    env: dict[str, str] = Field(default_factory=dict)
    secret_env: dict[str, str] = Field(default_factory=dict)
    """Container variable → name of the local environment variable holding its value."""
    gpus: list[str] = Field(default_factory=list)
    """NVIDIA: `--gpus "device=..."` ids (GPU index or MIG UUID)."""
    runtime: str | None = None
    """Docker runtime, e.g. "ascend" on Ascend hosts."""
    devices: list[str] = Field(default_factory=list)
    """Device nodes passed with --device (AMD /dev/kfd, /dev/dri/renderD128; Ascend /dev/davinci0)."""
    mounts: list[Mount] = Field(default_factory=list)
    files: list[HostFile] = Field(default_factory=list)
    fetch: ModelFetch | None = None
    """Model files apply must download before starting the container (see ModelFetch)."""
    shm_size: int | None = None
    """Bytes of /dev/shm (NCCL and PyTorch workers need more than Docker's 64 MiB)."""
    ipc_host: bool = False
    privileged: bool = False
    port: int
    readiness: Readiness
    labels: dict[str, str] = Field(default_factory=dict)
    """gpuctl's identity labels (gpuctl.labels) except the spec hash, which apply adds."""
    claimed_memory: int = 0
    """Bytes of device memory claimed on each device; recorded in the gpuctl.memory label."""

    def spec_hash(self) -> str:
        """Stable hash of everything that defines the container (labels' own hash excluded).

        Secret *names* are included (adding a secret changes the container); secret values are
        not (they are never known to the planner). The memory claim is bookkeeping for the
        scheduler, not part of what runs: a new estimate (a gpuctl upgrade) must not restart a
        running backend, so the claim and its label are left out.
        """
        data = self.model_dump(mode="json", exclude={"labels", "claimed_memory"})
        data["labels"] = {k: v for k, v in sorted(self.labels.items()) if k != labels.MEMORY}
        blob = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(blob).hexdigest()[:16]
