"""The `docker` command lines apply runs on a host, built from a ContainerSpec (pure: text only).

pyinfra's own `docker.container` operation never recreates a container whose definition changed
and knows nothing of GPUs, so gpuctl writes its commands itself. Every argument goes through
`shlex.quote` (`shlex.join`): a spec value full of shell metacharacters reaches Docker as one
literal argument and is never interpreted by the host's shell.

Secret values never appear in a command line (process lists, shell history, logs): the
container's secret variables are sent on the command's standard input, which `docker run` reads
as an env file (`--env-file /dev/stdin`).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping

from gpuctl.backends.types import ContainerSpec, Mount
from gpuctl.errors import Diagnostic, GpuctlError, Location
from gpuctl.plan.explain import apply_labels

STOP_SECONDS = 30
"""Grace period of `docker stop`: model servers free their devices and finish requests."""
RESTART_POLICY = "unless-stopped"
"""Backends come back when the host or its Docker daemon restarts; a container apply stopped
on purpose stays stopped."""
SECRETS_FROM_STDIN = "/dev/stdin"


def container_labels(spec: ContainerSpec) -> dict[str, str]:
    """Every label of the container: gpuctl's identity labels, the spec hash and the canonical
    spec (for the plan's reasons). No secret value is ever part of a ContainerSpec."""
    return dict(sorted((spec.labels | apply_labels(spec)).items()))


def run_argv(spec: ContainerSpec) -> list[str]:
    """`docker run` for `spec`, detached, on the host's network."""
    argv = ["docker", "run", "--detach", "--name", spec.name, "--restart", RESTART_POLICY]
    argv += ["--network", "host"]
    for key, value in container_labels(spec).items():
        argv += ["--label", f"{key}={value}"]
    if spec.gpus:
        # --gpus takes CSV: the device list must be one quoted field or its commas split it.
        argv += ["--gpus", '"device=' + ",".join(spec.gpus) + '"']
    if spec.runtime:
        argv += ["--runtime", spec.runtime]
    for device in spec.devices:
        argv += ["--device", device]
    if spec.shm_size:
        argv += ["--shm-size", f"{spec.shm_size}b"]
    if spec.ipc_host:
        argv += ["--ipc", "host"]
    if spec.privileged:
        argv.append("--privileged")
    for mount in spec.mounts:
        argv += ["--mount", mount_option(mount)]
    for name, value in sorted(spec.env.items()):
        argv += ["--env", f"{name}={value}"]
    if spec.secret_env:
        argv += ["--env-file", SECRETS_FROM_STDIN]
    command = list(spec.command)
    if spec.entrypoint:
        argv += ["--entrypoint", spec.entrypoint[0]]
        command = [*spec.entrypoint[1:], *command]
    return [*argv, spec.image, *command]


def run_command(spec: ContainerSpec) -> str:
    """Create the directories the container's writable mounts need, then `docker run`.

    Bind mounts (`--mount type=bind`) refuse a missing source instead of creating it as root-owned
    directories the way `-v` does, so the model cache is created here explicitly; a missing
    read-only source (a local model path) stays an error Docker names.
    """
    writable = sorted({m.source for m in spec.mounts if not m.read_only})
    run = shlex.join(run_argv(spec))
    return f"mkdir -p -- {' '.join(map(shlex.quote, writable))} && {run}" if writable else run


def mount_option(mount: Mount) -> str:
    """`--mount` value. Docker parses it as one CSV record: a field holding a comma or a quote
    is quoted, so any path stays one field."""
    fields = ["type=bind", f"source={mount.source}", f"target={mount.target}"]
    if mount.read_only:
        fields.append("readonly")
    return ",".join(_csv_field(field) for field in fields)


def _csv_field(field: str) -> str:
    if any(c in field for c in ',"\n\r'):
        return '"' + field.replace('"', '""') + '"'
    return field


def secret_env_file(spec: ContainerSpec, environ: Mapping[str, str]) -> str:
    """The env file `docker run` reads on standard input: the container's secret variables with
    their values from `environ` (the environment of the machine running gpuctl).

    Raises a GpuctlError naming the variables (never their values) that are unset or that an env
    file cannot carry (a line break ends a value).
    """
    missing = [local for local in spec.secret_env.values() if local not in environ]
    unusable = [
        local
        for local in spec.secret_env.values()
        if local in environ and any(c in environ[local] for c in "\n\r\0")
    ]
    problems = []
    if missing:
        problems.append(
            Diagnostic(
                f"{spec.name} needs the secret {_names(missing)}, which is not set in the environment of "
                "the machine running gpuctl",
                location=Location(host=spec.host),
                hint=f"export {missing[0]}=... before `gpuctl apply` (it is never printed or stored)",
                code="secret-missing",
            )
        )
    if unusable:
        problems.append(
            Diagnostic(
                f"the secret {_names(unusable)} for {spec.name} holds a line break, which a container "
                "environment variable cannot receive here",
                location=Location(host=spec.host),
                hint="store the value without line breaks (e.g. base64)",
                code="secret-unusable",
            )
        )
    if problems:
        raise GpuctlError(*problems)
    return "".join(f"{name}={environ[local]}\n" for name, local in sorted(spec.secret_env.items()))


def _names(names: list[str]) -> str:
    unique = sorted(set(names))
    return ("variable " if len(unique) == 1 else "variables ") + ", ".join(unique)


def secret_values(spec: ContainerSpec, environ: Mapping[str, str]) -> list[str]:
    """The secret values `spec` receives, for scrubbing output (empty values are not secrets)."""
    return [environ[local] for local in spec.secret_env.values() if environ.get(local)]


# --------------------------------------------------------------------------- other commands


def pull_command(image: str) -> str:
    return shlex.join(["docker", "pull", "--quiet", image])


def image_present_command(image: str) -> str:
    return shlex.join(["docker", "image", "inspect", "--format", "{{.Id}}", image])


def stop_command(container: str) -> str:
    return shlex.join(["docker", "stop", "--time", str(STOP_SECONDS), container])


def start_command(container: str) -> str:
    return shlex.join(["docker", "start", container])


def rename_command(container: str, new_name: str) -> str:
    return shlex.join(["docker", "rename", container, new_name])


def remove_command(container: str) -> str:
    """Remove a container, stopping it first; a container that is already gone is not an error
    (a killed apply, or two changes displacing the same container)."""
    rm = shlex.join(["docker", "rm", "--force", container])
    return f"out=$({rm} 2>&1) || case $out in *'No such container'*) ;; *) echo \"$out\" >&2; exit 1;; esac"


def labels_command(container: str) -> str:
    """The container's labels as one JSON object."""
    return shlex.join(["docker", "inspect", "--format", "{{json .Config.Labels}}", container])


def logs_command(container: str, lines: int) -> str:
    return shlex.join(["docker", "logs", "--tail", str(lines), container]) + " 2>&1"


def replaced_name(name: str, container_id: str) -> str:
    """The name an old container carries while its replacement starts under its own name."""
    return f"{name}.replaced-{container_id[:12]}"
