"""Strict YAML loading: duplicate keys rejected, YAML 1.2 booleans, line numbers kept for errors."""

from __future__ import annotations

import copy
import functools
import re
import types
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from perception.errors import ConfigError

KeyPath = tuple[Hashable, ...]

_BOOL_TAG = "tag:yaml.org,2002:bool"
_YAML12_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")


class StrictLoader(yaml.SafeLoader):
    """A safe loader that rejects duplicate keys and reads only true/false as booleans.

    YAML 1.1 turns ``yes``, ``no``, ``on`` and ``off`` into booleans, which would silently
    corrupt value labels such as ``{Yes: 1, No: 2}``; YAML 1.2 (used here) keeps them as text.
    """

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        """Build a mapping, refusing a key that appears twice."""
        seen: dict[Hashable, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                raise yaml.constructor.ConstructorError(
                    None, None, "a mapping key must be a plain value", key_node.start_mark
                )
            line = key_node.start_mark.line + 1
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    f"while reading the mapping whose key {key!r} is first on line {seen[key]}",
                    node.start_mark,
                    f"found the duplicate key {key!r}",
                    key_node.start_mark,
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
StrictLoader.add_implicit_resolver(_BOOL_TAG, _YAML12_BOOL, list("tTfF"))


@dataclass(frozen=True)
class YamlDocument:
    """A parsed YAML file: its data and the line on which each key path starts."""

    path: Path
    data: Any
    lines: Mapping[KeyPath, int]

    def line_of(self, key_path: Sequence[Hashable]) -> int | None:
        """Return the line of the deepest prefix of ``key_path`` that exists in the file."""
        parts = tuple(key_path)
        while parts:
            if parts in self.lines:
                return self.lines[parts]
            parts = parts[:-1]
        return None


def load_yaml(path: str | Path) -> YamlDocument:
    """Read a YAML file strictly; every problem is a ConfigError naming the file and line."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(
            "Configuration file not found",
            expected="an existing YAML file",
            found=f"no file at {file}",
            hint="check the path (paths in config/survey.yaml are relative to the project root)",
            file=file,
        )
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            "Configuration file is not UTF-8 text",
            expected="a UTF-8 encoded YAML file",
            found=f"undecodable byte at position {exc.start}",
            hint="save the file as UTF-8",
            file=file,
        ) from exc
    try:
        data, lines = _parse(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "?"
        raise ConfigError(
            f"Invalid YAML at {where}",
            expected="well-formed YAML with each key once per mapping",
            found=" ".join(str(part) for part in (exc.context, exc.problem) if part),
            hint="fix the YAML at the line shown; merge or rename a duplicate key",
            file=file,
        ) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(
            "Invalid YAML",
            expected="well-formed YAML",
            found=str(exc),
            hint="fix the YAML syntax",
            file=file,
        ) from exc
    return YamlDocument(path=file, data=copy.deepcopy(data), lines=lines)


@functools.lru_cache(maxsize=128)
def _parse(text: str) -> tuple[Any, Mapping[KeyPath, int]]:
    """Parse a YAML text once per process: the same text gives the same data and lines.

    Callers get a copy of the data (:func:`load_yaml`), so what one does to it never reaches
    another.
    """
    loader = StrictLoader(text)
    lines: dict[KeyPath, int] = {}
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
        if node is not None:
            _collect_lines(loader, node, (), lines)
    finally:
        loader.dispose()
    return data, types.MappingProxyType(lines)


def _collect_lines(
    loader: StrictLoader, node: Node, prefix: KeyPath, out: dict[KeyPath, int]
) -> None:
    """Record the line of every mapping key and sequence item below ``node``."""
    if isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                continue
            key = loader.construct_object(key_node)
            path = (*prefix, key)
            out[path] = key_node.start_mark.line + 1
            _collect_lines(loader, value_node, path, out)
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            path = (*prefix, index)
            out[path] = item.start_mark.line + 1
            _collect_lines(loader, item, path, out)
