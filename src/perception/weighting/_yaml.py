"""Validate a YAML config file against a pydantic model; every problem becomes a ConfigError."""

from __future__ import annotations

import difflib
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import pydantic
from pydantic import BaseModel

from perception.errors import ConfigError
from perception.yamlio import YamlDocument, load_yaml

M = TypeVar("M", bound=BaseModel)


def key_path(loc: tuple[int | str, ...]) -> str:
    """Return a pydantic location as a key path: ``tables[0].rows[3]``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """Return the pydantic models inside an annotation (through Optional, tuple, list...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def _allowed_keys(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """Return the keys allowed in the mapping at ``loc`` (empty when it cannot be resolved)."""
    current: type[BaseModel] | None = model
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        field = current.model_fields.get(part)
        inner = _models_in(field.annotation) if field is not None else []
        current = inner[0] if inner else None
    return sorted(current.model_fields) if current is not None else []


def _in_file(data: Any, loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """Keep the parts of a pydantic location that are keys of the file (drop union tags)."""
    kept: list[int | str] = []
    node = data
    for part in loc:
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_list or (isinstance(node, Mapping) and part in node):
            node = node[part]
        elif isinstance(node, Mapping | list):
            node = None  # an unknown key: keep it, nothing below it can be walked
        else:
            continue
        kept.append(part)
    return tuple(kept)


def load_model(model: type[M], path: str | Path, what: str) -> M:
    """Read a YAML file strictly and validate it against ``model``; problems are ConfigErrors.

    The error names the file, the key path and its line, what was expected and what was found.
    """
    document = load_yaml(path)
    content, path = document.data, document.path
    if not isinstance(content, Mapping):
        raise ConfigError(
            f"The {what} file must hold a mapping of keys.",
            expected="a YAML mapping at the top level",
            found=type(content).__name__,
            hint=f"See the {what} format in the documentation.",
            file=path,
        )
    try:
        return model.model_validate(content, context={"document": document})
    except pydantic.ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        loc = _in_file(content, tuple(first["loc"]))
        # One problem per place: union alternatives share a place, and a container that
        # failed because an item failed (e.g. "too short") is not news.
        locs = {_in_file(content, tuple(e["loc"])) for e in errors}
        more = sum(not any(m != k and m[: len(k)] == k for m in locs) for k in locs) - 1
        if first["type"] == "extra_forbidden":
            allowed = _allowed_keys(model, loc[:-1])
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.6)
            expected = f"only the keys {allowed}" if allowed else "no such key"
            found = f"unknown key {str(loc[-1])!r}"
            hint = f"Did you mean {close[0]!r}?" if close else "Remove the key or fix its spelling."
        elif first["type"] == "missing":
            expected, found = f"the required key {str(loc[-1])!r}", "no such key"
            hint = f"Add `{loc[-1]}:`."
        else:
            expected = str(first["msg"]).removeprefix("Value error, ")
            found = repr(first.get("input"))[:200]
            hint = f"Fix the value at {key_path(loc)}."
        if more:
            hint += f" ({more} more problem(s) in this file.)"
        line = document.line_of(loc)
        raise ConfigError(
            f"Invalid {what} file at key {key_path(loc)}"
            + (f" (line {line})." if line is not None else "."),
            expected=expected,
            found=found,
            hint=hint,
            file=path,
        ) from exc


def document_of(info: pydantic.ValidationInfo) -> YamlDocument | None:
    """Return the parsed file being validated, which :func:`load_model` puts in the context.

    A model built in Python has none.
    """
    context = info.context
    document = context.get("document") if isinstance(context, Mapping) else None
    return document if isinstance(document, YamlDocument) else None


def located_error(
    document: YamlDocument | None,
    loc: tuple[int | str, ...],
    what: str,
    *,
    expected: str,
    found: str,
    hint: str,
) -> ConfigError:
    """Return a ConfigError about key ``loc`` of ``document``, naming its file and line if known."""
    where = f"key {key_path(loc)}"
    file: Path | None = None
    if document is not None:
        file = document.path
        line = document.line_of(loc)
        where += f" (line {line})" if line is not None else ""
    return ConfigError(
        f"Invalid {what} at {where}.", expected=expected, found=found, hint=hint, file=file
    )
