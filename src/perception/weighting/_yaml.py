"""Validate a YAML config file against a pydantic model; every problem becomes a ConfigError."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TypeVar

import pydantic
from pydantic import BaseModel

from perception.config import validate_document
from perception.errors import ConfigError
from perception.yamlio import YamlDocument, load_yaml

M = TypeVar("M", bound=BaseModel)


def key_path(loc: tuple[int | str, ...]) -> str:
    """Return a pydantic location as a key path: ``tables[0].rows[3]``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def load_model(model: type[M], path: str | Path, what: str) -> M:
    """Read a YAML file strictly and validate it against ``model``; problems are ConfigErrors."""
    return validate_document(model, load_yaml(path), what)


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
