"""Apply against the sandbox: `Fleet` writes specs, runs the real `gpuctl` as a separate process
(apply patches the standard library with gevent, which must never happen inside pytest), and
reads the hosts back with the Docker CLI directly, not through the code under test.

Every test leaves the fleet as it found it: its containers, locks and state files are removed
afterwards with plain `docker` and `rm`, whatever the test did.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gpuctl.sandbox import Sandbox

REPO = Path(__file__).resolve().parents[2]
LOCK_FILE = REPO / "gpuctl.lock"
MODELS = {
    # model source lines of the models in the repository's gpuctl.lock (no network needed)
    "chat": "huggingface: Qwen/Qwen3-8B",
    "gguf": "huggingface: Qwen/Qwen3-8B-GGUF\n    file: Qwen3-8B-Q4_K_M.gguf",
    "mindie": "modelscope: Qwen/Qwen2.5-7B-Instruct",
    "image": "huggingface: black-forest-labs/FLUX.1-dev",
    "speech": "huggingface: Systran/faster-whisper-large-v3",
}


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> dict:
        return json.loads(self.stdout)

    def results(self) -> dict[tuple[str, int, str], dict]:
        """(deployment, replica, action) → the change's result."""
        return {(c["deployment"], c["replica"], c["action"]): c for c in self.json["changes"]}


