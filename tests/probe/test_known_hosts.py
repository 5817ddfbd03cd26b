"""known_hosts read once for the whole fan-out (`KnownHosts`): each host gets exactly the keys
paramiko's own `load_host_keys` would give it, and a line paramiko cannot use is skipped."""

from __future__ import annotations

from pathlib import Path

import paramiko

from gpuctl.probe.known_hosts import KnownHosts, hashed_name, host_pattern

FIRST, SECOND, OTHER_TYPE = (paramiko.ECDSAKey.generate(bits=bits) for bits in (256, 256, 384))
HOSTS = [("10.0.0.1", 22), ("10.0.0.1", 2222), ("web1", 22), ("10.0.0.2", 22), ("10.0.0.9", 22)]


def line(names: str, key: paramiko.PKey) -> str:
    return f"{names} {key.get_name()} {key.get_base64()}"


def blobs(keys: list[paramiko.PKey]) -> list[tuple[str, bytes]]:
    return [(key.get_name(), key.asbytes()) for key in keys]


def test_each_host_gets_the_keys_paramiko_looks_up(tmp_path: Path) -> None:
    known_hosts = tmp_path / "known_hosts"
    lines = [
        "# fleet",
        "",
        line("web1,10.0.0.1", FIRST),
        line("[10.0.0.1]:2222", SECOND),
        line(hashed_name("10.0.0.2"), OTHER_TYPE),
        line(hashed_name("10.0.0.2"), FIRST),
        line("10.0.0.1", OTHER_TYPE),
        line("10.0.0.1", SECOND),  # a second key of a type already listed: the first one counts
    ]
    known_hosts.write_text("\n".join(lines) + "\n")
    paramikos = paramiko.HostKeys(str(known_hosts))
    ours = KnownHosts.read(known_hosts)
    for address, port in HOSTS:
        found = paramikos.lookup(host_pattern(address, port)) or {}
        expected = [found[key_type] for key_type in dict.fromkeys(found.keys())]
        assert blobs(ours.keys(address, port)) == blobs(expected), (address, port)
    assert blobs(ours.keys("10.0.0.1", 22)) == blobs([FIRST, OTHER_TYPE])
    assert [e.line for e in ours.entries("10.0.0.2", 22)] == [5, 6]


def test_lines_paramiko_cannot_use_are_skipped(tmp_path: Path) -> None:
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(
        "10.0.0.1 ssh-ed25519 not-base64!\n"
        "10.0.0.1 ssh-future AAAAC3NzaC1lZDI1NTE5\n"
        f"@cert-authority 10.0.0.1 {FIRST.get_name()} {FIRST.get_base64()}\n"
        "10.0.0.1\n" + line("10.0.0.1", SECOND) + "\n"
    )
    known = KnownHosts.read(known_hosts)
    assert [e.line for e in known.entries("10.0.0.1", 22)] == [1, 2, 5]
    assert blobs(known.keys("10.0.0.1", 22)) == blobs([SECOND])


def test_missing_file_knows_no_host(tmp_path: Path) -> None:
    assert KnownHosts.read(tmp_path / "nothing").keys("10.0.0.1", 22) == []
