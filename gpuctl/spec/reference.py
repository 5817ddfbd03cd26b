"""The spec reference in Markdown (README.md), generated from the JSON Schemas.

One table per kind, one row per field, named by its full path (`spec.hosts[].address`) so that a
reader can search for what they see in a spec file. `gpuctl schema --markdown` prints it; a test
fails when the README's copy is stale.
"""

from __future__ import annotations

import json
from typing import Any

from gpuctl.spec.models import PATTERN_MEANINGS
from gpuctl.spec.schema import SCHEMA_FILES, generate_schemas

_WHERE = {"Cluster": "inventory/", "ModelDeployment": "specs/"}


def markdown_reference() -> str:
    """The reference of every kind, as Markdown."""
    schemas = generate_schemas()
    sections = []
    for kind, file in SCHEMA_FILES.items():
        schema = schemas[file]
        rows = ["| Field | Type | Default | Description |", "|---|---|---|---|"]
        rows += _rows(schema, schema, "")
        intro = (
            f"{schema['description']} Files in `{_WHERE[kind]}`; JSON Schema: "
            f"[`schemas/{file}`](schemas/{file})."
        )
        sections.append(f"### {kind}\n\n{intro}\n\n" + "\n".join(rows) + "\n")
    return "\n".join(sections)


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return {**root["$defs"][ref.removeprefix("#/$defs/")], **schema}
    return schema


def _rows(schema: dict[str, Any], root: dict[str, Any], prefix: str) -> list[str]:
    rows = []
    required = set(schema.get("required", []))
    for name, field in schema.get("properties", {}).items():
        field = _resolve(field, root)
        path = f"{prefix}{name}"
        default = "required" if name in required else _default(field)
        rows.append(f"| `{path}` | {_type(field, root)} | {default} | {_description(field, root)} |")
        rows += _children(field, root, path)
    return rows


def _children(field: dict[str, Any], root: dict[str, Any], path: str) -> list[str]:
    """Rows of the fields inside an object, a list of objects, or a map of objects."""
    if "properties" in field:
        return _rows(field, root, f"{path}.")
    items = field.get("items")
    if isinstance(items, dict) and "properties" in _resolve(items, root):
        return _rows(_resolve(items, root), root, f"{path}[].")
    values = field.get("additionalProperties")
    if isinstance(values, dict) and "properties" in _resolve(values, root):
        return _rows(_resolve(values, root), root, f"{path}.<NAME>.")
    return []


def _type(field: dict[str, Any], root: dict[str, Any]) -> str:
    if "const" in field:
        return f"`{field['const']}`"
    if "enum" in field:
        return "one of " + ", ".join(f"`{value}`" for value in field["enum"])
    kind = field.get("type")
    if isinstance(kind, list):
        kind = next(name for name in kind if name != "null")
    if kind == "array":
        items = _resolve(field.get("items", {}), root)
        inner = "objects" if "properties" in items else f"{_type(items, root)}s"
        return f"list of {inner}" + (f", at least {field['minItems']}" if "minItems" in field else "")
    if kind == "object" and "properties" not in field:
        values = _resolve(field.get("additionalProperties", {}), root)
        inner = "object" if "properties" in values else _type(values, root)
        return f"map of string → {inner}"
    if kind in ("integer", "number"):
        return kind + _range(field)
    return kind or "object"


def _range(field: dict[str, Any]) -> str:
    low = f"≥ {field['minimum']}" if "minimum" in field else None
    low = f"> {field['exclusiveMinimum']}" if "exclusiveMinimum" in field else low
    high = f"≤ {field['maximum']}" if "maximum" in field else None
    return " " + ", ".join(part for part in (low, high) if part) if low or high else ""


def _default(field: dict[str, Any]) -> str:
    if field.get("default") is not None:
        return f"`{json.dumps(field['default'])}`"
    if field.get("type") == "array":
        return "`[]`"
    if field.get("type") == "object" and "properties" not in field:
        return "`{}`"
    return "—"


def _description(field: dict[str, Any], root: dict[str, Any]) -> str:
    text = field.get("description", "")
    if "pattern" in field:
        text += f" Format: {PATTERN_MEANINGS.get(field['pattern'], field['pattern'])}."
    items = field.get("items", {}).get("pattern")
    if items:
        text += f" Items: {PATTERN_MEANINGS.get(items, items)}."
    names = field.get("propertyNames", {}).get("pattern")
    if names:
        text += f" Keys: {PATTERN_MEANINGS.get(names, names)}."
    return text.replace("|", "\\|").strip()
