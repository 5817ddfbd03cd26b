"""Validation errors (jsonschema, pydantic) as diagnostics a person understands.

Each error becomes a sentence at the line and column of the offending key or value: an unknown
field says which field was probably meant, a wrong type says what was expected with an example,
a pattern says in words what it means (`PATTERN_MEANINGS`). Values are shown briefly and never
when they look like secrets.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic.alias_generators import to_camel
from pydantic_core import ErrorDetails

from gpuctl.errors import Diagnostic
from gpuctl.spec.documents import FieldPath, SourceDocument, format_path
from gpuctl.spec.models import PATTERN_MEANINGS
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


def suggestion(word: str, choices: Iterable[str]) -> str | None:
    """The choice `word` was probably meant to be: a snake_case or case slip, or a close spelling."""
    choices = list(choices)
    camel = to_camel(word)
    if camel != word and camel in choices:
        return camel
    by_case = {choice.lower(): choice for choice in choices}
    if word.lower() in by_case:
        return by_case[word.lower()]
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.7)
    return close[0] if close else None


def show(value: Any) -> str:
    """A value as it may appear in a message: short, and hidden when it looks like a secret."""
    if isinstance(value, str) and secret_shape(value):
        return "(a value that looks like a secret)"
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "null"
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
        self.homes = _field_homes(root_schema)

    def diagnostics(self, errors: Iterable[Any]) -> list[Diagnostic]:
        found: list[Diagnostic] = []
        for error in errors:
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
            missing = [name for name in value if name not in instance]
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
            return [self.at(path, f"{show(instance)} is not {meaning}", None, "bad-format")]
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
        example = _example_at(self.root, (*path, name))
        if example is not None and len(_flow(example)) <= 60:
            return f"for example: {name}: {_flow(example)}"
        field = self.resolve(parent.get("properties", {}).get(name, {}))
        examples = field.get("examples")
        if examples:
            return f"for example: {name}: {_flow(examples[0])}"
        if field.get("type") == "object" or "properties" in field:
            return f"add a {name}: section"
        return None

    def type_problem(
        self, path: FieldPath, expected: str | list[str], instance: Any, schema: dict[str, Any]
    ) -> tuple[str, str | None]:
        types = [expected] if isinstance(expected, str) else [name for name in expected if name != "null"]
        wanted = " or ".join(_TYPE_WORDS.get(name, name) for name in types)
        reveal = not self.may_be_secret(path)
        message = f"expected {wanted}, got {describe(instance, reveal=reveal)}"
        name = path[-1] if path and isinstance(path[-1], str) else None
        if isinstance(instance, str) and {"integer", "number"} & set(types) and _is_number(instance):
            return message, "write the number without quotes"
        if isinstance(instance, str) and types == ["boolean"]:
            return message, "write true or false, without quotes"
        if isinstance(instance, bool) and "string" in types:
            return message, 'YAML reads yes/no/on/off/true/false as booleans: quote the value, e.g. "yes"'
        if isinstance(instance, int | float) and "string" in types:
            return message, f'quote it: "{instance}"' if reveal else "put the value in quotes"
        examples = self.resolve(schema).get("examples")
        if examples and name:
            return message, f"for example: {name}: {_flow(examples[0])}"
        if examples:
            return message, f"for example: {_flow(examples[0])}"
        return message, None

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
            found.append(Diagnostic(error["msg"], location, path=format_path(loc) or None, code="invalid"))
    return found


def _is_scalar(doc: SourceDocument, path: FieldPath) -> bool:
    value: Any = doc.data
    for part in path:
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            return False
    return not isinstance(value, dict | list)
