"""`gpuctl estimate` and `gpuctl lock`.

`estimate` answers "how much memory will this model take, and does it fit?" for a deployment of a
spec file or for a model named on the command line; `lock` pins every deployment's model to a
commit in gpuctl.lock so that plans need no network.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from gpuctl.errors import Diagnostic, GpuctlError, Location

if TYPE_CHECKING:
    from gpuctl.estimate.types import BackendName, Estimate
    from gpuctl.models.info import ModelInfo
    from gpuctl.spec.models import ModelDeployment, ModelSource, SecretRef

GiB = 1 << 30
LOCK_PATH = Path("gpuctl.lock")

BACKEND_FLAGS = {
    "context_length": ("--max-model-len", "--context-length", "--ctx-size", "-c", "--max-seq-len"),
    "memory_fraction": ("--gpu-memory-utilization", "--mem-fraction-static", "--npu-memory-fraction"),
    "kv_cache_dtype": ("--kv-cache-dtype", "--cache-type-k"),
    "dtype": ("--dtype",),
    "quantization": ("--quantization", "-q"),
    "tensor_parallel": ("--tensor-parallel-size", "-tp", "--tp-size", "--tp"),
    "pipeline_parallel": ("--pipeline-parallel-size", "-pp", "--pp-size", "--pp"),
    "max_batched_tokens": ("--max-num-batched-tokens", "--chunked-prefill-size"),
    "max_num_seqs": ("--max-num-seqs", "--max-running-requests"),
}
"""Backend flags in a deployment's `parameters` that change its memory, by EstimateRequest field."""


def _flag(parameters: list[str], names: tuple[str, ...]) -> str | None:
    """Value of the last of `names` in a backend command line (`--x=v` or `--x v`)."""
    found = None
    for index, item in enumerate(parameters):
        name, eq, value = item.partition("=")
        if name in names:
            found = value if eq else (parameters[index + 1] if index + 1 < len(parameters) else None)
    return found


def _load_deployments(paths: list[Path]) -> list[tuple[str, ModelDeployment]]:
    """(file, ModelDeployment) for every ModelDeployment document under `paths`, validated by the
    spec loader (all diagnostics at once, with file:line:column)."""
    from gpuctl.spec.loader import load_specs

    specs = load_specs(paths)
    return [(specs.location(d).file or "", d) for d in specs.deployments]


def _token(kind: str, secrets: dict[str, SecretRef] | None = None) -> str | None:
    """The hub token from the deployment's secret reference, else the usual variable."""
    variable = "HF_TOKEN" if kind == "huggingface" else "MODELSCOPE_API_TOKEN"
    reference = (secrets or {}).get(variable)
    return os.environ.get(reference.from_env if reference is not None else variable) or None


def _parse_model(text: str, revision: str | None, file: str | None) -> ModelSource:
    from pydantic import ValidationError

    from gpuctl.spec.models import ModelSource

    prefixes = {
        "hf:": "huggingface",
        "huggingface:": "huggingface",
        "ms:": "modelscope",
        "modelscope:": "modelscope",
    }
    data: dict[str, str | None] = {"revision": revision, "file": file}
    for prefix, kind in prefixes.items():
        if text.startswith(prefix):
            data[kind] = text[len(prefix) :]
            break
    else:
        if text.startswith(("/", ".", "~")) or Path(text).exists():
            data["local"] = str(Path(text).expanduser().resolve())
        else:
            data["huggingface"] = text
    try:
        return ModelSource.model_validate(data)
    except ValidationError as exc:
        raise GpuctlError(
            Diagnostic(
                f"--model {text}: {exc.errors()[0]['msg']}",
                hint="use hf:ORG/NAME, ms:ORG/NAME or a local path",
            )
        ) from exc


