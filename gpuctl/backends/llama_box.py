"""llama-box: GGUF models (LLMs, vision-language with a projector, rerankers, image models).

Command (seed 001 "llama-box", GPUStack's llama-box server):
`llama-box --host --port --model FILE --alias NAME --gpu-layers N --ctx-size 8192 --parallel 4
--no-mmap --no-warmup`, plus

- `--gpu-layers` from the estimate: layers the devices hold; the rest run on the CPU, which
  needs `placement.cpuOffload` (with no device at all the whole model runs on the CPU);
- `--ctx-size 8192` (capped at the model's trained context) unless the user sets `-c`;
- `--parallel 1` for rerankers and embedding models, `--rerank` / `--embeddings` for them;
- `--images --image-vae-tiling` for image (stable-diffusion.cpp) models;
- `--mmproj`: the projector ModelInfo chose (`*mmproj*.gguf`, f32 before f16); a user
  `--mmproj` wins, a relative one is taken relative to the model file's directory;
- across hosts: every worker host runs one RPC server (`--rpc-server-port`, its single device,
  or its RAM with `--rpc-server-main-gpu -1`) and the leader gets `--rpc HOST:PORT,...` and a
  `--tensor-split` of the memory claimed on each device (MiB, RPC servers first).
"""

from __future__ import annotations

import posixpath

from gpuctl.backends.common import (
    Context,
    Owned,
    address_rules,
    bind_address,
    container,
    device_access,
    fail_on,
    merge_env,
    model_files,
    owned_conflicts,
    owned_flags,
    served_name_rule,
)
from gpuctl.backends.params import Param, argv, find, in_range, refused, value_of
from gpuctl.backends.types import ContainerSpec
from gpuctl.errors import Diagnostic, Location
from gpuctl.models.info import ModelInfo
from gpuctl.schedule.types import Worker
from gpuctl.spec.models import ModelDeployment

NAME = "llama-box"
HEALTH = "/health"
READINESS_TIMEOUT = 1800
DEFAULT_CONTEXT = 8192
ALL_LAYERS = 999
MiB = 1 << 20

CTX_SIZE = ("-c", "--ctx-size")
GPU_LAYERS = ("-ngl", "--gpu-layers", "--n-gpu-layers")
ALIAS = ("-a", "--alias")
MODEL = ("-m", "--model")
MMPROJ = ("--mmproj",)
TENSOR_SPLIT = ("-ts", "--tensor-split")
PARALLEL = ("-np", "--parallel")
CACHE_TYPE_K = ("-ctk", "--cache-type-k")
CATEGORY_FLAGS: dict[str, tuple[str, ...]] = {
    "reranker": ("--rerank",),
    "embedding": ("--embeddings",),
    "image": ("--images", "--image-vae-tiling"),
}
RPC_SERVER = ("--rpc-server-host", "--rpc-server-port", "--rpc-server-main-gpu")


def check(deployment: ModelDeployment, params: list[Param]) -> list[Diagnostic]:
    spec = deployment.spec
    served = spec.served_name or deployment.metadata.name
    problems: list[Diagnostic] = []
    model = find(params, *MODEL)
    if model:
        problems.append(refused(model, "the model comes from spec.model", "set spec.model.file"))
    for param in params:
        if param.flag == "--rpc":
            problems.append(
                refused(
                    param, "gpuctl connects the RPC servers of the placement", "set placement.distributed"
                )
            )
        elif param.flag in RPC_SERVER:
            problems.append(refused(param, "gpuctl starts RPC servers itself", "set placement.distributed"))
    problems += owned_conflicts(params, [served_name_rule(served, *ALIAS)])
    checks = [in_range(find(params, *CTX_SIZE), int, low=0), in_range(find(params, *GPU_LAYERS), int, low=-1)]
    return problems + [problem for problem in checks if problem]


def default_context(model: ModelInfo) -> int:
    trained = model.gguf.context_length if model.gguf else None
    return min(DEFAULT_CONTEXT, trained) if trained else DEFAULT_CONTEXT


def estimate_options(params: list[Param], model: ModelInfo, deployment: ModelDeployment) -> dict[str, object]:
    context = value_of(params, CTX_SIZE, int)
    cache_type = find(params, *CACHE_TYPE_K)
    return {
        "context_length": context if context else default_context(model),
        "kv_cache_dtype": cache_type.value if cache_type and cache_type.value else "auto",
    }


