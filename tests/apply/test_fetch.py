"""Model downloads as a host runs them: real curl against the sandbox's stand-in hub, the token
on standard input only, files renamed into place, a marker that makes the next apply skip."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from gpuctl.apply import fetch
from gpuctl.backends.types import ContainerSpec, ModelFetch, Readiness
from gpuctl.sandbox.hub import Hub, placeholder, serve

TOKEN = "hf_" + "x" * 34


@pytest.fixture
def hub() -> Iterator[tuple[Hub, str]]:
    stand_in = Hub(files={"org/gguf": ["model-q4.gguf", "sub/mmproj-f16.gguf"]}, gated={"org/gated"})
    server, url = serve(stand_in, "127.0.0.1")
    yield stand_in, url
    server.shutdown()


def run(command: str, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", "-c", command], input=stdin, capture_output=True, text=True)


def test_named_files_are_downloaded_and_marked_complete(tmp_path: Path, hub: tuple[Hub, str]) -> None:
    stand_in, url = hub
    target = str(tmp_path / "models" / "huggingface" / "org" / "gguf" / "main")
    job = ModelFetch(
        source="huggingface", repo="org/gguf", files=["model-q4.gguf", "sub/mmproj-f16.gguf"], target=target
    )
    download = fetch.resolve(job, TOKEN, {"HF_ENDPOINT": url})
    done = run(fetch.download_command(download, with_token=True), fetch.headers(TOKEN))
    assert done.returncode == 0, done.stderr
    assert (Path(target) / "model-q4.gguf").read_bytes() == placeholder("org/gguf", "model-q4.gguf")
    assert (Path(target) / "sub" / "mmproj-f16.gguf").exists()
    assert not list(Path(target).rglob("*" + fetch.PARTIAL))
    assert run(fetch.complete_command(target, fetch.digest(job)), "").stdout.strip() == "complete"
    assert all(authorized for _, _, authorized in stand_in.requests)
    assert TOKEN not in fetch.download_command(download, with_token=True)


def test_a_whole_repository_is_listed_first(tmp_path: Path, hub: tuple[Hub, str]) -> None:
    _, url = hub
    target = str(tmp_path / "ms")
    job = ModelFetch(source="modelscope", repo="Qwen/Qwen2.5-7B-Instruct", target=target)
    download = fetch.resolve(job, None, {"MODELSCOPE_ENDPOINT": url})
    assert download.files == ("config.json", "model.safetensors")
    done = run(fetch.download_command(download, with_token=False), fetch.headers(None))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in Path(target).iterdir()) == [
        fetch.MARKER,
        "config.json",
        "model.safetensors",
    ]


def test_a_gated_repository_without_token_fails_with_the_hub_status(
    tmp_path: Path, hub: tuple[Hub, str]
) -> None:
    _, url = hub
    job = ModelFetch(source="huggingface", repo="org/gated", files=["w.gguf"], target=str(tmp_path / "g"))
    done = run(fetch.download_command(fetch.resolve(job, None, {"HF_ENDPOINT": url}), False), "")
    assert done.returncode != 0 and "401" in done.stderr
    assert run(fetch.complete_command(job.target, fetch.digest(job)), "").stdout == ""


def test_a_hub_that_stalls_fails_the_download_instead_of_hanging(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that accepts the connection and never answers (a stuck proxy)."""
    import socket
    import time

    monkeypatch.setattr(fetch, "STALLED_SECONDS", 1)
    monkeypatch.setattr(fetch, "RETRIES", 0)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        job = ModelFetch(source="huggingface", repo="a/b", files=["w.gguf"], target=str(tmp_path / "m"))
        begin = time.monotonic()
        done = run(fetch.download_command(fetch.Download(job, tuple(job.files), url), False), "")
    assert done.returncode != 0 and "too slow" in done.stderr, done.stderr
    assert time.monotonic() - begin < 30


def test_a_download_waits_for_one_a_killed_apply_left_running(tmp_path: Path, hub: tuple[Hub, str]) -> None:
    """The orphan holds the target's lock while it writes the partial files; resuming them at
    the same time would interleave both writers' bytes."""
    import time

    _, url = hub
    target = tmp_path / "m"
    target.mkdir()
    job = ModelFetch(source="huggingface", repo="org/gguf", files=["model-q4.gguf"], target=str(target))
    orphan = subprocess.Popen(["flock", f"{target}{fetch.LOCK}", "sleep", "2"])
    time.sleep(0.3)
    begin = time.monotonic()
    done = run(fetch.download_command(fetch.resolve(job, None, {"HF_ENDPOINT": url}), False), "")
    orphan.wait()
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - begin >= 1.5
    assert (target / "model-q4.gguf").read_bytes() == placeholder("org/gguf", "model-q4.gguf")


def test_files_cannot_escape_the_target() -> None:
    job = ModelFetch(source="huggingface", repo="a/b", files=["../../etc/passwd"], target="/models/a/b/main")
    with pytest.raises(ValueError, match="outside"):
        fetch.download_command(fetch.Download(job, tuple(job.files), "https://hub"), False)


def test_the_token_is_the_containers_secret_else_the_usual_variable() -> None:
    job = ModelFetch(source="huggingface", repo="a/b", target="/m")
    base = {"name": "c", "host": "h", "image": "i", "command": [], "port": 1, "fetch": job}
    base["readiness"] = Readiness(path="/", port=1, timeout=1)
    own = ContainerSpec.model_validate(base | {"secret_env": {"HF_TOKEN": "TEAM_TOKEN"}})
    plain = ContainerSpec.model_validate(base)
    environ = {"TEAM_TOKEN": "team", "HF_TOKEN": "mine"}
    assert fetch.token_for(own, environ) == "team" and fetch.token_for(plain, environ) == "mine"
    assert fetch.token_for(plain, {}) is None


def test_urls() -> None:
    hf = fetch.Download(
        ModelFetch(source="huggingface", repo="a/b", revision="abc", target="/m"), (), "https://hf.co"
    )
    assert hf.url("dir/x y.gguf") == "https://hf.co/a/b/resolve/abc/dir/x%20y.gguf"
    ms = fetch.Download(ModelFetch(source="modelscope", repo="a/b", target="/m"), (), "https://ms")
    assert ms.url("w.bin") == "https://ms/api/v1/models/a/b/repo?Revision=master&FilePath=w.bin"
