"""SGLang: `python3 -m sglang.launch_server` for language models, `sglang serve` for diffusion.

What gpuctl adds to the user's parameters (seed 000 "SGLang"):

- `--mem-fraction-static 0.9` unless set: the fraction the scheduler matched devices with;
- `--context-length 8192` when the model's maximum context is larger than 8192 and the estimate
  says the devices cannot hold it, unless the user set one;
- `--tp-size` / `--pp-size` from the placement; across hosts `--nnodes --node-rank
  --dist-init-addr LEADER:PORT+1` on every node;
- `--enable-multimodal` for vision-language models, `--enable-metrics`, and on Ascend
  `--attention-backend ascend`, each unless the user set it;
- `--served-model-name`, `--host`, `--port`.

Image (diffusion) models, e.g. Qwen-Image or FLUX.1-dev, run through SGLang Diffusion:
`sglang serve --model-path MODEL --num-gpus N --host --port` (one host; it has no served-name
flag). Speculative decoding (`--speculative-algorithm ...`) and hierarchical KV caching
(`--enable-hierarchical-cache --hicache-ratio ...`) are ordinary parameters and pass through.
"""

from __future__ import annotations

from gpuctl.backends.common import (
    PLACED,
    Context,
    ModelFiles,
    Owned,
    address_rules,
    bind_address,
    check_world,
    container,
    device_access,
    fail_on,
    merge_env,
    model_files,
    owned_conflicts,
    owned_flags,
    parallel_rules,
    served_name_rule,
)
from gpuctl.backends.params import Param, argv, data_parallel_checks, find, in_range, refused, value_of
from gpuctl.backends.types import ContainerSpec
from gpuctl.errors import Diagnostic
from gpuctl.models.info import ModelInfo
from gpuctl.spec.models import ModelDeployment

NAME = "sglang"
HEALTH = "/health"
READINESS_TIMEOUT = 3600
DEFAULT_MEMORY_FRACTION = 0.9
CONTEXT_CAP = 8192

MEM_FRACTION = ("--mem-fraction-static",)
CONTEXT_LENGTH = ("--context-length",)
KV_CACHE_DTYPE = ("--kv-cache-dtype",)
CHUNKED_PREFILL = ("--chunked-prefill-size",)
TENSOR_PARALLEL = ("--tp-size", "--tensor-parallel-size", "--tp")
PIPELINE_PARALLEL = ("--pp-size", "--pipeline-parallel-size", "--pp")
DATA_PARALLEL = ("--dp-size", "--data-parallel-size", "--dp")
SERVED_NAME = ("--served-model-name",)
MODEL_PATH = ("--model-path", "--model")


def is_diffusion(model: ModelInfo) -> bool:
    return model.category == "image"


def check(deployment: ModelDeployment, params: list[Param]) -> list[Diagnostic]:
    spec = deployment.spec
    served = spec.served_name or deployment.metadata.name
    problems: list[Diagnostic] = []
    model = find(params, *MODEL_PATH)
    if model:
        problems.append(refused(model, "the model comes from spec.model", "set spec.model instead"))
    problems += owned_conflicts(params, [served_name_rule(served, *SERVED_NAME)])
    problems += data_parallel_checks(params, DATA_PARALLEL)
    node_rank = find(params, "--node-rank")
    if node_rank:
        problems.append(refused(node_rank, "gpuctl numbers the nodes of a replica", "remove it"))
    checks = [
        in_range(find(params, *MEM_FRACTION), float, low=0, high=1, low_open=True),
        in_range(find(params, *CONTEXT_LENGTH), int, low=1),
        in_range(find(params, *CHUNKED_PREFILL), int, low=-1),
    ]
    return problems + [problem for problem in checks if problem]


def estimate_options(params: list[Param], model: ModelInfo, deployment: ModelDeployment) -> dict[str, object]:
    kv_dtype = find(params, *KV_CACHE_DTYPE)
    return {
        "memory_fraction": value_of(params, MEM_FRACTION, float),
        "context_length": value_of(params, CONTEXT_LENGTH, int),
        "kv_cache_dtype": kv_dtype.value if kv_dtype and kv_dtype.value else "auto",
        "max_batched_tokens": value_of(params, CHUNKED_PREFILL, int),
    }


