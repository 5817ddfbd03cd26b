"""Saved plans: `gpuctl plan --out FILE`, read back by `gpuctl apply FILE`.

The file is the plan's canonical JSON. Reading it back checks the format version and the schema;
whether the hosts still look as they did is apply's question (`gpuctl.plan.facts.what_changed`
against a fresh probe), answered from the facts the plan carries.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from gpuctl.errors import Diagnostic, GpuctlError, Location
from gpuctl.plan.model import FORMAT_VERSION, Plan


def save_plan(plan: Plan, path: Path) -> None:
    """Write atomically: a reader never sees half a plan."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(plan.to_json(), encoding="utf-8")
    tmp.replace(path)


def load_plan(path: Path) -> Plan:
    remake = "make a new one with `gpuctl plan --out FILE`"

    def refuse(message: str) -> GpuctlError:
        return GpuctlError(
            Diagnostic(message, location=Location(file=str(path)), hint=remake, code="bad-plan-file")
        )

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise refuse(f"cannot read the plan file: {error.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise refuse(f"the plan file is not JSON ({error})") from None
    version = data.get("format_version") if isinstance(data, dict) else None
    if version != FORMAT_VERSION:
        raise refuse(f"plan format {version!r} is not the format this gpuctl reads ({FORMAT_VERSION})")
    try:
        return Plan.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise refuse(f"the plan file is invalid at {where}: {first['msg']}") from None
