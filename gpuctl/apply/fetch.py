"""ModelFetch: model files downloaded on a host before its container starts (MindIE and llama-box
cannot download by themselves).

The host downloads straight from the hub with curl (model files are gigabytes: they should not
pass through the machine running gpuctl). The gpuctl side only decides what to fetch: the files
the backend named, or, when it named none, the repository's listing, read with the same hub
clients (and the same `HF_ENDPOINT` / `MODELSCOPE_ENDPOINT` mirrors) that resolve models.

A hub token goes to curl on standard input as a header (`-H @-`), never on a command line or in a
file. Each file is written as `NAME.gpuctl-partial` and renamed when complete (curl resumes a
partial file); a marker file with a digest of what was fetched makes the next apply skip the
download.

A download outlives the apply that started it when that apply is killed (the host's shell and
curl do not notice the SSH connection is gone), and the next apply would resume the same partial
files while the orphan still appends to them. So each download holds an flock on a file beside
its target (`TARGET.gpuctl-lock`), taken before it looks at which files are missing: the next
apply waits for the orphan to finish (a stalled one gives up, see STALLED_SECONDS), then finds its
files there.
"""

from __future__ import annotations

import hashlib
import posixpath
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from gpuctl.backends.types import ContainerSpec, ModelFetch

MARKER = ".gpuctl-complete"
PARTIAL = ".gpuctl-partial"
LOCK = ".gpuctl-lock"
HF_DEFAULT = "https://huggingface.co"
CONNECT_SECONDS = 30
STALLED_BYTES_PER_SECOND = 1024
STALLED_SECONDS = 60
"""A download runs without a time limit (gigabytes take what they take), but one that receives
less than STALLED_BYTES_PER_SECOND for STALLED_SECONDS has stalled (a hub or proxy that accepted
the connection and sends nothing): curl gives up (and retries), or the apply would wait forever
holding its locks."""
RETRIES = 3
TOKENS = {"huggingface": "HF_TOKEN", "modelscope": "MODELSCOPE_API_TOKEN"}


@dataclass(frozen=True)
class Download:
    """One model download on one host, resolved to files and URLs."""

    fetch: ModelFetch
    files: tuple[str, ...]
    endpoint: str

    def url(self, path: str) -> str:
        fetch = self.fetch
        if fetch.source == "huggingface":
            revision = quote(fetch.revision or "main", safe="")
            return f"{self.endpoint}/{fetch.repo}/resolve/{revision}/{quote(path)}"
        query = urlencode({"Revision": fetch.revision or "master", "FilePath": path})
        return f"{self.endpoint}/api/v1/models/{fetch.repo}/repo?{query}"


def digest(fetch: ModelFetch) -> str:
    """What the completion marker records: the request (source, repository, revision, files), so
    a later apply can skip a finished download without asking the hub for the listing again."""
    blob = "\n".join([fetch.source, fetch.repo, fetch.revision or "", fetch.target, *fetch.files])
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def endpoint(source: str, environ: Mapping[str, str]) -> str:
    if source == "huggingface":
        return (environ.get("HF_ENDPOINT") or HF_DEFAULT).rstrip("/")
    from gpuctl.models.modelscope import DEFAULT_ENDPOINT

    if environ.get("MODELSCOPE_ENDPOINT"):
        return environ["MODELSCOPE_ENDPOINT"].rstrip("/")
    domain = environ.get("MODELSCOPE_DOMAIN")
    return f"https://{domain}" if domain else DEFAULT_ENDPOINT


def token_for(spec: ContainerSpec, environ: Mapping[str, str]) -> str | None:
    """The hub token: the container's own secret of that name, else the variable gpuctl reads
    model metadata with."""
    assert spec.fetch is not None
    name = TOKENS[spec.fetch.source]
    local = spec.secret_env.get(name, name)
    return environ.get(local) or None


def resolve(fetch: ModelFetch, token: str | None, environ: Mapping[str, str]) -> Download:
    """The files to fetch: those named, else every file of the repository (hub I/O)."""
    base = endpoint(fetch.source, environ)
    if fetch.files:
        return Download(fetch, tuple(fetch.files), base)
    if fetch.source == "huggingface":
        from gpuctl.models.hub import HuggingFaceRepository

        files = HuggingFaceRepository(fetch.repo, fetch.revision, token, base).files
    else:
        from gpuctl.models.modelscope import ModelScopeRepository

        files = ModelScopeRepository(fetch.repo, fetch.revision, token, base).files
    return Download(fetch, tuple(sorted(files)), base)


def headers(token: str | None) -> str:
    """curl's standard input: the authorization header, if there is a token."""
    return f"Authorization: Bearer {token}\n" if token else ""


def complete_command(target: str, digest: str) -> str:
    marker = shlex.quote(posixpath.join(target, MARKER))
    return f'if [ -f {marker} ] && [ "$(cat {marker})" = {shlex.quote(digest)} ]; then echo complete; fi'


def download_command(download: Download, with_token: bool) -> str:
    """Download every missing file, then write the marker. Standard input: `headers(token)`."""
    target = download.fetch.target
    lock = shlex.quote(target.rstrip("/") + LOCK)  # beside the model's directory, not in it
    lines = [
        "set -e",
        f"mkdir -p -- {shlex.quote(target)}",
        f"if command -v flock >/dev/null 2>&1; then exec 9>{lock}; flock 9 || true; fi",
        "set --",
    ]
    finals = []
    for path in download.files:
        final = posixpath.normpath(posixpath.join(target, path))
        if not final.startswith(target.rstrip("/") + "/"):
            raise ValueError(f"file {path!r} of {download.fetch.repo} would land outside {target}")
        quoted, partial = shlex.quote(final), shlex.quote(final + PARTIAL)
        lines.append(f'[ -f {quoted} ] || set -- "$@" {shlex.quote(download.url(path))} -o {partial}')
        finals.append((quoted, partial))
    curl = (
        f"curl --fail --location --silent --show-error --retry {RETRIES} --continue-at - --create-dirs "
        f"--connect-timeout {CONNECT_SECONDS} --speed-limit {STALLED_BYTES_PER_SECOND} "
        f"--speed-time {STALLED_SECONDS}"
    )
    if with_token:
        curl += " --header @-"
    lines.append(f'if [ $# -gt 0 ]; then {curl} "$@"; fi')
    lines += [f"[ -f {final} ] || mv -f -- {partial} {final}" for final, partial in finals]
    marker = shlex.quote(posixpath.join(target, MARKER))
    lines.append(f"printf '%s\\n' {shlex.quote(digest(download.fetch))} > {marker}")
    return "\n".join(lines)
