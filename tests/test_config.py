"""Configuration models: the catalogue, codebooks, the survey file and their errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from config_samples import CATALOGUE_YAML, CODEBOOK_YAML, SURVEY_YAML, write_project

from perception.config import (
    Catalogue,
    Codebook,
    json_schemas,
    load_catalogue,
    load_codebook,
    load_deployment,
    load_project,
    load_survey,
    validate_codebook,
)
from perception.errors import ConfigError
from perception.yamlio import load_yaml

REPO = Path(__file__).resolve().parents[1]


def _write(path: Path, text: str) -> Path:
    """Write a text file and return its path."""
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def catalogue(tmp_path: Path) -> Catalogue:
    """Load the sample catalogue from a file."""
    return load_catalogue(_write(tmp_path / "variables.yaml", CATALOGUE_YAML))


def test_project_loads_with_every_part(tmp_path: Path) -> None:
    """It loads the survey, its catalogue and codebooks, and resolves paths from the root."""
    project = load_project(write_project(tmp_path))
    assert project.survey.survey == "demo"
    assert project.survey.root == tmp_path.resolve()
    assert (
        project.survey.raw_path(project.survey.waves[0]) == tmp_path.resolve() / "data/raw/w1.sav"
    )
    assert project.codebooks["w1"].targets()["gender"] == "Q101"
    assert project.catalogue.categories("incl_peace_process") == [1, 2, 3, 4, 98, 99]
    assert project.catalogue.categories("age_band") == [1, 2, 3, 4, 5]
    assert project.catalogue.categories("youth") == [1, 2]
    assert project.survey.waves[0].fieldwork is not None


def test_models_are_frozen(catalogue: Catalogue) -> None:
    """It refuses to change a loaded configuration."""
    with pytest.raises(Exception, match="frozen"):
        catalogue.variables["gender"].kind = "integer"  # type: ignore[misc]


def test_misspelt_key_names_file_path_line_and_suggestion(tmp_path: Path) -> None:
    """It names the file, the key path and line of an unknown key, and suggests the right one."""
    text = CODEBOOK_YAML.replace("    recode: {1: 4", "    recod: {1: 4")
    path = _write(tmp_path / "w1.yaml", text)
    with pytest.raises(ConfigError) as info:
        load_codebook(path)
    err = info.value
    assert err.file == str(path)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "recod:" in row)
    assert f"variables.Q23.recod (line {line})" in err.message
    assert "'recod'" in err.found
    assert "recode" in err.expected
    assert "did you mean 'recode'" in err.hint


def _edited(text: str, edits: dict[str, str]) -> str:
    """Apply each edit (old text → new text) to a sample configuration; each must apply."""
    for old, new in edits.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


def _says(error: ConfigError, says: dict[str, tuple[str, ...]]) -> None:
    """Check that each field of the error (message, expected, found, hint) holds its parts."""
    for field, parts in says.items():
        for part in parts:
            assert part in getattr(error, field), (field, part)


@pytest.mark.parametrize(
    ("edits", "says"),
    [
        pytest.param(
            {"label: {en: Gender, fr: Genre}": "label: {en: Gender}"},
            {"message": ("variables.gender.label.fr",), "expected": ("'fr'",)},
            id="a label needs both languages",
        ),
        pytest.param(
            {"max: 110": "max: old"},
            {"message": ("variables.age.max",), "expected": ("integer",), "found": ("'old'",)},
            id="a wrong type says expected and found",
        ),
        pytest.param(
            {"theme: inclusion": "theme: inclusoin"},
            {
                "message": ("variables.incl_peace_process.theme",),
                "expected": ("inclusion, governance",),
                "hint": ("did you mean 'inclusion'",),
            },
            id="an undeclared theme suggests the closest",
        ),
        pytest.param(
            {
                "4: {en: A lot, fr: Beaucoup}": (
                    "4: {en: A lot, fr: Beaucoup}\n      98: {en: DK, fr: NSP}"
                )
            },
            {"message": ("variables.incl_peace_process.codes.98",)},
            id="a substantive code equal to a special code",
        ),
        pytest.param(
            {"{code: 2, min: 25,": "{code: 2, min: 26,"},
            {"message": ("age_bands.bands[1].min",), "expected": ("25",)},
            id="age bands with a gap",
        ),
        pytest.param(
            {"    theme: inclusion\n": ""},
            {"message": ("variables.incl_peace_process.theme",)},
            id="a perception item needs a theme",
        ),
    ],
)
def test_broken_catalogue_is_named_and_explained(
    tmp_path: Path, edits: dict[str, str], says: dict[str, tuple[str, ...]]
) -> None:
    """It names the key of a broken catalogue and says what it expected, found or suggests."""
    with pytest.raises(ConfigError) as info:
        load_catalogue(_write(tmp_path / "variables.yaml", _edited(CATALOGUE_YAML, edits)))
    _says(info.value, says)


def test_themes_are_open_and_declared_with_labels(tmp_path: Path) -> None:
    """A catalogue declares its own themes (e.g. governance) with EN/FR labels and uses them."""
    text = CATALOGUE_YAML.replace("theme: inclusion", "theme: governance")
    catalogue = load_catalogue(_write(tmp_path / "variables.yaml", text))
    assert catalogue.variables["incl_peace_process"].theme == "governance"
    assert catalogue.themes["governance"].fr == "Gouvernance"
    text = text.replace("  governance: {en: Governance, fr: Gouvernance}\n", "")
    with pytest.raises(ConfigError) as info:
        load_catalogue(_write(tmp_path / "variables.yaml", text))
    assert "variables.incl_peace_process.theme" in info.value.message
    assert "themes: {governance: {en: ..., fr: ...}}" in info.value.hint
    text = text.replace(
        "  inclusion: {en: Inclusion, fr: Inclusion}", "  inclusion: {en: Inclusion}"
    )
    with pytest.raises(ConfigError, match=r"themes\.inclusion\.fr"):
        load_catalogue(_write(tmp_path / "variables.yaml", text))


def test_duplicate_yaml_key_is_rejected_with_lines(tmp_path: Path) -> None:
    """It rejects a key written twice in one mapping and shows both lines."""
    text = CODEBOOK_YAML + "  Q101: {skip: true}\n"
    with pytest.raises(ConfigError) as info:
        load_codebook(_write(tmp_path / "w1.yaml", text))
    assert "duplicate key 'Q101'" in info.value.found
    first = next(i for i, row in enumerate(text.splitlines(), 1) if row.startswith("  Q101:"))
    assert f"line {first}" in info.value.found


def test_yes_and_no_stay_text() -> None:
    """It reads yes/no/on/off as text (YAML 1.2) so value labels are not turned into booleans."""
    codebook = Codebook.model_validate(
        {
            "wave": "w1",
            "source_file": "f.csv",
            "variables": {"q": {"target": "gender", "recode": {"Yes": 1, "No": 2}}},
        }
    )
    assert codebook.variables["q"].recode == {"Yes": 1, "No": 2}


def test_yaml_booleans_follow_yaml_12(tmp_path: Path) -> None:
    """It parses yes/No/on as strings and true/false as booleans."""
    doc = load_yaml(_write(tmp_path / "x.yaml", "a: {yes: No, on: off}\nb: true\n"))
    assert doc.data == {"a": {"yes": "No", "on": "off"}, "b": True}
    assert doc.line_of(("b",)) == 2


@pytest.mark.parametrize(
    ("edits", "says"),
    [
        pytest.param(
            {"REGION: {target: region}": "REGION: {target: regoin}"},
            {"message": ("variables.REGION.target",), "hint": ("did you mean 'region'",)},
            id="a target missing from the catalogue suggests the closest",
        ),
        pytest.param(
            {"recode: {1: 4, 2: 3,": "recode: {1: 5, 2: 3,"},
            {
                "message": ("variables.Q23.recode.1",),
                "found": ("code 5",),
                "expected": ("[1, 2, 3, 4]",),
            },
            id="a recode to a code the catalogue lacks",
        ),
        pytest.param(
            {"NOTES: {skip: true}": "NOTES: {target: gender}"},
            {"found": ("Q101 and NOTES",)},
            id="two sources for one target",
        ),
        pytest.param(
            {"WT: {target: base_weight}": "WT: {target: base_weight, missing: {9: dont_know}}"},
            {"message": ("variables.WT.missing.9",)},
            id="a don't-know code on a weight",
        ),
        pytest.param(
            {
                "RESPNAME: {pii: true}": "RESPNAME: {pii: true, target: stratum}",
                "STRAT: {target: stratum}": "STRAT: {skip: true}",
            },
            {"message": ("variables.RESPNAME.pii",)},
            id="personal data carried into a variable other than the hashed id",
        ),
    ],
)
def test_codebook_at_odds_with_the_catalogue_is_named_and_explained(
    tmp_path: Path, catalogue: Catalogue, edits: dict[str, str], says: dict[str, tuple[str, ...]]
) -> None:
    """It names the codebook key at odds with the catalogue and says what is wrong."""
    with pytest.raises(ConfigError) as info:
        load_codebook(_write(tmp_path / "w1.yaml", _edited(CODEBOOK_YAML, edits)), catalogue)
    _says(info.value, says)


def test_respondent_id_must_be_mapped(tmp_path: Path, catalogue: Catalogue) -> None:
    """It requires every codebook to map the respondent id."""
    text = CODEBOOK_YAML.replace("RESPNO: {target: respondent_id}", "RESPNO: {skip: true}")
    with pytest.raises(ConfigError, match="respondent id"):
        load_codebook(_write(tmp_path / "w1.yaml", text), catalogue)


@pytest.mark.parametrize(
    ("entry", "found"),
    [
        ("{}", "none of them"),
        ("{skip: true, target: gender}", "skip together with target"),
        ("{pii: true, missing: {1: missing}}", "missing, recode or bins"),
        (
            "{target: age_band, bins: [{min: 18, max: 30, code: 1}, {min: 30, code: 2}]}",
            "[18.0, 30.0]",
        ),
        ("{target: gender, recode: {1: 1}, missing: {1: missing}}", "1 in both"),
    ],
)
def test_codebook_entry_rules(tmp_path: Path, entry: str, found: str) -> None:
    """It enforces one intent per entry, no overlapping bins and disjoint missing/recode."""
    text = CODEBOOK_YAML.replace("NOTES: {skip: true}", f"NOTES: {entry}")
    with pytest.raises(ConfigError) as info:
        load_codebook(_write(tmp_path / "w1.yaml", text))
    assert "variables.NOTES" in info.value.message
    assert found in info.value.found


def test_in_memory_codebook_is_checked_against_catalogue(catalogue: Catalogue) -> None:
    """It checks a codebook built in Python against the catalogue too."""
    codebook = Codebook.model_validate(
        {"wave": "w1", "source_file": "f.sav", "variables": {"ID": {"target": "respondent"}}}
    )
    with pytest.raises(ConfigError, match=r"variables\.ID\.target"):
        validate_codebook(codebook, catalogue)


def test_duplicate_wave_ids_are_rejected(tmp_path: Path) -> None:
    """It rejects a wave id used twice and points at the second one."""
    second = """\
  - id: w1
    label: {en: Wave 2, fr: Vague 2}
    file: w2.dta
    codebook: config/codebooks/w2.yaml
