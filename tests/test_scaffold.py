"""Codebook-stub suggestions and `perception survey init` (multi-round scaffolding)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from config_samples import AFROBAROMETER

from perception.codebook import suggest_codebook
from perception.io import read_survey

R8 = AFROBAROMETER / "tun_r8_data.sav"
R9 = AFROBAROMETER / "tun_r9_data.sav"
needs_afro = pytest.mark.skipif(
    not (R8.is_file() and R9.is_file()), reason=f"Afrobarometer fixtures absent ({AFROBAROMETER})"
)


def _suggest(path: Path) -> dict[str, object]:
    """Return the suggestions of a file by column."""
    df, meta = read_survey(path)
    return {s.name: s for s in suggest_codebook(df, meta)}


def test_spanish_and_portuguese_missing_labels(tmp_path: Path) -> None:
    """It suggests missing codes from Spanish and Portuguese labels."""
    path = tmp_path / "lapop.sav"
    df = pd.DataFrame({"q1": [1.0, 2.0, 88.0, 98.0, 99.0, 77.0, 66.0, 55.0] * 3})
    labels = {
        1: "Sí",
        2: "No",
        88: "No sabe",
        98: "No responde",
        99: "No se le preguntó",
        77: "Não sabe",
        66: "Não respondeu",
        55: "Inaplicable",
    }
    pyreadstat.write_sav(df, str(path), variable_value_labels={"q1": labels})
    missing = _suggest(path)["q1"].missing  # type: ignore[attr-defined]
    assert missing == {
        55: "missing",
        66: "refused",
        77: "dont_know",
        88: "dont_know",
        98: "refused",
        99: "missing",
    }


def test_dont_know_followed_by_more_words_is_an_answer(tmp_path: Path) -> None:
    """It keeps "Dont know how to report" as an answer but "Don't know/haven't heard" as DK."""
    path = tmp_path / "dk.sav"
    df = pd.DataFrame({"q": [1.0, 2.0, 3.0, 9.0] * 5})
    labels = {
        1: "Reported it",
        2: "Dont know how to report",
        3: "Je ne sais pas comment obtenir le vaccin",
        9: "Don't know/ Haven't heard enough",
    }
    pyreadstat.write_sav(df, str(path), variable_value_labels={"q": labels})
    assert _suggest(path)["q"].missing == {9: "dont_know"}  # type: ignore[attr-defined]


def test_upm_is_the_psu_and_interviewer_number_is_personal(tmp_path: Path) -> None:
    """It suggests `upm` as the PSU and flags interviewer numbers as personal data."""
    rng = np.random.default_rng(3)
    n = 40
    df = pd.DataFrame(
        {
            "idnum": [f"ID{i:03d}" for i in range(n)],
            "upm": np.repeat(np.arange(8.0), 5),
            "entrev": rng.choice([11.0, 12.0, 13.0], n),
            "q112": [f"INT{i % 4}" for i in range(n)],
        }
    )
    path = tmp_path / "es.sav"
    pyreadstat.write_sav(
        df,
        str(path),
        column_labels={
            "idnum": "Respondent number",
            "upm": "Unidad primaria de muestreo",
            "entrev": "Número del entrevistador",
            "q112": "Q112. Interviewer Number",
        },
    )
    got = _suggest(path)
    assert got["upm"].target == "psu"  # type: ignore[attr-defined]
    assert got["entrev"].pii_reasons and got["q112"].pii_reasons  # type: ignore[attr-defined]
    assert got["entrev"].target is None  # type: ignore[attr-defined]


def test_respondent_number_is_flagged_for_hashing(tmp_path: Path) -> None:
    """It maps a clear respondent number (TUN0001) to respondent_id with pii: true."""
    path = tmp_path / "ids.sav"
    df = pd.DataFrame({"RESPNO": [f"TUN{i:04d}" for i in range(1, 31)], "Q1": [30.0] * 30})
    pyreadstat.write_sav(df, str(path), column_labels={"RESPNO": "Respondent number"})
    got = _suggest(path)["RESPNO"]
    assert got.target == "respondent_id" and got.pii_reasons  # type: ignore[attr-defined]


def test_factor_positions_labelled_with_numbers_are_warned(tmp_path: Path) -> None:
    """It warns when Stata codes are factor positions whose labels are numbers (6 = "3")."""
    path = tmp_path / "lapop.dta"
    df = pd.DataFrame({"it1": [4.0, 5.0, 6.0, 7.0] * 5, "ok": [1.0, 2.0, 3.0, 4.0] * 5})
    labels = {
        "it1": {4: "1", 5: "2", 6: "3", 7: "4"},
        "ok": {1: "1", 2: "2", 3: "3", 4: "4"},
    }
    pyreadstat.write_dta(df, str(path), variable_value_labels=labels)
    got = _suggest(path)
    notes = " ".join(got["it1"].notes)  # type: ignore[attr-defined]
    assert "WARNING" in notes and '6 = "3"' in notes and "factor positions" in notes
    assert not any("WARNING" in n for n in got["ok"].notes)  # type: ignore[attr-defined]


def test_withinwt_is_preferred_over_withinwt_ea(tmp_path: Path) -> None:
    """It suggests Afrobarometer's analysis weight withinwt, not withinwt_ea or withinwt_hh."""
    rng = np.random.default_rng(5)
    df = pd.DataFrame(
        {
            "withinwt_ea": rng.uniform(0.5, 2, 30),
            "withinwt": rng.uniform(0.5, 2, 30),
            "withinwt_hh": rng.uniform(0.5, 2, 30),
        }
    )
    path = tmp_path / "w.sav"
    labels = {
        "withinwt_ea": 'within country weighting factor, weights to EA level ("old AB withinwt")',
        "withinwt": "Within-country weighting factor",
        "withinwt_hh": 'within country weighting factor, weights to HH level ("new AB withinwt")',
    }
    pyreadstat.write_sav(df, str(path), column_labels=labels)
    got = _suggest(path)
    assert got["withinwt"].target == "base_weight"  # type: ignore[attr-defined]


