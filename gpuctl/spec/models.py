"""The spec language: pydantic models are the single source of truth.

Two document kinds, Kubernetes-shaped (`apiVersion`, `kind`, `metadata`, `spec`):

- `Cluster` (files in `inventory/`): the SSH hosts gpuctl manages and how to reach them.
- `ModelDeployment` (files in `specs/`): one model served by one backend on some of those hosts.

Field names are camelCase in YAML (like Kubernetes) and snake_case in Python; `schemas/*.json` are
generated from these classes (`gpuctl schema`), so every `description` and `examples` here is what
an editor shows as hover help.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

API_VERSION = "gpuctl.dev/v1alpha1"

NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
"""DNS-1123 label: deployment, cluster and host names become container names and label values."""

DEVICE_REF_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?:[0-9]+(/[0-9]+)?$"
"""`host:index` for a whole device, `host:index/mig` for a MIG instance of GPU `index`."""

SECRET_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"

Name = Annotated[str, Field(pattern=NAME_PATTERN, min_length=1, max_length=63, examples=["qwen3-8b"])]


class SpecModel(BaseModel):
    """Base of every spec object: camelCase in YAML, unknown fields are errors."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        use_attribute_docstrings=True,
    )


class Metadata(SpecModel):
    name: Name
    """Unique name of this object among the documents of its kind."""
    labels: dict[str, str] = Field(default_factory=dict)
    """Free-form labels for people and tools; gpuctl does not interpret them."""


# --------------------------------------------------------------------------- Cluster


class SshSettings(SpecModel):
    """How gpuctl reaches the hosts of a cluster over SSH. Host entries may override user and port."""

    user: str = Field(default="root", examples=["gpuctl"])
    """Remote user. It must be able to run `docker` (member of the docker group, or root)."""
    port: int = Field(default=22, ge=1, le=65535)
    """SSH port."""
    identity_file: str | None = Field(default=None, examples=["~/.ssh/id_ed25519"])
    """Private key file. Relative paths are relative to this spec file. Default: the SSH agent and
    the usual `~/.ssh/id_*` keys."""
    known_hosts_file: str | None = Field(default=None, examples=["known_hosts"])
    """known_hosts file holding the hosts' keys; relative paths are relative to this spec file.
    Default: `~/.ssh/known_hosts`. Unknown or changed host keys are always refused; run
    `gpuctl trust HOST` to record a key after checking its fingerprint."""
    connect_timeout: float = Field(default=10.0, gt=0, le=600)
    """Seconds to wait for the TCP connection and SSH handshake."""
    command_timeout: float = Field(default=60.0, gt=0, le=3600)
    """Seconds to wait for a remote command (such as the probe) to finish."""


class HostSpec(SpecModel):
    name: Name
    """Host name used in specs (pins, placements) and in output. Unique across all clusters."""
    address: str = Field(min_length=1, examples=["10.0.0.11", "gpu-01.example.com"])
    """IP address or DNS name to connect to."""
    port: int | None = Field(default=None, ge=1, le=65535)
    """SSH port for this host; default `spec.ssh.port`."""
    user: str | None = None
    """SSH user for this host; default `spec.ssh.user`."""
    labels: dict[str, str] = Field(default_factory=dict, examples=[{"zone": "a", "gpu": "h100"}])
    """Labels matched by a deployment's `placement.selector`. gpuctl adds the probed facts `os`,
    `arch` and `accelerator` (nvidia, ascend, amd or none) itself."""


class PortRange(SpecModel):
    """Ports gpuctl may give to backends on each host (host networking)."""

    start: int = Field(default=40000, ge=1024, le=65535)
    end: int = Field(default=40999, ge=1024, le=65535)

    @model_validator(mode="after")
    def _ordered(self) -> PortRange:
        if self.start > self.end:
            raise ValueError(f"start {self.start} is greater than end {self.end}")
        return self


