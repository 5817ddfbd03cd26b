"""known_hosts files: fingerprints, finding a host's lines, recording a key (`gpuctl trust`).

Lines follow OpenSSH: `HOST[,HOST...] KEYTYPE BASE64`, where HOST is `address` for port 22 and
`[address]:port` otherwise, or a hashed `|1|salt|hash` entry (HashKnownHosts). paramiko is
imported inside the functions that need it so that importing this module stays cheap.

The fan-out reads a file once (`KnownHosts.read`) and gives each host's SSH client only that
host's keys: paramiko's own `load_host_keys` parses every line into a key and compares it with all
the lines before it, for every connection, which grows with hosts × lines².
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from paramiko import PKey


def host_pattern(address: str, port: int) -> str:
    """How OpenSSH names a host in known_hosts."""
    return address if port == 22 else f"[{address}]:{port}"


def fingerprint(key: PKey) -> str:
    """OpenSSH's SHA256 fingerprint: "SHA256:" + unpadded base64 of the key blob's digest."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def _matches(field: str, name: str) -> bool:
    for entry in field.split(","):
        if entry.startswith("|1|"):
            try:
                _, _, salt, hashed = entry.split("|")
                mac = hmac.new(base64.b64decode(salt), name.encode(), hashlib.sha1).digest()
            except ValueError:
                continue
            if hmac.compare_digest(base64.b64encode(mac).decode(), hashed):
                return True
        elif entry == name:
            return True
    return False


@dataclass(frozen=True)
class Entry:
    line: int
    """1-based line number in the file."""
    key_type: str
    key_base64: str

    @property
    def fingerprint(self) -> str:
        try:
            digest = hashlib.sha256(base64.b64decode(self.key_base64)).digest()
        except ValueError:
            return "(unreadable key)"
        return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")

    def key(self) -> PKey | None:
        """The key as paramiko's, or None for a type paramiko does not know or an unreadable key
        (skipped, as OpenSSH skips such lines)."""
        import paramiko

        try:
            return paramiko.PKey.from_type_string(self.key_type, base64.b64decode(self.key_base64))
        except (ValueError, paramiko.SSHException, paramiko.pkey.UnknownKeyType):
            return None


@dataclass(frozen=True)
class KnownHosts:
    """A known_hosts file, read once: any host's lines, found without reading it again."""

    path: Path
    by_name: dict[str, list[Entry]]
    """Plain host names → their lines."""
    hashed: list[tuple[str, Entry]]
    """Lines with hashed names (`|1|salt|hash`), which must be tried one by one."""

    @classmethod
    def read(cls, path: Path) -> KnownHosts:
        by_name: dict[str, list[Entry]] = {}
        hashed: list[tuple[str, Entry]] = []
        text = path.read_text(errors="replace") if path.is_file() else ""
        for number, line in enumerate(text.splitlines(), start=1):
            words = line.split()
            if len(words) < 3 or words[0].startswith(("#", "@")):
                continue
            entry = Entry(number, words[1], words[2])
            for name in words[0].split(","):
                if name.startswith("|1|"):
                    hashed.append((name, entry))
                else:
                    by_name.setdefault(name, []).append(entry)
        return cls(path, by_name, hashed)

    def entries(self, address: str, port: int) -> list[Entry]:
        """The lines that name this host (plain or hashed), in file order."""
        name = host_pattern(address, port)
        found = {e.line: e for e in self.by_name.get(name, [])}
        found.update((e.line, e) for field, e in self.hashed if _matches(field, name))
        return [found[line] for line in sorted(found)]

    def keys(self, address: str, port: int) -> list[PKey]:
        """The host's keys, the first line of each key type, as paramiko looks them up."""
        keys: dict[str, PKey] = {}
        for entry in self.entries(address, port):
            key = entry.key()
            if key is not None:
                keys.setdefault(key.get_name(), key)
        return list(keys.values())


def find_entries(path: Path, address: str, port: int) -> list[Entry]:
    """The lines of `path` that name this host (plain or hashed), with their keys."""
    return KnownHosts.read(path).entries(address, port)


def hashed_name(name: str) -> str:
    """OpenSSH's `|1|salt|hash` form of a host name."""
    salt = os.urandom(20)
    mac = hmac.new(salt, name.encode(), hashlib.sha1).digest()
    return f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(mac).decode()}"


def record(path: Path, address: str, port: int, key: PKey, *, hashed: bool, replace: bool) -> None:
    """Append the host's key to `path` (created 0600 if missing). With `replace`, the lines that
    record another key of the same type for this host go first."""
    name = host_pattern(address, port)
    lines = path.read_text().splitlines() if path.is_file() else []
    if replace:
        stale = {e.line for e in find_entries(path, address, port) if e.key_type == key.get_name()}
        lines = [line for number, line in enumerate(lines, start=1) if number not in stale]
    host = hashed_name(name) if hashed else name
    lines.append(f"{host} {key.get_name()} {key.get_base64()}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    os.chmod(tmp, 0o600 if not path.exists() else path.stat().st_mode & 0o777)
    tmp.replace(path)


def fetch_key(address: str, port: int, timeout: float) -> PKey:
    """The key the server presents, from an SSH handshake that goes no further (no auth)."""
    import socket

    import paramiko

    with socket.create_connection((address, port), timeout=timeout) as sock:
        transport = paramiko.Transport(sock)
        try:
            transport.start_client(timeout=timeout)
            return transport.get_remote_server_key()
        finally:
            transport.close()
