"""Spec files as YAML documents: plain data plus the position of every key and value.

PyYAML's loaders forget where things were, accept duplicate keys and expand aliases without
limit. gpuctl therefore only *composes* the YAML (libyaml's C composer when available) and builds
the data itself from the node graph: every key and value keeps its line and column, a duplicate
key is an error, the number of nodes a document expands to is capped (an alias bomb is refused
before it is expanded), and anything that is not plain JSON-like data (custom tags, sets, binary) is
refused. Problems that make a whole file unreadable (encoding, syntax, size) are file
diagnostics; problems inside one document are kept with it, so that the loader can ignore them
when the document turns out not to be a gpuctl document at all.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from gpuctl.errors import Diagnostic, Location

MAX_FILE_BYTES = 8 * 1024 * 1024
"""Spec files larger than this are refused unread (an inventory of 10,000 hosts is ~2 MiB)."""
MAX_NODES = 200_000
"""Nodes one document may expand to, aliases counted each time they are used."""

FieldPath = tuple[str | int, ...]

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_TAG}{name}" for name in ("null", "bool", "int", "float")}
_constructor = yaml.constructor.SafeConstructor()


@dataclass(frozen=True)
class Pos:
    """A 1-based line and column."""

    line: int
    column: int


@dataclass
class SourceDocument:
    """One YAML document of a spec file."""

    file: str
    """The file as it is shown to the user (the path they gave, joined with what was found in it)."""
    number: int
    """1-based position of the document in its file."""
    data: Any
    start: Pos
    keys: dict[FieldPath, Pos] = field(default_factory=dict)
    """Where the key of each mapping entry (or the start of each list item) is."""
    values: dict[FieldPath, Pos] = field(default_factory=dict)
    """Where each value starts."""
    problems: list[Diagnostic] = field(default_factory=list)
    """YAML-level problems inside the document: duplicate keys, unsupported tags, ..."""

    def location(self, path: FieldPath = (), *, key: bool = False) -> Location:
        """Where `path` is: its key (`key=True`) or its value; the nearest known ancestor otherwise."""
        first, second = (self.keys, self.values) if key else (self.values, self.keys)
        for length in range(len(path), -1, -1):
            pos = first.get(path[:length]) or second.get(path[:length])
            if pos:
                return Location(self.file, pos.line, pos.column)
        return Location(self.file, self.start.line, self.start.column)


@dataclass
class SourceFile:
    """A spec file: its documents (empty ones left out) and the problems that concern the file."""

    file: str
    documents: list[SourceDocument] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)


def read_file(path: Path, display: str) -> SourceFile:
    """Read and compose one spec file; every failure becomes a diagnostic, never an exception."""
    try:
        size = path.stat().st_size
        raw = b""
        if size <= MAX_FILE_BYTES:
            with path.open("rb") as stream:
                raw = stream.read(MAX_FILE_BYTES + 1)  # a special file may grow past its stat size
    except OSError as error:
        return _failed(display, "file-unreadable", f"cannot read the file: {error.strerror or error}")
    size = max(size, len(raw))
    if size > MAX_FILE_BYTES:
        return _failed(
            display,
            "file-too-large",
            f"the file is {size / 2**20:.1f} MiB; spec files are limited to {MAX_FILE_BYTES // 2**20} MiB",
            "split it into several files",
        )
    return parse_bytes(raw, display)


def parse_bytes(raw: bytes, display: str) -> SourceFile:
    """Decode (UTF-8, with or without a byte-order mark) and compose."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _failed(
            display, "file-encoding", "the file is UTF-16 or UTF-32 encoded", "save it as UTF-8", Pos(1, 1)
        )
    if b"\x00" in raw:
        return _failed(
            display,
            "file-binary",
            "this is a binary file, not YAML (it contains NUL bytes)",
            "pass only spec files, or move this file out of the spec directories",
            _byte_position(raw, raw.index(b"\x00")),
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return _failed(
            display,
            "file-encoding",
            f"invalid UTF-8: byte 0x{raw[error.start]:02x} cannot start or continue a character",
            "save the file as UTF-8",
            _byte_position(raw, error.start),
        )
    return parse_text(text, display)


def parse_text(text: str, display: str) -> SourceFile:
    """Compose every document of `text` and build its data with positions."""
    source = SourceFile(display)
    # Without an alias (`*name`) no node is shared: a document's size is the nodes the builder
    # visits, counted as it goes, and the expansion walk that guards against alias bombs is skipped.
    builder = _Builder(display, aliases="*" in text)
    number = 0
    try:
        for root in yaml.compose_all(text, Loader=_Loader):
            number += 1
            if root is None or (root.tag == f"{_TAG}null" and isinstance(root, ScalarNode)):
                continue
            source.documents.append(builder.document(root, number))
    except yaml.MarkedYAMLError as error:
        source.diagnostics.append(_syntax_diagnostic(error, text, display))
    except yaml.reader.ReaderError as error:
        char = f"U+{error.character:04X}" if isinstance(error.character, int) else repr(error.character)
        source.diagnostics.append(
            Diagnostic(
                f"the character {char} is not allowed in YAML (control characters cannot appear in a spec)",
                _text_location(display, text, error.position),
                hint="remove it",
                code="yaml-syntax",
            )
        )
    except RecursionError:
        source.diagnostics.append(
            _file_error(display, "yaml-too-deep", "the YAML is nested too deeply", None)
        )
    except _Abort as abort:
        source.diagnostics.append(abort.diagnostic)
    except yaml.YAMLError as error:  # anything else libyaml may raise, said as it says it
        source.diagnostics.append(_file_error(display, "yaml-syntax", f"YAML error: {error}", None))
    if not source.documents and not source.diagnostics:
        source.diagnostics.append(
            _file_error(
                display,
                "file-empty",
                "the file is empty: it holds no YAML document",
                "add a Cluster or ModelDeployment document, or delete the file",
            )
        )
    return source


class _Abort(Exception):
    """Stops reading a file whose YAML cannot be turned into data at all (an alias bomb)."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        self.diagnostic = diagnostic


class _Builder:
    """Turns composed nodes into plain data, recording positions and problems."""

    def __init__(self, display: str, *, aliases: bool = True) -> None:
        self.file = display
        self.aliases = aliases
        self.doc: SourceDocument
        self.root: Node
        self.active: set[int] = set()
        self.left = MAX_NODES
        """Nodes the document may still have (counted down by `build`)."""

    def document(self, root: Node, number: int) -> SourceDocument:
        if self.aliases:
            sizes: dict[int, int] = {}
            if _expanded_size(root, sizes, MAX_NODES) > MAX_NODES:
                raise _Abort(self.too_large(root, aliased=len(sizes) <= MAX_NODES))
        self.doc = SourceDocument(self.file, number, None, _pos(root))
        self.left = MAX_NODES
        self.root = root
        self.doc.data = self.build(root, ())
        return self.doc

    def too_large(self, root: Node, *, aliased: bool) -> Diagnostic:
        """An alias bomb, or a document that really holds that many values (without aliases, the
        expanded size is the number of distinct nodes visited, so those two cases differ)."""
        location = Location(self.file, root.start_mark.line + 1, root.start_mark.column + 1)
        if aliased:
            return Diagnostic(
                f"the YAML expands to more than {MAX_NODES:,} values (aliases that refer to aliases: an "
                "alias bomb?)",
                location,
                hint="write the values out instead of nesting aliases",
                code="yaml-alias-bomb",
            )
        return Diagnostic(
            f"this document holds more than {MAX_NODES:,} values, more than a spec may have",
            location,
            hint="split it into several documents or files",
            code="yaml-too-large",
        )

    def problem(self, node: Node, path: FieldPath, code: str, message: str, hint: str | None = None) -> None:
        mark = node.start_mark
        location = Location(self.file, mark.line + 1, mark.column + 1)
        shown = format_path(path) or None
        self.doc.problems.append(Diagnostic(message, location, path=shown, hint=hint, code=code))

    def build(self, node: Node, path: FieldPath) -> Any:
        self.left -= 1
        if self.left < 0:
            raise _Abort(self.too_large(self.root, aliased=False))
        self.doc.values[path] = _pos(node)
        if id(node) in self.active:
            self.problem(node, path, "yaml-recursive-alias", "this alias refers to a node that contains it")
            return None
        if isinstance(node, ScalarNode):
            return self.scalar(node, path)
        self.active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return self.sequence(node, path)
            return self.mapping(cast(MappingNode, node), path)  # the only other kind of node
        finally:
            self.active.discard(id(node))

    def sequence(self, node: SequenceNode, path: FieldPath) -> list[Any]:
        self.check_tag(node, path, "seq")
        items = []
        for index, item in enumerate(node.value):
            self.doc.keys.setdefault((*path, index), _pos(item))
            items.append(self.build(item, (*path, index)))
        return items

    def mapping(self, node: MappingNode, path: FieldPath) -> dict[str, Any]:
        self.check_tag(node, path, "map")
        mapping = {}
        for key, (key_node, value_node) in self.entries(node, path).items():
            self.doc.keys[(*path, key)] = _pos(key_node)
            mapping[key] = self.build(value_node, (*path, key))
        return mapping

    def entries(self, node: MappingNode, path: FieldPath) -> dict[str, tuple[Node, Node]]:
        """The (key node, value node) of each entry by key; `<<` merge keys resolved, explicit keys win."""
        explicit: dict[str, tuple[Node, Node]] = {}
        merged: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            if key_node.tag == f"{_TAG}merge":
                sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                for source in sources:
                    if not isinstance(source, MappingNode) or id(source) in self.active:
                        self.problem(source, path, "yaml-merge", "a merge key (<<) must refer to a mapping")
                        continue
                    self.active.add(id(source))
                    for merged_key, entry in self.entries(source, path).items():
                        merged.setdefault(merged_key, entry)
                    self.active.discard(id(source))
                continue
            key = self.key(key_node, path)
            if key is None:
                continue
            if key in explicit:
                first = explicit[key][0].start_mark.line + 1
                self.problem(
                    key_node,
                    (*path, key),
                    "yaml-duplicate-key",
                    f"duplicate key {key!r} (first at line {first})",
                    "remove one of them",
                )
                continue
            explicit[key] = (key_node, value_node)
        return merged | explicit

    def key(self, node: Node, path: FieldPath) -> str | None:
        if not isinstance(node, ScalarNode):
            self.problem(node, path, "yaml-key", "a key must be a plain string, not a list or mapping")
            return None
        value = self.scalar(node, path)
        if not isinstance(value, str):
            self.problem(
                node,
                (*path, str(node.value)),
                "yaml-key",
                f"the key {node.value!r} is read as {_yaml_type(value)}, not as a string",
                f'quote it: "{node.value}"',
            )
            return str(node.value)
        return value

    def scalar(self, node: ScalarNode, path: FieldPath) -> Any:
        tag = node.tag
        if tag == f"{_TAG}str":
            return node.value
        if tag in _SCALAR_TAGS:
            return getattr(_constructor, f"construct_yaml_{tag.removeprefix(_TAG)}")(node)
        if tag == f"{_TAG}timestamp":
            return node.value  # no spec field is a date; a revision such as 2024-01-01 is text
        self.unsupported_tag(node, path)
        return node.value

    def check_tag(self, node: Node, path: FieldPath, expected: str) -> None:
        if node.tag != f"{_TAG}{expected}":
            self.unsupported_tag(node, path)

    def unsupported_tag(self, node: Node, path: FieldPath) -> None:
        tag = node.tag.replace(_TAG, "!!", 1) if node.tag.startswith(_TAG) else node.tag
        self.problem(
            node, path, "yaml-tag", f"the YAML tag {tag} is not supported in specs", "remove the tag"
        )


def format_path(path: Sequence[str | int]) -> str:
    """`spec.hosts[0].labels["gpu.vendor"]` — how a field is named in messages."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part.replace("_", "").replace("-", "").isalnum():
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(part)}]"
    return text


