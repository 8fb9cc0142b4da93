"""The weighting settings of a survey (``config/weighting.yaml``): model and loader."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    PositiveFloat,
    PositiveInt,
    field_validator,
    model_validator,
)

from perception.config.catalogue import Catalogue
from perception.config.document import config_error, load_model
from perception.variance import RepType
from perception.weighting._common import MarginSpec, MissingPolicy, as_spec, spec_name
from perception.weighting.trimming import TrimmingSettings
from perception.words import Lang, say
from perception.yamlio import load_yaml


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


class ReplicateWeightSettings(_Strict):
    """Replicate weights delivered with the data (DHS/MICS style, or PSU ids withheld).

    ``columns`` (in order) or ``pattern`` (a regular expression; matching columns in table
    order) names the harmonized replicate weight columns, which the catalogue declares with
    ``role: replicate_weight``. ``type`` says how the partner built them (R's
    ``svrepdesign`` types); ``scale``, ``rscales``, ``fay_rho`` and ``mse`` are R's constants of
    ``V = scale · Σ_r rscales_r (θ_r − c)²``, defaults as in R (``JKn`` needs ``rscales``,
    ``Fay`` needs ``fay_rho``, ``BRR``/``Fay``/``successive-difference`` fix scale and rscales).
    The replicate weights are full weights, one column per replicate, like the base weight
    they go with (R's ``combined.weights = TRUE``); calibration, when configured, is repeated
    on each of them.
    """

    columns: tuple[str, ...] | None = Field(default=None, min_length=2)
    pattern: str | None = None
    type: RepType
    scale: PositiveFloat | None = None
    rscales: tuple[NonNegativeFloat, ...] | NonNegativeFloat | None = None
    fay_rho: float | None = Field(default=None, gt=0.0, lt=1.0)
    mse: bool = False

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        """Check that the pattern is a regular expression."""
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(
                    f"a regular expression such as '^repwt_[0-9]+$' ({exc}); found {pattern!r}"
                ) from exc
        return pattern

    @model_validator(mode="after")
    def _fit_type(self) -> Self:
        """Check columns-or-pattern and the constants each replicate type needs or fixes."""
        if (self.columns is None) == (self.pattern is None):
            raise ValueError(
                "exactly one of columns (a list of replicate weight columns, in order) or "
                "pattern (a regular expression matching them)"
            )
        if self.columns is not None and len(set(self.columns)) != len(self.columns):
            raise ValueError(f"each replicate weight column once; found {list(self.columns)}")
        fixed = self.type in ("BRR", "Fay", "successive-difference")
        if fixed and (self.scale is not None or self.rscales is not None):
            raise ValueError(
                f"no scale or rscales with type {self.type}, which fixes them; remove them, or "
                "give the type that produced the weights (JK1, JKn, bootstrap)"
            )
        if self.type == "JKn" and self.rscales is None:
            raise ValueError(
                "rscales with type JKn: (n_h - 1)/n_h of each replicate's stratum, in column "
                "order, as the data's documentation gives them"
            )
        if (self.type == "Fay") != (self.fay_rho is not None):
            raise ValueError(
                "fay_rho (Fay's rho, between 0 and 1) with type Fay, and only with type Fay"
            )
        count = None if self.columns is None else len(self.columns)
        if count is not None and self.type in ("BRR", "Fay") and not (count == 2 or count % 4 == 0):
            raise ValueError(
                f"with type {self.type}, 2 or a multiple of 4 replicate columns (the order of a "
                f"Hadamard matrix); found {count}"
            )
        if count is not None and isinstance(self.rscales, tuple) and len(self.rscales) != count:
            raise ValueError(
                f"one rscale per replicate column ({count}), or a single value; "
                f"found {len(self.rscales)}"
            )
        return self


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
    """Replicate weights built from the strata and PSUs."""
    replicate_weights: ReplicateWeightSettings | None = None
    """Replicate weights delivered with the data; the variance then comes from them."""

    @model_validator(mode="after")
    def _one_replicate_source(self) -> Self:
        """Check that replicates are either built or delivered, and that fpc is not given."""
        if self.replicate_weights is not None and self.replicates is not None:
            raise ValueError(
                "either replicates (built from the strata and PSUs) or replicate_weights "
                "(delivered with the data), not both; keep replicate_weights when the partner "
                "supplied them"
            )
        if self.replicate_weights is not None and self.fpc is not None:
            raise ValueError(
                "no fpc with replicate_weights: delivered replicate weights (and their scale "
                "and rscales) already carry any finite population correction"
            )
        return self

    def replicate_text(self, count: int, lang: Lang = "en") -> str:
        """Name the replicate variance method in words, empty for Taylor linearisation.

        E.g. ``Jackknife (JKn), 200 replicate weights supplied with the data``; ``count`` is
        the number of replicate weights of the wave's design.
        """
        if self.replicate_weights is not None:
            kind, method = "delivered", self.replicate_weights.type
        elif self.replicates is not None:
            kind, method = "built", self.replicates.method
        else:
            return ""
        return say(
            f"design.replicates_{kind}", lang, method=say(f"replicate.{method}", lang), count=count
        )

    def note(self, lang: Lang = "en") -> str:
        """Return the caveat the design needs in words (empty with PSU ids or replicates)."""
        if self.psu is not None or self.replicate_weights is not None:
            return ""
        return say("design.no_psu" if self.strata is not None else "design.no_psu_no_strata", lang)


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

    @model_validator(mode="after")
    def _replicates_fit_the_steps(self) -> Self:
        """Check that delivered replicate weights are not combined with nonresponse classes."""
        if self.design.replicate_weights is not None and self.nonresponse is not None:
            raise ValueError(
                "no nonresponse adjustment with design.replicate_weights: replicate weights "
                "delivered with the data already carry the provider's nonresponse adjustment, "
                "and this one would not be repeated on them; remove nonresponse, or give the "
                "nonresponse-adjusted weight as base_weight"
            )
        return self

    @property
    def domain_specs(self) -> tuple[MarginSpec, ...]:
        """Return the diagnostics domains in canonical form."""
        if self.domains is None:
            return self.calibration.specs
        return tuple(as_spec(d) for d in self.domains)


EQUAL_WEIGHT = "equal_weight"
"""The base weight (1 for everyone) of a non-probability wave weighted without a reference."""


def nonprobability_weighting(config: WeightingConfig, *, rake: bool) -> WeightingConfig:
    """Return the weighting of a non-probability wave without a reference wave.

    Every respondent starts from the same weight (:data:`EQUAL_WEIGHT`), with no strata, PSUs,
    replicates or nonresponse step: a self-selected poll has no design. With ``rake`` the
    weights are then calibrated and trimmed as ``config`` says; otherwise they stay equal
    (the estimates are unweighted).
    """
    return config.model_copy(
        update={
            "design": DesignSettings(),
            "base_weight": BaseWeightSettings(column=EQUAL_WEIGHT),
            "nonresponse": None,
            "calibration": config.calibration if rake else CalibrationSettings(method="none"),
            "trimming": config.trimming if rake else None,
        }
    )


def load_weighting_config(path: str | Path) -> WeightingConfig:
    """Load ``config/weighting.yaml``.

    Raises
    ------
    ConfigError
        For a missing or malformed file, an unknown key or a bad value; the error names the
        file, the key path and its line.

    """
    return load_model(WeightingConfig, path, "weighting config")


def check_replicate_weights(path: str | Path, catalogue: Catalogue) -> list[str]:
    """Check ``design.replicate_weights`` of a weighting file against the variable catalogue.

    Returns the replicate weight columns it names (empty without ``replicate_weights``): the
    listed ``columns``, or the catalogue's ``role: replicate_weight`` variables that
    ``pattern`` matches, in catalogue order (the order of the harmonized table).

    Raises
    ------
    ConfigError
        A listed column that is not a ``replicate_weight`` variable of the catalogue, or a
        pattern that matches fewer than two; the error names the file, the key and its line.

    """
    settings = load_weighting_config(path).design.replicate_weights
    if settings is None:
        return []
    replicates = [n for n, v in catalogue.variables.items() if v.role == "replicate_weight"]
    document = load_yaml(path)
    hint = (
        "declare each replicate weight in config/variables.yaml as "
        "`repw_1: {role: replicate_weight, kind: number, label: {en: ..., fr: ...}}` and map "
        "the file's column to it in the codebook (`RW1: {target: repw_1}`)"
    )
    if settings.columns is not None:
        for index, column in enumerate(settings.columns):
            if column not in replicates:
                raise config_error(
                    document,
                    ("design", "replicate_weights", "columns", index),
                    "Invalid weighting config",
                    expected="a variable of the catalogue with role replicate_weight ("
                    + (", ".join(replicates[:5]) or "none declared")
                    + (", ..." if len(replicates) > 5 else "")
                    + ")",
                    found=repr(column),
                    hint=hint,
                )
        return list(settings.columns)
    assert settings.pattern is not None  # exactly one of columns and pattern
    pattern = re.compile(settings.pattern)
    matched = [n for n in replicates if pattern.search(n)]
    if len(matched) < 2:
        raise config_error(
            document,
            ("design", "replicate_weights", "pattern"),
            "Invalid weighting config",
            expected="a pattern matching two or more replicate_weight variables of the catalogue",
            found=f"{len(matched)} matched among {len(replicates)} replicate_weight variable(s)",
            hint=hint,
        )
    return matched