def render(ctx: Context) -> list[ContainerSpec]:
    files = model_files(ctx, downloads=True)
    owned = _owned(ctx, files)
    problems = check(ctx.deployment, ctx.params) + owned_conflicts(ctx.params, owned) + check_world(ctx)
    if is_diffusion(ctx.model) and ctx.distributed:
        problems.append(
            Diagnostic(f"SGLang Diffusion serves {ctx.name} on one host, not {len(ctx.placement.workers)}")
        )
    prepared = []
    for worker in ctx.placement.workers:
        access = device_access(worker, ctx.devices(worker))
        owned_env = dict(files.env) | access.env
        if ctx.deployment.spec.model.kind == "modelscope":
            owned_env["SGLANG_USE_MODELSCOPE"] = "true"
        env, env_problems = merge_env(ctx.deployment.spec, defaults={}, owned=owned_env)
        problems += env_problems
        prepared.append((worker, access, env))
    fail_on(problems)
    specs = []
    for rank, (worker, access, env) in enumerate(prepared):
        command = (
            _diffusion_command(ctx, files, owned)
            if is_diffusion(ctx.model)
            else _command(ctx, files, owned, rank)
        )
        specs.append(
            container(
                ctx,
                worker,
                backend=NAME,
                command=command,
                readiness_path=HEALTH,
                readiness_timeout=READINESS_TIMEOUT,
                access=access,
                env=env,
                files=files,
            )
        )
    return specs


def _owned(ctx: Context, files: ModelFiles) -> list[Owned]:
    placement = ctx.placement
    leader = ctx.leader
    rules = [
        *address_rules(leader, ["--host"], ["--port"]),
        *parallel_rules(placement, TENSOR_PARALLEL, PIPELINE_PARALLEL),
        Owned(("--nnodes",), (str(len(placement.workers)),), "node count", PLACED),
    ]
    if is_diffusion(ctx.model):
        devices = str(len(leader.devices))
        rules.append(Owned(("--num-gpus",), (devices,), "GPU count", PLACED))
    else:
        rules.append(served_name_rule(ctx.served_name, *SERVED_NAME))
    if ctx.distributed:
        address = f"{leader.address}:{ctx.dist_port}"
        rules.append(
            Owned(("--dist-init-addr",), (address,), "init address", "gpuctl uses the leader's port + 1")
        )
    if files.revision:
        rules.append(Owned(("--revision",), (files.revision,), "revision", "set spec.model.revision instead"))
    return rules


def _command(ctx: Context, files: ModelFiles, owned: list[Owned], rank: int) -> list[str]:
    placement = ctx.placement
    model = ctx.model
    command = ["python3", "-m", "sglang.launch_server", "--model-path", files.path]
    if files.revision:
        command += ["--revision", files.revision]
    if not ctx.param(*CONTEXT_LENGTH) and _context_too_long(ctx):
        command += ["--context-length", str(CONTEXT_CAP)]
    if not ctx.param(*MEM_FRACTION):
        command += ["--mem-fraction-static", str(DEFAULT_MEMORY_FRACTION)]
    if placement.tensor_parallel > 1:
        command += ["--tp-size", str(placement.tensor_parallel)]
    if placement.pipeline_parallel > 1:
        command += ["--pp-size", str(placement.pipeline_parallel)]
    if ctx.distributed:
        address = f"{ctx.leader.address}:{ctx.dist_port}"
        command += [
            "--nnodes",
            str(len(placement.workers)),
            "--node-rank",
            str(rank),
            "--dist-init-addr",
            address,
        ]
    if model.category == "vision-language" and not ctx.param("--enable-multimodal"):
        command.append("--enable-multimodal")
    if not ctx.param("--enable-metrics"):
        command.append("--enable-metrics")
    ascend = any(device.vendor == "ascend" for device in ctx.all_devices())
    if ascend and not ctx.param("--attention-backend"):
        command += ["--attention-backend", "ascend"]
    command += argv(ctx.params, drop=owned_flags(owned))
    host = bind_address(ctx, ctx.leader, "--host")
    return [*command, "--served-model-name", ctx.served_name, "--host", host, "--port", str(ctx.leader.port)]


def _diffusion_command(ctx: Context, files: ModelFiles, owned: list[Owned]) -> list[str]:
    command = ["sglang", "serve", "--model-path", files.path]
    if files.revision:
        command += ["--revision", files.revision]
    if len(ctx.leader.devices) > 1:
        command += ["--num-gpus", str(len(ctx.leader.devices))]
    command += argv(ctx.params, drop=owned_flags(owned))
    host = bind_address(ctx, ctx.leader, "--host")
    return [*command, "--host", host, "--port", str(ctx.leader.port)]


def _context_too_long(ctx: Context) -> bool:
    """Seed: 8192 "if the automatically estimated context length exceeds device capability"."""
    maximum = ctx.model.max_context
    if not maximum or maximum <= CONTEXT_CAP:
        return False
    estimate = ctx.placement.estimate
    if estimate.verdict == "context-too-long":
        return True
    return estimate.context_length is not None and estimate.context_length < maximum