def _expanded_size(node: Node, sizes: dict[int, int], limit: int) -> int:
    """How many nodes `node` stands for once every alias is expanded, computed once per node.

    Aliases share composed nodes, so this costs one visit per distinct node, however large the
    expansion. A node that contains itself adds nothing here; the builder reports that alias.
    """
    known = sizes.get(id(node))
    if known is not None:
        return known
    sizes[id(node)] = 0  # while visiting: a cycle back to this node adds nothing
    size = 1
    if isinstance(node, SequenceNode):
        children: list[Node] = node.value
    elif isinstance(node, MappingNode):
        children = [child for pair in node.value for child in pair]
    else:
        children = []
    for child in children:
        size += _expanded_size(child, sizes, limit)
        if size > limit:
            break
    sizes[id(node)] = min(size, limit + 1)
    return sizes[id(node)]


def _pos(node: Node) -> Pos:
    return Pos(node.start_mark.line + 1, node.start_mark.column + 1)


def _yaml_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    return f"the number {value}"


_START = Pos(1, 1)


def _failed(display: str, code: str, message: str, hint: str | None = None, pos: Pos = _START) -> SourceFile:
    return SourceFile(display, diagnostics=[_file_error(display, code, message, hint, pos)])


def _file_error(display: str, code: str, message: str, hint: str | None, pos: Pos = _START) -> Diagnostic:
    """A problem of the whole file, shown at line 1, column 1 unless a better place is known."""
    return Diagnostic(message, Location(display, pos.line, pos.column), hint=hint, code=code)


