"""A model repository, wherever it lives: its files with sizes, and reads of whole files or of
byte ranges. Hugging Face (hub.py), ModelScope (modelscope.py) and local directories
(local.py) implement it; `describe` turns any of them into a ModelInfo.
"""

from __future__ import annotations

import json
from typing import Protocol

from gpuctl.errors import Diagnostic, GpuctlError
from gpuctl.models import files as weight_files
from gpuctl.models.category import VOXBOX_MODELS, categorize
from gpuctl.models.config import model_info_from_config
from gpuctl.models.gguf import (
    ByteSource,
    choose_mmproj,
    choose_model_file,
    gguf_file,
    read_header,
    split_shards,
)
from gpuctl.models.info import Category, GgufFile, ModelInfo

EMBEDDING_GGUF_ARCHITECTURES = {"bert", "nomic-bert", "jina-bert-v2", "gemma-embedding", "t5encoder"}


class Repository(Protocol):
    name: str
    """Repository id or path, as users write it (used in messages and the category table)."""
    source: str
    """`huggingface:ORG/NAME`, `modelscope:ORG/NAME` or `local:/path`."""
    revision: str | None
    """The commit the files were read at (None for local paths)."""
    files: dict[str, int]

    def read(self, path: str) -> bytes: ...

    def byte_source(self, path: str) -> ByteSource: ...


def _json(repo: Repository, path: str) -> dict:
    try:
        data = json.loads(repo.read(path))
    except (ValueError, UnicodeDecodeError) as exc:
        raise GpuctlError(
            Diagnostic(
                f"{path} of model {repo.name} is not valid JSON ({exc})",
                hint="check the repository's files; a revision with a broken config cannot be estimated",
                code="model-config-invalid",
            )
        ) from exc
    if not isinstance(data, dict):
        raise GpuctlError(
            Diagnostic(f"{path} of model {repo.name} is not a JSON object", code="model-config-invalid")
        )
    return data


def describe(repo: Repository, file: str | None = None) -> ModelInfo:
    """Everything gpuctl needs about the model in `repo`; `file` selects a GGUF file."""
    files = repo.files
    short = repo.name.rstrip("/").rsplit("/", 1)[-1].lower()
    has_gguf = any(path.endswith(".gguf") for path in files)
    if file or (has_gguf and "config.json" not in files and short not in VOXBOX_MODELS):
        return _describe_gguf(repo, file or "*.gguf")
    if short in VOXBOX_MODELS:
        category, reason = categorize(repo.name, None)
        total = sum(files[p] for p in weight_files.speech_weight_files(files))
        return ModelInfo(
            source=repo.source,
            revision=repo.revision,
            category=category,
            category_reason=reason,
            weight_bytes=total or None,
            weight_bytes_exact=bool(total),
            files=files,
        )
    if "model_index.json" in files:
        index = _json(repo, "model_index.json")
        category, reason = categorize(repo.name, None, index)
        total = sum(files[p] for p in weight_files.diffusers_weight_files(files, index))
        return ModelInfo(
            source=repo.source,
            revision=repo.revision,
            architectures=[str(index.get("_class_name", ""))] if index.get("_class_name") else [],
            category=category,
            category_reason=reason,
            weight_bytes=total or None,
            weight_bytes_exact=bool(total),
            files=files,
        )
    if "config.json" not in files:
        raise GpuctlError(
            Diagnostic(
                f"model {repo.name} has no config.json, model_index.json or GGUF file"
                + (f" at revision {repo.revision}" if repo.revision else ""),
                hint="check the repository id and revision; for GGUF repositories set `file`",
                code="model-config-missing",
            )
        )
    config = _json(repo, "config.json")
    weights, exact = _weight_bytes(repo)
    info = model_info_from_config(
        config,
        source=repo.source,
        revision=repo.revision,
        name=repo.name,
        files=files,
        weight_bytes=weights,
        weight_bytes_exact=exact,
    )
    return info


def _weight_bytes(repo: Repository) -> tuple[int | None, bool]:
    """(bytes, exact): the safetensors index's total, a single file's header, else file sizes."""
    files = repo.files
    if weight_files.INDEX in files:
        total = weight_files.index_total_size(_json(repo, weight_files.INDEX))
        if total:
            return total, True
    chosen = weight_files.transformers_weight_files(files)
    if len(chosen) == 1 and chosen[0].endswith(".safetensors"):
        try:
            return weight_files.safetensors_bytes(repo.byte_source(chosen[0])), True
        except (ValueError, KeyError, TypeError):
            pass  # an unreadable header: fall back to the file size
    total = sum(files[path] for path in chosen)
    return (total or None), False


def _describe_gguf(repo: Repository, pattern: str) -> ModelInfo:
    files = repo.files
    path = choose_model_file(files, pattern, repo.name)
    shards = [p for p in split_shards(path) if p in files] or [path]
    headers = [read_header(repo.byte_source(shard), f"{repo.name}/{shard}") for shard in shards]
    model = gguf_file(path, sum(files.get(s, 0) for s in shards), headers, shards[1:])
    projector: GgufFile | None = None
    if mmproj := choose_mmproj(files, path):
        projector = gguf_file(mmproj, files[mmproj], [read_header(repo.byte_source(mmproj), mmproj)])
    category: Category
    if projector is not None:
        category, reason = "vision-language", f"GGUF with projector {mmproj}"
    elif model.architecture in EMBEDDING_GGUF_ARCHITECTURES:
        category, reason = "embedding", f"GGUF architecture {model.architecture}"
    else:
        category, reason = "llm", f"GGUF architecture {model.architecture}"
    heads = model.head_count
    return ModelInfo(
        source=repo.source,
        revision=repo.revision,
        architectures=[model.architecture],
        model_type=model.architecture,
        category=category,
        category_reason=reason,
        num_layers=model.layers,
        hidden_size=model.embedding_length,
        num_attention_heads=heads,
        num_kv_heads=model.head_count_kv or heads,
        head_dim=model.key_length or ((model.embedding_length or 0) // heads if heads else None),
        kv_lora_rank=model.kv_lora_rank,
        max_context=model.context_length,
        weight_bytes=model.size + (projector.size if projector else 0),
        weight_bytes_exact=True,
        files=files,
        gguf=model,
        mmproj=projector,
    )
