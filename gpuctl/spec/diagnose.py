"""Validation errors (jsonschema, pydantic) as diagnostics a person understands.

Each error becomes a sentence at the line and column of the offending key or value: an unknown
field says which field was probably meant, a wrong type says what was expected with an example,
a pattern says in words what it means (`PATTERN_MEANINGS`). Values are shown briefly and never
when they look like secrets.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from pydantic.alias_generators import to_camel
from pydantic_core import ErrorDetails

from gpuctl.errors import Diagnostic
from gpuctl.spec.documents import FieldPath, SourceDocument, format_path
from gpuctl.spec.models import NAME_PATTERN, PATTERN_MEANINGS
from gpuctl.spec.secrets import is_secret_flag, is_secret_name, secret_shape

_TYPE_WORDS = {
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping of keys to values",
    "array": "a list",
    "null": "nothing",
}


def suggestion(word: str, choices: Iterable[str], *, cutoff: float = 0.7) -> str | None:
    """The choice `word` was probably meant to be: a snake_case or case slip, or a close spelling."""
    choices = list(choices)
    camel = to_camel(word)
    if camel != word and camel in choices:
        return camel
    by_case = {choice.lower(): choice for choice in choices}
    if word.lower() in by_case:
        return by_case[word.lower()]
    close = difflib.get_close_matches(word, choices, n=1, cutoff=cutoff)
    return close[0] if close else None


def show(value: Any) -> str:
    """A value as it may appear in a message: short, and hidden when it looks like a secret."""
    if isinstance(value, str) and secret_shape(value):
        return "(a value that looks like a secret)"
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "null"
    if isinstance(value, float) and not math.isfinite(value):
        return ".nan" if math.isnan(value) else ".inf" if value > 0 else "-.inf"  # as YAML writes them
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def describe(value: Any, *, reveal: bool = True) -> str:
    """What a value is, in words: "the string '22'", "the number 8", "a list" (with
    `reveal=False`: "a string", "a number")."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return f"the boolean {show(value)}" if reveal else "a boolean"
    if isinstance(value, int | float):
        return f"the number {show(value)}" if reveal else "a number"
    if isinstance(value, str):
        return f"the string {show(value)}" if reveal else "a string"
    if isinstance(value, list):
        return "a list"
    return "a mapping"