def _byte_position(raw: bytes, offset: int) -> Pos:
    line_start = raw.rfind(b"\n", 0, offset) + 1
    column = len(raw[line_start:offset].decode("utf-8", errors="replace")) + 1
    return Pos(raw.count(b"\n", 0, offset) + 1, column)


def _text_location(display: str, text: str, offset: int) -> Location:
    line_start = text.rfind("\n", 0, offset) + 1
    return Location(display, text.count("\n", 0, offset) + 1, offset - line_start + 1)


_SYNTAX_MESSAGES = {
    "mapping values are not allowed": (
        "a ':' here starts a mapping where none can start",
        "check the indentation of this line, or quote a value that contains ': '",
    ),
    "could not find expected ':'": (
        "a 'key: value' line is expected here",
        "add the missing ':', or indent this line like the keys around it",
    ),
    "did not find expected key": (
        "this line does not line up with the keys of its mapping",
        "indent it like the keys around it",
    ),
    "did not find expected '-' indicator": (
        "this line does not line up with the items of its list",
        "indent it like the '- ' items around it",
    ),
    "found undefined alias": (
        "this alias (*name) refers to no anchor (&name)",
        "define the anchor before using it",
    ),
    "found unexpected end of stream": (
        "the file ends inside a quoted string or a [...] / {...} collection",
        "close the quote or bracket",
    ),
    "found unknown escape character": (
        "unknown escape sequence in a double-quoted string",
        "use single quotes, or write \\\\ for a backslash",
    ),
    "did not find expected ',' or ']'": (
        "a [...] list is not closed",
        "add the missing ']', or a ',' between items",
    ),
    "did not find expected ',' or '}'": (
        "a {...} mapping is not closed",
        "add the missing '}', or a ',' between entries",
    ),
    "found duplicate anchor": (
        "this anchor (&name) is defined twice (first at line {first})",
        "give each anchor its own name",
    ),
    "found character that cannot start any token": (
        "a plain value cannot start with {char}",
        "put the value in quotes",
    ),
}


