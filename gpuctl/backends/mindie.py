"""MindIE (Ascend NPUs): the seed's command-line flags turned into MindIE's JSON configuration.

The container runs `mindieservice_daemon` with a generated config.json (a HostFile mounted at
CONFIG_PATH): ServerConfig (port, timeouts, links), BackendConfig (npuDeviceIds 0..n-1 of the
container's NPUs, KV pool), ModelDeployConfig with its ModelConfig (model name and path,
worldSize, parallel sizes, plugin_params) and ScheduleConfig (batching, split fuse, buffer
response). The NPU memory fraction is MindIE's NPU_MEMORY_FRACTION environment variable.

`--dtype`, `--rope-scaling` and `--rope-theta` change the model's config.json and
`--override-generation-config` its generation_config.json. gpuctl never writes into a model
directory (it may be a read-only local path or a cache shared by other deployments): the changes
are HostFiles mounted under /gpuctl, and the container's entrypoint builds an overlay directory
/gpuctl/model (symlinks to every model file) in which those two files are merged copies; MindIE
loads the overlay. The merge is one level deep (`rope_scaling` keys are updated, not replaced).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping

from gpuctl.backends import mindie_flags as table
from gpuctl.backends.common import (
    BIND_ALL,
    Context,
    ModelFiles,
    container,
    device_access,
    fail_on,
    is_ascend_310p,
    merge_env,
    model_files,
)
from gpuctl.backends.mindie_flags import Values
from gpuctl.backends.params import Param
from gpuctl.backends.types import ContainerSpec, HostFile
from gpuctl.errors import Diagnostic, GpuctlError
from gpuctl.models.info import ModelInfo
from gpuctl.spec.models import ModelDeployment

NAME = "mindie"
HEALTH = "/v2/health/ready"
READINESS_TIMEOUT = 3600
ASCEND = "/usr/local/Ascend"
INSTALL_PATH = f"{ASCEND}/mindie/latest/mindie-service"
CONFIG_PATH = f"{INSTALL_PATH}/conf/config.json"
OVERLAY_DIR = "/gpuctl/model"
PATCH_DIR = "/gpuctl"
SET_ENV_SCRIPTS = (
    f"{ASCEND}/ascend-toolkit/set_env.sh",
    f"{ASCEND}/nnal/atb/set_env.sh",
    f"{ASCEND}/atb-models/set_env.sh",
    f"{ASCEND}/mindie/set_env.sh",
)
DTYPES = {"half": "float16", "float": "float32"}
LOG_LEVELS = {
    "Verbose": "DEBUG",
    "Debug": "DEBUG",
    "Info": "INFO",
    "Warning": "WARN",
    "Warn": "WARN",
    "Error": "ERROR",
}
"""--log-level (MindIE's LogConfig spelling) → MINDIE_LOG_LEVEL (debug, info, warn, error)."""

REFUSED_ENV = {
    "NPU_VISIBLE_DEVICES": "MindIE's NPUs come from the placement (npuDeviceIds)",
    "NPU_DEVICE_IDS": "MindIE's NPUs come from the placement (npuDeviceIds)",
    "WORLD_SIZE": "gpuctl sets MindIE's worldSize from the placement",
    "RANK_TABLE_FILE": "gpuctl runs MindIE on one host, without a rank table",
    "RANKTABLEFILE": "gpuctl runs MindIE on one host, without a rank table",
    "MIES_CONTAINER_IP": "it would override the address gpuctl binds MindIE to",
    "MIES_CONTAINER_MANAGEMENT_IP": "it would override the address gpuctl binds MindIE to",
    "HOST_IP": "it would override the address gpuctl binds MindIE to",
    "MIES_CONFIG_JSON_PATH": "gpuctl generates MindIE's config.json from the parameters",
}
"""Variables GPUStack removes before starting MindIE; gpuctl refuses them with the reason."""

_OVERLAY = """
import json, os, sys
src, dst, patches = sys.argv[1], sys.argv[2], sys.argv[3:]
os.makedirs(dst, exist_ok=True)
for name in os.listdir(src):
    link = os.path.join(dst, name)
    if not os.path.lexists(link):
        os.symlink(os.path.join(src, name), link)
for patch in patches:
    name, path = patch.split("=", 1)
    target = os.path.join(dst, name)
    merged = {}
    if os.path.exists(target):
        with open(target) as f:
            merged = json.load(f)
    with open(path) as f:
        for key, value in json.load(f).items():
            old = merged.get(key)
            merged[key] = {**old, **value} if isinstance(old, dict) and isinstance(value, dict) else value
    if os.path.lexists(target):
        os.remove(target)
    with open(target, "w") as f:
        json.dump(merged, f, indent=2, ensure_ascii=False)
"""
"""Builds the model overlay at container start (MindIE's image has python3)."""


def check(deployment: ModelDeployment, params: list[Param]) -> list[Diagnostic]:
    parsed, problems = table.parse(params)
    values = table.effective(parsed, None)
    problems += table.validate(parsed, values)
    problems += _fraction_env_check(deployment, parsed)
    return problems


def estimate_options(params: list[Param], model: ModelInfo, deployment: ModelDeployment) -> dict[str, object]:
    parsed, problems = table.parse(params)
    fail_on(problems)
    values = table.effective(parsed, model.max_context)
    return {
        "memory_fraction": _memory_fraction(deployment, parsed),
        "context_length": values["--max-seq-len"],
        "max_batched_tokens": values["--max-prefill-tokens"],
    }


def render(ctx: Context) -> list[ContainerSpec]:
    if ctx.distributed:
        raise GpuctlError(
            Diagnostic(
                f"MindIE across hosts is not supported by gpuctl yet ({ctx.name} spans "
                f"{len(ctx.placement.workers)} hosts): it needs each NPU's RoCE address for the rank table",
                hint="place the replica on one host",
                code="mindie-distributed",
            )
        )
    worker = ctx.leader
    devices = ctx.devices(worker)
    parsed, problems = table.parse(ctx.params)
    values = table.effective(parsed, ctx.model.max_context)
    if is_ascend_310p(devices) and "--dtype" not in parsed.values:
        values["--dtype"] = "float16"
    parallel, parallel_problems = _parallel(parsed, values, len(devices))
    problems += (
        table.validate(parsed, values) + parallel_problems + _fraction_env_check(ctx.deployment, parsed)
    )
    files = model_files(ctx, downloads=False)
    access = device_access(worker, devices, runtime_visible=False)
    env, env_problems = merge_env(
        ctx.deployment.spec,
        defaults=_default_env(values),
        owned=_owned_env(ctx.deployment, parsed, values) | dict(files.env) | access.env,
        refused=REFUSED_ENV | _refused_eager(values),
    )
    fail_on(problems + env_problems)
    patches = _patches(values)
    config = build_config(
        values,
        parallel,
        port=worker.port,
        served_name=ctx.served_name,
        weight_path=OVERLAY_DIR if patches else files.path,
        world_size=len(devices),
    )
    host_files = [(HostFile(path=ctx.state_path(worker, "config.json"), content=_json(config)), CONFIG_PATH)]
    host_files += [
        (HostFile(path=ctx.state_path(worker, _patch_file(name)), content=_json(patch)), _patch_path(name))
        for name, patch in patches.items()
    ]
    return [
        container(
            ctx,
            worker,
            backend=NAME,
            entrypoint=["/bin/bash"],
            command=["-c", _script(files, patches)],
            readiness_path=HEALTH,
            readiness_timeout=READINESS_TIMEOUT,
            access=access,
            env=env,
            files=files,
            host_files=host_files,
        )
    ]


def build_config(
    values: Values,
    parallel: Mapping[str, int],
    *,
    port: int,
    served_name: str,
    weight_path: str,
    world_size: int,
) -> dict[str, object]:
    """MindIE's config.json (MindIE Service "Configuration Parameters"), TLS off: gpuctl serves
    plain HTTP on the host network like the other backends."""
    v = values
    model_config: dict[str, object] = {
        "modelInstanceType": "Standard",
        "modelName": served_name,
        "modelWeightPath": weight_path,
        "worldSize": world_size,
        "cpuMemSize": v["--cpu-mem-size"],
        "npuMemSize": -1,
        "backendType": "atb",
        "trustRemoteCode": v["--trust-remote-code"],
        "async_scheduler_wait_time": v["--async-scheduler-wait-time"],
        "kv_trans_timeout": 10,
        "kv_link_timeout": 1080,
    }
    if v["--models"] is not None:
        model_config["models"] = v["--models"]
    model_config |= parallel
    deploy: dict[str, object] = {
        "maxSeqLen": v["--max-seq-len"],
        "maxInputTokenLen": v["--max-input-token-len"],
        "truncation": v["--truncation"],
    }
    schedule: dict[str, object] = {
        "templateType": "Mix" if v["--enable-split"] else "Standard",
        "templateName": "Standard_LLM",
        "cacheBlockSize": v["--cache-block-size"],
        "maxPrefillBatchSize": v["--max-prefill-batch-size"],
        "maxPrefillTokens": v["--max-prefill-tokens"],
        "prefillTimeMsPerReq": v["--prefill-time-ms-per-req"],
        "prefillPolicyType": v["--prefill-policy-type"],
        "decodeTimeMsPerReq": v["--decode-time-ms-per-req"],
        "decodePolicyType": v["--decode-policy-type"],
        "maxBatchSize": v["--max-batch-size"],
        "maxIterTimes": v["--max-iter-times"],
        "maxPreemptCount": v["--max-preempt-count"],
        "supportSelectBatch": v["--support-select-batch"],
        "maxQueueDelayMicroseconds": v["--max-queue-delay-microseconds"],
        "maxFirstTokenWaitTime": v["--max-first-token-wait-time"],
    }
    plugin = _plugin(v, deploy, schedule)
    if plugin:
        model_config["plugin_params"] = json.dumps(plugin, separators=(",", ":"))
    if v["--enable-buffer-response"]:
        schedule |= {
            "bufferResponseEnabled": True,
            "prefillExpectedTime": v["--prefill-expected-time-ms"],
            "decodeExpectedTime": v["--decode-expected-time-ms"],
        }
    backend: dict[str, object] = {
        "backendName": "mindieservice_llm_engine",
        "modelInstanceNumber": 1,
        "npuDeviceIds": [list(range(world_size))],
        "tokenizerProcessNumber": 8,
        "multiNodesInferEnabled": False,
        "multiNodesInferPort": 1120,
        "interNodeTLSEnabled": False,
    }
    if v["--kv-pool-config"] is not None:
        backend["kvPoolConfig"] = v["--kv-pool-config"]
    backend["ModelDeployConfig"] = deploy | {"ModelConfig": [model_config]}
    backend["ScheduleConfig"] = schedule
    return {
        "Version": "1.0.0",
        "LogConfig": {"logLevel": v["--log-level"]},
        "ServerConfig": {
            "ipAddress": BIND_ALL,
            "allowAllZeroIpListening": True,
            "port": port,
            "managementPort": port,
            "metricsPort": port,
            "maxLinkNum": v["--max-link-num"],
            "httpsEnabled": False,
            "fullTextEnabled": False,
            "inferMode": "standard",
            "interCommTLSEnabled": False,
            "interCommPort": 1121,
            "openAiSupport": "vllm",
            "tokenTimeout": v["--token-timeout"],
            "e2eTimeout": v["--e2e-timeout"],
            "distDPServerEnabled": False,
        },
        "BackendConfig": backend,
    }


def _plugin(v: Values, deploy: dict[str, object], schedule: dict[str, object]) -> dict[str, object] | None:
    """plugin_params: the feature plugin (at most one, mindie_flags.EXCLUSIVE_PLUGINS), with prefix
    caching added to its plugin_type when both are on (`"mtp,prefix_cache"`, MindIE's syntax)."""
    plugin = _feature_plugin(v, deploy, schedule)
    if not v["--enable-prefix-caching"]:
        return plugin
    schedule["enablePrefixCache"] = True
    if plugin is None:
        return {"plugin_type": "prefix_cache"}
    return plugin | {"plugin_type": f"{plugin['plugin_type']},prefix_cache"}


def _feature_plugin(
    v: Values, deploy: dict[str, object], schedule: dict[str, object]
) -> dict[str, object] | None:
    """Split fuse, memory decoding, lookahead or MTP, with the settings each needs elsewhere."""
    if v["--enable-split"]:
        schedule |= {
            "enableSplit": True,
            "policyType": v["--policy-type"],
            "splitType": False,
            "splitStartType": False,
            "splitChunkTokens": v["--split-chunk-tokens"],
            "splitStartBatchSize": v["--split-start-batch-size"],
        }
        return {"plugin_type": "splitfuse"}
    if v["--enable-memory-decoding"]:
        deploy["speculationGamma"] = v["--memory-decoding-length"]
        return {
            "plugin_type": "memory_decoding",
            "decoding_length": v["--memory-decoding-length"],
            "dynamic_algo": v["--memory-decoding-dynamic-algo"],
        }
    if v["--enable-lookahead"]:
        level, window, guesses = (int(v[f"--lookahead-{n}"]) for n in ("level", "window", "guess-set-size"))
        deploy["speculationGamma"] = (level - 1) * (window + guesses)
        return {"plugin_type": "la", "level": level, "window": window, "guess_set_size": guesses}
    if v["--enable-multi-token-prediction"]:
        return {"plugin_type": "mtp", "num_speculative_tokens": v["--multi-token-prediction-tokens"]}
    return None


def _parallel(parsed: table.Parsed, values: Values, world: int) -> tuple[dict[str, int], list[Diagnostic]]:
    """ModelConfig parallel sizes for `world` NPUs: -1 resolved, products checked against world.

    Written only when the user set a parallel flag; otherwise MindIE's own default (tensor
    parallel over the whole world) applies.
    """
    names = ("pipeline", "data", "context", "tensor", "sequence", "moe-expert", "moe-tensor")
    pp, dp, cp, tp, sp, ep, moe_tp = (int(values[f"--{n}-parallel-size"]) for n in names)
    if not any(f"--{n}-parallel-size" in parsed.values for n in names):
        return {}, []
    if tp < 0:
        tp = world // pp if pp > 1 else world // dp if dp > 1 else world // cp if cp > 1 else world
    if moe_tp < 0 and pp <= 1:
        moe_tp = world // ep if ep > 1 else world
    if cp > 1 and dp < 0:
        dp = 1
    checks = [(f"-pp {pp} × -tp {tp}", pp * tp)] if pp > 1 else []
    if pp <= 1:
        if dp > 1:
            checks.append((f"-dp {dp} × -tp {tp}", dp * tp))
        elif cp > 1:
            checks.append((f"-cp {cp} × -tp {tp}", cp * tp))
        elif tp > world:
            checks.append((f"-tp {tp}", tp))
        checks.append(
            (f"-moe-ep {ep} × -moe-tp {moe_tp}", ep * moe_tp) if ep > 1 else (f"-moe-tp {moe_tp}", moe_tp)
        )
    problems = [
        Diagnostic(
            f"MindIE parallel sizes {what} make {product} ranks, but the placement gives {world} NPUs",
            hint="MindIE's world size is the number of NPUs the replica gets",
            code="parameter-world-size",
        )
        for what, product in checks
        if product != world
    ]
    if pp <= 1 and sp > 1 and sp != tp:
        problems.append(
            Diagnostic(
                f"MindIE parameter -sp {sp} is out of range: allowed --tensor-parallel-size = {tp}",
                code="parameter-out-of-range",
            )
        )
    if pp > 1:
        return {"pp": pp, "tp": tp}, problems
    result = {"dp": dp, "cp": cp, "tp": tp, "moe_tp": moe_tp, "moe_ep": ep, "sp": sp}
    return {key: value for key, value in result.items() if value > 0}, problems


def _patches(values: Values) -> dict[str, dict[str, object]]:
    """Changes to the model's own JSON files, by file name."""
    config: dict[str, object] = {}
    dtype = str(values["--dtype"])
    if dtype != "auto":
        config["torch_dtype"] = DTYPES.get(dtype, dtype)
    if values["--rope-scaling"] is not None:
        config["rope_scaling"] = values["--rope-scaling"]
    if values["--rope-theta"] is not None:
        config["rope_theta"] = values["--rope-theta"]
    patches: dict[str, dict[str, object]] = {}
    if config:
        patches["config.json"] = config
    generation = values["--override-generation-config"]
    if generation:
        patches["generation_config.json"] = generation
    return patches


def _script(files: ModelFiles, patches: Mapping[str, object]) -> str:
    """Source the Ascend environments, build the model overlay if needed, start the daemon."""
    lines = [f'for f in {" ".join(SET_ENV_SCRIPTS)}; do [ -f "$f" ] && . "$f"; done']
    if patches:
        args = [OVERLAY_DIR, *(f"{name}={_patch_path(name)}" for name in patches)]
        lines.append(
            f"python3 -c {shlex.quote(_OVERLAY)} {shlex.quote(files.path)} {shlex.join(args)} || exit 1"
        )
    lines.append(f"cd {INSTALL_PATH}/bin && exec ./mindieservice_daemon")
    return "\n".join(lines)


def _patch_file(name: str) -> str:
    """config.json → patch-config.json (apart from MindIE's own config.json)."""
    return f"patch-{name}"


def _patch_path(name: str) -> str:
    return f"{PATCH_DIR}/{_patch_file(name)}"


def _memory_fraction(deployment: ModelDeployment, parsed: table.Parsed) -> float:
    """--npu-memory-fraction, else NPU_MEMORY_FRACTION from spec.env, else 0.9 (malformed env
    values are reported by _fraction_env_check)."""
    if "--npu-memory-fraction" in parsed.values:
        return float(parsed.values["--npu-memory-fraction"])
    try:
        return float(deployment.spec.env["NPU_MEMORY_FRACTION"])
    except (KeyError, ValueError):
        return table.DEFAULT_NPU_MEMORY_FRACTION


def _fraction_text(deployment: ModelDeployment, parsed: table.Parsed) -> str:
    """The fraction as the user wrote it in spec.env, else as gpuctl formats it."""
    text = deployment.spec.env.get("NPU_MEMORY_FRACTION")
    if text is not None and "--npu-memory-fraction" not in parsed.values:
        return text
    return f"{_memory_fraction(deployment, parsed):g}"


def _fraction_env_check(deployment: ModelDeployment, parsed: table.Parsed) -> list[Diagnostic]:
    """NPU_MEMORY_FRACTION in spec.env is the flag's other spelling (seed): same rules."""
    text = deployment.spec.env.get("NPU_MEMORY_FRACTION")
    if text is None or "--npu-memory-fraction" in parsed.values:
        return []
    path = "spec.env.NPU_MEMORY_FRACTION"
    try:
        value = float(text)
    except ValueError:
        return [Diagnostic(f"NPU_MEMORY_FRACTION={text!r} is not a number", path=path, code="env-value")]
    if 0 < value <= 1:
        return []
    return [
        Diagnostic(
            f"NPU_MEMORY_FRACTION={text} is out of range: allowed (0, 1]", path=path, code="env-out-of-range"
        )
    ]


def _owned_env(deployment: ModelDeployment, parsed: table.Parsed, values: Values) -> dict[str, str]:
    env = {
        "MIES_INSTALL_PATH": INSTALL_PATH,
        "MIES_CONFIG_JSON_PATH": CONFIG_PATH,
        "MINDIE_CHECK_INPUTFILES_PERMISSION": "0",
        "NPU_MEMORY_FRACTION": _fraction_text(deployment, parsed),
    }
    if "--log-level" in parsed.values:
        env["MINDIE_LOG_LEVEL"] = LOG_LEVELS[str(values["--log-level"])]
    if values["--no-metrics"]:
        env["MIES_SERVICE_MONITOR_MODE"] = "0"
    if values["--enforce-eager"]:
        env |= {
            "MINDIE_ASYNC_SCHEDULING_ENABLE": "0",
            "TASK_QUEUE_ENABLE": "0",
            "ATB_OPERATION_EXECUTE_ASYNC": "0",
            "ASCEND_LAUNCH_BLOCKING": "1",
        }
    return env


def _default_env(values: Values) -> dict[str, str]:
    """Defaults a user may override in spec.env: logs to stdout (docker logs), metrics on, and
    asynchronous scheduling except where MindIE cannot use it (split fuse; batches of 50 or less,
    as GPUStack does)."""
    small = int(values["--max-batch-size"]) <= 50
    return {
        "MINDIE_LOG_LEVEL": LOG_LEVELS[str(values["--log-level"])],
        "MINDIE_LOG_TO_STDOUT": "1",
        "MINDIE_LOG_TO_FILE": "0",
        "MIES_SERVICE_MONITOR_MODE": "1",
        "MINDIE_ASYNC_SCHEDULING_ENABLE": "0" if small or values["--enable-split"] else "1",
        "TASK_QUEUE_ENABLE": "1",
        "ATB_OPERATION_EXECUTE_ASYNC": "1",
    }


def _refused_eager(values: Values) -> dict[str, str]:
    if values["--enforce-eager"]:
        return {}
    return {"ASCEND_LAUNCH_BLOCKING": "set by --enforce-eager"}


def _json(data: object) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