class SchemaErrors:
    """Turns jsonschema errors of one document into diagnostics."""

    def __init__(self, doc: SourceDocument, root_schema: dict[str, Any]) -> None:
        self.doc = doc
        self.root = root_schema
        self.homes = _homes(root_schema)

    def diagnostics(self, errors: Iterable[Any]) -> list[Diagnostic]:
        found: list[Diagnostic] = []
        for error in _one_per_mistake(list(errors)):
            found.extend(self.convert(error))
        return found

    def at(
        self, path: FieldPath, message: str, hint: str | None, code: str, *, key: bool = False
    ) -> Diagnostic:
        location = self.doc.location(path, key=key)
        return Diagnostic(message, location, path=format_path(path) or None, hint=hint, code=code)

    def convert(self, error: Any) -> list[Diagnostic]:
        path: FieldPath = tuple(error.absolute_path)
        keyword = error.validator
        value = error.validator_value
        instance = error.instance
        schema = error.schema
        if "propertyNames" in error.relative_schema_path:
            meaning = PATTERN_MEANINGS.get(value, f"a name matching {value}")
            return [self.at((*path, instance), f"{instance!r} is not {meaning}", None, "bad-name", key=True)]
        if keyword == "additionalProperties":
            allowed = list(schema.get("properties", {}))
            extra = [key for key in instance if key not in allowed]
            return [
                self.at(
                    (*path, key),
                    f"unknown field {key!r}",
                    self.unknown_hint(key, allowed, path),
                    "unknown-field",
                    key=True,
                )
                for key in extra
            ]
        if keyword == "required":
            # A misspelt field is said once, as unknown ("did you mean 'address'?"), not also as missing.
            allowed = list(schema.get("properties", {}))
            misspelt = {suggestion(key, allowed) for key in instance if key not in allowed}
            missing = [name for name in value if name not in instance and name not in misspelt]
            return [
                self.at(
                    path,
                    f"missing required field {name!r}",
                    self.example_hint(path, name, schema),
                    "missing-field",
                    key=True,
                )
                for name in missing
            ]
        if keyword == "type":
            return [self.at(path, *self.type_problem(path, value, instance, schema), "wrong-type")]
        if keyword == "enum":
            choices = ", ".join(str(choice) for choice in value)
            near = suggestion(str(instance), [str(choice) for choice in value])
            hint = f"did you mean {near!r}?" if near else None
            return [self.at(path, f"{show(instance)} is not one of: {choices}", hint, "bad-value")]
        if keyword == "const":
            return [self.at(path, f"must be {value!r}, not {show(instance)}", None, "bad-value")]
        if keyword == "pattern":
            meaning = PATTERN_MEANINGS.get(value, f"a value matching {value}")
            hint = _non_ascii_hint(instance) or (_name_hint(instance) if value == NAME_PATTERN else None)
            return [self.at(path, f"{show(instance)} is not {meaning}", hint, "bad-format")]
        if keyword in _RANGE_WORDS:
            return [
                self.at(
                    path,
                    f"must be {_RANGE_WORDS[keyword]} {value}, not {show(instance)}",
                    None,
                    "out-of-range",
                )
            ]
        if keyword == "minLength":
            return [self.at(path, "must not be empty", None, "bad-value")]
        if keyword == "maxLength":
            return [
                self.at(
                    path,
                    f"is {len(instance)} characters long; at most {value} are allowed",
                    None,
                    "bad-value",
                )
            ]
        if keyword == "minItems":
            return [
                self.at(path, f"must list at least {value} item{'s' if value > 1 else ''}", None, "bad-value")
            ]
        return [self.at(path, error.message, None, "invalid")]

    def unknown_hint(self, key: str, allowed: list[str], path: FieldPath) -> str:
        near = suggestion(key, allowed)
        if near:
            camel = " gpuctl field names are camelCase" if near == to_camel(key) and "_" in key else ""
            return f"did you mean {near!r}?{camel}"
        homes = [home for home in self.homes.get(key, []) if home != format_path((*path, key))]
        if homes:
            return f"{key} belongs in {' or '.join(homes)}"
        return f"allowed here: {', '.join(allowed)}" if allowed else "no fields are allowed here"

    def example_hint(self, path: FieldPath, name: str, parent: dict[str, Any]) -> str | None:
        field = parent.get("properties", {}).get(name, {})
        example = self.example((*path, name), field)
        if example is not None:
            return f"for example: {name}: {_flow(example)}"
        resolved = self.resolve(field)
        if resolved.get("type") == "object" or "properties" in resolved:
            return f"add a {name}: section"
        return None

    def example(self, path: FieldPath, schema: dict[str, Any]) -> Any:
        """A short value for the field at `path` (at most 60 characters as YAML), or None."""
        return next((value for value in self.examples(path, schema) if len(_flow(value)) <= 60), None)

    def examples(self, path: FieldPath, schema: dict[str, Any]) -> Iterator[Any]:
        """Values for the field at `path`, best first: the schema's example document, the field's
        own examples, an object made of its fields' examples (the required ones, else all), its
        default."""
        resolved = self.resolve(schema)
        found = _example_at(self.root, path)
        if found is not None:
            yield found
        yield from resolved.get("examples", [])
        properties = resolved.get("properties", {})
        built = {}
        for name in resolved.get("required") or properties:
            value = self.example((*path, name), properties[name])
            if value is not None:
                built[name] = value
        if built:
            yield built
        default = resolved.get("default")
        if default is not None and default != {} and default != []:
            yield default

    def type_problem(
        self, path: FieldPath, expected: str | list[str], instance: Any, schema: dict[str, Any]
    ) -> tuple[str, str | None]:
        types = [expected] if isinstance(expected, str) else [name for name in expected if name != "null"]
        wanted = " or ".join(_TYPE_WORDS.get(name, name) for name in types)
        reveal = not self.may_be_secret(path)
        message = f"expected {wanted}, got {describe(instance, reveal=reveal)}"
        name = path[-1] if path and isinstance(path[-1], str) else None
        if isinstance(instance, str) and {"integer", "number"} & set(types) and _is_number(instance):
            if "e" not in instance.lower():
                return message, "write the number without quotes"
            number = float(instance)  # 1e3: YAML 1.1 reads exponents without a '.' and a sign as text
            return message, f"write it out: {int(number) if number.is_integer() else number}"
        if instance is None and types == ["string"]:
            return message, 'write "" for an empty string'
        if isinstance(instance, str) and types == ["boolean"]:
            return message, "write true or false, without quotes"
        if isinstance(instance, bool) and "string" in types:
            return message, 'YAML reads yes/no/on/off/true/false as booleans: quote the value, e.g. "yes"'
        if isinstance(instance, int | float) and "string" in types:
            return message, f'quote it: "{instance}"' if reveal else "put the value in quotes"
        if isinstance(instance, dict) and len(instance) == 1 and types == ["string"]:
            return message, "YAML reads a value with ': ' in it as a mapping: put the whole value in quotes"
        example = self.example(path, schema)
        if example is None:
            return message, None
        if name:
            return message, f"for example: {name}: {_flow(example)}"
        if path and isinstance(path[-1], int):
            return message, f"for example: - {_flow(example)}"
        return message, f"for example: {_flow(example)}"

    def may_be_secret(self, path: FieldPath) -> bool:
        """A value of any type may be a secret: an env variable named like one, or the value
        that follows a flag such as --api-key. Messages say what type it is, not what it is."""
        if len(path) >= 2 and path[-2] == "env":
            return isinstance(path[-1], str) and is_secret_name(path[-1])
        if len(path) >= 2 and path[-2] == "parameters" and isinstance(path[-1], int) and path[-1] > 0:
            parameters = self.doc.data.get("spec", {}).get("parameters")
            previous = parameters[path[-1] - 1] if isinstance(parameters, list) else None
            return isinstance(previous, str) and is_secret_flag(previous)
        return False

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return {**self.root["$defs"][ref.removeprefix("#/$defs/")], **schema}
        return schema


