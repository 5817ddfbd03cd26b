"""What every backend's containers share: identity, devices, model files, environment, image.

A backend module builds the command for each worker of a placement and hands it to `container`,
which adds everything else a ContainerSpec needs. Problems are collected as diagnostics and raised
together (one GpuctlError per deployment replica), so a user sees every conflict at once.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from gpuctl import labels
from gpuctl.backends import images
from gpuctl.backends.params import Param, find, owned_conflict
from gpuctl.backends.types import ContainerSpec, HostFile, ModelFetch, Mount, Readiness
from gpuctl.errors import Diagnostic, GpuctlError, Location
from gpuctl.facts import Device, HostFacts
from gpuctl.models.info import ModelInfo
from gpuctl.schedule.types import Placement, Worker
from gpuctl.spec.models import RESERVED_ENV, Cluster, ModelDeployment, ModelDeploymentSpec

BIND_ALL = "0.0.0.0"
"""Backends listen on every address of the host (host networking); `--host` with the host's own
address is accepted too."""

DIST_PORT_OFFSET = 1
"""A replica spanning hosts uses the leader's port + 1 for its distributed init (Ray GCS, SGLang
--dist-init-addr): the scheduler keeps that port free on the leader's host."""

HOST_STATE_DIR = "/var/lib/gpuctl/run"
"""Where apply writes a container's HostFiles: HOST_STATE_DIR/<container name>/<file>."""

GiB = 1 << 30
SHM_SIZE = 10 * GiB
"""/dev/shm for PyTorch backends (NCCL and worker processes exchange tensors through it)."""

DEVICE_VARIABLES = tuple(sorted(RESERVED_ENV))
"""Which devices a container sees is the placement's decision: users pin with placement.devices."""


@dataclass(frozen=True)
class Context:
    """Everything one replica's rendering reads."""

    deployment: ModelDeployment
    cluster: Cluster
    model: ModelInfo
    placement: Placement
    hosts: Mapping[str, HostFacts]
    params: list[Param]

    @property
    def name(self) -> str:
        return self.deployment.metadata.name

    @property
    def served_name(self) -> str:
        return self.deployment.spec.served_name or self.name

    @property
    def leader(self) -> Worker:
        return self.placement.main

    @property
    def distributed(self) -> bool:
        return len(self.placement.workers) > 1

    @property
    def dist_port(self) -> int:
        return self.leader.port + DIST_PORT_OFFSET

    def param(self, *flags: str) -> Param | None:
        return find(self.params, *flags)

    def facts(self, worker: Worker) -> HostFacts:
        facts = self.hosts.get(worker.host)
        if facts is None:
            raise GpuctlError(
                Diagnostic(
                    f"no probed facts for host {worker.host}, which the placement of {self.name} uses",
                    location=Location(host=worker.host),
                    hint="run `gpuctl inventory` to probe it",
                    code="host-facts-missing",
                )
            )
        return facts

    def devices(self, worker: Worker) -> list[Device]:
        by_key = {device.key: device for device in self.facts(worker).devices}
        missing = [key for key in worker.devices if key not in by_key]
        if missing:
            raise GpuctlError(
                Diagnostic(
                    f"host {worker.host} has no device {', '.join(missing)} (placement of {self.name})",
                    location=Location(host=worker.host, device=missing[0]),
                    hint="re-probe the host; its devices may have changed",
                    code="device-missing",
                )
            )
        return [by_key[key] for key in worker.devices]

    def all_devices(self) -> list[Device]:
        return [device for worker in self.placement.workers for device in self.devices(worker)]

    def container_name(self, worker: Worker) -> str:
        base = f"gpuctl-{self.name}-{self.placement.replica}"
        return base if worker.role == "main" else f"{base}-{worker.role}"

    def state_path(self, worker: Worker, filename: str) -> str:
        return f"{HOST_STATE_DIR}/{self.container_name(worker)}/{filename}"


def check_world(ctx: Context) -> list[Diagnostic]:
    """The placement's devices must be exactly tensor × pipeline parallel ranks."""
    placement = ctx.placement
    total = sum(len(worker.devices) for worker in placement.workers)
    ranks = placement.tensor_parallel * placement.pipeline_parallel
    if total == ranks:
        return []
    return [
        Diagnostic(
            f"the placement of {ctx.name} gives {total} devices but tensor parallel "
            f"{placement.tensor_parallel} × pipeline parallel {placement.pipeline_parallel} needs {ranks}",
            code="placement-world-size",
        )
    ]


