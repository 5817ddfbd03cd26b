"""Why a container must be replaced, field by field, in words.

Every container gpuctl starts carries its canonical ContainerSpec as compact JSON in the
`gpuctl.spec` label (`spec_label`; apply adds it with the spec hash: `apply_labels`). Comparing
that with the spec the plan wants turns a changed hash into reasons a reviewer can check: "image
changed a → b", "parameter --max-model-len changed 8192 → 32768", "env VLLM_LOGGING_LEVEL added".
Secret values are never in a ContainerSpec, only the names of the local variables that hold them,
so the label holds no secret.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from gpuctl import labels
from gpuctl.backends.types import ContainerSpec
from gpuctl.schedule.units import size


def spec_label(spec: ContainerSpec) -> str:
    """Compact canonical JSON of everything but the labels; file contents by digest only."""
    data = spec.model_dump(mode="json", exclude={"labels"})
    for file in data.get("files", []):
        file["content"] = "sha256:" + hashlib.sha256(file["content"].encode()).hexdigest()
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def apply_labels(spec: ContainerSpec) -> dict[str, str]:
    """The labels apply adds to the ones a ContainerSpec carries: its hash and its canonical JSON
    (both derived from the spec, so a plan does not carry them)."""
    return {labels.SPEC_HASH: spec.spec_hash(), labels.SPEC: spec_label(spec)}


def parse_flags(command: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """Split a command line into positional words and `--flag` → values ("" for a bare flag).

    `--flag=value` and `--flag value` read the same; a word after a flag is its value unless it
    is itself a flag. Negative numbers are values, not flags.
    """
    positional: list[str] = []
    flags: dict[str, list[str]] = {}
    current: str | None = None
    for word in command:
        if word.startswith("-") and not _is_number(word):
            name, eq, value = word.partition("=")
            flags.setdefault(name, [])
            if eq:
                flags[name].append(value)
                current = None
            else:
                current = name
            continue
        if current is not None:
            flags[current].append(word)
            current = None
        else:
            positional.append(word)
    return positional, flags


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def _show(values: list[str]) -> str:
    return " ".join(values) if values and any(values) else "(set)"


def command_changes(old: list[str], new: list[str]) -> list[str]:
    old_pos, old_flags = parse_flags(old)
    new_pos, new_flags = parse_flags(new)
    out: list[str] = []
    if old_pos != new_pos:
        out.append(f"command changed {' '.join(old_pos)} → {' '.join(new_pos)}")
    for flag in sorted(old_flags.keys() | new_flags.keys()):
        was, now = old_flags.get(flag), new_flags.get(flag)
        if was == now:
            continue
        if was is None:
            out.append(f"parameter {flag} added" + (f" ({_show(now or [])})" if now and any(now) else ""))
        elif now is None:
            out.append(f"parameter {flag} removed")
        else:
            out.append(f"parameter {flag} changed {_show(was)} → {_show(now)}")
    return out


def _mapping_changes(what: str, old: dict[str, Any], new: dict[str, Any], show_values: bool) -> list[str]:
    out: list[str] = []
    for key in sorted(old.keys() | new.keys()):
        if key not in old:
            out.append(f"{what} {key} added")
        elif key not in new:
            out.append(f"{what} {key} removed")
        elif old[key] != new[key]:
            out.append(f"{what} {key} changed" + (f" {old[key]} → {new[key]}" if show_values else ""))
    return out


def spec_changes(old_label: str | None, new: ContainerSpec) -> list[str]:
    """Reasons the container described by `old_label` differs from `new` (empty when equal)."""
    if not old_label:
        return []
    try:
        old: dict[str, Any] = json.loads(old_label)
    except ValueError:
        return []
    want: dict[str, Any] = json.loads(spec_label(new))
    out: list[str] = []
    for key in sorted(old.keys() | want.keys()):
        was, now = old.get(key), want.get(key)
        if was == now:
            continue
        if key == "image":
            out.append(f"image changed {was} → {now}")
        elif key == "command":
            out += command_changes(was or [], now or [])
        elif key == "env":
            out += _mapping_changes("env", was or {}, now or {}, show_values=True)
        elif key == "secret_env":
            out += _mapping_changes("secret", was or {}, now or {}, show_values=False)
        elif key == "claimed_memory":
            if size(was or 0) != size(now or 0):  # a few bytes of a new estimate are not news
                out.append(f"claimed memory changed {size(was or 0)} → {size(now or 0)}")
        elif key in ("port", "shm_size", "runtime", "ipc_host", "privileged"):
            out.append(f"{key.replace('_', ' ')} changed {was} → {now}")
        elif key == "files":
            paths = sorted(
                {f["path"] for f in (was or []) + (now or []) if f not in (was or []) or f not in (now or [])}
            )
            out += [f"file {p} changed" for p in paths] or ["files changed"]
        else:
            out.append(f"{key.replace('_', ' ')} changed")
    return out
