"""Local model directories (or single GGUF files) readable on the machine running gpuctl.

A `local` source names a path on the *hosts*; when the same path exists here (a shared file
system, or gpuctl run on the host) its config and file sizes are read now. Otherwise the model
is described as "to be read on the host" and estimates wait for a lock made where it is readable.
"""

from __future__ import annotations

import os
from pathlib import Path

from gpuctl.models.gguf import ByteSource

MAX_FILES = 100_000


class LocalRepository:
    """A directory of model files."""

    def __init__(self, path: Path, display: str | None = None) -> None:
        self.name = display or str(path)
        self.source = f"local:{display or path}"
        self.revision: str | None = None
        self.root = path
        self.files: dict[str, int] = {}
        for directory, _dirs, names in os.walk(path):
            for name in names:
                full = Path(directory, name)
                if full.is_file():
                    self.files[full.relative_to(path).as_posix()] = full.stat().st_size
                    if len(self.files) >= MAX_FILES:
                        return

    def read(self, path: str) -> bytes:
        return (self.root / path).read_bytes()

    def byte_source(self, path: str) -> ByteSource:
        full = self.root / path

        def read(start: int, size: int) -> bytes:
            with full.open("rb") as handle:
                handle.seek(start)
                return handle.read(size)

        return read
