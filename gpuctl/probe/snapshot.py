"""Inventory snapshots: `gpuctl inventory --save FILE` and `plan --inventory-snapshot FILE`.

A snapshot is the `Inventory` as JSON with a format version and a fingerprint: the sha256 of the
canonical JSON (sorted keys, no spaces) of the hosts' facts without timing fields. A plan records
the fingerprint of the facts it was made from; a snapshot whose facts no longer match its
fingerprint was edited by hand and is refused.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pydantic import ValidationError

from gpuctl.errors import Diagnostic, GpuctlError, Location
from gpuctl.facts import Inventory

FORMAT_VERSION = 1
TIMING_FIELDS = {"probe_seconds"}
"""Fields that change on every probe without the host changing: left out of the fingerprint."""


def fingerprint(inventory: Inventory) -> str:
    hosts = [
        host.model_dump(mode="json", exclude=TIMING_FIELDS, exclude_defaults=True) for host in inventory.hosts
    ]
    canonical = json.dumps(hosts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def with_fingerprint(inventory: Inventory) -> Inventory:
    return inventory.model_copy(update={"fingerprint": fingerprint(inventory)})


def dump_snapshot(inventory: Inventory) -> str:
    return json.dumps(with_fingerprint(inventory).model_dump(mode="json"), indent=2, sort_keys=True) + "\n"


def save_snapshot(inventory: Inventory, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(dump_snapshot(inventory))
    tmp.replace(path)


def _refuse(path: Path, message: str, hint: str) -> GpuctlError:
    return GpuctlError(
        Diagnostic(message, location=Location(file=str(path)), hint=hint, code="bad-inventory-snapshot")
    )


def load_snapshot(path: Path) -> Inventory:
    """The inventory saved in `path`, refused with a clear diagnostic if it cannot be trusted."""
    remake = "make a new one with `gpuctl inventory --save FILE`"
    try:
        text = path.read_text()
    except OSError as error:
        raise _refuse(path, f"cannot read the inventory snapshot: {error.strerror}", remake) from None
    except UnicodeDecodeError as error:
        raise _refuse(path, f"the inventory snapshot is not JSON ({error})", remake) from None
    try:  # the common case, at pydantic's JSON speed; any problem is explained below
        inventory = Inventory.model_validate_json(text)
    except ValidationError:
        inventory = _explain_invalid(path, text, remake)
    _check_version(path, inventory.format_version, remake)
    if inventory.fingerprint != fingerprint(inventory):
        raise _refuse(
            path,
            "the inventory snapshot's facts do not match its fingerprint: it was changed after it was saved",
            remake + " instead of editing it",
        )
    return inventory


def _check_version(path: Path, version: object, remake: str) -> None:
    if version != FORMAT_VERSION:
        raise _refuse(
            path,
            f"inventory snapshot format {version!r} is not the format this gpuctl reads ({FORMAT_VERSION})",
            remake,
        )


def _explain_invalid(path: Path, text: str, remake: str) -> Inventory:
    """Refuse a snapshot pydantic could not read, saying the first thing wrong with it."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise _refuse(path, f"the inventory snapshot is not JSON ({error})", remake) from None
    if not isinstance(data, dict):
        raise _refuse(path, "the inventory snapshot is not a JSON object", remake)
    _check_version(path, data.get("format_version"), remake)
    try:
        return Inventory.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise _refuse(path, f"the inventory snapshot is invalid at {where}: {first['msg']}", remake) from None