def render(ctx: Context) -> list[ContainerSpec]:
    leader = ctx.leader
    owned = [
        *address_rules(leader, ["--host"], ["--port"]),
        served_name_rule(ctx.served_name, *ALIAS),
        Owned(GPU_LAYERS, (str(_gpu_layers(ctx)),), "GPU layers", "the estimate decides how many layers fit"),
    ]
    problems = check(ctx.deployment, ctx.params) + _layer_checks(ctx) + owned_conflicts(ctx.params, owned)
    problems += [
        Diagnostic(
            f"a llama-box RPC server uses one device; worker {w.role} on host {w.host} "
            f"was given {len(w.devices)}",
            location=Location(host=w.host),
            hint="give each RPC worker one device (or none: it then serves from RAM)",
            code="rpc-devices",
        )
        for w in ctx.placement.workers[1:]
        if len(w.devices) > 1
    ]
    fetch, name, mmproj = _files(ctx)
    if not name:
        problems.append(
            Diagnostic(f"no GGUF file was chosen for {ctx.name}", path="spec.model.file", code="gguf-missing")
        )
    files = model_files(ctx, downloads=False, files=fetch)
    directory = files.directory or ""
    if mmproj and mmproj.startswith("/") and not mmproj.startswith(directory.rstrip("/") + "/"):
        given = ctx.param(*MMPROJ)
        problems.append(
            Diagnostic(
                f"--mmproj {mmproj} is outside the model directory {directory}, "
                "which is all the container sees",
                path=given.path if given else None,
                hint="give the projector's path relative to the model file",
                code="mmproj-outside",
            )
        )
    prepared = []
    for worker in ctx.placement.workers:
        access = device_access(worker, ctx.devices(worker))
        model_env = dict(files.env) if worker is ctx.leader else {}
        env, env_problems = merge_env(ctx.deployment.spec, defaults={}, owned=model_env | access.env)
        problems += env_problems
        prepared.append((worker, access, env))
    fail_on(problems)
    serve = _command(ctx, directory, name, mmproj, owned)
    return [
        container(
            ctx,
            worker,
            backend=NAME,
            command=serve if worker is leader else _rpc_server(worker),
            readiness_path=HEALTH,
            readiness_timeout=READINESS_TIMEOUT,
            access=access,
            env=env,
            files=files if worker is leader else None,
            shm_size=None,
        )
        for worker, access, env in prepared
    ]


def _command(ctx: Context, directory: str, name: str, mmproj: str | None, owned: list[Owned]) -> list[str]:
    leader = ctx.leader
    rpc_workers = ctx.placement.workers[1:]
    command = [
        "llama-box",
        "--host",
        bind_address(ctx, leader, "--host"),
        "--port",
        str(leader.port),
        "--model",
        posixpath.join(directory, name),
        "--alias",
        ctx.served_name,
        "--gpu-layers",
        str(_gpu_layers(ctx)),
    ]
    if not ctx.param(*CTX_SIZE):
        command += ["--ctx-size", str(ctx.placement.estimate.context_length or default_context(ctx.model))]
    if not ctx.param(*PARALLEL):
        command += ["--parallel", "1" if ctx.model.category in ("reranker", "embedding") else "4"]
    command += ["--no-mmap", "--no-warmup", *CATEGORY_FLAGS.get(ctx.model.category, ())]
    if mmproj:
        command += ["--mmproj", posixpath.join(directory, mmproj)]
    if rpc_workers:
        command += ["--rpc", ",".join(f"{w.address}:{w.port}" for w in rpc_workers)]
    split = _tensor_split(ctx)
    if split and not ctx.param(*TENSOR_SPLIT):
        command += ["--tensor-split", split]
    return command + argv(ctx.params, drop=owned_flags(owned) | set(MMPROJ))


def _gpu_layers(ctx: Context) -> int:
    if not ctx.all_devices():
        return 0
    estimate = ctx.placement.estimate
    for layers in (estimate.gpu_layers, estimate.total_layers):
        if layers is not None:
            return layers
    return ALL_LAYERS


def _layer_checks(ctx: Context) -> list[Diagnostic]:
    """Layers left on the CPU need placement.cpuOffload (seed: CPU offloading must be allowed)."""
    if ctx.deployment.spec.placement.cpu_offload:
        return []
    if ctx.all_devices():
        total, layers = ctx.placement.estimate.total_layers, _gpu_layers(ctx)
        if total is None or layers >= total:
            return []
        on_cpu = f"{total - layers} of {total}"
    else:
        on_cpu = "all"
    return [
        Diagnostic(
            f"{on_cpu} layers of {ctx.name} would run on the CPU, which placement.cpuOffload does not allow",
            path="spec.placement.cpuOffload",
            hint="set cpuOffload: true or give the replica more device memory",
            code="cpu-offload-needed",
        )
    ]


def _files(ctx: Context) -> tuple[list[str], str, str | None]:
    """(repository files to fetch, model file and projector relative to the model directory).

    The projector may be absolute (a user --mmproj); posixpath.join keeps it as it is.
    """
    gguf = ctx.model.gguf
    local = ctx.deployment.spec.model.local or ""
    name = posixpath.basename(local) if local.endswith(".gguf") else (gguf.name if gguf else "")
    files = [name, *(gguf.split_files if gguf else [])]
    given = ctx.param(*MMPROJ)
    mmproj = None
    if given and given.value:
        mmproj = given.value
        if not mmproj.startswith("/"):
            mmproj = posixpath.normpath(posixpath.join(posixpath.dirname(name), mmproj))
            files.append(mmproj)
    elif ctx.model.mmproj:
        mmproj = ctx.model.mmproj.name
        files.append(mmproj)
    return files, name, mmproj


def _tensor_split(ctx: Context) -> str | None:
    """Memory claimed per device, RPC servers first (llama-box orders RPC devices before local
    ones); None with a single device."""
    per_device = ctx.placement.estimate.per_device
    rpc = ctx.placement.workers[1:]
    local = ctx.leader.devices
    count = len(rpc) + len(local)
    if count < 2 or per_device is None:
        return None
    return ",".join([str(per_device.total // MiB)] * count)


def _rpc_server(worker: Worker) -> list[str]:
    return [
        "llama-box",
        "--rpc-server-host",
        "0.0.0.0",
        "--rpc-server-port",
        str(worker.port),
        "--rpc-server-main-gpu",
        "0" if worker.devices else "-1",
    ]