class Fleet:
    """One test's view of the session sandbox: its specs directory and the gpuctl it runs."""

    def __init__(self, sandbox: Sandbox, root: Path, hub_url: str) -> None:
        self.sandbox = sandbox
        self.specs = root / "specs"
        self.specs.mkdir()
        self.root = root
        self.inventory = root / "cluster.yaml"
        self.use()
        self.env = {
            **os.environ,
            "HF_ENDPOINT": hub_url,
            "MODELSCOPE_ENDPOINT": hub_url,
            "PYTHONUNBUFFERED": "1",
        }
        self.env.pop("HF_TOKEN", None)

    def host(self, profile: str) -> str:
        return self.sandbox.host(profile).name

    def address(self, profile: str) -> str:
        return self.sandbox.host(profile).address

    def use(self, *profiles: str) -> None:
        """Make the Cluster file list only the hosts of these profiles: each apply then probes
        only them (the cluster keeps its name, so container labels stay the same)."""
        import yaml

        document = yaml.safe_load(self.sandbox.inventory.read_text())
        base = self.sandbox.inventory.parent
        ssh = document["spec"]["ssh"]
        for key in ("identityFile", "knownHostsFile"):
            ssh[key] = str((base / ssh[key]).resolve())
        ssh |= {"connectTimeout": 15, "commandTimeout": 600}  # the test machine is shared and slow
        names = {self.host(p) for p in profiles} if profiles else None
        document["spec"]["hosts"] = [
            h for h in document["spec"]["hosts"] if names is None or h["name"] in names
        ]
        self.inventory.write_text(yaml.safe_dump(document, sort_keys=False))

    def write(
        self, name: str, model: str, profile: str | None = None, body: str = "", offload: bool = False
    ) -> Path:
        """A ModelDeployment spec file; `model` is a key of MODELS, `profile` pins its host."""
        lines = ([f"hosts: [{self.host(profile)}]"] if profile else []) + (
            ["cpuOffload: true"] if offload else []
        )
        placement = "".join(f"\n    {line}" for line in lines)
        placement = f"\n  placement:{placement}" if placement else ""
        text = textwrap.dedent(
            f"""\
            apiVersion: gpuctl.dev/v1alpha1
            kind: ModelDeployment
            metadata:
              name: {name}
            spec:
              model:
                {{model}}{{placement}}
            """
        ).format(model=MODELS[model], placement=placement)
        path = self.specs / f"{name}.yaml"
        path.write_text(text + textwrap.indent(textwrap.dedent(body), "  "))
        return path

    def remove(self, name: str) -> None:
        (self.specs / f"{name}.yaml").unlink()

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "gpuctl", *args]

    def gpuctl(self, *args: str, env: dict[str, str] | None = None, timeout: float = 300) -> Run:
        done = subprocess.run(
            self.command(*args),
            capture_output=True,
            text=True,
            env={**self.env, **(env or {})},
            cwd=self.root,
            timeout=timeout,
        )
        return Run(done.returncode, done.stdout, done.stderr)

    def apply_args(self, *extra: str) -> list[str]:
        return [
            "apply",
            "-i",
            str(self.inventory),
            str(self.specs),
            "--lock",
            str(LOCK_FILE),
            "--auto-approve",
            *extra,
        ]

    def start_apply(self, *extra: str, output: bool = False) -> subprocess.Popen[str]:
        """An apply running in the background (to kill, or to fault its hosts meanwhile); with
        `output`, its --json result and stderr can be read from the process."""
        sink = subprocess.PIPE if output else subprocess.DEVNULL
        return subprocess.Popen(
            self.command(*self.apply_args(*extra)),
            stdout=sink,
            stderr=sink,
            text=True,
            env=self.env,
            cwd=self.root,
        )

    def apply(self, *extra: str, env: dict[str, str] | None = None) -> Run:
        return self.gpuctl(*self.apply_args("--json", *extra), env=env)

    def plan_args(self) -> list[str]:
        return ["plan", "-i", str(self.inventory), str(self.specs), "--lock", str(LOCK_FILE)]

    def plan_exit_code(self) -> int:
        return self.gpuctl(*self.plan_args(), "--detailed-exitcode").code

    def docker(self, profile: str, *args: str) -> str:
        done = subprocess.run(
            [*self.sandbox.docker_args(self.host(profile)), *args], capture_output=True, text=True, check=True
        )
        return done.stdout

    def containers(self, profile: str | None = None) -> dict[str, dict]:
        """gpuctl's containers (name → inspect) on one host, or on every host."""
        profiles = [profile] if profile else [h.profile for h in self.sandbox.hosts]
        found: dict[str, dict] = {}
        for p in profiles:
            ids = self.docker(p, "ps", "-aq", "--filter", "label=gpuctl.managed=true").split()
            if ids:
                for item in json.loads(self.docker(p, "inspect", *ids)):
                    found[item["Name"].lstrip("/")] = item
        return found

    def ssh(self, profile: str, command: str) -> subprocess.CompletedProcess[str]:
        return self.sandbox.ssh(self.host(profile), command)

    def http(self, profile: str, port: int, path: str) -> int | None:
        from gpuctl.sandbox import system

        return system.http_status(self.address(profile), port, path)

    def clean(self) -> None:
        for host in self.sandbox.hosts:
            docker = self.sandbox.docker_args(host)
            ids = subprocess.run(
                [*docker, "ps", "-aq", "--filter", "label=gpuctl.managed=true"],
                capture_output=True,
                text=True,
            ).stdout.split()
            if ids:
                subprocess.run([*docker, "rm", "-f", *ids], capture_output=True)
            self.sandbox.ssh(host, "rm -rf /var/lib/gpuctl/lock /var/lib/gpuctl/run /var/lib/gpuctl/models")


@pytest.fixture
def fleet(sandbox: Sandbox, tmp_path: Path) -> Iterator[Fleet]:
    hub = sandbox.status().hub
    assert hub, "the sandbox runs no model hub"
    view = Fleet(sandbox, tmp_path, hub)
    view.clean()
    try:
        yield view
    finally:
        for state in sandbox.status().hosts:  # a fault a test injected must not outlive it
            if state.link == "down":
                sandbox.fault(state.name, "link-up")
            if state.ssh != "running":
                sandbox.fault(state.name, "ssh-start")
            if state.docker != "running":
                sandbox.fault(state.name, "docker-start")
        view.clean()