_MISPLACED = ("did not find expected key", "did not find expected '-' indicator")
"""Problems libyaml reports at a line that does not line up, or at text after a finished value
(`name: "x" y`, `env: {A: "1"}}`): the column tells which."""

_SHOW_START = (
    "did not find expected ',' or ']'",
    "did not find expected ',' or '}'",
    "found unexpected end of stream",
)
"""Problems found far from their cause: the message says where the unclosed thing starts."""


def _syntax_diagnostic(error: yaml.MarkedYAMLError, text: str, display: str) -> Diagnostic:
    mark = error.problem_mark or error.context_mark
    line, column = (mark.line, mark.column) if mark else (0, 0)
    lines = text.splitlines()
    current = lines[line] if line < len(lines) else ""
    location = Location(display, line + 1, column + 1)
    indentation = current[: len(current) - len(current.lstrip(" \t"))]
    if "\t" in indentation or current[column : column + 1] == "\t":
        tab = current.index("\t")
        return Diagnostic(
            "a tab character is used for indentation; YAML indents with spaces only",
            Location(display, line + 1, tab + 1),
            hint="replace the tab with spaces",
            code="yaml-tab",
        )
    problem = error.problem or ""
    char = repr(current[column : column + 1] or "end of line")
    if problem.startswith(_MISPLACED) and current[:column].strip():
        return Diagnostic(
            f"YAML syntax: unexpected {char} after a complete value",
            location,
            hint="put the whole value in quotes, or remove what follows it",
            code="yaml-syntax",
        )
    for start, (message, hint) in _SYNTAX_MESSAGES.items():
        # libyaml says most problems in `problem`; a duplicate anchor in `context`
        if problem.startswith(start) or (error.context or "").startswith(start):
            first = error.context_mark.line + 1 if error.context_mark else "?"
            message = message.replace("{char}", char).replace("{first}", str(first))
            if start in _SHOW_START and error.context_mark and error.context_mark.line != line:
                message += f" (it starts at line {error.context_mark.line + 1})"
            return Diagnostic(f"YAML syntax: {message}", location, hint=hint, code="yaml-syntax")
    context = f" ({error.context})" if error.context else ""
    return Diagnostic(f"YAML syntax: {problem}{context}", location, code="yaml-syntax")
