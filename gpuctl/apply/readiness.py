"""Is a backend serving? The readiness poll, run on the host over SSH (pure: command and verdict).

Where to poll from: the host itself. The only port gpuctl can count on reaching is SSH (backend
ports are often firewalled from CI machines and laptops), so each poll is one short command on the
host: the container's state from `docker inspect` and the HTTP status of the readiness endpoint
from curl (or wget), first on 127.0.0.1 (a backend on 0.0.0.0), then on the host's own address (a
backend bound to it). GET answered 200 means ready.

A container that exited, died, or was restarted by Docker after a crash has failed: waiting longer
cannot make it ready. So has one whose host's Docker no longer answers (`docker-error`), which is
told apart from a container that is gone, so that the report names the right cause.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass

from gpuctl import labels
from gpuctl.backends.types import Readiness

HTTP_TIMEOUT = 5
"""Seconds one HTTP request may take (a loading backend may be slow to answer)."""

FAILED_STATES = {"exited", "dead", "removing"}


def url(address: str, port: int, path: str) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"http://{host}:{port}{path if path.startswith('/') else '/' + path}"


def http_status_command(urls: list[str]) -> str:
    """Shell that prints the first HTTP status other than 000 (no connection) of `urls`."""
    tries = " ".join(shlex.quote(u) for u in urls)
    return (
        f"c=000; for u in {tries}; do "
        "if command -v curl >/dev/null 2>&1; then "
        f"c=$(curl -s -o /dev/null -m {HTTP_TIMEOUT} -w '%{{http_code}}' \"$u\"); "
        "elif command -v wget >/dev/null 2>&1; then "
        f'if wget -q -O /dev/null -T {HTTP_TIMEOUT} "$u"; then c=200; else c=000; fi; '
        "else c=no-http-client; fi; "
        '[ "$c" = 000 ] || break; done; echo "$c"'
    )


def poll_command(container: str, address: str, port: int, path: str) -> str:
    """One line: `STATE EXIT_CODE RESTARTS HTTP_STATUS` (`missing` for a container that is gone,
    `docker-error` when Docker cannot be asked: `docker inspect` runs again to read its error)."""
    inspect = shlex.join(
        [
            "docker",
            "inspect",
            "--format",
            "{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}",
            container,
        ]
    )
    urls = [url("127.0.0.1", port, path)]
    if address not in ("127.0.0.1", "localhost"):
        urls.append(url(address, port, path))
    return (
        f"s=$({inspect} 2>/dev/null) || "
        f'case $({inspect} 2>&1) in *"No such"*) s="missing - -";; *) s="docker-error - -";; esac; '
        f'case $s in running*) h=$({http_status_command(urls)});; *) h=-;; esac; echo "$s $h"'
    )


@dataclass(frozen=True)
class Poll:
    state: str
    exit_code: int | None
    restarts: int
    http: str
    """HTTP status ("200"), "000" when nothing answered, "-" when not asked."""

    @property
    def ready(self) -> bool:
        return self.state == "running" and self.http.startswith("2")

    def failure(self) -> str | None:
        """Why the container can no longer become ready, or None."""
        if self.state == "missing":
            return "the container is gone"
        if self.state == "docker-error":
            return "Docker on the host does not answer"
        if self.state in FAILED_STATES:
            code = f" with status {self.exit_code}" if self.exit_code is not None else ""
            return f"the container {self.state}{code}"
        if self.restarts > 0 or self.state == "restarting":
            code = f" with status {self.exit_code}" if self.exit_code else ""
            times = "once" if self.restarts == 1 else f"{self.restarts} times"
            return f"the container exited{code} and Docker restarted it ({times})"
        if self.http == "no-http-client":
            return "the host has neither curl nor wget to ask the backend whether it is ready"
        return None

    def describe(self) -> str:
        if self.state != "running":
            return self.state
        return "not answering yet" if self.http in ("000", "-") else f"answers HTTP {self.http}"


def parse_poll(text: str) -> Poll | None:
    """The poll's last line, or None when it is not one (the command did not run)."""
    lines = text.strip().splitlines()
    parts = lines[-1].split() if lines else []
    if len(parts) != 4:
        return None
    state, code, restarts, http = parts
    return Poll(
        state=state,
        exit_code=int(code) if code.lstrip("-").isdigit() else None,
        restarts=int(restarts) if restarts.isdigit() else 0,
        http=http,
    )


def from_labels(tags: Mapping[str, str]) -> Readiness | None:
    """How to tell that a container serves, from the canonical spec apply labels it with; None
    for a container whose labels do not say (not started by apply)."""
    try:
        return Readiness.model_validate(json.loads(tags[labels.SPEC])["readiness"])
    except (KeyError, TypeError, ValueError):
        return None


def interval(elapsed: float) -> float:
    """Seconds to the next poll: often at first (the sandbox and small models are ready in
    seconds), then every few seconds (real models load for minutes)."""
    return 0.5 if elapsed < 5 else 1.0 if elapsed < 30 else 3.0
