"""Small configuration files shared by the config, codebook and CLI tests."""

from __future__ import annotations

import os
from pathlib import Path

#: The shared fixtures beside the repository; PERCEPTION_SHARED points elsewhere (a worktree).
SHARED = Path(
    os.environ.get("PERCEPTION_SHARED") or Path(__file__).resolve().parents[1].parent / "shared"
)
AFROBAROMETER = SHARED / "fixtures" / "afrobarometer"
PYREADSTAT = SHARED / "fixtures" / "pyreadstat"

CATALOGUE_YAML = """\
special_codes: {dont_know: 98, refused: 99}
age_bands:
  bands:
    - {code: 1, min: 18, max: 24, label: {en: "18-24", fr: "18-24 ans"}}
    - {code: 2, min: 25, max: 34, label: {en: "25-34", fr: "25-34 ans"}}
    - {code: 3, min: 35, max: 44, label: {en: "35-44", fr: "35-44 ans"}}
    - {code: 4, min: 45, max: 54, label: {en: "45-54", fr: "45-54 ans"}}
    - {code: 5, min: 55, max: null, label: {en: "55+", fr: "55 ans et plus"}}
  youth_max_age: 35
themes:
  inclusion: {en: Inclusion, fr: Inclusion}
  governance: {en: Governance, fr: Gouvernance}
variables:
  respondent_id:
    role: id
    kind: string
    label: {en: Respondent ID, fr: Identifiant du répondant}
  interview_date:
    role: date
    kind: date
    label: {en: Interview date, fr: "Date de l'entretien"}
  gender:
    role: demographic
    kind: categorical
    label: {en: Gender, fr: Genre}
    codes: {1: {en: Man, fr: Homme}, 2: {en: Woman, fr: Femme}}
  age:
    role: demographic
    kind: integer
    min: 18
    max: 110
    label: {en: Age, fr: Âge}
  age_band:
    role: derived
    kind: categorical
    ordered: true
    derived_from: age
    label: {en: Age group, fr: "Groupe d'âge"}
  youth:
    role: derived
    kind: categorical
    derived_from: age
    label: {en: Youth, fr: Jeunesse}
    codes:
      1: {en: Youth (18-35), fr: Jeunes (18-35 ans)}
      2: {en: Adults (36+), fr: Adultes (36 ans et plus)}
  region:
    role: demographic
    kind: categorical
    label: {en: Region, fr: Région}
    codes:
      1580: {en: Great Tunis, fr: Grand Tunis}
      1581: {en: North East, fr: Nord-Est}
      1582: {en: North West, fr: Nord-Ouest}
      1583: {en: Center East, fr: Centre-Est}
      1584: {en: Center West, fr: Centre-Ouest}
      1585: {en: South East, fr: Sud-Est}
      1586: {en: South West, fr: Sud-Ouest}
  urban_rural:
    role: demographic
    kind: categorical
    label: {en: Urban or rural, fr: Milieu}
    codes: {1: {en: Urban, fr: Urbain}, 2: {en: Rural, fr: Rural}}
  base_weight:
    role: design
    kind: number
    label: {en: Base weight, fr: Poids de base}
  stratum:
    role: design
    kind: string
    label: {en: Stratum, fr: Strate}
  psu:
    role: design
    kind: string
    label: {en: Primary sampling unit, fr: Unité primaire}
  incl_peace_process:
    role: item
    kind: categorical
    theme: inclusion
    ordered: true
    label:
      en: People like me are included in the peace process
      fr: Les gens comme moi sont inclus
    question:
      en: "How much are people like you included?"
      fr: "Dans quelle mesure êtes-vous inclus ?"
    codes:
      1: {en: Not at all, fr: Pas du tout}
      2: {en: A little, fr: Un peu}
      3: {en: Somewhat, fr: Assez}
      4: {en: A lot, fr: Beaucoup}
"""

CODEBOOK_YAML = """\
wave: w1
source_file: w1.sav
description: Wave 1, polling firm export
id_salt_env: PERCEPTION_TEST_SALT
variables:
  RESPNO: {target: respondent_id}
  RESPNAME: {pii: true}
  DATEINTR: {target: interview_date}
  Q1: {target: age, missing: {998: refused, 999: dont_know}}
  Q101: {target: gender, missing: {-1: missing, 8: refused, 9: dont_know}}
  Q23:  # reversed scale
    target: incl_peace_process
    recode: {1: 4, 2: 3, 3: 2, 4: 1}
    missing: {8: refused, 9: dont_know, -1: missing}
  REGION: {target: region}
  URBRUR: {target: urban_rural}
  WT: {target: base_weight}
  STRAT: {target: stratum}
  EA: {target: psu}
  NOTES: {skip: true}
"""

SURVEY_YAML = """\
survey: demo
title: {en: Demo perception survey, fr: Enquête de perception (démo)}
country: {en: Demoland, fr: Démoland}
raw_dir: data/raw
processed_dir: data/processed
variables: config/variables.yaml
targets: config/targets/demo_census.yaml
weighting: config/weighting.yaml
waves:
  - id: w1
    label: {en: Wave 1 (March 2025), fr: Vague 1 (mars 2025)}
    file: w1.sav
    codebook: config/codebooks/w1.yaml
    fieldwork: {start: 2025-03-03, end: 2025-03-24}
    provider: Demo polling
"""


WEIGHTING_YAML = """\
design: {strata: stratum, psu: psu, nest: true}
base_weight: {column: base_weight}
"""


def write_project(
    root: Path,
    *,
    codebook: str = CODEBOOK_YAML,
    survey: str = SURVEY_YAML,
    weighting: str = WEIGHTING_YAML,
) -> Path:
    """Write a catalogue, codebook, weighting and survey file under ``root/config``."""
    (root / "config" / "codebooks").mkdir(parents=True, exist_ok=True)
    (root / "config" / "weighting.yaml").write_text(weighting, encoding="utf-8")
    (root / "config" / "variables.yaml").write_text(CATALOGUE_YAML, encoding="utf-8")
    (root / "config" / "codebooks" / "w1.yaml").write_text(codebook, encoding="utf-8")
    survey_path = root / "config" / "survey.yaml"
    survey_path.write_text(survey, encoding="utf-8")
    return survey_path
