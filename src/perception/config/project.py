"""The survey and its waves (``config/survey.yaml``), the deployment file and the loaded project."""

from __future__ import annotations

import difflib
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import (
    Annotated,
    Literal,
    Self,
)

from pydantic import (
    Field,
    PrivateAttr,
    StringConstraints,
    model_validator,
)

from perception.config.catalogue import (
    Catalogue,
    Label,
    NonEmptyStr,
    VariableName,
    WaveId,
    load_catalogue,
)
from perception.config.codebook import Codebook, load_codebook
from perception.config.document import (
    ConfigModel,
    config_error,
    render_key,
    rule_error,
    validate_document,
)
from perception.errors import ConfigError
from perception.yamlio import YamlDocument, load_yaml

# --------------------------------------------------------------------------- survey


class Fieldwork(ConfigModel):
    """Fieldwork dates of a wave."""

    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end < self.start:
            raise rule_error("end >= start", f"{self.start} to {self.end}", "swap them", ("end",))
        return self


InterviewMode = Literal["face_to_face", "telephone", "sms", "ivr", "online", "mixed"]
"""How a wave's answers were collected; ``mode.<code>`` in ``words.yaml`` says it in words."""


class WaveConfig(ConfigModel):
    """One wave: its raw file (inside ``raw_dir``), its codebook and optionally its targets."""

    id: WaveId
    label: Label
    file: NonEmptyStr
    codebook: NonEmptyStr
    fieldwork: Fieldwork | None = None
    provider: str | Label | None = None
    """Who collected the data: a name (written alike in both languages) or ``{en:, fr:}``."""
    mode: InterviewMode | None = None
    """How the answers were collected (``face_to_face``, ``telephone``, ``sms``, ``ivr``,
    ``online`` or ``mixed``); the methodology says it in words."""
    targets: NonEmptyStr | None = None
    """Population targets of this wave; overrides the survey's ``targets``."""
    sample: Literal["probability", "nonprobability"] = "probability"
    """``nonprobability`` for an SMS, IVR or online-panel poll (see :mod:`perception.nonprob`)."""
    reference_wave: WaveId | None = None
    """A probability wave of the survey whose design weights the pseudo-weights are fitted to."""
    covariates: list[VariableName] | None = Field(default=None, min_length=1)
    """Catalogue variables both waves measured, for the participation propensity model."""
    propensity: Literal["clw", "valliant_dever"] | None = None
    """Propensity model: ``clw`` (Chen-Li-Wu 2020, the default) or ``valliant_dever``."""
    rake: bool = False
    """Rake to the census margins of ``config/weighting.yaml``: without a reference wave the
    equal weights (default unweighted), with one the pseudo-weights (their SEs then use the
    raking residuals, see :func:`perception.nonprob.nonprob_means`)."""

    @model_validator(mode="after")
    def _nonprobability_keys(self) -> Self:
        keys = ("reference_wave", "covariates", "propensity")
        given = [k for k in keys if getattr(self, k) is not None]
        if self.sample == "probability" and given:
            raise rule_error(
                f"{', '.join(given)} only on a wave with sample: nonprobability",
                f"sample: probability with {', '.join(given)}",
                "add `sample: nonprobability` (an SMS, IVR or online-panel poll) or remove the key",
                (given[0],),
            )
        if (self.reference_wave is None) != (self.covariates is None):
            missing = "covariates" if self.covariates is None else "reference_wave"
            raise rule_error(
                "reference_wave and covariates together, or neither",
                f"no {missing}",
                "e.g. reference_wave: w2, covariates: [gender, age_band, region]",
                (missing,),
            )
        if self.rake and self.is_probability:
            raise rule_error(
                "rake: true only on a wave with sample: nonprobability",
                "rake: true with sample: probability",
                "a probability wave is weighted by config/weighting.yaml; remove rake",
                ("rake",),
            )
        if self.propensity is not None and self.reference_wave is None:
            raise rule_error(
                "propensity only with reference_wave and covariates",
                f"propensity: {self.propensity} without a reference wave",
                "add reference_wave and covariates, or remove propensity",
                ("propensity",),
            )
        return self

    @property
    def is_probability(self) -> bool:
        """Whether the wave is a probability sample (the default)."""
        return self.sample == "probability"