def _non_ascii_hint(value: str) -> str | None:
    """Text pasted from a web page or chat often carries a look-alike: a non-breaking hyphen
    (U+2011) in Qwen3‑8B reads like '-' but is not."""
    odd = next((char for char in value if ord(char) > 127), None)
    return f"it contains the non-ASCII character {odd!r} (U+{ord(odd):04X}): retype it" if odd else None


def _name_hint(value: str) -> str | None:
    """`Qwen3_8B` → "for example: qwen3-8b"."""
    name = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")[:63].rstrip("-")
    return f"for example: {name}" if name and re.fullmatch(NAME_PATTERN, name) else None


def _one_per_mistake(errors: list[Any]) -> list[Any]:
    """jsonschema reports every keyword a value fails; a person needs the one that explains it.

    `backend: 1` fails `enum` and `type` (keep the enum: it lists the choices); `replicas: .inf`
    fails `type` and `maximum` (keep the type); `name: ""` fails `minLength` and `pattern` (keep
    "must not be empty").
    """
    keywords: dict[tuple[Any, ...], set[str]] = {}
    for error in errors:
        if "propertyNames" not in error.relative_schema_path:
            keywords.setdefault(tuple(error.absolute_path), set()).add(error.validator)

    def redundant(error: Any) -> bool:
        if "propertyNames" in error.relative_schema_path:
            return False
        here, keyword = keywords[tuple(error.absolute_path)], error.validator
        if here & {"enum", "const"}:
            return keyword == "type"
        if "type" in here:
            return keyword != "type"
        return keyword == "pattern" and "minLength" in here

    return [error for error in errors if not redundant(error)]


