"""The SSH layer against a real sshd on 127.0.0.1 (see conftest.py): host-key verification, every
failure status, timeouts, and the whole probe of this machine."""

from __future__ import annotations

import os
import platform
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paramiko
import pytest

from gpuctl.probe.inventory import probe_hosts
from gpuctl.probe.known_hosts import fetch_key, find_entries, fingerprint, record
from gpuctl.probe.ssh import Target, run_on_host, run_on_hosts

LocalSshd = Any  # the `sshd` fixture's value (conftest.LocalSshd)


def target(sshd: LocalSshd, known_hosts: Path, **changes: object) -> Target:
    fields: dict = {
        "host": "local",
        "cluster": "test",
        "address": "127.0.0.1",
        "port": sshd.port,
        "user": sshd.user,
        "known_hosts": known_hosts,
        "identity_file": sshd.client_key,
        "connect_timeout": 5.0,
        "command_timeout": 20.0,
    }
    fields.update(changes)
    return Target(**fields)


@pytest.fixture
def trusted(sshd: LocalSshd, tmp_path: Path) -> Path:
    """A known_hosts file holding the server's key, recorded the way `gpuctl trust` does."""
    known_hosts = tmp_path / "known_hosts"
    record(
        known_hosts, "127.0.0.1", sshd.port, fetch_key("127.0.0.1", sshd.port, 5), hashed=False, replace=False
    )
    return known_hosts


def test_fetched_key_fingerprint_is_the_one_ssh_keygen_prints(sshd: LocalSshd) -> None:
    assert fingerprint(fetch_key("127.0.0.1", sshd.port, 5)) == sshd.fingerprint()


def test_unknown_host_key_is_refused_with_fingerprint_and_trust_command(
    sshd: LocalSshd, tmp_path: Path
) -> None:
    outcome = run_on_host(target(sshd, tmp_path / "known_hosts"), "true")
    assert outcome.status == "host-key-unknown"
    assert sshd.fingerprint() in outcome.message
    assert "ssh-ed25519" in outcome.message
    assert "gpuctl trust local" in outcome.message


def test_recorded_key_is_accepted_and_the_command_runs(sshd: LocalSshd, trusted: Path) -> None:
    assert trusted.read_text().startswith(f"[127.0.0.1]:{sshd.port} ssh-ed25519 ")
    outcome = run_on_host(target(sshd, trusted), "cat; echo err >&2; exit 3", stdin=b"hello\n")
    assert (outcome.status, outcome.stdout, outcome.stderr.strip(), outcome.exit_status) == (
        "ok",
        "hello\n",
        "err",
        3,
    )


def test_hashed_entry_is_accepted(sshd: LocalSshd, tmp_path: Path) -> None:
    known_hosts = tmp_path / "known_hosts"
    record(
        known_hosts, "127.0.0.1", sshd.port, fetch_key("127.0.0.1", sshd.port, 5), hashed=True, replace=False
    )
    assert known_hosts.read_text().startswith("|1|")
    assert [e.line for e in find_entries(known_hosts, "127.0.0.1", sshd.port)] == [1]
    assert run_on_host(target(sshd, known_hosts), "true").status == "ok"


def test_damaged_lines_in_known_hosts_are_skipped(sshd: LocalSshd, trusted: Path) -> None:
    """paramiko's own loader stops at a line it cannot decode; OpenSSH, and gpuctl, skip it."""
    damaged = f"[127.0.0.1]:{sshd.port} ssh-ed25519 not-base64!\n127.0.0.1 ssh-future AAAA\n"
    trusted.write_text(damaged + trusted.read_text())
    assert run_on_host(target(sshd, trusted), "true").status == "ok"


def test_changed_host_key_is_refused_naming_file_and_line(
    sshd: LocalSshd, tmp_path: Path, make_key: Callable[[str], Path]
) -> None:
    other = paramiko.Ed25519Key.from_private_key_file(str(make_key("impostor")))
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("# fleet keys\n")
    record(known_hosts, "127.0.0.1", sshd.port, other, hashed=False, replace=False)
    outcome = run_on_host(target(sshd, known_hosts), "true")
    assert outcome.status == "host-key-changed"
    assert "HOST KEY CHANGED" in outcome.message
    assert f"{known_hosts} line 2" in outcome.message
    assert sshd.fingerprint() in outcome.message and fingerprint(other) in outcome.message