@needs_afro
@pytest.mark.parametrize("path", [R8, R9], ids=["r8", "r9"])
def test_afrobarometer_suggestions(path: Path) -> None:
    """On R8/R9: the new weight (not withinwt_ea), hashed RESPNO, Q112 personal, DK tightened."""
    got = _suggest(path)
    assert got["withinwt_hh"].target == "base_weight"  # type: ignore[attr-defined]
    assert got["withinwt_ea"].target is None  # type: ignore[attr-defined]
    assert got["RESPNO"].target == "respondent_id" and got["RESPNO"].pii_reasons  # type: ignore[attr-defined]
    assert got["Q112"].pii_reasons  # type: ignore[attr-defined]
    for name, s in got.items():
        for code, label in s.value_labels.items():  # type: ignore[attr-defined]
            if "comment" in label or "how to" in label:
                assert code not in s.missing, (name, code, label)  # type: ignore[attr-defined]


# ----------------------------------------------------------------- survey init

GOVERNORATES = [
    "Tunis", "Ariana", "Ben Arous", "Manouba", "Nabeul", "Zaghouan", "Bizerte", "Beja",
    "Jendouba", "Kef", "Siliana", "Sousse", "Monastir", "Mahdia", "Sfax", "Kairouan",
    "Kasserine", "Sidi Bouzid", "Gabes", "Medenine", "Tataouine", "Gafsa", "Tozeur", "Kebili",
]  # fmt: skip
REGIONS = ["Great Tunis", "North East", "North West", "Center East", "Center West",
           "South East", "South West"]  # fmt: skip
TRUST = {0: "Not at all", 1: "Just a little", 2: "Somewhat", 3: "A lot", 8: "Refused"}
CONFIANCE = {0: "Pas du tout", 1: "Juste un peu", 2: "Un peu", 3: "Beaucoup", 8: "Refuse"}