_RANGE_WORDS = {
    "minimum": "at least",
    "maximum": "at most",
    "exclusiveMinimum": "greater than",
    "exclusiveMaximum": "less than",
}


def _example_at(root: dict[str, Any], path: FieldPath) -> Any:
    """The value at `path` in the schema's example document (list indexes taken as 0), if any."""
    value: Any = (root.get("examples") or [None])[0]
    for part in path:
        if isinstance(part, int) and isinstance(value, list) and value:
            value = value[0]
        elif isinstance(part, str) and isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return None
    return value


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _flow(value: Any) -> str:
    """A value in YAML flow style (JSON is valid YAML): how hints show examples."""
    if isinstance(value, str) and re.fullmatch(r"[\w./~-]+", value):
        return value
    return json.dumps(value, ensure_ascii=False)


_HOMES: dict[str, dict[str, list[str]]] = {}
"""`_field_homes` by schema `$id`: computed once per run, not once per invalid document."""


def _homes(root: dict[str, Any]) -> dict[str, list[str]]:
    key = root.get("$id")
    if not isinstance(key, str):
        return _field_homes(root)
    if key not in _HOMES:
        _HOMES[key] = _field_homes(root)
    return _HOMES[key]


def _field_homes(root: dict[str, Any]) -> dict[str, list[str]]:
    """Field name → the paths where the schema allows it, to say where a misplaced field belongs."""
    homes: dict[str, list[str]] = {}
    defs = root.get("$defs", {})

    def walk(schema: dict[str, Any], path: tuple[str | int, ...], seen: frozenset[str]) -> None:
        ref = schema.get("$ref", "")
        if ref.startswith("#/$defs/"):
            name = ref.removeprefix("#/$defs/")
            if name in seen:
                return
            schema, seen = {**defs[name], **schema}, seen | {name}
        for key, child in schema.get("properties", {}).items():
            homes.setdefault(key, []).append(format_path(path) or "the top level")
            walk(child, (*path, key), seen)
        items = schema.get("items")
        if isinstance(items, dict):
            walk(items, (*path, 0), seen)

    walk(root, (), frozenset())
    return homes


def model_diagnostics(
    doc: SourceDocument, errors: Sequence[ErrorDetails], *, only_custom: bool
) -> list[Diagnostic]:
    """pydantic errors as diagnostics. The validators' own problems (type "gpuctl") are unpacked,
    each at its own position; other errors are reported only when the schema found nothing
    (`only_custom=False`), since they would repeat what it said."""
    found: list[Diagnostic] = []
    for error in errors:
        loc: FieldPath = tuple(part for part in error["loc"] if part != "[key]")
        if error["type"] == "gpuctl":
            for sub, message, hint in error["ctx"]["problems"]:
                path = (*loc, *sub)
                location = doc.location(path, key=not _is_scalar(doc, path))
                found.append(
                    Diagnostic(message, location, path=format_path(path) or None, hint=hint, code="invalid")
                )
        elif not only_custom:
            location = doc.location(loc, key=not _is_scalar(doc, loc))
            message, hint = _pydantic_message(error)
            found.append(
                Diagnostic(message, location, path=format_path(loc) or None, hint=hint, code="invalid")
            )
    return found


def _pydantic_message(error: ErrorDetails) -> tuple[str, str | None]:
    """A pydantic error the schema did not see, in gpuctl's words. The one known case: JSON Schema
    counts 2.0 as an integer, strict pydantic does not."""
    value = error.get("input")
    if error["type"] in ("int_type", "int_from_float") and isinstance(value, float):
        hint = f"write {int(value)}" if value.is_integer() else None
        return f"expected a whole number, got {describe(value)}", hint
    return error["msg"], None


def _is_scalar(doc: SourceDocument, path: FieldPath) -> bool:
    value: Any = doc.data
    for part in path:
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            return False
    return not isinstance(value, dict | list)