class ClusterSpec(SpecModel):
    ssh: SshSettings = Field(default_factory=SshSettings)
    """SSH defaults for every host of this cluster."""
    hosts: list[HostSpec] = Field(min_length=1)
    """The hosts of this cluster."""
    registry_mirror: str | None = Field(default=None, examples=["registry.example.com:5000"])
    """Registry that mirrors Docker Hub: every image `NAMESPACE/REPO:TAG` is pulled as
    `MIRROR/NAMESPACE/REPO:TAG` instead."""
    model_dir: str = Field(default="/var/lib/gpuctl/models", examples=["/data/models"])
    """Directory on each host where model files are downloaded and cached (mounted into backends)."""
    port_range: PortRange = Field(default_factory=PortRange)
    """Ports gpuctl may assign to backends."""


class Cluster(SpecModel):
    """A set of SSH hosts gpuctl manages."""

    api_version: Literal["gpuctl.dev/v1alpha1"] = API_VERSION
    kind: Literal["Cluster"] = "Cluster"
    metadata: Metadata
    spec: ClusterSpec


# --------------------------------------------------------------------------- ModelDeployment

BackendName = Literal["auto", "vllm", "sglang", "mindie", "voxbox", "llama-box"]


class ModelSource(SpecModel):
    """Where the model comes from: exactly one of `huggingface`, `modelscope` or `local`."""

    huggingface: str | None = Field(default=None, pattern=r"^[\w.-]+/[\w.-]+$", examples=["Qwen/Qwen3-8B"])
    """Hugging Face repository id."""
    modelscope: str | None = Field(default=None, pattern=r"^[\w.-]+/[\w.-]+$", examples=["Qwen/Qwen3-8B"])
    """ModelScope repository id."""
    local: str | None = Field(default=None, pattern=r"^/", examples=["/data/models/Qwen3-8B"])
    """Absolute path of a model directory or file that already exists on the hosts."""
    revision: str | None = Field(default=None, examples=["main", "0a1b2c3"])
    """Branch, tag or commit of a hub repository; `gpuctl lock` pins it to a commit."""
    file: str | None = Field(default=None, examples=["*Q4_K_M.gguf", "qwen3-8b-q4_k_m.gguf"])
    """GGUF file name or glob pattern inside the repository or local directory. Setting it makes
    the deployment a GGUF (llama-box) model."""

    @model_validator(mode="after")
    def _exactly_one_source(self) -> ModelSource:
        given = [k for k in ("huggingface", "modelscope", "local") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError(
                "set exactly one of huggingface, modelscope or local"
                + (f" (found {', '.join(given)})" if given else "")
            )
        if self.local and self.revision:
            raise ValueError("revision applies to hub sources, not to a local path")
        return self

    @property
    def kind(self) -> Literal["huggingface", "modelscope", "local"]:
        if self.huggingface:
            return "huggingface"
        if self.modelscope:
            return "modelscope"
        return "local"

    @property
    def ref(self) -> str:
        """The repository id or local path."""
        return self.huggingface or self.modelscope or self.local or ""


class Placement(SpecModel):
    """Where replicas may run and how they are spread."""

    selector: dict[str, str] = Field(default_factory=dict, examples=[{"gpu": "h100"}])
    """Hosts must carry all these labels (host labels from the Cluster plus the probed `os`,
    `arch` and `accelerator`)."""
    hosts: list[Name] = Field(default_factory=list, examples=[["gpu-01", "gpu-02"]])
    """Only these hosts may run replicas."""
    devices: list[Annotated[str, Field(pattern=DEVICE_REF_PATTERN)]] = Field(
        default_factory=list, examples=[["gpu-01:0", "gpu-01:1"], ["gpu-02:0/1"]]
    )
    """Pin replicas to exactly these devices, as `host:index` (or `host:index/mig` for a MIG
    instance). One replica uses all pinned devices of one host."""
    strategy: Literal["binpack", "spread"] = "binpack"
    """binpack fills the busiest hosts/devices that still fit first, keeping whole devices free;
    spread prefers the emptiest hosts and puts replicas on different hosts."""
    distributed: bool = False
    """Allow one replica to span several hosts (vLLM with Ray, SGLang multi-node, llama-box RPC)."""
    cpu_offload: bool = False
    """Allow layers (llama-box) or the whole model (VoxBox) to run on the CPU when devices are
    short."""
    allow_overcommit: bool = False
    """Place on pinned devices even when the estimate says they cannot hold the model."""


class SecretRef(SpecModel):
    """A secret value read at apply time from the environment of the machine running gpuctl. It is
    never written to specs, plans, labels or logs."""

    from_env: str = Field(pattern=SECRET_NAME_PATTERN, examples=["HF_TOKEN"])
    """Name of the environment variable that holds the value."""


class Readiness(SpecModel):
    timeout: int | None = Field(default=None, ge=1, le=86400, examples=[1800])
    """Seconds to wait for the backend to answer its readiness endpoint after start; model loading
    takes minutes on real hardware. Default: the backend's own default."""


class ModelDeploymentSpec(SpecModel):
    cluster: Name | None = None
    """Cluster to deploy to; may be left out when there is exactly one cluster."""
    model: ModelSource
    """The model to serve."""
    served_name: str | None = Field(default=None, examples=["qwen3-8b"])
    """Model name clients use in API requests; default: the deployment name."""
    backend: BackendName = "auto"
    """Inference backend. `auto`: GGUF files → llama-box; known speech models → voxbox; image
    (diffusion) models → sglang; everything else → vllm."""
    backend_version: str | None = Field(default=None, examples=["0.11.0"])
    """Backend version; selects the default image tag. Default: gpuctl's pinned version."""
    image: str | None = Field(default=None, examples=["vllm/vllm-openai:v0.11.0"])
    """Explicit container image; overrides the default image and backendVersion."""
    replicas: int = Field(default=1, ge=0, le=1024)
    """Number of independent copies of the backend."""
    placement: Placement = Field(default_factory=Placement)
    """Where replicas may run."""
    parameters: list[str] = Field(
        default_factory=list,
        examples=[["--max-model-len=32768", "--enable-prefix-caching"]],
    )
    """Backend command-line flags, passed through unchanged. Flags gpuctl owns (host, port,
    served name, parallel sizes decided by placement) are refused unless they agree."""
    env: dict[Annotated[str, Field(pattern=SECRET_NAME_PATTERN)], str] = Field(
        default_factory=dict, examples=[{"VLLM_LOGGING_LEVEL": "DEBUG"}]
    )
    """Environment variables for the backend container. Never put secrets here: use `secrets`."""
    secrets: dict[Annotated[str, Field(pattern=SECRET_NAME_PATTERN)], SecretRef] = Field(
        default_factory=dict, examples=[{"HF_TOKEN": {"fromEnv": "HF_TOKEN"}}]
    )
    """Environment variables whose values are read, at apply time, from the environment of the
    machine running gpuctl. `HF_TOKEN` / `MODELSCOPE_API_TOKEN` are also used to resolve model
    metadata."""
    readiness: Readiness = Field(default_factory=Readiness)
    """How long to wait for the backend to become ready."""


class ModelDeployment(SpecModel):
    """One model served by one backend, `replicas` times, on hosts of a cluster."""

    api_version: Literal["gpuctl.dev/v1alpha1"] = API_VERSION
    kind: Literal["ModelDeployment"] = "ModelDeployment"
    metadata: Metadata
    spec: ModelDeploymentSpec


KINDS: dict[str, type[Cluster] | type[ModelDeployment]] = {
    "Cluster": Cluster,
    "ModelDeployment": ModelDeployment,
}

Document = Cluster | ModelDeployment


def parse_device_ref(ref: str) -> tuple[str, str]:
    """Split `host:index[/mig]` into (host, device key)."""
    match = re.fullmatch(r"([^:]+):(.+)", ref)
    if not match:
        raise ValueError(f"{ref!r} is not host:index")
    return match.group(1), match.group(2)