def fail_on(problems: Iterable[Diagnostic]) -> None:
    """Raise every error at once (each distinct diagnostic once; warnings are not failures)."""
    errors = list(dict.fromkeys(p for p in problems if p.severity == "error"))
    if errors:
        raise GpuctlError(*errors)


# --------------------------------------------------------------------------- flags gpuctl owns


@dataclass(frozen=True)
class Owned:
    """A flag gpuctl sets: the user may repeat it only with a value that agrees."""

    flags: tuple[str, ...]
    allowed: tuple[str, ...]
    what: str
    hint: str


def owned_conflicts(params: list[Param], owned: Iterable[Owned]) -> list[Diagnostic]:
    problems = []
    for rule in owned:
        conflict = owned_conflict(find(params, *rule.flags), rule.allowed, rule.what, rule.hint)
        if conflict:
            problems.append(conflict)
    return problems


def owned_flags(owned: Iterable[Owned]) -> set[str]:
    return {flag for rule in owned for flag in rule.flags}


def served_name_rule(served_name: str, *flags: str) -> Owned:
    return Owned(flags, (served_name,), "served name", "set spec.servedName instead")


def address_rules(worker: Worker, host_flags: Sequence[str], port_flags: Sequence[str]) -> list[Owned]:
    return [
        Owned(
            tuple(host_flags),
            (BIND_ALL, worker.address),
            "bind address",
            "gpuctl binds backends to 0.0.0.0 or to the host's own address",
        ),
        Owned(tuple(port_flags), (str(worker.port),), "port", "gpuctl assigns ports from spec.portRange"),
    ]


PLACED = "the placement decides it"


def parallel_rules(
    placement: Placement, tensor_flags: Sequence[str], pipeline_flags: Sequence[str]
) -> list[Owned]:
    """Tensor and pipeline parallel sizes are the placement's: a user's value would contradict it."""
    return [
        Owned(tuple(tensor_flags), (str(placement.tensor_parallel),), "tensor parallel size", PLACED),
        Owned(tuple(pipeline_flags), (str(placement.pipeline_parallel),), "pipeline parallel size", PLACED),
    ]


def bind_address(ctx: Context, worker: Worker, *flags: str) -> str:
    """The user's --host when it agrees (the host's own address), else every address."""
    given = ctx.param(*flags)
    return given.value if given and given.value == worker.address else BIND_ALL


# --------------------------------------------------------------------------- model files


