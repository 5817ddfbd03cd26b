"""Host facts: /etc/os-release, `uname -s -r -m`, `nproc`, /proc/meminfo, `df -PB1 DIR`, and the
ephemeral and reserved local port ranges (/proc/sys/net/ipv4/ip_local_{port_range,reserved_ports}),
and the listening TCP sockets (`ss -ltn`, else /proc/net/tcp{,6})."""

from __future__ import annotations

import re
import shlex

from gpuctl.probe.parse.common import ParseError, clean_text, to_int

ARCHITECTURES = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armv7l": "arm",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
}
"""`uname -m` → the architecture names Docker images and selectors use."""


def parse_key_values(text: str) -> dict[str, str]:
    """KEY=value lines with shell quoting: /etc/os-release (os-release(5)), Ascend's version.info
    and ascend_toolkit_install.info."""
    values = {}
    for line in clean_text(text).split("\n"):
        key, sep, value = line.partition("=")
        if sep and key.strip() and not key.startswith("#"):
            try:
                words = shlex.split(value)
            except ValueError:
                words = [value.strip("\"'")]
            values[key.strip()] = " ".join(words)
    return values


def parse_uname(text: str) -> tuple[str, str, str]:
    """`uname -s -r -m` → (os, kernel, docker architecture): ("linux", "6.1.0-18-amd64", "amd64")."""
    words = clean_text(text).split()
    if len(words) != 3:
        raise ParseError("uname -s -r -m", f"expected 3 words, got {len(words)}")
    system, kernel, machine = words
    return system.lower(), kernel, ARCHITECTURES.get(machine, machine)


def parse_nproc(text: str) -> int:
    count = to_int(clean_text(text).strip())
    if count is None or count < 1:
        raise ParseError("nproc", f"not a CPU count: {text.strip()[:40]!r}")
    return count


def parse_meminfo(text: str) -> tuple[int, int]:
    """(MemTotal, MemAvailable) in bytes. Kernels before 3.14 have no MemAvailable: the sum of
    MemFree, Buffers and Cached stands in for it."""
    values: dict[str, int] = {}
    for line in clean_text(text).split("\n"):
        key, _, rest = line.partition(":")
        number = to_int(rest.split()[0]) if rest.split() else None
        if number is not None:
            values[key.strip()] = number * 1024
    if "MemTotal" not in values:
        raise ParseError("cat /proc/meminfo", "no MemTotal line")
    available = values.get("MemAvailable")
    if available is None:
        available = sum(values.get(k, 0) for k in ("MemFree", "Buffers", "Cached"))
    return values["MemTotal"], available


def parse_df(text: str) -> int:
    """`df -PB1 DIR`: the Available column of the one filesystem line, in bytes."""
    lines = [line for line in clean_text(text).split("\n") if line.strip()]
    if len(lines) < 2:
        raise ParseError("df -PB1", "no filesystem line")
    columns = lines[-1].split()
    available = to_int(columns[3]) if len(columns) >= 6 else None
    if available is None:
        raise ParseError("df -PB1", f"cannot read {lines[-1]!r}")
    return available


def parse_local_ports(text: str) -> tuple[tuple[int, int], list[tuple[int, int]]]:
    """Two lines: ip_local_port_range ("32768\t60999") and ip_local_reserved_ports ("8080,40000-40999",
    often empty) → (ephemeral range, reserved ranges)."""
    lines = [*clean_text(text).split("\n"), ""]
    words = lines[0].split()
    if len(words) != 2:
        raise ParseError("ip_local_port_range", f"expected two port numbers, got {lines[0][:40]!r}")
    low, high = _port_range(words, "ip_local_port_range")
    reserved = [
        _port_range(item.split("-", 1), "ip_local_reserved_ports")
        for item in lines[1].replace(" ", "").split(",")
        if item
    ]
    return (low, high), reserved


def _port_range(words: list[str], source: str) -> tuple[int, int]:
    """["32768", "60999"] or ["8080"] → (first, last)."""
    numbers = [to_int(word) for word in words]
    if not 1 <= len(numbers) <= 2 or any(n is None for n in numbers):
        raise ParseError(source, f"not a port or port range: {' '.join(words)[:40]!r}")
    first, last = numbers[0], numbers[-1]
    assert first is not None and last is not None
    return first, last


def parse_ss_listening(text: str) -> list[int]:
    """`ss -ltn` ("LISTEN 0 128 0.0.0.0:22 0.0.0.0:*", "[::]:22", "*:22" in old versions, after a
    header line) → sorted ports."""
    ports = set()
    for line in filter(None, (line.strip() for line in clean_text(text).split("\n"))):
        words = line.split()
        if words[0] in ("State", "Netid"):
            continue
        port = words[3].rpartition(":")[2] if len(words) >= 5 else ""
        if not port.isdigit():
            raise ParseError("ss -ltn", f"not a listening socket: {line[:60]!r}")
        ports.add(int(port))
    return sorted(ports)


def parse_proc_listening(text: str) -> list[int]:
    """Local addresses of listening sockets, as /proc/net/tcp and tcp6 write them ("0100007F:1F90",
    "00000000000000000000000000000000:7530": the port is the hex after the colon) → sorted ports."""
    ports = set()
    for line in filter(None, (line.strip() for line in clean_text(text).split("\n"))):
        address, _, port = line.rpartition(":")
        if not address or not re.fullmatch(r"[0-9A-Fa-f]{1,4}", port):
            raise ParseError("/proc/net/tcp", f"not a local address: {line[:60]!r}")
        ports.add(int(port, 16))
    return sorted(ports)