class SurveyConfig(ConfigModel):
    """The survey file (``config/survey.yaml``); paths are relative to the project root."""

    survey: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]*$")]
    title: Label
    country: Label
    raw_dir: NonEmptyStr
    processed_dir: NonEmptyStr
    variables: NonEmptyStr
    targets: NonEmptyStr | None = None
    """Population targets of every wave that does not name its own; none when absent."""
    weighting: NonEmptyStr
    geojson: NonEmptyStr | None = None
    map_variable: VariableName | None = None
    indicators: NonEmptyStr = "config/indicators.yaml"
    disclosure: NonEmptyStr = "config/disclosure.yaml"
    waves: list[WaveConfig] = Field(min_length=1)
    _root: Path = PrivateAttr(default_factory=Path.cwd)
    _path: Path | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _map_variable(self) -> Self:
        if (self.geojson is None) != (self.map_variable is None):
            raise rule_error(
                "geojson and map_variable together, or neither",
                "geojson without map_variable"
                if self.map_variable is None
                else "map_variable without geojson",
                "map_variable names the domain whose codes the GeoJSON features carry in "
                "properties.code (e.g. map_variable: region)",
                ("map_variable",),
            )
        return self

    @model_validator(mode="after")
    def _unique_waves(self) -> Self:
        for field in ("id", "file", "codebook"):
            seen: dict[str, int] = {}
            for index, wave in enumerate(self.waves):
                value = getattr(wave, field)
                if value in seen:
                    raise rule_error(
                        f"each wave {field} once",
                        f"{value!r} in waves {seen[value] + 1} and {index + 1}",
                        f"give every wave its own {field}",
                        ("waves", index, field),
                    )
                seen[value] = index
        return self

    @model_validator(mode="after")
    def _reference_waves(self) -> Self:
        waves = {wave.id: wave for wave in self.waves}
        for index, wave in enumerate(self.waves):
            ref = wave.reference_wave
            if ref is None:
                continue
            if ref not in waves or ref == wave.id or not waves[ref].is_probability:
                probability = [w.id for w in self.waves if w.is_probability]
                raise rule_error(
                    "reference_wave naming another, probability wave of this survey",
                    f"reference_wave: {ref}"
                    + (" (a non-probability wave)" if ref in waves and ref != wave.id else ""),
                    f"use one of: {', '.join(probability)}"
                    if probability
                    else "the survey has no probability wave; remove reference_wave",
                    ("waves", index, "reference_wave"),
                )
        return self

    def nonprobability_waves(self) -> list[str]:
        """Return the ids of the waves declared ``sample: nonprobability``, in wave order."""
        return [wave.id for wave in self.waves if not wave.is_probability]

    @property
    def root(self) -> Path:
        """Return the project root (the folder holding ``config/``)."""
        return self._root

    def resolve(self, relative: str | Path) -> Path:
        """Resolve a path from the survey file against the project root."""
        return self._root / relative

    def targets_key(self, wave: WaveConfig) -> tuple[tuple[Hashable, ...], str | None]:
        """Return the key that sets a wave's population targets, and the file it names.

        The wave's own ``targets`` wins over the survey's; ``None`` when neither is set (the
        key is then the wave's, where targets would go).
        """
        index = self.waves.index(wave)
        if wave.targets is not None or self.targets is None:
            return ("waves", index, "targets"), wave.targets
        return ("targets",), self.targets

    def raw_path(self, wave: WaveConfig) -> Path:
        """Return the raw file of a wave."""
        return self.resolve(self.raw_dir) / wave.file

    @property
    def path(self) -> Path:
        """Return the survey file this configuration was loaded from."""
        if self._path is None:
            raise ValueError("this survey configuration was built in memory, not loaded")
        return self._path


