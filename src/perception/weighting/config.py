"""The weighting settings of a survey (``config/weighting.yaml``): model and loader."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt, model_validator

from perception.weighting._common import MarginSpec, MissingPolicy, as_spec, spec_name
from perception.weighting._yaml import load_model
from perception.weighting.trimming import TrimmingSettings


class _Strict(BaseModel):
    """Base of every settings model: unknown keys rejected, values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ReplicateSettings(_Strict):
    """Replicate weights built from the strata and PSUs (see ``SurveyDesign.to_replicates``)."""

    method: Literal["JK1", "JKn", "BRR", "Fay", "bootstrap"]
    replicates: PositiveInt | None = None
    seed: int | None = None
    fay_rho: float = Field(default=0.0, ge=0.0, lt=1.0)
    mse: bool = False


class DesignSettings(_Strict):
    """Columns playing each design role, and design options (see ``perception.SurveyDesign``).

    ``strata`` and ``psu`` name harmonized columns; leave one out (or set it to null) when the
    file has none. Without ``psu`` each respondent is its own cluster within its stratum (R's
    ``svydesign(ids=~1, strata=~stratum, ...)``), which understates standard errors when the
    sample was in fact clustered; the weighting report and the methodology table say so.
    """

    strata: str | None = None
    psu: str | None = None
    fpc: str | None = None
    nest: bool = False
    lonely_psu: Literal["fail", "remove", "certainty", "adjust", "average"] = "fail"
    replicates: ReplicateSettings | None = None

    def note(self, lang: Literal["en", "fr"] = "en") -> str:
        """Return the caveat the design needs in words (empty when PSU ids are given)."""
        if self.psu is not None:
            return ""
        return NO_PSU_NOTE[lang] if self.strata is not None else NO_PSU_NO_STRATA_NOTE[lang]


NO_PSU_NOTE: dict[str, str] = {
    "en": "no PSU ids were released: each respondent is treated as its own cluster within "
    "strata, which understates SEs if the sample is clustered",
    "fr": "aucun identifiant d'unité primaire (UPE) n'a été diffusé : chaque répondant est "
    "traité comme sa propre grappe au sein des strates, ce qui sous-estime les erreurs types "
    "si l'échantillon est en grappes",
}
"""What a design without PSU ids means for the standard errors, in English and French."""

NO_PSU_NO_STRATA_NOTE: dict[str, str] = {
    "en": "no PSU ids and no strata were given: each respondent is treated as its own cluster "
    "in a single stratum, which understates SEs if the sample is clustered",
    "fr": "ni identifiant d'unité primaire (UPE) ni strate : chaque répondant est traité comme "
    "sa propre grappe dans une strate unique, ce qui sous-estime les erreurs types si "
    "l'échantillon est en grappes",
}
"""The same caveat for a design with neither strata nor PSU ids."""


class BaseWeightSettings(_Strict):
    """Where base weights come from: a ``column``, or ``stage_probabilities`` (exactly one)."""

    column: str | None = None
    stage_probabilities: tuple[str, ...] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        """Check that exactly one source is given."""
        if (self.column is None) == (self.stage_probabilities is None):
            raise ValueError("give exactly one of column or stage_probabilities")
        return self


class NonresponseSettings(_Strict):
    """Nonresponse adjustment by weighting classes (see ``adjust_nonresponse``)."""

    classes: tuple[str, ...] = Field(min_length=1)
    response_column: str
    eligible_column: str | None = None
    min_respondents: PositiveInt | None = None
    """Collapse classes with fewer respondents (announced by a warning); off when absent."""


CalibrationMethod = Literal["none", "rake", "poststratify", "linear"]


class CalibrationSettings(_Strict):
    """Calibration method, margins and convergence settings.

    ``method: none`` uses the design weights as delivered (after any nonresponse adjustment and
    trimming): the choice for a survey without population targets. It takes no margins. The
    other methods need margins and the survey's population targets.
    """

    method: CalibrationMethod = "rake"
    margins: tuple[str | tuple[str, ...], ...] = ()
    """Harmonized variables, or crossings such as ``[gender, age_band]``; targets come from the
    population targets file. For ``poststratify`` give one entry: its cells are the post-strata."""
    tolerance: PositiveFloat = 1e-8
    """Convergence tolerance of iterative calibration (raking)."""
    max_iterations: PositiveInt = 100

    @model_validator(mode="after")
    def _margins_fit_method(self) -> Self:
        """Check margins are distinct, and that post-stratification has one set of cells."""
        if self.method == "none":
            if self.margins:
                raise ValueError(
                    "method none uses the design weights as delivered and takes no margins; "
                    "remove margins, or choose rake, poststratify or linear"
                )
            return self
        if not self.margins:
            raise ValueError(
                f"method {self.method} needs margins (e.g. margins: [gender, region]); "
                "use method: none to keep the design weights as delivered"
            )
        names = [spec_name(as_spec(m)) for m in self.margins]
        if len(set(names)) != len(names):
            raise ValueError(f"each margin once; found {names}")
        if self.method == "poststratify" and len(self.margins) != 1:
            raise ValueError(
                "poststratify takes one margin, whose cells are the post-strata "
                "(e.g. margins: [[gender, age_band, region]]); use rake for several margins"
            )
        return self

    @property
    def specs(self) -> tuple[MarginSpec, ...]:
        """Return the margins in canonical form (a name, or a tuple of crossed names)."""
        return tuple(as_spec(m) for m in self.margins)

    @property
    def needs_targets(self) -> bool:
        """Tell whether this calibration needs population targets (every method but none)."""
        return self.method != "none"


class WeightingConfig(_Strict):
    """Everything the weighting workflow needs besides the data and the population targets.

    ``missing_policy`` decides what a missing value in a weighting variable (a margin or
    nonresponse-class variable) does. ``error`` (the default) stops with a CalibrationError
    naming the column and rows. ``separate_category`` puts those units in a ``<missing>``
    category, with a warning: in a nonresponse class variable it is just another class; in a
    calibration margin, the ``<missing>`` category keeps its pre-calibration weighted share of
    the population, and the known categories share the rest in the census proportions (see
    ``perception.weighting.workflow``). ``missing_codes`` lists codes that count as missing in
    weighting variables (e.g. 98 don't know, 99 refused), since no census table has them.
    """

    design: DesignSettings = DesignSettings()
    base_weight: BaseWeightSettings
    nonresponse: NonresponseSettings | None = None
    calibration: CalibrationSettings = CalibrationSettings(method="none")
    """Calibration to population targets; absent means ``method: none``."""
    trimming: TrimmingSettings | None = None
    missing_policy: MissingPolicy = "error"
    missing_codes: tuple[int, ...] = ()
    domains: tuple[str | tuple[str, ...], ...] | None = None
    """Domains of the diagnostics report; the calibration margins when absent."""
    deff_warning: PositiveFloat = 2.5
    """Kish design effect from weighting above which the pipeline warns (it does not fail)."""

    @property
    def domain_specs(self) -> tuple[MarginSpec, ...]:
        """Return the diagnostics domains in canonical form."""
        if self.domains is None:
            return self.calibration.specs
        return tuple(as_spec(d) for d in self.domains)


def load_weighting_config(path: str | Path) -> WeightingConfig:
    """Load ``config/weighting.yaml``.

    Raises
    ------
    ConfigError
        For a missing or malformed file, an unknown key or a bad value; the error names the
        file, the key path and its line.

    """
    return load_model(WeightingConfig, path, "weighting config")
