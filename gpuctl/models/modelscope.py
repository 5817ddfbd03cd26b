"""ModelScope repositories over its HTTP API (the `modelscope` client pulls in a training stack;
gpuctl needs three requests, made with urllib):

    GET {endpoint}/api/v1/models/{id}/repo/files?Revision={rev}&Recursive=true   listing, sizes, commit
    GET {endpoint}/api/v1/models/{id}/repo?Revision={commit}&FilePath={path}     a file (Range honoured)

The endpoint is `MODELSCOPE_ENDPOINT` (or `https://` + `MODELSCOPE_DOMAIN`, the client's own
variable), default https://modelscope.cn. A token (from the deployment's secret reference or
`MODELSCOPE_API_TOKEN`) is sent as a bearer header. The revision is pinned to the commit the
listing reports (`LatestCommitter.Id`, else the files' common `Revision`).
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from urllib.parse import quote, urlencode

from gpuctl.errors import Diagnostic, GpuctlError
from gpuctl.models.gguf import ByteSource

DEFAULT_ENDPOINT = "https://modelscope.cn"
TIMEOUT = 30.0
COMMIT = re.compile(r"^[0-9a-f]{7,64}$")


def default_endpoint() -> str:
    if endpoint := os.environ.get("MODELSCOPE_ENDPOINT"):
        return endpoint.rstrip("/")
    if domain := os.environ.get("MODELSCOPE_DOMAIN"):
        return (domain if "://" in domain else f"https://{domain}").rstrip("/")
    return DEFAULT_ENDPOINT


class ModelScopeRepository:
    """A ModelScope model repository pinned to one commit."""

    def __init__(
        self, repo_id: str, revision: str | None, token: str | None, endpoint: str | None = None
    ) -> None:
        self.name = repo_id
        self.source = f"modelscope:{repo_id}"
        self.endpoint = (endpoint or default_endpoint()).rstrip("/")
        self._token = token
        requested = revision or "master"
        query = urlencode({"Revision": requested, "Recursive": "true"})
        listing = self._json(f"/api/v1/models/{quote(repo_id)}/repo/files?{query}", requested)
        data = listing.get("Data") or {}
        entries = [f for f in data.get("Files") or [] if isinstance(f, dict) and f.get("Type") != "tree"]
        self.files: dict[str, int] = {
            str(f.get("Path") or f.get("Name")): int(f.get("Size") or 0) for f in entries
        }
        commit = (data.get("LatestCommitter") or {}).get("Id")
        revisions = {str(f.get("Revision")) for f in entries if f.get("Revision")}
        if not commit and len(revisions) == 1 and COMMIT.match(next(iter(revisions))):
            commit = next(iter(revisions))
        self.revision: str | None = str(commit) if commit else requested

    def _request(self, path: str, revision: str, headers: dict[str, str] | None = None) -> bytes:
        request = urllib.request.Request(self.endpoint + path, headers=dict(headers or {}))
        if self._token:
            request.add_header("Authorization", f"Bearer {self._token}")
        where = f"model modelscope:{self.name}" + (f" at revision {revision}" if revision else "")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                return response.read()
        except urllib.error.HTTPError as exc:
            message = _message(exc)
            if exc.code in (401, 403):
                hint = "the repository needs a token: set MODELSCOPE_API_TOKEN (or a secret reference)"
                raise GpuctlError(
                    Diagnostic(f"{where}: access denied ({message})", hint=hint, code="model-gated")
                ) from exc
            if exc.code == 404:
                raise GpuctlError(
                    Diagnostic(
                        f"{where} was not found on {self.endpoint} ({message})",
                        hint="check the repository id and the revision",
                        code="model-not-found",
                    )
                ) from exc
            raise GpuctlError(
                Diagnostic(
                    f"{where}: ModelScope answered HTTP {exc.code} ({message})", code="model-hub-error"
                )
            ) from exc
        except (urllib.error.URLError, OSError) as exc:
            raise GpuctlError(
                Diagnostic(
                    f"{where}: cannot reach {self.endpoint} ({exc})",
                    hint="check the network or MODELSCOPE_ENDPOINT; `gpuctl lock` once where it is reachable",
                    code="model-hub-unreachable",
                )
            ) from exc

    def _json(self, path: str, revision: str) -> dict:
        body = self._request(path, revision)
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise GpuctlError(
                Diagnostic(
                    f"model modelscope:{self.name}: ModelScope sent a non-JSON answer", code="model-hub-error"
                )
            ) from exc
        code = data.get("Code")
        if data.get("Success") is False or (isinstance(code, int) and code not in (0, 200)):
            raise GpuctlError(
                Diagnostic(
                    f"model modelscope:{self.name} at revision {revision}: {data.get('Message') or code}",
                    hint="check the repository id and the revision",
                    code="model-not-found",
                )
            )
        return data

    def _file(self, path: str, start: int | None = None, size: int | None = None) -> bytes:
        revision = self.revision or "master"
        query = urlencode({"Revision": revision, "FilePath": path})
        headers = {"Range": f"bytes={start}-{start + size - 1}"} if start is not None and size else None
        body = self._request(f"/api/v1/models/{quote(self.name)}/repo?{query}", revision, headers)
        if start is not None and size is not None and len(body) > size:  # range ignored
            return body[start : start + size]
        return body

    def read(self, path: str) -> bytes:
        return self._file(path)

    def byte_source(self, path: str) -> ByteSource:
        return lambda start, size: self._file(path, start, size)


def _message(error: urllib.error.HTTPError) -> str:
    try:
        data = json.loads(error.read() or b"{}")
    except ValueError:
        return error.reason or str(error.code)
    return str(data.get("Message") or error.reason or error.code)