def _round(path: Path, regions: list[str], seed: int, *, french: bool) -> Path:
    """Write a small Afrobarometer-like round: ids, region, area, age, sex, weight, 3 items."""
    rng = np.random.default_rng(seed)
    n = 120
    df = pd.DataFrame(
        {
            "RESPNO": [f"TUN{i:04d}" for i in range(1, n + 1)],
            "REGION": np.arange(n) % len(regions) + 1.0,
            "URBRUR": rng.choice([1.0, 2.0], n),
            "Q1": rng.integers(18, 90, n).astype(float),
            "Q101": rng.choice([1.0, 2.0], n),
            "DATEINTR": pd.Timestamp("2024-03-01") + pd.to_timedelta(rng.integers(0, 20, n), "D"),
            "withinwt": rng.uniform(0.5, 2.0, n),
            "Q41A": rng.choice([0.0, 1.0, 2.0, 3.0, 8.0], n),
            "Q41C": rng.choice([0.0, 1.0, 2.0, 3.0, 8.0], n),
            "Q44F": rng.choice([0.0, 1.0, 2.0, 3.0], n),
        }
    )
    bribe = {0: "Never", 1: "Once or twice", 2: "A few times", 3: "Often"}
    corruption = {0: "Jamais", 1: "Une ou deux fois", 2: "Quelques fois", 3: "Souvent"}
    if french:  # Q41C is now the bribe question, and the trust items moved to other numbers
        labels = {
            "Q41A": "Q41a. Confiance envers la police",
            "Q41C": "Q41c. Payer un pot-de-vin pour des soins médicaux",
            "Q44F": "Q44f. Confiance envers la commission électorale nationale",
        }
        value_labels = {"Q41A": CONFIANCE, "Q41C": corruption, "Q44F": CONFIANCE}
    else:
        labels = {
            "Q41A": "Q41a. Trust police",
            "Q41C": "Q41c. Trust national electoral commission",
            "Q44F": "Q44f. Pay bribe for medical care",
        }
        value_labels = {"Q41A": TRUST, "Q41C": TRUST, "Q44F": bribe}
    labels |= {
        "RESPNO": "Respondent number",
        "REGION": "Province or region",
        "URBRUR": "Urban or Rural Primary Sampling Unit",
        "Q1": "Q1. Age",
        "Q101": "Q101. Gender of respondent",
        "DATEINTR": "Date of interview",
        "withinwt": "Within-country weighting factor",
    }
    value_labels |= {
        "REGION": {i + 1: name for i, name in enumerate(regions)},
        "URBRUR": {1: "Urban", 2: "Rural"},
        "Q101": {1: "Male", 2: "Female"},
    }
    pyreadstat.write_sav(df, str(path), column_labels=labels, variable_value_labels=value_labels)
    return path