def test_wrong_key_is_auth_failed(sshd: LocalSshd, trusted: Path, make_key: Callable[[str], Path]) -> None:
    stranger = make_key("stranger")
    outcome = run_on_host(target(sshd, trusted, identity_file=stranger), "true")
    assert outcome.status == "auth-failed"
    assert "authorized_keys" in outcome.message and str(stranger) in outcome.message


def test_missing_key_file_is_auth_failed_naming_the_spec_field(
    sshd: LocalSshd, trusted: Path, tmp_path: Path
) -> None:
    outcome = run_on_host(target(sshd, trusted, identity_file=tmp_path / "no-such-key"), "true")
    assert outcome.status == "auth-failed"
    assert "does not exist" in outcome.message and "spec.ssh.identityFile" in outcome.message


def test_closed_port_is_unreachable(sshd: LocalSshd, trusted: Path, closed_port: int) -> None:
    outcome = run_on_host(target(sshd, trusted, port=closed_port), "true")
    assert outcome.status == "unreachable"
    assert "connection refused" in outcome.message


def test_unresolvable_name_is_unreachable(sshd: LocalSshd, trusted: Path) -> None:
    outcome = run_on_host(target(sshd, trusted, address="no-such-host.invalid"), "true")
    assert outcome.status == "unreachable"
    assert "cannot resolve" in outcome.message


def test_silent_port_times_out_as_unreachable(trusted: Path, sshd: LocalSshd) -> None:
    with socket.socket() as listener:  # accepts TCP but never says a word of SSH
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        outcome = run_on_host(
            target(sshd, trusted, port=listener.getsockname()[1], connect_timeout=0.5), "true"
        )
    assert outcome.status == "unreachable"


def test_slow_command_is_probe_failed_after_the_command_timeout(sshd: LocalSshd, trusted: Path) -> None:
    outcome = run_on_host(target(sshd, trusted, command_timeout=0.5), "sleep 5")
    assert outcome.status == "probe-failed"
    assert "did not finish within 0.5 s" in outcome.message
    assert outcome.seconds < 4


def test_fan_out_keeps_order_and_isolates_failures(sshd: LocalSshd, trusted: Path, tmp_path: Path) -> None:
    good = [target(sshd, trusted, host=f"h{i}") for i in range(12)]
    bad = target(sshd, tmp_path / "empty_known_hosts", host="stranger")
    outcomes = run_on_hosts([*good[:6], bad, *good[6:]], lambda t: f"echo {t.host}")
    assert [o.target.host for o in outcomes] == [t.host for t in [*good[:6], bad, *good[6:]]]
    assert [o.status for o in outcomes].count("ok") == 12
    assert outcomes[6].status == "host-key-unknown"
    assert all(o.stdout == f"{o.target.host}\n" for o in outcomes if o.status == "ok")


def test_probe_of_this_machine(sshd: LocalSshd, trusted: Path, tmp_path: Path) -> None:
    """The real script over real SSH: what it finds must be what Python sees on this machine."""
    (facts,) = probe_hosts([target(sshd, trusted, model_dir=str(tmp_path / "not" / "yet" / "there"))])
    assert facts.status == "ok", facts.message
    assert facts.info is not None
    assert facts.info.hostname == socket.gethostname()
    assert facts.info.cpu_count == len(os.sched_getaffinity(0))
    assert facts.info.arch == {"x86_64": "amd64", "aarch64": "arm64"}.get(
        platform.machine(), platform.machine()
    )
    assert facts.info.kernel == platform.release()
    assert facts.info.disk_free == pytest.approx(
        os.statvfs(tmp_path).f_bavail * os.statvfs(tmp_path).f_frsize, rel=0.01
    )
    assert facts.docker is not None
    assert facts.probe_seconds is not None and facts.probe_seconds > 0
