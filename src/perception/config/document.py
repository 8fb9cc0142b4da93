"""Read a YAML config file into a model; every problem is a ConfigError naming file, key, line."""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Hashable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import (
    Annotated,
    Any,
    TypeVar,
    Union,
    get_args,
    get_origin,
)

import pydantic
from pydantic import (
    BaseModel,
    ConfigDict,
)
from pydantic_core import PydanticCustomError

from perception.errors import ConfigError
from perception.yamlio import YamlDocument, load_yaml

_M = TypeVar("_M", bound=BaseModel)


def rule_error(expected: str, found: str, hint: str, at: tuple[Hashable, ...] = ()) -> Exception:
    """Build a validation error that carries expected/found/hint through pydantic."""
    return PydanticCustomError(
        "perception_rule",
        "{found}; expected {expected}",
        {"expected": expected, "found": found, "hint": hint, "at": at},
    )


class ConfigModel(BaseModel):
    """Base for every configuration model: frozen, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- JSON Schemas

SCHEMA_FILES = {
    "Catalogue": "variables.schema.json",
    "Codebook": "codebook.schema.json",
    "SurveyConfig": "survey.schema.json",
    "DeploymentConfig": "deployment.schema.json",
    "WeightingConfig": "weighting.schema.json",
    "PopulationTargets": "targets.schema.json",
    "IndicatorCatalogue": "indicators.schema.json",
    "DisclosureRules": "disclosure.schema.json",
    "BriefConfig": "brief.schema.json",
}


def validate_document(model: type[_M], doc: YamlDocument, what: str) -> _M:
    """Validate YAML data against a model, translating pydantic errors into a ConfigError."""
    if not isinstance(doc.data, dict):
        raise ConfigError(
            f"Invalid {what}",
            expected="a YAML mapping of keys to values",
            found="an empty file" if doc.data is None else f"a {type(doc.data).__name__}",
            hint=f"see {_structure_reference(model)} for the structure",
            file=doc.path,
        )
    try:
        # Validators that check several keys at once find the file (for line numbers) here.
        return model.model_validate(doc.data, context={"document": doc})
    except pydantic.ValidationError as exc:
        raise _from_pydantic(exc, model, doc, what) from None


def _from_pydantic(
    exc: pydantic.ValidationError, model: type[BaseModel], doc: YamlDocument, what: str
) -> ConfigError:
    """Translate the first pydantic error into a ConfigError (the others are counted)."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    loc = tuple(part for part in first["loc"] if part != "[key]")
    kind = first["type"]
    ctx = first.get("ctx") or {}
    found = _show(first.get("input"))
    hint = f"see {_structure_reference(model)} for the allowed structure"
    if kind == "perception_rule":
        loc = (*loc, *ctx.get("at", ()))
        expected, found, hint = str(ctx["expected"]), str(ctx["found"]), str(ctx["hint"])
    elif kind == "extra_forbidden":
        allowed = _allowed_keys(model, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.6)
        expected = "one of the keys " + ", ".join(allowed) if allowed else "no extra keys"
        found = f"unknown key {loc[-1]!r}"
        hint = f"did you mean {close[0]!r}?" if close else "remove the key or fix its spelling"
    elif kind == "missing":
        expected, found = f"the required key {loc[-1]!r}", "no such key"
        hint = f"add `{loc[-1]}:`"
    elif kind == "literal_error":
        options = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        expected = "one of " + ", ".join(options)
        close = difflib.get_close_matches(str(first.get("input")), options, n=1)
        if close:
            hint = f"did you mean {close[0]!r}?"
    else:
        expected = str(first["msg"]).removeprefix("Value error, ").removeprefix("Input should be ")
        if "[key]" in first["loc"]:
            expected = f"a key that is {expected}"
            found = f"key {_show(loc[-1])}"
            hint = f'put the key in quotes ("{loc[-1]}":) if it is meant as text'
    message = f"Invalid {what}"
    if len(errors) > 1:
        message += f" ({len(errors) - 1} more problem(s) after this one)"
    return config_error(doc, loc, message, expected=expected, found=found, hint=hint)


def config_error(
    doc: YamlDocument | None,
    key: Sequence[Hashable],
    message: str,
    *,
    expected: str,
    found: str,
    hint: str,
    file: Path | None = None,
) -> ConfigError:
    """Build a ConfigError naming the file, the key path and its line (``file`` without a doc)."""
    if doc is None:
        text = f"{message} at {render_key(key, None)}"
        return ConfigError(text, expected=expected, found=found, hint=hint, file=file)
    where = render_key(key, doc.data)
    line = doc.line_of(key)
    text = f"{message} at {where}" + (f" (line {line})" if line is not None else "")
    return ConfigError(text, expected=expected, found=found, hint=hint, file=doc.path)


def load_model(model: type[_M], path: str | Path, what: str) -> _M:
    """Read a YAML file strictly and validate it against ``model``; problems are ConfigErrors."""
    return validate_document(model, load_yaml(path), what)


def document_of(info: pydantic.ValidationInfo) -> YamlDocument | None:
    """Return the parsed file being validated, which :func:`validate_document` puts in the context.

    A model built in Python has none.
    """
    context = info.context
    document = context.get("document") if isinstance(context, Mapping) else None
    return document if isinstance(document, YamlDocument) else None


def _structure_reference(model: type[BaseModel]) -> str:
    """Name where a model's structure is documented: its JSON Schema, else the model itself."""
    schema = SCHEMA_FILES.get(model.__name__)
    return f"config/schemas/{schema}" if schema else f"{model.__module__}.{model.__name__}"


def render_key(key: Sequence[Hashable], data: Any) -> str:
    """Render a key path as ``variables.Q23.recode`` or ``waves[1].id``."""
    if not key:
        return "the top level"
    text = ""
    node = data
    for part in key:
        if isinstance(node, list) and isinstance(part, int):
            text += f"[{part}]"
            node = node[part] if 0 <= part < len(node) else None
        else:
            text += f".{part}" if text else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return text


def _show(value: object) -> str:
    """Show a found value briefly."""
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _allowed_keys(model: type[BaseModel], loc: Iterable[Hashable]) -> list[str]:
    """Return the keys allowed in the mapping found at ``loc`` inside ``model``."""
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return []
            current = field.annotation
        elif get_origin(current) in (dict, list, tuple):
            current = [arg for arg in get_args(current) if arg is not Ellipsis][-1]
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _unwrap(annotation: Any) -> Any:
    """Strip Annotated and Optional from a type annotation."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, types.UnionType):
        args = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(args) == 1:
            return _unwrap(args[0])
    return annotation