@pytest.fixture
def rounds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Write two rounds (English with 24 governorates, French with 7 regions) in data/raw."""
    monkeypatch.chdir(tmp_path)
    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    return [
        _round(raw / "r1.sav", GOVERNORATES, 1, french=False),
        _round(raw / "r2.sav", REGIONS, 2, french=True),
    ]


def _yaml(path: Path) -> dict[str, object]:
    """Load a YAML file."""
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_survey_init_writes_a_complete_scaffold(rounds: list[Path], tmp_path: Path) -> None:
    """It writes survey.yaml (one wave per file, fieldwork dates), codebooks and every config."""
    from perception.survey_init import survey_init

    out = tmp_path / "config" / "tun"
    done = survey_init(rounds, out)
    names = {p.relative_to(out).as_posix() for p in done.files}
    assert names == {
        "codebooks/w1.yaml", "codebooks/w2.yaml", "variables.yaml", "indicators.yaml",
        "weighting.yaml", "disclosure.yaml", "survey.yaml", "REVIEW.md",
    }  # fmt: skip
    survey = _yaml(out / "survey.yaml")
    assert survey["survey"] == "tun" and survey["raw_dir"] == "data/raw"
    waves = survey["waves"]
    assert isinstance(waves, list) and [w["id"] for w in waves] == ["w1", "w2"]
    for wave, path in zip(waves, rounds, strict=True):
        df, _ = pyreadstat.read_sav(str(path))
        assert wave["file"] == path.name
        assert wave["fieldwork"] == {
            "start": df["DATEINTR"].min().date(),
            "end": df["DATEINTR"].max().date(),
        }
    weighting = _yaml(out / "weighting.yaml")
    assert weighting["calibration"] == {"method": "none"}
    assert weighting["base_weight"] == {"column": "base_weight"}
    book = _yaml(out / "codebooks" / "w2.yaml")
    assert book["derived"] == {"stratum": {"cross": ["REGION", "URBRUR"]}}
    variables = book["variables"]
    assert isinstance(variables, dict)
    assert variables["withinwt"] == {"target": "base_weight"}
    assert variables["RESPNO"] == {"target": "respondent_id", "pii": True}


def test_survey_init_matches_by_labels_not_column_names(rounds: list[Path], tmp_path: Path) -> None:
    """It matches R2 Q44F (trust in the electoral commission) to R1 Q41C, never Q41C to Q41C."""
    from perception.survey_init import MATCH, survey_init

    done = survey_init(rounds, tmp_path / "config" / "tun")
    pairs = {(m.column, m.reference_column): m.score for m in done.matches}
    assert ("Q41C", "Q41C") not in pairs
    assert pairs[("Q44F", "Q41C")] >= MATCH
    assert pairs[("Q41A", "Q41A")] >= MATCH
    assert ("Q41C", "Q44F") in pairs  # the bribe questions match each other across languages
    variables = _yaml(tmp_path / "config" / "tun" / "variables.yaml")["variables"]
    assert isinstance(variables, dict)
    assert "trust_national_electoral_commission" in variables
    w1 = _yaml(tmp_path / "config" / "tun" / "codebooks" / "w1.yaml")["variables"]
    w2 = _yaml(tmp_path / "config" / "tun" / "codebooks" / "w2.yaml")["variables"]
    assert isinstance(w1, dict) and isinstance(w2, dict)
    assert w1["Q41C"]["target"] == w2["Q44F"]["target"] == "trust_national_electoral_commission"
    review = (tmp_path / "config" / "tun" / "REVIEW.md").read_text(encoding="utf-8")
    assert "| w2 | Q44F |" in review and f"{pairs[('Q44F', 'Q41C')]:.3f}" in review
    indicators = _yaml(tmp_path / "config" / "tun" / "indicators.yaml")["indicators"]
    assert isinstance(indicators, list)
    by_id = {i["id"]: i for i in indicators}
    assert by_id["trust_national_electoral_commission"]["success"] == [2, 3]
    assert "pay_bribe_medical_care" not in by_id  # not an agree/trust item


def test_survey_init_shows_region_code_conflicts(rounds: list[Path], tmp_path: Path) -> None:
    """It detects region codes reused with another meaning and shows them in REVIEW and codebook."""
    from perception.survey_init import survey_init

    out = tmp_path / "config" / "tun"
    done = survey_init(rounds, out)
    assert any("'Ariana'" in c and "'North East'" in c for c in done.region_conflicts)
    review = (out / "REVIEW.md").read_text(encoding="utf-8")
    assert "CONFLICT: region code 2 is 'Ariana' in w1 but 'North East' in w2" in review
    w1_text = (out / "codebooks" / "w1.yaml").read_text(encoding="utf-8")
    assert "WARNING: region codes change meaning between rounds" in w1_text
    w1 = _yaml(out / "codebooks" / "w1.yaml")["variables"]
    assert isinstance(w1, dict) and w1["REGION"] == {"skip": True}
    regions = _yaml(out / "variables.yaml")["variables"]["region"]["codes"]  # type: ignore[index]
    assert [v["en"] for v in regions.values()] == REGIONS


def test_survey_init_review_lists_personal_data(rounds: list[Path], tmp_path: Path) -> None:
    """It lists the personal-data suspects and each round's design columns in REVIEW.md."""
    from perception.survey_init import survey_init

    done = survey_init(rounds, tmp_path / "config" / "tun")
    assert any(entry.startswith("RESPNO:") for entry in done.pii["w1"])
    review = (tmp_path / "config" / "tun" / "REVIEW.md").read_text(encoding="utf-8")
    assert "- w1: RESPNO: respondent number" in review
    assert "- w2: weight withinwt; strata REGION x URBRUR; PSU none" in review


def test_survey_init_errors_name_the_file(rounds: list[Path], tmp_path: Path) -> None:
    """It raises a PerceptionError naming the file: absent, unrelated, or output already there."""
    from perception.cli import main
    from perception.errors import PerceptionError
    from perception.survey_init import survey_init

    with pytest.raises(PerceptionError) as absent:
        survey_init([rounds[0], rounds[0].with_name("nope.sav")], tmp_path / "a")
    assert "nope.sav" in str(absent.value)
    other = rounds[0].with_name("other.sav")
    pyreadstat.write_sav(
        pd.DataFrame({"v": [1.0, 2.0, 3.0] * 4}),
        str(other),
        column_labels={"v": "Favourite colour"},
        variable_value_labels={"v": {1: "Red", 2: "Green", 3: "Blue"}},
    )
    with pytest.raises(PerceptionError) as unrelated:
        survey_init([rounds[0], other], tmp_path / "b")
    assert "other.sav" in str(unrelated.value)
    survey_init(rounds, tmp_path / "c")
    with pytest.raises(PerceptionError) as exists:
        survey_init(rounds, tmp_path / "c")
    assert "survey.yaml" in str(exists.value) and "--force" in str(exists.value)
    survey_init(rounds, tmp_path / "c", force=True)
    assert main(["survey", "init", str(rounds[0]), str(other), "-o", str(tmp_path / "d")]) == 2


