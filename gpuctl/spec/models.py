"""The spec language: pydantic models are the single source of truth.

Two document kinds, Kubernetes-shaped (`apiVersion`, `kind`, `metadata`, `spec`):

- `Cluster` (files in `inventory/`): the SSH hosts gpuctl manages and how to reach them.
- `ModelDeployment` (files in `specs/`): one model served by one backend on some of those hosts.

Field names are camelCase in YAML (like Kubernetes) and snake_case in Python; `schemas/*.json` are
generated from these classes (`gpuctl schema`), so every `description` and `examples` here is what
an editor shows as hover help and what the README's spec reference says. Descriptions are given
with `Field(description=...)` rather than attribute docstrings: reading those costs ~15 ms of
start-up on every command.

Checks the JSON Schema cannot express (exactly one model source, literal secrets, ...) are
validators here. They raise `spec_error`, which can point at a field below the model being
validated, so the loader reports each problem at its own line and column.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from gpuctl.spec.secrets import literal_secrets, secret_shape

API_VERSION: Final = "gpuctl.dev/v1alpha1"

NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
"""DNS-1123 label: deployment, cluster and host names become container names and label values."""

DEVICE_REF_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?:[0-9]+(/[0-9]+)?$"
"""`host:index` for a whole device, `host:index/mig` for a MIG instance of GPU `index`."""

SECRET_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
"""An environment variable name (used for `env`, `secrets` and `fromEnv`)."""

REPO_PATTERN = r"^[\w.-]+/[\w.-]+$"
ABSOLUTE_PATH_PATTERN = r"^/"
GGUF_FILE_PATTERN = r"\.gguf$"
REGISTRY_PATTERN = r"^[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._-]+)*$"
LABEL_KEY_PATTERN = r"^[A-Za-z0-9]([A-Za-z0-9._/-]*[A-Za-z0-9])?$"
ADDRESS_PATTERN = r"^[^\s/@]+$"

PATTERN_MEANINGS: dict[str, str] = {
    NAME_PATTERN: "a DNS-1123 name: lower-case letters, digits and '-', starting and ending with a "
    "letter or digit, at most 63 characters",
    DEVICE_REF_PATTERN: "a device as HOST:INDEX (e.g. gpu-01:0), or HOST:INDEX/MIG for a MIG instance "
    "(e.g. gpu-01:0/1)",
    SECRET_NAME_PATTERN: "an environment variable name: letters, digits and '_', not starting with a digit",
    REPO_PATTERN: "a repository id ORG/NAME, e.g. Qwen/Qwen3-8B",
    ABSOLUTE_PATH_PATTERN: "an absolute path, starting with /",
    GGUF_FILE_PATTERN: "a GGUF file name or glob ending in .gguf, e.g. *Q4_K_M.gguf",
    REGISTRY_PATTERN: "a registry as HOST[:PORT][/PATH], without https://, e.g. registry.example.com:5000",
    ADDRESS_PATTERN: "an IP address or DNS name, without user, port or scheme",
    LABEL_KEY_PATTERN: "a label key: letters, digits, '.', '_', '-' and '/', starting and ending with a "
    "letter or digit",
}
"""What each pattern means, in words, for diagnostics and the spec reference."""

PROBED_LABELS: dict[str, tuple[str, ...]] = {
    "os": ("linux",),
    "arch": ("amd64", "arm64"),
    "accelerator": ("nvidia", "ascend", "amd", "none"),
}
"""Host labels gpuctl sets from probed facts, with the values a probe can report."""

_ARCH_ALIASES = {"x86_64": "amd64", "x86-64": "amd64", "x64": "amd64", "aarch64": "arm64"}

RESERVED_ENV = frozenset(
    {
        "CUDA_VISIBLE_DEVICES",
        "NVIDIA_VISIBLE_DEVICES",
        "ASCEND_VISIBLE_DEVICES",
        "ASCEND_RT_VISIBLE_DEVICES",
        "HIP_VISIBLE_DEVICES",
        "ROCR_VISIBLE_DEVICES",
        "GPU_DEVICE_ORDINAL",
    }
)
"""Variables gpuctl sets from the placement; a spec that sets them would fight the scheduler."""

Name = Annotated[str, Field(pattern=NAME_PATTERN, min_length=1, max_length=63)]
EnvName = Annotated[str, Field(pattern=SECRET_NAME_PATTERN)]
LabelKey = Annotated[str, Field(pattern=LABEL_KEY_PATTERN, max_length=253)]
Labels = dict[LabelKey, str]

FieldPath = tuple[str | int, ...]


def spec_error(*problems: tuple[FieldPath, str, str | None]) -> PydanticCustomError:
    """The error a validator raises: one or more (path below this model, message, hint).

    pydantic reports one error per validator, located at the model; the loader unpacks the
    problems from the error's context so that each gets its own line, column and hint.
    """
    summary = "; ".join(message for _, message, _ in problems)
    return PydanticCustomError("gpuctl", "{summary}", {"summary": summary, "problems": list(problems)})


_TITLE_WORDS = {
    "ssh": "SSH",
    "cpu": "CPU",
    "api": "API",
    "huggingface": "Hugging Face",
    "modelscope": "ModelScope",
}


def _title(field_name: str, _info: object) -> str:
    """Field titles for the schemas: `served_name` → "Served name", not pydantic's "Servedname"."""
    title = " ".join(_TITLE_WORDS.get(word, word) for word in field_name.split("_"))
    return title[:1].upper() + title[1:]


