"""Offline stand-ins for the model hubs: a real HTTP server in a thread that answers exactly the
requests gpuctl makes, in the hubs' shapes, with the real configs from tests/data/models.

Hugging Face (as huggingface_hub calls it):
    GET  /api/models/{repo}/revision/{rev}     → {"id", "sha", "siblings": [{"rfilename", "size"}]}
    GET  /{repo}/resolve/{rev}/{path}          → file bytes, Range honoured (206)
    errors carry X-Error-Code: RepoNotFound / RevisionNotFound / GatedRepo / EntryNotFound
ModelScope:
    GET  /api/v1/models/{repo}/repo/files?Revision=&Recursive=true   → {"Code", "Data": {"Files", ...}}
    GET  /api/v1/models/{repo}/repo?Revision=&FilePath=              → file bytes, Range honoured
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import pytest

DATA = Path(__file__).parent.parent / "data" / "models"


@dataclass
class Repo:
    files: dict[str, bytes]
    branch: str = "main"
    gated: bool = False

    @property
    def commit(self) -> str:
        digest = hashlib.sha1()
        for name in sorted(self.files):
            digest.update(name.encode() + self.files[name])
        return digest.hexdigest()


@dataclass
class FakeHub:
    """Repositories served by one fake hub, and the requests it received."""

    repos: dict[str, Repo] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    url: str = ""

    def add(self, repo_id: str, files: dict[str, bytes], **kwargs: object) -> Repo:
        repo = Repo(files=files, **kwargs)  # type: ignore[arg-type]
        self.repos[repo_id] = repo
        return repo

    def find(self, repo_id: str, revision: str) -> tuple[Repo | None, bool]:
        """(repo, revision exists)."""
        repo = self.repos.get(repo_id)
        if repo is None:
            return None, False
        return repo, revision in (
            repo.branch,
            repo.commit,
            "master" if repo.branch == "master" else repo.branch,
        )


def _send(
    handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str] | None = None
) -> None:
    handler.send_response(status)
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(body)


def _ranged(handler: BaseHTTPRequestHandler, data: bytes, headers: dict[str, str]) -> None:
    match = re.match(r"bytes=(\d+)-(\d*)", handler.headers.get("Range") or "")
    if not match:
        _send(handler, 200, data, headers)
        return
    start = int(match.group(1))
    end = min(int(match.group(2)) if match.group(2) else len(data) - 1, len(data) - 1)
    part = data[start : end + 1]
    _send(handler, 206, part, headers | {"Content-Range": f"bytes {start}-{end}/{len(data)}"})


def _huggingface_handler(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_HEAD(self) -> None:
            self.do_GET()

        def do_GET(self) -> None:
            hub.requests.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
            path = unquote(urlparse(self.path).path)
            if match := re.fullmatch(r"/api/models/([^/]+/[^/]+)(?:/revision/(.+))?", path):
                repo, ok = hub.find(match.group(1), match.group(2) or "main")
                if repo is None:
                    _send(self, 404, b'{"error": "Repository not found"}', {"X-Error-Code": "RepoNotFound"})
                elif not ok:
                    _send(self, 404, b'{"error": "Invalid rev id"}', {"X-Error-Code": "RevisionNotFound"})
                else:
                    siblings = [
                        {"rfilename": name, "size": len(data)} for name, data in sorted(repo.files.items())
                    ]
                    body = {"id": match.group(1), "sha": repo.commit, "siblings": siblings}
                    _send(self, 200, json.dumps(body).encode(), {"Content-Type": "application/json"})
                return
            if match := re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path):
                repo, ok = hub.find(match.group(1), match.group(2))
                if repo is None or not ok:
                    _send(
                        self,
                        404,
                        b"not found",
                        {"X-Error-Code": "RepoNotFound" if repo is None else "RevisionNotFound"},
                    )
                    return
                if repo.gated and not (self.headers.get("Authorization") or "").startswith("Bearer "):
                    _send(self, 401, b"gated", {"X-Error-Code": "GatedRepo", "X-Error-Message": "gated"})
                    return
                data = repo.files.get(match.group(3))
                if data is None:
                    _send(self, 404, b"no such file", {"X-Error-Code": "EntryNotFound"})
                    return
                _ranged(self, data, {"X-Repo-Commit": repo.commit, "ETag": f'"{len(data)}"'})
                return
            _send(self, 404, b"unknown endpoint")

    return Handler


def _modelscope_handler(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            hub.requests.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            match = re.fullmatch(r"/api/v1/models/([^/]+/[^/]+)/repo(/files)?", unquote(url.path))
            if not match:
                _send(self, 404, b"unknown endpoint")
                return
            repo, ok = hub.find(match.group(1), query.get("Revision", "master"))
            if repo is None or not ok:
                body = {"Code": 10010205001, "Message": "model or revision not found", "Success": False}
                _send(self, 404, json.dumps(body).encode())
                return
            if repo.gated and not self.headers.get("Authorization"):
                _send(self, 401, json.dumps({"Code": 401, "Message": "login required"}).encode())
                return
            if match.group(2):
                files = [
                    {
                        "Name": name.rsplit("/", 1)[-1],
                        "Path": name,
                        "Size": len(data),
                        "Type": "blob",
                        "Revision": repo.commit,
                    }
                    for name, data in sorted(repo.files.items())
                ]
                body = {
                    "Code": 200,
                    "Success": True,
                    "Data": {"Files": files, "LatestCommitter": {"Id": repo.commit}},
                }
                _send(self, 200, json.dumps(body).encode())
                return
            data = repo.files.get(query.get("FilePath", ""))
            if data is None:
                _send(self, 404, json.dumps({"Code": 404, "Message": "file not found"}).encode())
                return
            _ranged(self, data, {})

    return Handler


def _serve(handler: type[BaseHTTPRequestHandler], hub: FakeHub) -> Iterator[FakeHub]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    hub.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield hub
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def hf_hub() -> Iterator[FakeHub]:
    hub = FakeHub()
    yield from _serve(_huggingface_handler(hub), hub)


@pytest.fixture
def ms_hub() -> Iterator[FakeHub]:
    hub = FakeHub()
    yield from _serve(_modelscope_handler(hub), hub)


def config_bytes(name: str) -> bytes:
    """A real config from tests/data/models, e.g. config_bytes("Qwen__Qwen3-8B")."""
    return (DATA / f"{name}.config.json").read_bytes()


def write_gguf(
    path: Path,
    *,
    arch: str = "llama",
    layers: int = 2,
    hidden: int = 64,
    vocab: int = 96,
    split_max_tensors: int = 0,
    tied: bool = False,
) -> list[Path]:
    """A tiny but real GGUF model (F16 embeddings, Q8_0 layer weights, F32 norms) written with
    the gguf package's writer; returns the files written (several when split)."""
    import gguf
    import numpy as np

    writer = gguf.GGUFWriter(path, arch, split_max_tensors=split_max_tensors)
    writer.add_block_count(layers)
    writer.add_context_length(4096)
    writer.add_embedding_length(hidden)
    writer.add_feed_forward_length(2 * hidden)
    writer.add_head_count(4)
    writer.add_head_count_kv(2)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0)
    writer.add_token_list([f"t{i}" for i in range(vocab)])
    writer.add_tensor("token_embd.weight", np.zeros((vocab, hidden), dtype=np.float16))
    q8_row = hidden // 32 * 34  # Q8_0: 32 weights per 34-byte block
    for layer in range(layers):
        for name, rows in (
            ("attn_q", hidden),
            ("attn_k", hidden // 2),
            ("attn_v", hidden // 2),
            ("ffn_up", 2 * hidden),
        ):
            writer.add_tensor(
                f"blk.{layer}.{name}.weight",
                np.zeros((rows, q8_row), dtype=np.uint8),
                raw_dtype=gguf.GGMLQuantizationType.Q8_0,
            )
        writer.add_tensor(f"blk.{layer}.attn_norm.weight", np.ones(hidden, dtype=np.float32))
    writer.add_tensor("output_norm.weight", np.ones(hidden, dtype=np.float32))
    if not tied:
        writer.add_tensor("output.weight", np.zeros((vocab, hidden), dtype=np.float16))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    if split_max_tensors:
        return sorted(path.parent.glob(path.stem + "-*-of-*.gguf"))
    return [path]


@pytest.fixture
def make_gguf():
    return write_gguf
