"""VoxBox: `vox-box start` for the speech models of the seed's table.

VoxBox downloads the model itself (`--huggingface-repo-id` / `--model-scope-model-id` into
`--data-dir <modelDir>/voxbox`) or loads a local one (`--model PATH`). It runs on one NVIDIA GPU
(`--device cuda:0`: the container sees only that GPU) or, when the placement gives no device
(GPUs short and cpu offload allowed: the estimate says on_cpu), on the CPU (`--device cpu`) from
the same CUDA image. Its flag set is closed (argparse): apart from `-d/--debug` every flag is
gpuctl's, and vox-box has no served-name flag (the name is recorded in the container's labels).
"""

from __future__ import annotations

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
)
from gpuctl.backends.compat import voxbox_platform_incompatibility
from gpuctl.backends.params import Param, refused
from gpuctl.backends.types import ContainerSpec
from gpuctl.errors import Diagnostic, Location
from gpuctl.models.info import ModelInfo
from gpuctl.spec.models import ModelDeployment

NAME = "voxbox"
HEALTH = "/health"
READINESS_TIMEOUT = 1800

USER_FLAGS = ("-d", "--debug")
OWNED_FLAGS = (
    "--host",
    "--port",
    "--model",
    "--device",
    "--huggingface-repo-id",
    "--model-scope-model-id",
    "--data-dir",
)


def check(deployment: ModelDeployment, params: list[Param]) -> list[Diagnostic]:
    problems: list[Diagnostic] = []
    for param in params:
        if param.flag in USER_FLAGS and param.values:
            problems.append(refused(param, f"{param.flag} takes no value", f"write {param.flag}"))
        elif param.flag not in USER_FLAGS + OWNED_FLAGS:
            problems.append(
                Diagnostic(
                    f"vox-box has no parameter {param.flag}",
                    path=param.path,
                    hint="vox-box accepts only -d/--debug; gpuctl sets the others",
                    code="parameter-unknown",
                )
            )
    return problems


def estimate_options(params: list[Param], model: ModelInfo, deployment: ModelDeployment) -> dict[str, object]:
    return {}


def render(ctx: Context) -> list[ContainerSpec]:
    worker = ctx.leader
    devices = ctx.devices(worker)
    files = model_files(ctx, downloads=True)
    model_dir = ctx.cluster.spec.model_dir.rstrip("/")
    source = ctx.deployment.spec.model
    if source.local:
        model_args = ["--model", files.path]
    elif source.kind == "modelscope":
        model_args = ["--model-scope-model-id", files.path]
    else:
        model_args = ["--huggingface-repo-id", files.path]
    device = "cuda:0" if devices else "cpu"
    owned = [
        *address_rules(worker, ["--host"], ["--port"]),
        Owned(("--device",), (device,), "device", "the placement decides GPU or CPU"),
        Owned(
            ("--data-dir",),
            (f"{model_dir}/voxbox",),
            "data directory",
            "models live in the cluster's modelDir",
        ),
        Owned(
            ("--model", "--huggingface-repo-id", "--model-scope-model-id"),
            (files.path,),
            "model",
            "set spec.model",
        ),
    ]
    problems = check(ctx.deployment, ctx.params) + owned_conflicts(ctx.params, owned)
    if len(devices) > 1:
        problems.append(Diagnostic(f"VoxBox runs {ctx.name} on one GPU; the placement gives {len(devices)}"))
    platform = voxbox_platform_incompatibility(ctx.model, ctx.facts(worker))
    if platform:
        # The scheduler never places it there; a placement made by hand must not slip through.
        problems.append(
            Diagnostic(platform, location=Location(host=worker.host), code="platform-unsupported")
        )
    access = device_access(worker, devices)
    env, env_problems = merge_env(ctx.deployment.spec, defaults={}, owned=dict(files.env) | access.env)
    fail_on(problems + env_problems)
    debug = [token for param in ctx.params if param.flag in USER_FLAGS for token in param.tokens]
    command = [
        "vox-box",
        "start",
        *model_args,
        "--data-dir",
        f"{model_dir}/voxbox",
        "--device",
        device,
        *debug,
        "--host",
        bind_address(ctx, worker, "--host"),
        "--port",
        str(worker.port),
    ]
    return [
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
    ]
