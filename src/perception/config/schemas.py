"""JSON Schemas of every configuration file (``config/schemas/``, ``perception schemas``)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from perception.config.brief import BriefConfig
from perception.config.catalogue import Catalogue
from perception.config.codebook import Codebook
from perception.config.disclosure import DisclosureRules
from perception.config.document import SCHEMA_FILES
from perception.config.indicators import IndicatorCatalogue
from perception.config.project import DeploymentConfig, SurveyConfig
from perception.config.targets import PopulationTargets
from perception.config.weighting import WeightingConfig


def _schema_models() -> dict[str, type[BaseModel]]:
    """Return every config model with a JSON Schema, by model name."""
    models: list[type[BaseModel]] = [Catalogue, Codebook, SurveyConfig, DeploymentConfig]
    models += [WeightingConfig, PopulationTargets, IndicatorCatalogue, DisclosureRules]
    models.append(BriefConfig)
    return {model.__name__: model for model in models}


def json_schemas() -> dict[str, str]:
    """Return ``{file name: JSON text}`` for the schema of every configuration file."""
    out: dict[str, str] = {}
    for name, model in _schema_models().items():
        schema = model.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        out[SCHEMA_FILES[name]] = json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
    return out


def write_json_schemas(directory: str | Path) -> list[Path]:
    """Write the JSON Schemas into ``directory`` (``config/schemas``) and return the files."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in json_schemas().items():
        file = folder / name
        file.write_text(text, encoding="utf-8")
        written.append(file)
    return written
