"""Hugging Face repositories through huggingface_hub: the revision resolved to its commit, the
file listing with sizes, small files and byte ranges read into memory (nothing is written to the
local hub cache: gpuctl only looks at metadata; the hosts download the weights).

`HF_ENDPOINT` is read when a repository is opened (not when huggingface_hub is imported), so a
mirror set in the environment of `gpuctl plan` is honoured; the token comes from the deployment's
secret reference (or `HF_TOKEN`) and is only ever sent as a header.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from gpuctl.errors import Diagnostic, GpuctlError
from gpuctl.models.gguf import ByteSource

DEFAULT_ENDPOINT = "https://huggingface.co"
TIMEOUT = 30.0


@contextmanager
def hub_errors(repo_id: str, revision: str | None, endpoint: str) -> Iterator[None]:
    """Turn huggingface_hub / network exceptions into diagnostics naming the model."""
    import httpx2
    from huggingface_hub import errors

    where = f"model huggingface:{repo_id}" + (f" at revision {revision}" if revision else "")
    try:
        yield
    except errors.GatedRepoError as exc:
        raise GpuctlError(
            Diagnostic(
                f"{where} is gated: its files need an authorised token",
                hint="accept the model's terms on its Hugging Face page, then give gpuctl a token "
                "(HF_TOKEN in the environment, or secrets: {HF_TOKEN: {fromEnv: ...}} in the spec)",
                code="model-gated",
            )
        ) from exc
    except errors.RevisionNotFoundError as exc:
        raise GpuctlError(
            Diagnostic(
                f"{where}: the revision does not exist",
                hint="use a branch, tag or commit of the repository (or leave `revision` out for main)",
                code="model-revision-not-found",
            )
        ) from exc
    except errors.RepositoryNotFoundError as exc:
        raise GpuctlError(
            Diagnostic(
                f"model huggingface:{repo_id} was not found on {endpoint}",
                hint="check the repository id; private repositories also need a token (HF_TOKEN)",
                code="model-not-found",
            )
        ) from exc
    except errors.EntryNotFoundError as exc:
        raise GpuctlError(
            Diagnostic(f"{where}: a file it lists could not be read ({exc})", code="model-file-missing")
        ) from exc
    except errors.HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "?"
        raise GpuctlError(
            Diagnostic(
                f"{where}: the hub answered HTTP {status}",
                hint="retry later; a 401/403 means the token is missing or lacks access",
                code="model-hub-error",
            )
        ) from exc
    except (httpx2.HTTPError, OSError) as exc:
        raise GpuctlError(
            Diagnostic(
                f"{where}: cannot reach {endpoint} ({type(exc).__name__}: {exc})",
                hint="check the network or set HF_ENDPOINT to a reachable mirror; "
                "`gpuctl lock` once where the hub is reachable lets plans run offline",
                code="model-hub-unreachable",
            )
        ) from exc


class HuggingFaceRepository:
    """A Hugging Face model repository pinned to one commit."""

    def __init__(
        self, repo_id: str, revision: str | None, token: str | None, endpoint: str | None = None
    ) -> None:
        from huggingface_hub import HfApi

        self.name = repo_id
        self.source = f"huggingface:{repo_id}"
        self.endpoint = (endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
        self._token = token
        self._api = HfApi(endpoint=self.endpoint, token=token)
        with hub_errors(repo_id, revision, self.endpoint):
            info = self._api.model_info(repo_id, revision=revision, files_metadata=True, timeout=TIMEOUT)
        self.revision: str | None = info.sha or revision
        self.files: dict[str, int] = {s.rfilename: int(s.size or 0) for s in info.siblings or []}

    def _get(self, path: str, start: int | None = None, size: int | None = None) -> bytes:
        from huggingface_hub import get_session, hf_hub_url
        from huggingface_hub.utils import build_hf_headers, hf_raise_for_status

        url = hf_hub_url(self.name, path, revision=self.revision, endpoint=self.endpoint)
        headers = build_hf_headers(token=self._token)
        if start is not None and size is not None:
            headers["Range"] = f"bytes={start}-{start + size - 1}"
        with hub_errors(self.name, self.revision, self.endpoint):
            response = get_session().get(url, headers=headers, timeout=TIMEOUT, follow_redirects=True)
            hf_raise_for_status(response)
        if start is not None and response.status_code == 200:  # server ignored the range
            return response.content[start : start + (size or 0)]
        return response.content

    def read(self, path: str) -> bytes:
        return self._get(path)

    def byte_source(self, path: str) -> ByteSource:
        return lambda start, size: self._get(path, start, size)
