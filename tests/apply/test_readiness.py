"""The readiness poll: run in a real shell with a `docker` that reports a state and a real HTTP
server answering the readiness path, as it runs on a host."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gpuctl.apply import readiness


@pytest.fixture
def backend() -> Iterator[dict[str, int]]:
    """An HTTP server on 127.0.0.1 answering GET with `status["code"]`."""
    status = {"code": 503}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(status["code"])
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    status["port"] = server.server_address[1]
    yield status
    server.shutdown()


def poll(tmp_path: Path, state: str, port: int, path: str = "/health") -> readiness.Poll | None:
    fake = tmp_path / "docker"
    if state == "missing":
        fake.write_text("#!/bin/sh\necho 'Error: No such object' >&2\nexit 1\n")
    else:
        fake.write_text(f"#!/bin/sh\necho '{state}'\n")
    fake.chmod(0o755)
    done = subprocess.run(
        ["sh", "-c", readiness.poll_command("gpuctl-chat-0", "127.0.0.1", port, path)],
        env={"PATH": f"{tmp_path}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    return readiness.parse_poll(done.stdout)


def test_running_and_answering_200_is_ready(tmp_path: Path, backend: dict[str, int]) -> None:
    backend["code"] = 200
    result = poll(tmp_path, "running 0 0", backend["port"])
    assert result == readiness.Poll("running", 0, 0, "200") and result.ready and result.failure() is None


def test_loading_backend_is_not_ready_yet(tmp_path: Path, backend: dict[str, int]) -> None:
    result = poll(tmp_path, "running 0 0", backend["port"])
    assert result is not None and not result.ready and result.failure() is None
    assert result.describe() == "answers HTTP 503"


def test_nothing_listening_is_not_ready_yet(tmp_path: Path) -> None:
    with socket_closed_port() as port:
        result = poll(tmp_path, "running 0 0", port)
    assert result is not None and result.http == "000" and result.describe() == "not answering yet"


@pytest.mark.parametrize(
    ("state", "failure"),
    [
        ("exited 1 0", "the container exited with status 1"),
        ("dead 137 0", "the container dead with status 137"),
        ("running 0 2", "the container exited and Docker restarted it (2 times)"),
        ("restarting 1 1", "the container exited with status 1 and Docker restarted it (once)"),
        ("missing", "the container is gone"),
    ],
)
def test_a_container_that_stopped_has_failed(
    tmp_path: Path, backend: dict[str, int], state: str, failure: str
) -> None:
    result = poll(tmp_path, state, backend["port"])
    assert result is not None and result.failure() == failure


def test_unparsable_output_is_no_answer() -> None:
    assert readiness.parse_poll("") is None
    assert readiness.parse_poll("ssh: connection closed") is None


def test_urls_and_intervals() -> None:
    assert readiness.url("10.0.0.1", 40000, "health") == "http://10.0.0.1:40000/health"
    assert readiness.url("fd00::1", 40000, "/v1/models") == "http://[fd00::1]:40000/v1/models"
    assert readiness.interval(1) < readiness.interval(10) < readiness.interval(100)


class socket_closed_port:
    """A local port nothing listens on."""

    def __enter__(self) -> int:
        import socket

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        return self.port

    def __exit__(self, *args: object) -> None:
        pass


def test_a_docker_that_does_not_answer_is_not_a_container_that_is_gone(tmp_path: Path) -> None:
    fake = tmp_path / "docker"
    fake.write_text(
        "#!/bin/sh\necho 'Cannot connect to the Docker daemon at unix:///run/docker.sock.' >&2\nexit 1\n"
    )
    fake.chmod(0o755)
    done = subprocess.run(
        ["sh", "-c", readiness.poll_command("gpuctl-chat-0", "127.0.0.1", 1, "/health")],
        env={"PATH": f"{tmp_path}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    result = readiness.parse_poll(done.stdout)
    assert result is not None and result.failure() == "Docker on the host does not answer"


def test_readiness_from_the_labels_apply_gives_a_container() -> None:
    from gpuctl.apply.docker import container_labels
    from gpuctl.backends.types import ContainerSpec, Readiness

    ready = Readiness(path="/v1/models", port=40000, timeout=900)
    spec = ContainerSpec(
        name="gpuctl-chat-0", host="a", image="runner:v1", command=["serve"], port=40000, readiness=ready
    )
    assert readiness.from_labels(container_labels(spec)) == ready
    assert readiness.from_labels({"gpuctl.port": "40000"}) is None
    assert readiness.from_labels({"gpuctl.spec": "{not json"}) is None