class DeploymentConfig(ConfigModel):
    """The deployment file (``config/deployment.yaml``): the survey files one deployment serves."""

    surveys: list[NonEmptyStr] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_files(self) -> Self:
        seen: dict[str, int] = {}
        for index, file in enumerate(self.surveys):
            if file in seen:
                raise rule_error(
                    "each survey file once",
                    f"{file!r} in surveys {seen[file] + 1} and {index + 1}",
                    "list every survey file once",
                    ("surveys", index),
                )
            seen[file] = index
        return self


@dataclass(frozen=True)
class Project:
    """A validated survey: the survey file, its catalogue and every wave's codebook."""

    survey: SurveyConfig
    catalogue: Catalogue
    codebooks: Mapping[str, Codebook]


# --------------------------------------------------------------------------- loaders

DEPLOYMENT_FILE = "config/deployment.yaml"
SURVEY_FILE = "config/survey.yaml"


def project_root(survey_file: str | Path) -> Path:
    """Return the project root of a survey file: the folder holding the ``config/`` it is under.

    The root is the parent of the nearest ancestor folder named ``config`` (so both
    ``config/survey.yaml`` and ``config/<mission>/survey.yaml`` resolve to the folder holding
    ``config/``); a survey file outside any ``config/`` folder resolves against the current
    directory.
    """
    path = Path(survey_file).resolve()
    for folder in path.parents:
        if folder.name == "config":
            return folder.parent
    return Path.cwd()


def load_survey(path: str | Path, root: str | Path | None = None) -> SurveyConfig:
    """Load the survey file; ``root`` defaults to :func:`project_root` of the file."""
    doc = load_yaml(path)
    survey = validate_document(SurveyConfig, doc, "survey configuration")
    survey._root = Path(root) if root is not None else project_root(doc.path)
    survey._path = doc.path
    return survey


def load_deployment(
    root: str | Path,
    deployment_file: str = DEPLOYMENT_FILE,
    survey_files: Sequence[str] | None = None,
) -> dict[str, SurveyConfig]:
    """Load every survey a deployment serves, by survey key, in the deployment file's order.

    Without the deployment file in ``root``, the deployment serves ``config/survey.yaml`` alone.
    Two survey files with the same ``survey:`` key are a ConfigError naming the deployment file.
    ``survey_files`` (paths relative to ``root``) replaces the deployment file's list, as
    ``perception run --survey`` does for a survey the deployment does not list yet.
    """
    if survey_files is not None:
        return _load_survey_files(root, survey_files)
    path = Path(root) / deployment_file
    if not path.exists():
        survey = load_survey(Path(root) / SURVEY_FILE, root=root)
        return {survey.survey: survey}
    doc = load_yaml(path)
    deployment = validate_document(DeploymentConfig, doc, "deployment configuration")
    surveys: dict[str, SurveyConfig] = {}
    files: dict[str, str] = {}
    for index, file in enumerate(deployment.surveys):
        survey_path = Path(root) / file
        if not survey_path.is_file():
            raise config_error(
                doc,
                ("surveys", index),
                "Referenced survey file does not exist",
                expected=f"a survey file at {survey_path}",
                found="no such file",
                hint=f"paths are relative to the project root {root}; check the spelling",
            )
        survey = load_survey(survey_path, root=root)
        if survey.survey in surveys:
            raise config_error(
                doc,
                ("surveys", index),
                f"Two survey files share the survey key {survey.survey!r}",
                expected="a different `survey:` key in every survey file",
                found=f"survey: {survey.survey} in both {files[survey.survey]} and {file}",
                hint="give each survey its own `survey:` key; it names its outputs and partitions",
            )
        surveys[survey.survey] = survey
        files[survey.survey] = file
    return surveys