@dataclass(frozen=True)
class ModelFiles:
    """Where a backend finds the model, and what the container needs for it."""

    path: str
    """What the backend is given: a directory or file path, or a repository id when it
    downloads by itself."""
    directory: str | None
    """The local directory holding the model files (None while the backend downloads them)."""
    revision: str | None = None
    """Revision a self-downloading backend is told (--revision)."""
    mounts: tuple[Mount, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    fetch: ModelFetch | None = None


def model_files(ctx: Context, *, downloads: bool, files: Sequence[str] = ()) -> ModelFiles:
    """Model location and mounts.

    - local sources are mounted read-only at the same path;
    - hub sources use the cluster's modelDir, mounted read-write at the same path on every host.
      Backends that download by themselves (downloads=True) get the repository id with
      HF_HOME=<modelDir>/huggingface (or MODELSCOPE_CACHE=<modelDir>/modelscope); for the others
      apply fetches `files` into <modelDir>/<source>/<org>/<name>/<revision> first (ModelFetch).
    """
    source = ctx.deployment.spec.model
    if source.local:
        directory = posixpath.dirname(source.local) if source.local.endswith(".gguf") else source.local
        return ModelFiles(
            source.local, directory, mounts=(Mount(source=directory, target=directory, read_only=True),)
        )
    model_dir = ctx.cluster.spec.model_dir.rstrip("/")
    kind = source.kind
    revision = ctx.model.revision or source.revision
    mounts = (Mount(source=model_dir, target=model_dir),)
    env = {"HF_HOME": f"{model_dir}/huggingface"}
    if kind == "modelscope":
        env["MODELSCOPE_CACHE"] = f"{model_dir}/modelscope"
    if downloads:
        return ModelFiles(source.ref, None, revision, mounts, env)
    target = f"{model_dir}/{kind}/{source.ref}/{revision or 'main'}"
    fetch = ModelFetch(source=kind, repo=source.ref, revision=revision, files=list(files), target=target)  # type: ignore[arg-type]
    return ModelFiles(target, target, revision, mounts, env, fetch)


# --------------------------------------------------------------------------- devices


@dataclass(frozen=True)
class DeviceAccess:
    gpus: list[str] = field(default_factory=list)
    devices: list[str] = field(default_factory=list)
    runtime: str | None = None
    env: dict[str, str] = field(default_factory=dict)


def device_access(worker: Worker, devices: Sequence[Device], *, runtime_visible: bool = True) -> DeviceAccess:
    """How Docker hands `devices` to the container, and the visible-device variables.

    NVIDIA: `--gpus device=INDEX` (MIG instances by their MIG-... UUID); AMD: /dev/kfd and each
    GPU's render node; Ascend: the `ascend` runtime with ASCEND_VISIBLE_DEVICES=<host ids>.
    Inside the container the devices are numbered from 0, so the backend-visible variable
    (CUDA_/ROCR_/ASCEND_RT_VISIBLE_DEVICES) lists 0..n-1. `runtime_visible=False` leaves that
    variable out (MindIE picks its NPUs from npuDeviceIds instead).
    """
    if not devices:
        return DeviceAccess()
    vendors = {device.vendor for device in devices}
    if len(vendors) > 1:
        raise GpuctlError(
            Diagnostic(
                f"the placement mixes {' and '.join(sorted(vendors))} devices on host {worker.host}",
                location=Location(host=worker.host),
                code="device-mixed",
            )
        )
    indexes = ",".join(str(i) for i in range(len(devices)))
    vendor = devices[0].vendor
    if vendor == "nvidia":
        return DeviceAccess(
            gpus=[_nvidia_id(worker, device) for device in devices],
            env=_visible("CUDA_VISIBLE_DEVICES", indexes, runtime_visible),
        )
    if vendor == "amd":
        nodes = [device.render_node or f"/dev/dri/renderD{128 + device.index}" for device in devices]
        return DeviceAccess(
            devices=["/dev/kfd", *nodes], env=_visible("ROCR_VISIBLE_DEVICES", indexes, runtime_visible)
        )
    env = {"ASCEND_VISIBLE_DEVICES": ",".join(str(device.index) for device in devices)}
    env |= _visible("ASCEND_RT_VISIBLE_DEVICES", indexes, runtime_visible)
    return DeviceAccess(runtime="ascend", env=env)


def _visible(name: str, indexes: str, wanted: bool) -> dict[str, str]:
    return {name: indexes} if wanted else {}


def _nvidia_id(worker: Worker, device: Device) -> str:
    if "/" not in device.key:
        return str(device.index)
    if device.uuid and device.uuid.startswith("MIG-"):
        return device.uuid
    raise GpuctlError(
        Diagnostic(
            f"MIG instance {device.key} on host {worker.host} has no MIG UUID in the probed facts",
            location=Location(host=worker.host, device=device.key),
            hint="re-probe the host (`nvidia-smi -L` lists MIG UUIDs)",
            code="mig-uuid-missing",
        )
    )


def is_ascend_310p(devices: Sequence[Device]) -> bool:
    return images.accelerator_for(devices) == "ascend-310p"


# --------------------------------------------------------------------------- environment


def merge_env(
    spec: ModelDeploymentSpec,
    *,
    defaults: Mapping[str, str],
    owned: Mapping[str, str],
    refused: Mapping[str, str] = {},
) -> tuple[dict[str, str], list[Diagnostic]]:
    """The container's environment: backend defaults, then the user's env, then what gpuctl owns.

    A user variable gpuctl owns is an error unless it has gpuctl's value; a `refused` one (name →
    why) is always an error; device-visibility variables are refused unless gpuctl sets them.
    Secrets (values unknown to the planner) may not take an owned or refused name either.
    """
    refusals = {name: "gpuctl decides which devices a container sees" for name in DEVICE_VARIABLES} | dict(
        refused
    )
    problems: list[Diagnostic] = []
    for name, value in sorted(spec.env.items()):
        path = f"spec.env.{name}"
        if name in owned and value != owned[name]:
            problems.append(
                Diagnostic(
                    f"{name}={value!r} conflicts with the value gpuctl sets ({owned[name]!r})",
                    path=path,
                    hint=_ENV_HINTS.get(name, "remove it from spec.env"),
                    code="env-owned",
                )
            )
        elif name not in owned and name in refusals:
            problems.append(_refused_env(name, path, refusals[name]))
    for name in sorted(spec.secrets):
        if name in owned or name in refusals:
            why = refusals.get(name, "gpuctl sets it")
            problems.append(_refused_env(name, f"spec.secrets.{name}", why))
    env = dict(defaults) | {k: v for k, v in spec.env.items() if k not in refusals} | dict(owned)
    return dict(sorted(env.items())), problems


_ENV_HINTS = {name: "use spec.placement.devices to pin devices" for name in DEVICE_VARIABLES}


def _refused_env(name: str, path: str, why: str) -> Diagnostic:
    hint = _ENV_HINTS.get(name, "remove it")
    return Diagnostic(
        f"environment variable {name} is not allowed: {why}", path=path, hint=hint, code="env-refused"
    )


def env_checks(spec: ModelDeploymentSpec, refused: Mapping[str, str] = {}) -> list[Diagnostic]:
    """Placement-independent environment problems (for check_parameters)."""
    return merge_env(spec, defaults={}, owned={}, refused=refused)[1]


# --------------------------------------------------------------------------- the container


def container(
    ctx: Context,
    worker: Worker,
    *,
    backend: str,
    command: list[str],
    readiness_path: str,
    readiness_timeout: int,
    entrypoint: list[str] | None = None,
    access: DeviceAccess,
    env: dict[str, str],
    files: ModelFiles | None,
    host_files: Sequence[tuple[HostFile, str]] = (),
    shm_size: int | None = SHM_SIZE,
) -> ContainerSpec:
    """Assemble one container: image, identity labels, readiness, mounts and the given parts.

    `host_files` are (file, path in the container) pairs: apply writes each file on the host and
    it is bind-mounted read-only.
    """
    spec = ctx.deployment.spec
    leader = ctx.leader
    estimate = ctx.placement.estimate
    claimed = estimate.per_device.total if estimate.per_device and worker.devices else 0
    readiness = Readiness(
        path=readiness_path,
        port=leader.port,
        timeout=spec.readiness.timeout or readiness_timeout,
        address=None if worker is leader else leader.address,
    )
    mounts = list(files.mounts) if files else []
    mounts += [Mount(source=f.path, target=target, read_only=True) for f, target in host_files]
    return ContainerSpec(
        name=ctx.container_name(worker),
        host=worker.host,
        image=image(ctx, worker, backend),
        entrypoint=entrypoint,
        command=command,
        env=env,
        secret_env={name: ref.from_env for name, ref in sorted(spec.secrets.items())},
        gpus=access.gpus,
        runtime=access.runtime,
        devices=access.devices,
        mounts=mounts,
        files=[f for f, _ in host_files],
        fetch=files.fetch if files else None,
        shm_size=shm_size,
        port=worker.port,
        readiness=readiness,
        labels=_labels(ctx, worker, backend, readiness_path, claimed),
        claimed_memory=claimed,
    )


def image(ctx: Context, worker: Worker, backend: str) -> str:
    spec = ctx.deployment.spec
    mirror = ctx.cluster.spec.registry_mirror
    if spec.image:
        return images.with_mirror(spec.image, mirror)
    accelerator = images.accelerator_for(ctx.devices(worker))
    if accelerator not in images.SUPPORTED[backend] and not (backend == "voxbox" and accelerator == "cpu"):
        raise GpuctlError(
            Diagnostic(
                f"gpuctl has no default {backend} image for {accelerator} (host {worker.host})",
                location=Location(host=worker.host),
                path="spec.image",
                hint="set spec.image to an image built for this accelerator",
                code="image-missing",
            )
        )
    return images.with_mirror(images.default_image(backend, accelerator, spec.backend_version), mirror)


def _labels(ctx: Context, worker: Worker, backend: str, readiness_path: str, claimed: int) -> dict[str, str]:
    placement = ctx.placement
    return {
        labels.MANAGED: "true",
        labels.CLUSTER: placement.cluster,
        labels.DEPLOYMENT: placement.deployment,
        labels.REPLICA: str(placement.replica),
        labels.ROLE: worker.role,
        labels.DEVICES: ",".join(worker.devices),
        labels.MEMORY: str(claimed),
        labels.PORT: str(worker.port),
        labels.BACKEND: backend,
        labels.SERVED_NAME: ctx.served_name,
        labels.READINESS_PATH: readiness_path,
    }
