"""Configuration models and loaders: every file under ``config/``, one module per file.

Every model is frozen and rejects unknown keys. Loaders turn every problem into a
:class:`~perception.errors.ConfigError` that names the file, the key path (for example
``variables.Q23.recode``) and its line, says what was expected and what was found, and
suggests the closest valid key when one is misspelt (:mod:`.document`).

- :mod:`.catalogue`: the variable catalogue (``variables.yaml``);
- :mod:`.codebook`: each wave's codebook (``codebooks/<wave>.yaml``) and its checks;
- :mod:`.project`: the survey and its waves (``survey.yaml``), ``deployment.yaml``, the project;
- :mod:`.weighting`, :mod:`.targets`: ``weighting.yaml`` and the population targets;
- :mod:`.indicators`: the indicator catalogue (``indicators.yaml``);
- :mod:`.disclosure`: the disclosure thresholds (``disclosure.yaml``);
- :mod:`.brief`: the brief's sentence templates (``brief.yaml``);
- :mod:`.schemas`: the JSON Schemas of all of them (``config/schemas/``).
"""

from __future__ import annotations

from perception.config.brief import BRIEF_FILE, BriefConfig, Templates, load_brief_config
from perception.config.catalogue import (
    DERIVED_FROM_AGE,
    ID_VARIABLE,
    WAVE_COLUMN,
    AgeBand,
    AgeBands,
    Catalogue,
    Label,
    MissingKind,
    SpecialCodes,
    Variable,
    load_catalogue,
)
from perception.config.codebook import (
    Bin,
    Codebook,
    Derivation,
    VariableMap,
    load_codebook,
    validate_codebook,
)
from perception.config.disclosure import DisclosureRules, load_disclosure_rules
from perception.config.document import config_error, validate_document
from perception.config.indicators import (
    Benchmark,
    Defaults,
    Indicator,
    IndicatorCatalogue,
    IndicatorType,
    load_indicators,
    validate_indicators,
)
from perception.config.project import (
    DEPLOYMENT_FILE,
    SURVEY_FILE,
    DeploymentConfig,
    Fieldwork,
    Project,
    SurveyConfig,
    WaveConfig,
    load_deployment,
    load_project,
    load_survey,
    project_root,
    survey_warnings,
)
from perception.config.schemas import json_schemas, write_json_schemas
from perception.config.targets import (
    PopulationTargets,
    TargetTable,
    load_targets,
    load_wave_targets,
)
from perception.config.weighting import (
    EQUAL_WEIGHT,
    CalibrationSettings,
    DesignSettings,
    WeightingConfig,
    check_replicate_weights,
    load_weighting_config,
    nonprobability_weighting,
)

__all__ = [
    "BRIEF_FILE",
    "DEPLOYMENT_FILE",
    "DERIVED_FROM_AGE",
    "EQUAL_WEIGHT",
    "ID_VARIABLE",
    "SURVEY_FILE",
    "WAVE_COLUMN",
    "AgeBand",
    "AgeBands",
    "Benchmark",
    "Bin",
    "BriefConfig",
    "CalibrationSettings",
    "Catalogue",
    "Codebook",
    "Defaults",
    "DeploymentConfig",
    "Derivation",
    "DesignSettings",
    "DisclosureRules",
    "Fieldwork",
    "Indicator",
    "IndicatorCatalogue",
    "IndicatorType",
    "Label",
    "MissingKind",
    "PopulationTargets",
    "Project",
    "SpecialCodes",
    "SurveyConfig",
    "TargetTable",
    "Templates",
    "Variable",
    "VariableMap",
    "WaveConfig",
    "WeightingConfig",
    "check_replicate_weights",
    "config_error",
    "json_schemas",
    "load_brief_config",
    "load_catalogue",
    "load_codebook",
    "load_deployment",
    "load_disclosure_rules",
    "load_indicators",
    "load_project",
    "load_survey",
    "load_targets",
    "load_wave_targets",
    "load_weighting_config",
    "nonprobability_weighting",
    "project_root",
    "survey_warnings",
    "validate_codebook",
    "validate_document",
    "validate_indicators",
    "write_json_schemas",
]