def _load_survey_files(root: str | Path, survey_files: Sequence[str]) -> dict[str, SurveyConfig]:
    """Load the given survey files, by survey key; a missing file or a repeated key is an error."""
    surveys: dict[str, SurveyConfig] = {}
    for file in survey_files:
        path = Path(root) / file
        if not path.is_file():
            raise ConfigError(
                "The survey file does not exist",
                expected=f"a survey file at {path}",
                found="a folder" if path.is_dir() else "no such file",
                hint=f"paths are relative to the project root {Path(root).resolve()}",
                file=path,
            )
        survey = load_survey(path, root=root)
        if survey.survey in surveys:
            raise ConfigError(
                f"Two survey files share the survey key {survey.survey!r}",
                expected="a different `survey:` key in every survey file",
                found=f"survey: {survey.survey} in both {surveys[survey.survey].path} and {path}",
                hint="give each survey its own `survey:` key; it names its outputs and partitions",
                file=path,
            )
        surveys[survey.survey] = survey
    return surveys


def load_project(path: str | Path, root: str | Path | None = None) -> Project:
    """Load the survey file, its catalogue and every codebook, and check they fit together."""
    doc = load_yaml(path)
    survey = load_survey(path, root)
    catalogue = load_catalogue(_existing(survey, doc, ("variables",), survey.variables))
    codebooks: dict[str, Codebook] = {}
    for index, wave in enumerate(survey.waves):
        file = _existing(survey, doc, ("waves", index, "codebook"), wave.codebook)
        codebook = load_codebook(file, catalogue)
        for field, want, got in (
            ("wave", wave.id, codebook.wave),
            ("source_file", wave.file, codebook.source_file),
        ):
            if want != got:
                raise config_error(
                    doc,
                    ("waves", index, "id" if field == "wave" else "file"),
                    f"Wave and codebook disagree on `{field}`",
                    expected=f"{field}: {want} in {file}",
                    found=f"{field}: {got}",
                    hint=f"make `{field}` in the codebook match the wave in {doc.path.name}",
                )
        codebooks[wave.id] = codebook
        for position, covariate in enumerate(wave.covariates or []):
            if covariate not in catalogue.variables:
                close = difflib.get_close_matches(covariate, list(catalogue.variables), n=1)
                raise config_error(
                    doc,
                    ("waves", index, "covariates", position),
                    "Propensity covariate is not in the variable catalogue",
                    expected="a catalogue variable both waves measured",
                    found=f"covariate {covariate!r}",
                    hint=f"did you mean {close[0]!r}?" if close else "add it to the catalogue",
                )
    return Project(survey=survey, catalogue=catalogue, codebooks=codebooks)


def survey_warnings(survey: SurveyConfig) -> list[str]:
    """Return the soft problems of a survey file, each naming its YAML key and line."""
    doc = load_yaml(survey.path)
    warnings = []
    for index, wave in enumerate(survey.waves):
        if wave.fieldwork is None:
            key = ("waves", index)
            line = doc.line_of(key)
            warnings.append(
                f"{render_key((*key, 'fieldwork'), doc.data)}"
                + (f" (line {line})" if line is not None else "")
                + f": wave {wave.id} has no fieldwork dates; reports show no projection for it "
                "and its status uses only the rules that need no dates "
                "(add fieldwork: {start: YYYY-MM-DD, end: YYYY-MM-DD})"
            )
    return warnings


def _existing(survey: SurveyConfig, doc: YamlDocument, key: tuple[Hashable, ...], rel: str) -> Path:
    """Resolve a referenced file and fail with the referencing key when it is absent."""
    file = survey.resolve(rel)
    if not file.is_file():
        raise config_error(
            doc,
            key,
            "Referenced file does not exist",
            expected=f"a file at {file}",
            found="no such file",
            hint=f"paths are relative to the project root {survey.root}; check the spelling",
        )
    return file