def _model_from_config(path: Path, name: str | None) -> ModelInfo:
    from gpuctl.models import files
    from gpuctl.models.config import model_info_from_config

    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise GpuctlError(
            Diagnostic(
                f"cannot read {path}: {exc}", location=Location(file=str(path)), code="model-config-invalid"
            )
        ) from exc
    total = None
    index = path.with_name(files.INDEX)
    if index.exists():
        try:
            total = files.index_total_size(json.loads(index.read_text()))
        except (OSError, ValueError):
            total = None
    label = name or str(config.get("_name_or_path") or path.stem.removesuffix(".config").replace("__", "/"))
    return model_info_from_config(
        config,
        source=f"local:{path.resolve()}",
        name=label,
        weight_bytes=total,
        weight_bytes_exact=total is not None,
        config_path=str(path),
    )


def _auto_backend(model: ModelInfo) -> str:
    if model.gguf is not None:
        return "llama-box"
    if model.category in ("speech-to-text", "text-to-speech"):
        return "voxbox"
    if model.category == "image":
        return "sglang"
    return "vllm"


def _resolve_source(source: ModelSource, token: str | None, lock_path: Path) -> ModelInfo:
    from gpuctl.models.lock import load_lock, lookup
    from gpuctl.models.resolve import resolve

    locked = lookup(load_lock(lock_path), source)
    return locked if locked is not None else resolve(source, token)


def _gib(value: int | float | None) -> str:
    return "-" if value is None else f"{value / GiB:.2f} GiB"


def render_table(model: ModelInfo, estimate: Estimate) -> str:
    """The estimate for people: model, placement, per-device breakdown, KV pool, verdict."""
    lines = [f"model      {model.source}" + (f" @ {model.revision[:12]}" if model.revision else "")]
    lines.append(f"category   {model.category} ({model.category_reason})" if model.category_reason else "")
    lines.append(
        f"backend    {estimate.backend}, {estimate.devices} device(s), TP {estimate.tensor_parallel}"
        f" × PP {estimate.pipeline_parallel}"
    )
    if estimate.context_length:
        lines.append(f"context    {estimate.context_length} ({estimate.context_length_reason})")
    if estimate.per_device is not None:
        d = estimate.per_device
        lines.append("per device")
        for label, value in (
            ("weights", d.weights),
            ("KV cache", d.kv_cache),
            ("activation", d.activation),
            ("overhead", d.overhead),
            ("total", d.total),
        ):
            lines.append(f"  {label:<12}{_gib(value):>14}")
    if estimate.kv_bytes_per_token:
        lines.append(f"KV / token {estimate.kv_bytes_per_token:,} B per device")
    if estimate.kv_pool_tokens is not None:
        lines.append(f"KV pool    {_gib(estimate.kv_pool_bytes)} = {estimate.kv_pool_tokens:,} tokens")
    if estimate.max_concurrency is not None:
        lines.append(f"sequences  {estimate.max_concurrency:g} of {estimate.context_length} tokens at once")
    if estimate.gpu_layers is not None:
        lines.append(f"layers     {estimate.gpu_layers} of {estimate.total_layers} on the devices")
    if estimate.cpu_memory:
        lines.append(f"host RAM   {_gib(estimate.cpu_memory)}")
    if estimate.devices:
        lines.append(
            f"needs      {_gib(estimate.required_per_device)} per device for one full-length request"
        )
    largest = estimate.max_context_that_fits
    lines.append(
        f"verdict    {estimate.verdict}" + (f" (largest context that fits: {largest})" if largest else "")
    )
    lines.extend(f"note       {note}" for note in estimate.notes)
    return "\n".join(line for line in lines if line)


