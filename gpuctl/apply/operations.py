"""gpuctl's pyinfra operation, and the host-side steps a replica's rollout is made of.

`prepare_host` is a pyinfra operation (run for every host at once by `run_ops`): it pulls the
images and downloads the model files a host needs before any of its containers is stopped. The
steps of a rollout (start a container with its files, restore or forget files, read logs) are
functions over a `Session`: they run while other replicas wait for readiness, and the decisions
between them (roll back or go on, see gpuctl.apply.replica) are taken in Python, which a fixed
list of operations cannot express.
"""

from __future__ import annotations

import base64
import posixpath
import shlex
import time
from collections.abc import Generator, Mapping
from typing import TYPE_CHECKING

from pyinfra.api import FunctionCommand, operation

from gpuctl.apply import docker, fetch
from gpuctl.apply.facts import ModelFiles
from gpuctl.apply.progress import Reporter
from gpuctl.apply.results import StepTime
from gpuctl.apply.session import Output, Session
from gpuctl.backends.common import HOST_STATE_DIR
from gpuctl.backends.types import ContainerSpec, HostFile, ModelFetch
from gpuctl.errors import GpuctlError

if TYPE_CHECKING:
    from pyinfra.api import Host, State


@operation(is_idempotent=False)
def prepare_host(
    images: list[str], fetches: list[ModelFetch], preparation: Preparation
) -> Generator[FunctionCommand, None, None]:
    """Pull `images` and download `fetches` on the host. A failure is recorded and the others go
    on: only the containers needing what failed are skipped."""
    for image in images:
        yield FunctionCommand(preparation.pull, (image,), {})
    for job in fetches:
        yield FunctionCommand(preparation.fetch, (job,), {})


class Preparation:
    """What `prepare_host` does on each host; failures are kept per host for the report."""

    def __init__(
        self,
        session: Session,
        reporter: Reporter,
        tokens: Mapping[str, str | None],
        environ: Mapping[str, str],
        timings: list[StepTime],
    ) -> None:
        self.session = session
        self.reporter = reporter
        self.tokens = tokens
        """Hub token per fetch target (never an operation argument: those are logged)."""
        self.environ = environ
        self.timings = timings
        self.failures: dict[tuple[str, str], str] = {}
        """(host, image or fetch target) → why it failed."""

    def failure(self, spec: ContainerSpec) -> str | None:
        """Why `spec` cannot start: its image or its model files are missing on its host."""
        why = self.failures.get((spec.host, spec.image))
        if why is None and spec.fetch is not None:
            why = self.failures.get((spec.host, spec.fetch.target))
        return why

    def pull(self, state: State, host: Host, image: str) -> bool:
        """Pull one image. Always True for pyinfra: a failure is recorded here, not raised, so
        the host's other pulls and downloads go on."""
        key = f"pull {host.name} {image}"
        self.reporter.begin(key, f"{host.name}: pulling {image}")
        start = time.monotonic()
        out = self.session.run(host.name, docker.pull_command(image), timeout=None)
        seconds = time.monotonic() - start
        self.timings.append(StepTime(phase="pull", host=host.name, what=image, seconds=round(seconds, 3)))
        if not out.ok:
            self.failures[(host.name, image)] = f"pulling {image} failed: {out.why()}"
            self.reporter.end(key, False, f"{host.name}: pulling {image} failed: {out.why()}")
            return True
        self.reporter.end(key, True, f"{host.name}: pulled {image} ({seconds:.1f} s)")
        return True

    def fetch(self, state: State, host: Host, job: ModelFetch) -> bool:
        """Download one model's files unless their marker says they are there (always True, as
        `pull`)."""
        what = f"{job.source}:{job.repo}"
        key = f"fetch {host.name} {job.target}"
        start = time.monotonic()
        complete, _ = self.session.fact(host.name, ModelFiles, target=job.target, digest=fetch.digest(job))
        if complete:
            self.reporter.line(f"{host.name}: model files of {what} are there already")
            return True
        self.reporter.begin(key, f"{host.name}: downloading {what} into {job.target}")
        token = self.tokens.get(job.target)
        try:
            download = fetch.resolve(job, token, self.environ)
        except GpuctlError as error:
            return self._fetch_failed(host.name, job, key, "; ".join(d.message for d in error.diagnostics))
        out = self.session.run(
            host.name, fetch.download_command(download, bool(token)), stdin=fetch.headers(token), timeout=None
        )
        seconds = time.monotonic() - start
        self.timings.append(StepTime(phase="fetch", host=host.name, what=what, seconds=round(seconds, 3)))
        if not out.ok:
            return self._fetch_failed(host.name, job, key, out.why())
        self.reporter.end(key, True, f"{host.name}: downloaded {what} ({seconds:.1f} s)")
        return True

    def _fetch_failed(self, host: str, job: ModelFetch, key: str, why: str) -> bool:
        text = f"downloading the model files of {job.source}:{job.repo} failed: {why}"
        self.failures[(host, job.target)] = text
        self.reporter.end(key, False, f"{host}: {text}")
        return True


# --------------------------------------------------------------------------- rollout steps


def start(session: Session, spec: ContainerSpec, secrets: str, backup: bool) -> Output:
    """Write the container's host files (atomically), then `docker run` it. `secrets` is the env
    file for its secret variables (standard input of `docker run`)."""
    if spec.files:
        written = write_files(session, spec.host, spec.name, spec.files, backup)
        if not written.ok:
            return written
    return session.run(spec.host, docker.run_command(spec), stdin=secrets if spec.secret_env else None)


def state_dir(name: str) -> str:
    return f"{HOST_STATE_DIR}/{name}"


def write_files(session: Session, host: str, name: str, files: list[HostFile], backup: bool) -> Output:
    """Each file is written next to its final path and renamed over it, so a reader never sees
    half a file. With `backup`, the container's state directory is copied first (its old
    container may need its old files back)."""
    commands: list[tuple[str, str | None]] = []
    if backup:
        d = shlex.quote(state_dir(name))
        keep = shlex.quote(state_dir(name) + ".rollback")
        commands.append((f"rm -rf {keep}; if [ -d {d} ]; then cp -a {d} {keep}; fi", None))
    for file in files:
        path, tmp = shlex.quote(file.path), shlex.quote(file.path + ".gpuctl-tmp")
        parent = shlex.quote(posixpath.dirname(file.path))
        command = f"mkdir -p {parent} && base64 -d > {tmp} && chmod {file.mode:o} {tmp} && mv -f {tmp} {path}"
        commands.append((command, base64.b64encode(file.content.encode()).decode()))
    for command, stdin in commands:
        out = session.run(host, command, stdin=stdin)
        if not out.ok:
            return out
    return Output(True)


def restore_files_command(name: str) -> str:
    """Put back the state directory copied before the container's replacement wrote its files."""
    d, keep = shlex.quote(state_dir(name)), shlex.quote(state_dir(name) + ".rollback")
    return f"if [ -d {keep} ]; then rm -rf {d} && mv {keep} {d}; fi"


def forget_files(session: Session, host: str, name: str, *, backup_only: bool) -> Output:
    """Remove a container's rollback copy (and its state directory, once it is gone for good)."""
    paths = [state_dir(name) + ".rollback"] + ([] if backup_only else [state_dir(name)])
    return session.run(host, "rm -rf -- " + " ".join(map(shlex.quote, paths)))


def logs(session: Session, host: str, container: str, lines: int = 20) -> list[str]:
    out = session.run(host, docker.logs_command(container, lines))
    text = out.stdout if out.ok else out.why()
    return [line for line in text.splitlines() if line.strip()][-lines:]
