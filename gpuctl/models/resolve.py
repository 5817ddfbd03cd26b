"""`resolve(source, token) -> ModelInfo`: model metadata from wherever the model lives.

All I/O of model resolution starts here; parsing is pure (config.py, params.py, gguf.py,
files.py) and `describe` (repository.py) ties them together over one Repository interface.
"""

from __future__ import annotations

from pathlib import Path

from gpuctl.errors import Diagnostic, GpuctlError
from gpuctl.models.category import categorize
from gpuctl.models.info import ModelInfo
from gpuctl.models.local import LocalRepository
from gpuctl.models.repository import describe
from gpuctl.spec.models import ModelSource

READ_ON_HOST = "the path does not exist on this machine: its config will be read on the host"


def resolve(
    source: ModelSource,
    token: str | None = None,
    *,
    hf_endpoint: str | None = None,
    modelscope_endpoint: str | None = None,
) -> ModelInfo:
    """Describe the model `source` names, at its revision resolved to a commit.

    `token` authenticates hub requests (never logged); endpoints default to HF_ENDPOINT /
    MODELSCOPE_ENDPOINT. Failures (no such repository or revision, gated model, network down,
    unreadable config) raise GpuctlError with a diagnostic naming the model.
    """
    if source.kind == "huggingface":
        from gpuctl.models.hub import HuggingFaceRepository

        return describe(HuggingFaceRepository(source.ref, source.revision, token, hf_endpoint), source.file)
    if source.kind == "modelscope":
        from gpuctl.models.modelscope import ModelScopeRepository

        return describe(
            ModelScopeRepository(source.ref, source.revision, token, modelscope_endpoint), source.file
        )
    return resolve_local(source.ref, source.file)


def resolve_local(path_text: str, file: str | None = None) -> ModelInfo:
    path = Path(path_text)
    if not path.exists():
        category, reason = categorize(path.name, None)
        return ModelInfo(
            source=f"local:{path_text}", category=category, category_reason=reason, warnings=[READ_ON_HOST]
        )
    try:
        if path.is_file():
            if not path.name.endswith(".gguf"):
                raise GpuctlError(
                    Diagnostic(
                        f"model local:{path_text} is a file but not a GGUF file",
                        hint="point `local` at the model directory (with config.json) or at a .gguf file",
                        code="model-config-missing",
                    )
                )
            return describe(LocalRepository(path.parent, str(path.parent)), path.name).model_copy(
                update={"source": f"local:{path_text}"}
            )
        return describe(LocalRepository(path, path_text), file)
    except OSError as exc:
        raise GpuctlError(
            Diagnostic(
                f"model local:{path_text} cannot be read: {exc.strerror or exc}",
                hint="check the path and its permissions",
                code="model-unreadable",
            )
        ) from exc