def register(app: typer.Typer) -> None:
    @app.command("estimate")
    def estimate_command(
        spec: Annotated[
            Path | None, typer.Argument(help="Spec file or directory with ModelDeployments.")
        ] = None,
        deployment: Annotated[
            str | None, typer.Option("--deployment", "-d", help="Deployment in SPEC.")
        ] = None,
        model: Annotated[
            str | None, typer.Option("--model", "-m", help="hf:ORG/NAME, ms:ORG/NAME or a path.")
        ] = None,
        config: Annotated[
            Path | None, typer.Option("--config", help="A model's config.json, read locally.")
        ] = None,
        revision: Annotated[str | None, typer.Option("--revision", help="Hub branch, tag or commit.")] = None,
        file: Annotated[
            str | None, typer.Option("--file", help="GGUF file or glob in the repository.")
        ] = None,
        gpu: Annotated[
            str | None, typer.Option("--gpu", help='GPU name ("H100-80GB") or size ("80GiB").')
        ] = None,
        gpus: Annotated[int | None, typer.Option("--gpus", min=0, help="Devices (default TP × PP).")] = None,
        tp: Annotated[int | None, typer.Option("--tp", min=1, help="Tensor-parallel size.")] = None,
        pp: Annotated[int | None, typer.Option("--pp", min=1, help="Pipeline-parallel size.")] = None,
        max_model_len: Annotated[
            int | None, typer.Option("--max-model-len", min=1, help="Context length.")
        ] = None,
        memory_fraction: Annotated[
            float | None,
            typer.Option("--gpu-memory-utilization", min=0.01, max=1.0, help="Fraction of each device used."),
        ] = None,
        kv_cache_dtype: Annotated[
            str | None, typer.Option("--kv-cache-dtype", help="auto, fp8, q8_0 ...")
        ] = None,
        dtype: Annotated[
            str | None, typer.Option("--dtype", help="Model dtype (default: the checkpoint's).")
        ] = None,
        quantization: Annotated[
            str | None, typer.Option("--quantization", help="Load-time, e.g. fp8.")
        ] = None,
        backend: Annotated[
            str | None, typer.Option("--backend", help="vllm, sglang, mindie, voxbox, llama-box.")
        ] = None,
        backend_version: Annotated[str | None, typer.Option("--backend-version", help="e.g. 0.11.0.")] = None,
        cpu_offload: Annotated[
            bool, typer.Option("--cpu-offload", help="llama-box/VoxBox: allow the CPU.")
        ] = False,
        lock: Annotated[Path, typer.Option("--lock", help="Lock file with resolved models.")] = LOCK_PATH,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Estimate a model's memory on given devices: weights, KV cache, verdict."""
        from gpuctl.estimate import estimate
        from gpuctl.estimate.gpus import parse_gpu
        from gpuctl.estimate.types import EstimateRequest

        settings: dict[str, Any] = {}
        chosen_backend = backend
        if spec is not None:
            candidates = _load_deployments([spec])
            if deployment:
                candidates = [(f, d) for f, d in candidates if d.metadata.name == deployment]
            if len(candidates) != 1:
                names = ", ".join(d.metadata.name for _, d in _load_deployments([spec])) or "none"
                what = f"no deployment named {deployment}" if deployment else "not exactly one deployment"
                raise GpuctlError(
                    Diagnostic(
                        f"{spec}: {what} (found: {names})",
                        location=Location(file=str(spec)),
                        hint="choose one with --deployment NAME",
                    )
                )
            _, chosen = candidates[0]
            source = chosen.spec.model
            info = _resolve_source(source, _token(source.kind, chosen.spec.secrets), lock)
            if chosen.spec.backend != "auto":
                chosen_backend = chosen_backend or chosen.spec.backend
            backend_version = backend_version or chosen.spec.backend_version
            for setting, flags in BACKEND_FLAGS.items():
                value = _flag(list(chosen.spec.parameters), flags)
                if value is not None:
                    settings[setting] = value
            cpu_offload = cpu_offload or chosen.spec.placement.cpu_offload
        elif config is not None:
            info = _model_from_config(config, model)
        elif model is not None:
            source = _parse_model(model, revision, file)
            info = _resolve_source(source, _token(source.kind), lock)
        else:
            raise GpuctlError(Diagnostic("nothing to estimate", hint="give a spec file, --model or --config"))

        overrides = {
            "context_length": max_model_len,
            "memory_fraction": memory_fraction,
            "kv_cache_dtype": kv_cache_dtype,
            "dtype": dtype,
            "quantization": quantization,
            "tensor_parallel": tp,
            "pipeline_parallel": pp,
        }
        settings.update({k: v for k, v in overrides.items() if v is not None})
        chosen_backend = chosen_backend or _auto_backend(info)
        tp_size = int(settings.get("tensor_parallel") or 1)
        pp_size = int(settings.get("pipeline_parallel") or 1)
        device_name = None
        memory: tuple[int, ...] = ()
        if gpu is not None:
            try:
                device_name, size = parse_gpu(gpu)
            except ValueError as exc:
                raise GpuctlError(Diagnostic(f"--gpu: {exc}")) from exc
            memory = (size,) * (gpus if gpus is not None else tp_size * pp_size)
        elif chosen_backend not in ("llama-box", "voxbox"):
            raise GpuctlError(Diagnostic("which devices? pass --gpu (a GPU name or a size such as 80GiB)"))
        try:
            request = EstimateRequest(
                backend=cast("BackendName", chosen_backend),
                device_memory=memory,
                device_name=device_name,
                tensor_parallel=tp_size,
                pipeline_parallel=pp_size,
                context_length=int(settings["context_length"]) if "context_length" in settings else None,
                memory_fraction=float(settings["memory_fraction"]) if "memory_fraction" in settings else None,
                kv_cache_dtype=str(settings.get("kv_cache_dtype") or "auto"),
                dtype=str(settings["dtype"]) if "dtype" in settings else None,
                quantization=str(settings["quantization"]) if "quantization" in settings else None,
                backend_version=backend_version,
                max_batched_tokens=int(settings["max_batched_tokens"])
                if "max_batched_tokens" in settings
                else None,
                max_num_seqs=int(settings["max_num_seqs"]) if "max_num_seqs" in settings else None,
                cpu_offload=cpu_offload,
            )
        except (ValueError, TypeError) as exc:
            raise GpuctlError(Diagnostic(f"invalid estimate settings: {exc}")) from exc
        result = estimate(info, request)
        if as_json:
            from gpuctl.cli.output import print_json

            print_json(
                {
                    "model": info.model_dump(mode="json", exclude={"files"}),
                    "estimate": result.model_dump(mode="json"),
                }
            )
        else:
            print(render_table(info, result))

    @app.command("lock")
    def lock_command(
        specs: Annotated[
            list[Path] | None, typer.Argument(help="Spec files or directories (default: specs).")
        ] = None,
        lock: Annotated[Path, typer.Option("--lock", help="Lock file to write.")] = LOCK_PATH,
        update: Annotated[
            bool, typer.Option("--update", help="Re-resolve every model, not only new ones.")
        ] = False,
        check: Annotated[bool, typer.Option("--check", help="Only report missing or stale entries.")] = False,
    ) -> None:
        """Pin every deployment's model to a commit in gpuctl.lock (plans then need no network)."""
        from gpuctl.cli.output import print_diagnostics
        from gpuctl.models.lock import Lock, load_lock, lookup, write_lock
        from gpuctl.models.lock import check as check_lock
        from gpuctl.models.resolve import resolve

        deployments = _load_deployments(specs or [Path("specs")])
        sources = {d.metadata.name: d.spec.model for _, d in deployments}
        current = load_lock(lock)
        if check:
            problems = check_lock(current, sources)
            print_diagnostics(problems)
            if problems:
                raise typer.Exit(1)
            print(f"{lock}: {len(sources)} deployment(s) locked")
            return
        fresh = Lock(path=str(lock))
        for _file, item in deployments:
            source = item.spec.model
            known = None if update else lookup(current, source)
            if known is None:
                known = resolve(source, _token(source.kind, item.spec.secrets))
                for warning in known.warnings:
                    print(f"{item.metadata.name}: {warning}", file=sys.stderr)
            fresh.add(source, known)
        write_lock(fresh, lock)
        print(f"wrote {lock}: {len(fresh.entries)} model(s) for {len(sources)} deployment(s)")
