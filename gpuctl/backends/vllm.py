"""vLLM: `vllm serve MODEL` in the gpustack/runner image.

What gpuctl adds to the user's parameters (seed 000 "vLLM", seed 001):

- `--gpu-memory-utilization 0.9` unless set: the fraction the estimate and the memory claim use;
- `--max-model-len 8192` when the model's maximum context is larger and the user set none;
- `--tensor-parallel-size` / `--pipeline-parallel-size` from the placement (when > 1);
- `--omni` for omni-modal models (category omni, image or text-to-speech in the model's
  metadata): vLLM-Omni serves them, with the model's own context length;
- `--enforce-eager --dtype float16` on Ascend 310P (no graph mode, no bf16 there);
- `--served-model-name`, `--host`, `--port`;
- across hosts, Ray: the leader runs `ray start --head` then `vllm serve ...
  --distributed-executor-backend ray`, every other host `ray start --address=LEADER --block`.
"""

from __future__ import annotations

import shlex

from gpuctl.backends.common import (
    Context,
    ModelFiles,
    Owned,
    address_rules,
    bind_address,
    check_world,
    container,
    device_access,
    fail_on,
    is_ascend_310p,
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
from gpuctl.schedule.types import Worker
from gpuctl.spec.models import ModelDeployment

NAME = "vllm"
HEALTH = "/health"
READINESS_TIMEOUT = 3600
"""Seconds: first start downloads the weights into the model cache."""
DEFAULT_MEMORY_FRACTION = 0.9
CONTEXT_CAP = 8192

GPU_MEMORY_UTILIZATION = ("--gpu-memory-utilization",)
MAX_MODEL_LEN = ("--max-model-len",)
KV_CACHE_DTYPE = ("--kv-cache-dtype",)
MAX_BATCHED_TOKENS = ("--max-num-batched-tokens",)
TENSOR_PARALLEL = ("--tensor-parallel-size", "-tp")
PIPELINE_PARALLEL = ("--pipeline-parallel-size", "-pp")
DATA_PARALLEL = ("--data-parallel-size", "-dp")
SERVED_NAME = ("--served-model-name",)
OMNI = ("--omni",)

OMNI_CATEGORIES = ("omni", "image", "text-to-speech")


def check(deployment: ModelDeployment, params: list[Param]) -> list[Diagnostic]:
    """Problems visible without a placement."""
    spec = deployment.spec
    served = spec.served_name or deployment.metadata.name
    problems: list[Diagnostic] = []
    model = find(params, "--model")
    if model:
        problems.append(refused(model, "the model comes from spec.model", "set spec.model instead"))
    problems += owned_conflicts(params, [served_name_rule(served, *SERVED_NAME)])
    problems += data_parallel_checks(params, DATA_PARALLEL)
    checks = [
        in_range(find(params, *GPU_MEMORY_UTILIZATION), float, low=0, high=1, low_open=True),
        in_range(find(params, *MAX_MODEL_LEN), int, low=1),
        in_range(find(params, *MAX_BATCHED_TOKENS), int, low=1),
    ]
    return problems + [problem for problem in checks if problem]


def estimate_options(params: list[Param], model: ModelInfo, deployment: ModelDeployment) -> dict[str, object]:
    kv_dtype = find(params, *KV_CACHE_DTYPE)
    return {
        "memory_fraction": value_of(params, GPU_MEMORY_UTILIZATION, float),
        "context_length": None if is_omni(params, model) else value_of(params, MAX_MODEL_LEN, int),
        "kv_cache_dtype": kv_dtype.value if kv_dtype and kv_dtype.value else "auto",
        "max_batched_tokens": value_of(params, MAX_BATCHED_TOKENS, int),
    }


def is_omni(params: list[Param], model: ModelInfo) -> bool:
    return model.category in OMNI_CATEGORIES or find(params, *OMNI) is not None


def render(ctx: Context) -> list[ContainerSpec]:
    files = model_files(ctx, downloads=True)
    leader = ctx.leader
    owned = _owned(ctx, leader, files)
    problems = check(ctx.deployment, ctx.params) + owned_conflicts(ctx.params, owned) + check_world(ctx)
    prepared = []
    for worker in ctx.placement.workers:
        access = device_access(worker, ctx.devices(worker))
        owned_env = dict(files.env) | access.env
        if ctx.deployment.spec.model.kind == "modelscope":
            owned_env["VLLM_USE_MODELSCOPE"] = "true"
        if ctx.distributed:
            owned_env["VLLM_HOST_IP"] = worker.address
        env, env_problems = merge_env(
            ctx.deployment.spec, defaults={"VLLM_NO_USAGE_STATS": "1"}, owned=owned_env
        )
        problems += env_problems
        prepared.append((worker, access, env))
    fail_on(problems)
    serve = _serve_command(ctx, files, owned)
    specs = []
    for worker, access, env in prepared:
        entrypoint, command = _command(ctx, worker, serve)
        specs.append(
            container(
                ctx,
                worker,
                backend=NAME,
                command=command,
                entrypoint=entrypoint,
                readiness_path=HEALTH,
                readiness_timeout=READINESS_TIMEOUT,
                access=access,
                env=env,
                files=files,
            )
        )
    return specs


def _owned(ctx: Context, leader: Worker, files: ModelFiles) -> list[Owned]:
    placement = ctx.placement
    rules = [
        *address_rules(leader, ["--host"], ["--port"]),
        served_name_rule(ctx.served_name, *SERVED_NAME),
        *parallel_rules(placement, TENSOR_PARALLEL, PIPELINE_PARALLEL),
    ]
    if files.revision:
        rules.append(Owned(("--revision",), (files.revision,), "revision", "set spec.model.revision instead"))
    if ctx.distributed:
        rules.append(
            Owned(
                ("--distributed-executor-backend",), ("ray",), "executor", "replicas across hosts run on Ray"
            )
        )
    return rules


def _serve_command(ctx: Context, files: ModelFiles, owned: list[Owned]) -> list[str]:
    placement = ctx.placement
    model = ctx.model
    command = ["vllm", "serve", files.path]
    if files.revision:
        command += ["--revision", files.revision]
    omni = is_omni(ctx.params, model)
    if model.category in OMNI_CATEGORIES and not ctx.param(*OMNI):
        command.append("--omni")
    if not omni and not ctx.param(*MAX_MODEL_LEN) and model.max_context and model.max_context > CONTEXT_CAP:
        command += ["--max-model-len", str(CONTEXT_CAP)]
    if not ctx.param(*GPU_MEMORY_UTILIZATION):
        command += ["--gpu-memory-utilization", str(DEFAULT_MEMORY_FRACTION)]
    if placement.tensor_parallel > 1:
        command += ["--tensor-parallel-size", str(placement.tensor_parallel)]
    if placement.pipeline_parallel > 1:
        command += ["--pipeline-parallel-size", str(placement.pipeline_parallel)]
    if ctx.distributed:
        command += ["--distributed-executor-backend", "ray"]
    if is_ascend_310p(ctx.devices(ctx.leader)):
        if not ctx.param("--enforce-eager"):
            command.append("--enforce-eager")
        if not ctx.param("--dtype"):
            command += ["--dtype", "float16"]
    command += argv(ctx.params, drop=owned_flags(owned))
    host = bind_address(ctx, ctx.leader, "--host")
    return [*command, "--served-model-name", ctx.served_name, "--host", host, "--port", str(ctx.leader.port)]


def _command(ctx: Context, worker: Worker, serve: list[str]) -> tuple[list[str] | None, list[str]]:
    """(entrypoint, command): `vllm serve` alone, or wrapped in Ray for a replica across hosts."""
    if not ctx.distributed:
        return None, serve
    ray = ["ray", "start", f"--node-ip-address={worker.address}", "--disable-usage-stats"]
    if worker is not ctx.leader:
        return None, [*ray, f"--address={ctx.leader.address}:{ctx.dist_port}", "--block"]
    head = [*ray, "--head", f"--port={ctx.dist_port}", "--include-dashboard=false"]
    return ["/bin/sh"], ["-c", f"{shlex.join(head)} && exec {shlex.join(serve)}"]
