"""A stand-in model hub for the sandbox: Hugging Face's and ModelScope's download paths, serving
small placeholder files for any repository (stdlib only).

Sandbox hosts cannot reach the internet, and the stub backends never read weights, so apply's
model downloads (MindIE, llama-box) get placeholder bytes from here: `gpuctl sandbox up` runs one
on the sandbox's gateway, port HUB_PORT, beside its registry; point `HF_ENDPOINT` and
`MODELSCOPE_ENDPOINT` at it. Requests are recorded (method, path, whether they carried a token),
never the token itself.

    GET /api/models/{org}/{name}[/revision/{rev}]      listing: {"id", "sha", "siblings"}
    GET /{org}/{name}/resolve/{rev}/{path}             a file
    GET /api/v1/models/{org}/{name}/repo/files?...     ModelScope listing
    GET /api/v1/models/{org}/{name}/repo?FilePath=...  a ModelScope file
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

HUB_PORT = 5001

FILES = ("config.json", "model.safetensors")
"""What every repository holds, unless it was given its own files."""


def placeholder(repo: str, path: str) -> bytes:
    return f"gpuctl sandbox placeholder: {repo}/{path}\n".encode()


@dataclass
class Hub:
    """Repositories with their own files (others hold FILES), gated ones, and what was asked."""

    files: dict[str, list[str]] = field(default_factory=dict)
    """Listings of particular repositories; any other repository lists FILES and serves any path."""
    gated: set[str] = field(default_factory=set)
    requests: list[tuple[str, str, bool]] = field(default_factory=list)
    """(method, path, authorized)."""

    def listing(self, repo: str) -> list[str]:
        return self.files.get(repo, list(FILES))


def serve(hub: Hub, address: str, port: int = 0) -> tuple[ThreadingHTTPServer, str]:
    """Start the hub in a daemon thread; the server and its URL."""
    server = ThreadingHTTPServer((address, port), _handler(hub))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://{address}:{server.server_port}"


def _handler(hub: Hub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _send(self, status: int, body: bytes, kind: str = "application/octet-stream") -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_HEAD(self) -> None:
            self.do_GET()

        def do_GET(self) -> None:
            authorized = (self.headers.get("Authorization") or "").startswith("Bearer ")
            hub.requests.append((self.command, self.path, authorized))
            url = urlparse(self.path)
            path, query = unquote(url.path), parse_qs(url.query)
            if match := re.fullmatch(r"/api/v1/models/([^/]+/[^/]+)/repo/files", path):
                self._modelscope_listing(match[1], authorized)
            elif match := re.fullmatch(r"/api/v1/models/([^/]+/[^/]+)/repo", path):
                self._file(match[1], (query.get("FilePath") or [""])[0], authorized)
            elif match := re.fullmatch(r"/api/models/([^/]+/[^/]+)(?:/revision/.+)?", path):
                self._hf_listing(match[1], authorized)
            elif match := re.fullmatch(r"/([^/]+/[^/]+)/resolve/[^/]+/(.+)", path):
                self._file(match[1], match[2], authorized)
            else:
                self._send(404, b'{"error": "not found"}', "application/json")

        def _refused(self, repo: str, authorized: bool) -> bool:
            if repo in hub.gated and not authorized:
                self._send(401, b'{"error": "gated repository: a token is required"}', "application/json")
                return True
            return False

        def _hf_listing(self, repo: str, authorized: bool) -> None:
            if self._refused(repo, authorized):
                return
            files = hub.listing(repo)
            body = {
                "id": repo,
                "sha": _commit(repo),
                "siblings": [{"rfilename": f, "size": len(placeholder(repo, f))} for f in files],
            }
            self._send(200, json.dumps(body).encode(), "application/json")

        def _modelscope_listing(self, repo: str, authorized: bool) -> None:
            if self._refused(repo, authorized):
                return
            files = [
                {"Path": f, "Name": f.rsplit("/", 1)[-1], "Type": "blob", "Size": len(placeholder(repo, f))}
                for f in hub.listing(repo)
            ]
            body = {"Code": 200, "Success": True, "Data": {"Files": files}}
            self._send(200, json.dumps(body).encode(), "application/json")

        def _file(self, repo: str, path: str, authorized: bool) -> None:
            if self._refused(repo, authorized):
                return
            if repo in hub.files and path not in hub.files[repo]:
                self._send(404, b'{"error": "entry not found"}', "application/json")
                return
            self._send(200, placeholder(repo, path))

    return Handler


def _commit(repo: str) -> str:
    return hashlib.sha1(repo.encode()).hexdigest()


# --------------------------------------------------------------------------- the sandbox's hub process


def url(address: str) -> str:
    return f"http://{address}:{HUB_PORT}"


def _command(address: str) -> list[str]:
    return [sys.executable, "-m", "gpuctl.sandbox.hub", address, str(HUB_PORT)]


def pid(run_dir: Path, address: str) -> int | None:
    from gpuctl.sandbox import system

    return system.read_pid(run_dir / "hub.pid", " ".join(_command(address)[1:]))


def ensure(run_dir: Path, address: str, log: Path) -> None:
    """The sandbox's hub on its gateway address, started unless it runs."""
    from gpuctl.sandbox import system

    if pid(run_dir, address) is not None:
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    started = system.start_background(_command(address), log)
    (run_dir / "hub.pid").write_text(f"{started}\n")
    system.wait_for(
        lambda: system.http_status(address, HUB_PORT, "/api/models/a/b") == 200,
        15,
        f"the model hub on {address}:{HUB_PORT} answering",
        str(log),
    )


def stop(run_dir: Path, address: str) -> None:
    from gpuctl.sandbox import system

    running = pid(run_dir, address)
    if running is not None:
        system.terminate([running], grace=3)


def main() -> None:
    """`python -m gpuctl.sandbox.hub ADDRESS PORT`: serve until terminated."""
    address, port = sys.argv[1], int(sys.argv[2])
    ThreadingHTTPServer((address, port), _handler(Hub())).serve_forever()


if __name__ == "__main__":
    main()