def test_scaffold_passes_config_check_as_written(rounds: list[Path], tmp_path: Path) -> None:
    """`perception config check` accepts the scaffold before any edit."""
    from perception.config import load_project
    from perception.survey_init import survey_init

    out = tmp_path / "config" / "tun"
    survey_init(rounds, out)
    project = load_project(out / "survey.yaml", root=tmp_path)
    assert set(project.codebooks) == {"w1", "w2"}


def test_scaffold_harmonizes_and_weights_as_written(rounds: list[Path], tmp_path: Path) -> None:
    """Every wave harmonizes with a derived stratum and design-only weights."""
    from perception.codebook import harmonize_file
    from perception.config import load_project, load_weighting_config
    from perception.survey_init import survey_init

    out = tmp_path / "config" / "tun"
    survey_init(rounds, out)
    project = load_project(out / "survey.yaml", root=tmp_path)
    config = load_weighting_config(out / "weighting.yaml")
    assert config.calibration.method == "none"
    for wave, path in zip(project.survey.waves, rounds, strict=True):
        df = harmonize_file(path, project.codebooks[wave.id], project.catalogue)
        assert df["stratum"].notna().all()


@needs_afro
def test_survey_init_on_afrobarometer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On R8 (English) and R9 (French): R9 Q37C, not R9 Q41C, is R8's Q41C; Q112 is personal."""
    from perception.survey_init import MATCH, survey_init

    monkeypatch.chdir(tmp_path)
    done = survey_init([R8, R9], tmp_path / "config" / "tun")
    pairs = {(m.column, m.reference_column): m.score for m in done.matches}
    assert pairs[("Q37C", "Q41C")] >= MATCH
    assert not any(col == "Q41C" for col, _ in pairs)
    assert pairs[("Q37G", "Q41G")] >= MATCH  # trust police / confiance en la police
    assert any(entry.startswith("Q112:") for entry in done.pii["w2"])
    assert done.region_conflicts == []  # both rounds use 1580-1586 for the same 7 regions
    uncertain = {m.column for m in done.uncertain}
    w2 = _yaml(tmp_path / "config" / "tun" / "codebooks" / "w2.yaml")["variables"]
    assert isinstance(w2, dict)
    assert uncertain and all(w2[c].get("skip") for c in uncertain)


def test_config_check_command_on_a_nested_scaffold(
    rounds: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`config check config/<survey>/survey.yaml` on an unedited scaffold resolves from the root."""
    from perception.cli import main

    assert main(["survey", "init", *map(str, rounds), "-o", "config/tun"]) == 0
    assert "see config/tun/REVIEW.md" in capsys.readouterr().out
    assert main(["config", "check", "config/tun/survey.yaml"]) == 0
    assert "survey 'tun'" in capsys.readouterr().out


def test_row_number_id_when_a_round_has_no_id(rounds: list[Path], tmp_path: Path) -> None:
    """It derives a row-number respondent id for a round without an id column."""
    from perception.survey_init import survey_init

    df, meta = pyreadstat.read_sav(str(rounds[1]))
    pyreadstat.write_sav(
        df.drop(columns="RESPNO"),
        str(rounds[1]),
        column_labels={k: v for k, v in meta.column_names_to_labels.items() if k != "RESPNO"},
        variable_value_labels=meta.variable_value_labels,
    )
    survey_init(rounds, tmp_path / "config" / "tun")
    book = _yaml(tmp_path / "config" / "tun" / "codebooks" / "w2.yaml")
    assert book["derived"] == {
        "stratum": {"cross": ["REGION", "URBRUR"]},
        "respondent_id": {"row_number": True},
    }
    assert "derived" in _yaml(tmp_path / "config" / "tun" / "codebooks" / "w1.yaml")


def test_survey_init_of_a_single_round(rounds: list[Path], tmp_path: Path) -> None:
    """It scaffolds one round alone: one wave, every item in the catalogue, trust indicators."""
    from perception.survey_init import survey_init

    done = survey_init(rounds[:1], tmp_path / "config" / "one", survey="one")
    assert done.matches == [] and done.uncertain == []
    survey = _yaml(tmp_path / "config" / "one" / "survey.yaml")
    assert survey["survey"] == "one" and len(survey["waves"]) == 1  # type: ignore[arg-type]
    indicators = _yaml(tmp_path / "config" / "one" / "indicators.yaml")["indicators"]
    assert {i["id"] for i in indicators} == {  # type: ignore[union-attr]
        "trust_police",
        "trust_national_electoral_commission",
    }
