"""Thresholds of disclosure control (``config/disclosure.yaml``): model and loader."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, model_validator
from pydantic_core import PydanticCustomError

from perception.config.document import validate_document
from perception.yamlio import load_yaml


class DisclosureRules(BaseModel):
    """Thresholds of disclosure control (``config/disclosure.yaml``).

    ``suppress_below``: a cell with unweighted denominator below it is hidden (default 25).
    ``flag_below``: a cell with ``suppress_below <= n < flag_below`` is shown and flagged
    (default 50). ``complementary``: also hide cells from which a hidden one could be recovered.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    suppress_below: StrictInt = Field(default=25, gt=0)
    flag_below: StrictInt = 50
    complementary: StrictBool = True

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        """Check that the flag threshold is not below the suppression threshold."""
        if self.flag_below < self.suppress_below:
            # A "perception_rule" error: perception.config turns it into a ConfigError at the key.
            raise PydanticCustomError(
                "perception_rule",
                "{found}; expected {expected}",
                {
                    "expected": f"flag_below >= suppress_below ({self.suppress_below})",
                    "found": f"flag_below: {self.flag_below}",
                    "hint": "cells below suppress_below are hidden and those below flag_below "
                    "are flagged; the defaults are 25 and 50",
                    "at": ("flag_below",),
                },
            )
        return self

    @property
    def small_reason(self) -> str:
        """Return the reason written on a cell hidden for its small ``n``."""
        return f"suppressed: n<{self.suppress_below}"

    @property
    def flag_reason(self) -> str:
        """Return the reason written on a flagged cell."""
        return f"flagged: {self.suppress_below}<=n<{self.flag_below}"


def load_disclosure_rules(path: str | Path) -> DisclosureRules:
    """Load ``config/disclosure.yaml``.

    Raises
    ------
    ConfigError
        For a missing or malformed file, an unknown key or a bad value; the error names the file,
        the key and its line.

    """
    return validate_document(DisclosureRules, load_yaml(path), "disclosure configuration")