"""
    path = write_project(tmp_path, survey=SURVEY_YAML + second)
    with pytest.raises(ConfigError) as info:
        load_survey(path)
    assert "waves[1].id" in info.value.message
    assert "'w1'" in info.value.found


def test_missing_codebook_file_is_named(tmp_path: Path) -> None:
    """It names the survey key whose codebook file does not exist."""
    path = write_project(
        tmp_path, survey=SURVEY_YAML.replace("codebooks/w1.yaml", "codebooks/w9.yaml")
    )
    with pytest.raises(ConfigError) as info:
        load_project(path)
    assert "waves[0].codebook" in info.value.message
    assert "w9.yaml" in info.value.expected


def test_codebook_of_another_wave_is_rejected(tmp_path: Path) -> None:
    """It rejects a codebook whose wave differs from the wave that lists it."""
    path = write_project(tmp_path, codebook=CODEBOOK_YAML.replace("wave: w1", "wave: w2"))
    with pytest.raises(ConfigError) as info:
        load_project(path)
    assert "waves[0].id" in info.value.message
    assert "wave: w2" in info.value.found


def test_empty_and_missing_files(tmp_path: Path) -> None:
    """It reports an empty configuration file and an absent one."""
    with pytest.raises(ConfigError, match="Invalid variable catalogue"):
        load_catalogue(_write(tmp_path / "empty.yaml", ""))
    with pytest.raises(ConfigError, match="not found"):
        load_catalogue(tmp_path / "absent.yaml")


def test_deployment_without_its_file_serves_the_lone_survey_file(tmp_path: Path) -> None:
    """It serves config/survey.yaml alone when config/deployment.yaml is absent."""
    write_project(tmp_path)
    surveys = load_deployment(tmp_path)
    assert list(surveys) == ["demo"]
    assert surveys["demo"].path == tmp_path / "config" / "survey.yaml"
    assert surveys["demo"].indicators == "config/indicators.yaml"
    assert surveys["demo"].disclosure == "config/disclosure.yaml"


def test_deployment_serves_its_survey_files_in_order(tmp_path: Path) -> None:
    """It loads every survey file the deployment lists, by survey key, in the listed order."""
    write_project(tmp_path)
    _write(tmp_path / "config" / "b.yaml", SURVEY_YAML.replace("survey: demo", "survey: alpha"))
    _write(
        tmp_path / "config" / "deployment.yaml",
        "surveys:\n  - config/survey.yaml\n  - config/b.yaml\n",
    )
    assert list(load_deployment(tmp_path)) == ["demo", "alpha"]


def test_duplicate_survey_keys_in_a_deployment_are_rejected(tmp_path: Path) -> None:
    """It rejects two survey files with the same survey key, naming the deployment file."""
    write_project(tmp_path)
    _write(tmp_path / "config" / "copy.yaml", SURVEY_YAML)
    deployment = _write(
        tmp_path / "config" / "deployment.yaml",
        "surveys:\n  - config/survey.yaml\n  - config/copy.yaml\n",
    )
    with pytest.raises(ConfigError, match=r"surveys\[1\] \(line 3\)") as error:
        load_deployment(tmp_path)
    assert error.value.file == str(deployment)
    assert "config/survey.yaml and config/copy.yaml" in str(error.value)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("surveys: []\n", "surveys"),
        ("surveys: [config/nope.yaml]\n", "no such file"),
        ("survey: [config/survey.yaml]\n", "the required key 'surveys'"),
    ],
)
def test_deployment_file_errors_name_the_file(tmp_path: Path, text: str, found: str) -> None:
    """It rejects an empty, misspelt or dangling deployment file with a ConfigError naming it."""
    write_project(tmp_path)
    deployment = _write(tmp_path / "config" / "deployment.yaml", text)
    with pytest.raises(ConfigError, match=re.escape(found)) as error:
        load_deployment(tmp_path)
    assert error.value.file == str(deployment)


def test_json_schemas_are_up_to_date() -> None:
    """It keeps config/schemas/*.json equal to the models (regenerate: `perception schemas`)."""
    folder = REPO / "config" / "schemas"
    for name, text in json_schemas().items():
        stored = folder / name
        assert stored.is_file(), f"{stored} is missing; run `perception schemas`"
        assert stored.read_text(encoding="utf-8") == text, (
            f"{name} is stale; run `perception schemas`"
        )
        assert json.loads(text)["additionalProperties"] is False


def test_group_labels_name_people_and_only_known_codes(tmp_path: Path) -> None:
    """It reads `groups:` as plural labels, falls back to the code label, and names a bad code."""
    codes = "codes: {1: {en: Man, fr: Homme}, 2: {en: Woman, fr: Femme}}"
    assert CATALOGUE_YAML.count(codes) == 1
    text = CATALOGUE_YAML.replace(codes, codes + "\n    groups: {2: {en: Women, fr: Femmes}}")
    cat = load_catalogue(_write(tmp_path / "variables.yaml", text))
    assert cat.group_label("gender", 2).fr == "Femmes"
    assert cat.group_label("gender", 1).en == "Man"
    bad = CATALOGUE_YAML.replace(codes, codes + "\n    groups: {3: {en: Others, fr: Autres}}")
    with pytest.raises(ConfigError) as info:
        load_catalogue(_write(tmp_path / "bad.yaml", bad))
    assert "variables.gender.groups.3" in info.value.message