class SpecModel(BaseModel):
    """Base of every spec object: camelCase in YAML, unknown fields are errors."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        field_title_generator=_title,
    )


class Metadata(SpecModel):
    """Name and labels of a document."""

    name: Name = Field(
        description="Unique name of this object among the documents of its kind (host names, too, are "
        "unique across all clusters).",
        examples=["qwen3-8b"],
    )
    labels: Labels = Field(
        default_factory=dict,
        description="Free-form labels for people and tools; gpuctl does not interpret them.",
        examples=[{"team": "search"}],
    )


# --------------------------------------------------------------------------- Cluster


class SshSettings(SpecModel):
    """How gpuctl reaches the hosts of a cluster over SSH. Host entries may override user and port."""

    model_config = ConfigDict(title="SSH settings")

    user: str = Field(
        default="root",
        min_length=1,
        description="Remote user. It must be able to run `docker` (root, or a member of the docker group).",
        examples=["gpuctl"],
    )
    port: int = Field(default=22, ge=1, le=65535, description="SSH port.")
    identity_file: str | None = Field(
        default=None,
        min_length=1,
        description="Private key file. `~` is your home directory; a relative path is relative to this "
        "spec file. Default: the SSH agent and the usual `~/.ssh/id_*` keys.",
        examples=["~/.ssh/id_ed25519"],
    )
    known_hosts_file: str | None = Field(
        default=None,
        min_length=1,
        description="known_hosts file holding the hosts' keys; a relative path is relative to this spec "
        "file. Default: `~/.ssh/known_hosts`. Unknown or changed host keys are always refused; run "
        "`gpuctl trust HOST` to record a key after checking its fingerprint.",
        examples=["known_hosts"],
    )
    connect_timeout: float = Field(
        default=10.0, gt=0, le=600, description="Seconds to wait for the TCP connection and SSH handshake."
    )
    command_timeout: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="Seconds to wait for a remote command (such as the probe) to finish.",
    )


class HostSpec(SpecModel):
    """One SSH host."""

    model_config = ConfigDict(title="Host")

    name: Name = Field(
        description="Host name used in specs (pins, placements) and in output. Unique across all clusters.",
        examples=["gpu-01"],
    )
    address: str = Field(
        min_length=1,
        pattern=ADDRESS_PATTERN,
        description="IP address or DNS name to connect to (no user, port or scheme: see `user` and `port`).",
        examples=["192.0.2.11", "gpu-01.example.com"],
    )
    port: int | None = Field(
        default=None, ge=1, le=65535, description="SSH port for this host; default `spec.ssh.port`."
    )
    user: str | None = Field(
        default=None, min_length=1, description="SSH user for this host; default `spec.ssh.user`."
    )
    labels: Labels = Field(
        default_factory=dict,
        description="Labels matched by a deployment's `placement.selector`. gpuctl adds the probed facts "
        "`os`, `arch` and `accelerator` (nvidia, ascend, amd or none) itself.",
        examples=[{"zone": "a", "gpu": "h100"}],
    )

    @field_validator("address")
    @classmethod
    def _address(cls, address: str) -> str:
        try:
            ipaddress.ip_address(address)
            return address
        except ValueError:
            pass
        head, sep, port = address.rpartition(":")
        if sep and port.isdigit() and ":" not in head:
            raise spec_error(((), f"{address!r} includes a port", f"write address: {head} and port: {port}"))
        if not re.fullmatch(r"[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9])?\.?", address):  # gpu-01.example.com.
            raise spec_error(((), f"{address!r} is neither an IP address nor a DNS name", None))
        return address

    @field_validator("labels", mode="before")
    @classmethod
    def _no_probed_labels(cls, labels: object) -> object:
        if not isinstance(labels, dict):
            return labels  # the type check says what is wrong
        problems = [
            ((key,), f"label {key!r} is set by gpuctl from what it probes on the host", "remove it")
            for key in labels
            if key in PROBED_LABELS
        ]
        if problems:
            raise spec_error(*problems)
        return labels


class PortRange(SpecModel):
    """Ports gpuctl may give to backends on each host (host networking)."""

    model_config = ConfigDict(title="Port range")

    start: int = Field(default=30000, ge=1024, le=65535, description="First port of the range.")
    end: int = Field(default=30999, ge=1024, le=65535, description="Last port of the range (included).")

    @model_validator(mode="after")
    def _ordered(self) -> PortRange:
        if self.start > self.end:
            raise spec_error(
                (
                    ("start",),
                    f"the range is reversed: start {self.start} is greater than end {self.end}",
                    f"swap them: start: {self.end}, end: {self.start}",
                )
            )
        return self


class ClusterSpec(SpecModel):
    """Hosts of a cluster and how gpuctl uses them."""

    model_config = ConfigDict(title="Cluster spec")

    ssh: SshSettings = Field(default_factory=SshSettings, description="SSH defaults for every host.")
    hosts: list[HostSpec] = Field(min_length=1, description="The hosts of this cluster.")
    registry_mirror: str | None = Field(
        default=None,
        pattern=REGISTRY_PATTERN,
        description="Registry that mirrors Docker Hub: every Docker Hub image `NAMESPACE/REPO:TAG` is "
        "pulled as `MIRROR/NAMESPACE/REPO:TAG` instead.",
        examples=["registry.example.com:5000"],
    )
    model_dir: str = Field(
        default="/var/lib/gpuctl/models",
        pattern=ABSOLUTE_PATH_PATTERN,
        description="Directory on each host where model files are downloaded and cached (mounted into "
        "the backend containers).",
        examples=["/data/models"],
    )
    port_range: PortRange = Field(
        default_factory=PortRange,
        description="Ports gpuctl may assign to backends on each host. Keep it out of the hosts' "
        "ephemeral port range (Linux: 32768-60999, `net.ipv4.ip_local_port_range`) or reserve it "
        "there (`net.ipv4.ip_local_reserved_ports`): a backend cannot bind a port that an outgoing "
        "connection holds. The plan warns when a port it gives out lies in that range.",
    )


class Cluster(SpecModel):
    """A set of SSH hosts gpuctl manages."""

    api_version: Literal["gpuctl.dev/v1alpha1"] = Field(
        default=API_VERSION, description="Version of the spec language."
    )
    kind: Literal["Cluster"] = Field(default="Cluster", description="What this document describes.")
    metadata: Metadata = Field(description="The cluster's name and labels.")
    spec: ClusterSpec = Field(description="The hosts and how to reach them.")


# --------------------------------------------------------------------------- ModelDeployment

BackendName = Literal["auto", "vllm", "sglang", "mindie", "voxbox", "llama-box"]


_COUNTS = {2: "two", 3: "three"}


class ModelSource(SpecModel):
    """Where the model comes from: exactly one of `huggingface`, `modelscope` or `local`."""

    model_config = ConfigDict(title="Model source")

    huggingface: str | None = Field(
        default=None,
        pattern=REPO_PATTERN,
        description="Hugging Face repository id.",
        examples=["Qwen/Qwen3-8B"],
    )
    modelscope: str | None = Field(
        default=None,
        pattern=REPO_PATTERN,
        description="ModelScope repository id.",
        examples=["Qwen/Qwen3-8B"],
    )
    local: str | None = Field(
        default=None,
        pattern=ABSOLUTE_PATH_PATTERN,
        description="Absolute path of a model directory or file that already exists on the hosts.",
        examples=["/data/models/Qwen3-8B"],
    )
    revision: str | None = Field(
        default=None,
        min_length=1,
        description="Branch, tag or commit of a hub repository; `gpuctl lock` pins it to a commit.",
        examples=["main"],
    )
    file: str | None = Field(
        default=None,
        pattern=GGUF_FILE_PATTERN,
        description="GGUF file name or glob pattern inside the repository or local directory. Setting it "
        "makes the deployment a GGUF (llama-box) model.",
        examples=["Qwen3-8B-Q4_K_M.gguf", "*Q4_K_M.gguf"],
    )

    @model_validator(mode="before")
    @classmethod
    def _exactly_one_source(cls, data: object) -> object:
        """Runs on the raw input, so that a source of the wrong type or format (reported by the
        type checks) does not hide that there are two sources, or none."""
        if not isinstance(data, dict):
            return data
        given = [key for key in ("huggingface", "modelscope", "local") if data.get(key) is not None]
        if len(given) > 1:
            raise spec_error(
                (
                    (given[1],),
                    f"the model has {_COUNTS[len(given)]} sources: {', '.join(given[:-1])} and {given[-1]}",
                    "set exactly one of huggingface, modelscope or local",
                )
            )
        if not given and data.keys() <= cls.model_fields.keys():  # else a misspelt key may be the source
            raise spec_error(
                (
                    (),
                    "the model has no source",
                    "set one of huggingface: ORG/NAME, modelscope: ORG/NAME or local: /path",
                )
            )
        if given == ["local"] and data.get("revision") is not None:
            raise spec_error(
                (
                    ("revision",),
                    "revision applies to hub repositories, not to a local path",
                    "remove revision",
                )
            )
        return data

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


DeviceRef = Annotated[str, Field(pattern=DEVICE_REF_PATTERN)]


class Placement(SpecModel):
    """Where replicas may run and how they are spread."""

    selector: Labels = Field(
        default_factory=dict,
        description="Hosts must carry all these labels: host labels from the Cluster, plus the probed "
        "`os` (linux), `arch` (amd64, arm64) and `accelerator` (nvidia, ascend, amd, none).",
        examples=[{"accelerator": "nvidia"}],
    )
    hosts: list[Name] = Field(
        default_factory=list,
        description="Only these hosts may run replicas.",
        examples=[["gpu-01", "gpu-02"]],
    )
    devices: list[DeviceRef] = Field(
        default_factory=list,
        description="Pin replicas to exactly these devices, as `HOST:INDEX` (or `HOST:INDEX/MIG` for a MIG "
        "instance). One replica uses all pinned devices of one host.",
        examples=[["gpu-01:0", "gpu-01:1"]],
    )
    strategy: Literal["binpack", "spread"] = Field(
        default="binpack",
        description="binpack fills the busiest hosts and devices that still fit first, keeping whole "
        "devices free; spread prefers the emptiest hosts and puts replicas on different hosts.",
    )
    distributed: bool = Field(
        default=False,
        description="Allow one replica to span several hosts (vLLM with Ray, SGLang multi-node, "
        "llama-box RPC).",
    )
    cpu_offload: bool = Field(
        default=False,
        description="Allow layers (llama-box) or the whole model (VoxBox) to run on the CPU when devices are "
        "short.",
    )
    allow_overcommit: bool = Field(
        default=False,
        description="Place on pinned devices even when the estimate says they cannot hold the model.",
    )

    # Field validators rather than one model validator: each runs as soon as its own field is
    # valid, so a mistake elsewhere in the placement does not hide these problems. They run on the
    # raw input (mode="before") and skip entries of the wrong type, which the type checks report,
    # so that one bad entry does not hide the problems of the others.

    @field_validator("selector", mode="before")
    @classmethod
    def _probed_values(cls, selector: object) -> object:
        if not isinstance(selector, dict):
            return selector
        problems: list[tuple[FieldPath, str, str | None]] = []
        for key, value in selector.items():
            allowed = PROBED_LABELS.get(key)
            if allowed and isinstance(value, str) and value not in allowed:
                alias = _ARCH_ALIASES.get(value) if key == "arch" else None
                hint = f"gpuctl uses Docker's name: {alias}" if alias else f"one of: {', '.join(allowed)}"
                problems.append(((key,), f"{value!r} is not a value gpuctl probes for {key}", hint))
        if problems:
            raise spec_error(*problems)
        return selector

    @field_validator("hosts", mode="before")
    @classmethod
    def _hosts_once(cls, hosts: object) -> object:
        problems = _listed_twice(hosts, str) if isinstance(hosts, list) else []
        if problems:
            raise spec_error(*problems)
        return hosts

    @field_validator("devices", mode="before")
    @classmethod
    def _devices_on_hosts(cls, devices: object, info: ValidationInfo) -> object:
        if not isinstance(devices, list):
            return devices
        problems = _listed_twice(devices, _device_identity)
        hosts = info.data.get("hosts") or []
        for index, device in enumerate(devices):
            if not _device_identity(device):
                continue
            host, _ = parse_device_ref(device)
            if hosts and host not in hosts:
                problems.append(
                    (
                        (index,),
                        f"{device!r} is on host {host!r}, which placement.hosts does not list",
                        f"add {host} to placement.hosts or remove the device",
                    )
                )
        if problems:
            raise spec_error(*problems)
        return devices


def _device_identity(device: object) -> str | None:
    """`host:index[/mig]` with the numbers as numbers (gpu-01:00 is gpu-01:0); None when `device`
    is not a device reference (the pattern check reports it)."""
    if not isinstance(device, str) or not re.fullmatch(DEVICE_REF_PATTERN, device):
        return None
    host, key = parse_device_ref(device)
    return f"{host}:{'/'.join(str(int(part)) for part in key.split('/'))}"


def _reserved_names(variables: dict[object, object]) -> list[tuple[FieldPath, str, str | None]]:
    """Variables of `env` or `secrets` that gpuctl sets from the placement."""
    return [
        ((name,), f"gpuctl sets {name} from the placement", "pin devices with placement.devices")
        for name in variables
        if name in RESERVED_ENV
    ]


def _text(value: object) -> str:
    """A raw scalar as text for the secret check (a password may be written as a number)."""
    return str(value) if isinstance(value, str | int | float) and not isinstance(value, bool) else ""


def _listed_twice(
    items: list[object], identity: Callable[[Any], str | None]
) -> list[tuple[FieldPath, str, str | None]]:
    """Entries that repeat an earlier one; entries without an identity (of the wrong type or
    format, which other checks report) are skipped."""
    first: dict[str, object] = {}
    problems: list[tuple[FieldPath, str, str | None]] = []
    for index, item in enumerate(items):
        key = identity(item) if isinstance(item, str) else None
        if key is None:
            continue
        if key in first:
            same = "is listed twice" if first[key] == item else f"is the same as {first[key]!r}"
            problems.append(((index,), f"{item!r} {same}", "list it once"))
        else:
            first[key] = item
    return problems


class SecretRef(SpecModel):
    """A secret value read at apply time from the environment of the machine running gpuctl. It is
    never written to specs, plans, labels or logs."""

    model_config = ConfigDict(title="Secret reference")

    from_env: EnvName = Field(
        description="Name of the environment variable that holds the value.", examples=["HF_TOKEN"]
    )


class Readiness(SpecModel):
    """How long apply waits for a new backend container to serve."""

    timeout: int | None = Field(
        default=None,
        ge=1,
        le=86400,
        description="Seconds to wait for the backend to answer its readiness endpoint after start; model "
        "loading takes minutes on real hardware. Default: the backend's own default.",
        examples=[1800],
    )


class ModelDeploymentSpec(SpecModel):
    """The model, its backend and where it runs."""

    model_config = ConfigDict(title="Model deployment spec")

    cluster: Name | None = Field(
        default=None,
        description="Cluster to deploy to; may be left out when exactly one cluster is loaded.",
        examples=["lab"],
    )
    model: ModelSource = Field(description="The model to serve.")
    served_name: str | None = Field(
        default=None,
        min_length=1,
        description="Model name clients use in API requests; default: the deployment name.",
        examples=["qwen3-8b"],
    )
    backend: BackendName = Field(
        default="auto",
        description="Inference backend. `auto`: GGUF files → llama-box; known speech models → voxbox; "
        "image (diffusion) models → sglang; everything else → vllm.",
    )
    backend_version: str | None = Field(
        default=None,
        min_length=1,
        description="Backend version; selects the default image tag. Default: gpuctl's pinned version.",
        examples=["0.11.0"],
    )
    image: str | None = Field(
        default=None,
        min_length=1,
        description="Explicit container image; replaces the default image (and `backendVersion`).",
        examples=["vllm/vllm-openai:v0.11.0"],
    )
    replicas: int = Field(
        default=1, ge=0, le=1024, description="Number of independent copies of the backend."
    )
    placement: Placement = Field(default_factory=Placement, description="Where replicas may run.")
    parameters: list[str] = Field(
        default_factory=list,
        description="Backend command-line flags, passed through unchanged, one flag per item "
        "(`--flag=value`, the flag and its value as two items, or `--flag value` split at its first "
        "space). Flags gpuctl owns (host, port, "
        "served name, parallel sizes decided by placement) are refused unless they agree.",
        examples=[["--max-model-len=32768", "--enable-prefix-caching"]],
    )
    env: dict[EnvName, str] = Field(
        default_factory=dict,
        description="Environment variables for the backend container. Never put secrets here: use `secrets`.",
        examples=[{"VLLM_LOGGING_LEVEL": "DEBUG"}],
    )
    secrets: dict[EnvName, SecretRef] = Field(
        default_factory=dict,
        description="Environment variables of the backend container whose values are read, at apply "
        "time, from the environment of the machine running gpuctl. `HF_TOKEN` and "
        "`MODELSCOPE_API_TOKEN` are also used to read model metadata.",
        examples=[{"HF_TOKEN": {"fromEnv": "HF_TOKEN"}}],
    )
    readiness: Readiness = Field(
        default_factory=Readiness, description="How long to wait for the backend to become ready."
    )

    @field_validator("env", "parameters", mode="before")
    @classmethod
    def _no_literal_secrets(cls, value: object, info: ValidationInfo) -> object:
        """Runs on the raw input, before type checks, so that a literal secret (or a variable
        gpuctl sets itself) is reported even when another entry of the same field has the wrong
        type. One validator per field: the first that raises would stop the others."""
        if info.field_name == "env" and isinstance(value, dict):
            findings = literal_secrets({k: _text(v) for k, v in value.items() if isinstance(k, str)}, [])
            reserved = _reserved_names(value)
        elif info.field_name == "parameters" and isinstance(value, list):
            findings, reserved = literal_secrets({}, [_text(item) for item in value]), []
        else:
            return value
        problems = [(finding.path[1:], finding.message, finding.hint) for finding in findings]
        if problems or reserved:
            raise spec_error(*problems, *reserved)
        return value

    @field_validator("image")
    @classmethod
    def _image_or_version(cls, image: str | None, info: ValidationInfo) -> str | None:
        if image and info.data.get("backend_version"):
            raise spec_error(
                (
                    (),
                    "image and backendVersion are both set; backendVersion only selects a default image",
                    "remove backendVersion, or remove image to use the default image of that version",
                )
            )
        return image

    @field_validator("secrets", mode="before")
    @classmethod
    def _secret_references(cls, secrets: object, info: ValidationInfo) -> object:
        """On the raw input, like the literal-secret check, and all in one validator: a `before`
        validator that raises stops the validation of the field, SecretRef's included."""
        if not isinstance(secrets, dict):
            return secrets
        env = info.data.get("env") or {}
        problems: list[tuple[FieldPath, str, str | None]] = [
            ((name,), f"{name} is set in env too", "keep one of them") for name in secrets if name in env
        ]
        problems += _reserved_names(secrets)
        for name, ref in secrets.items():
            variable = ref.get("fromEnv") if isinstance(ref, dict) else None
            shape = secret_shape(variable) if isinstance(variable, str) else None
            if shape:
                problems.append(
                    (
                        (name, "fromEnv"),
                        f"fromEnv takes the name of an environment variable, but this looks like {shape}: "
                        "secrets must not be written in a spec",
                        f"write a variable's name (fromEnv: {name}) and export the secret in that variable",
                    )
                )
        if problems:
            raise spec_error(*problems)
        return secrets


class ModelDeployment(SpecModel):
    """One model served by one backend, `replicas` times, on hosts of a cluster."""

    api_version: Literal["gpuctl.dev/v1alpha1"] = Field(
        default=API_VERSION, description="Version of the spec language."
    )
    kind: Literal["ModelDeployment"] = Field(
        default="ModelDeployment", description="What this document describes."
    )
    metadata: Metadata = Field(description="The deployment's name (used in container names) and labels.")
    spec: ModelDeploymentSpec = Field(description="The model, its backend and where it runs.")


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
