"""The `perception` command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest
from config_samples import CODEBOOK_YAML, SURVEY_YAML, write_project

from perception.cli import main
from perception.config import load_codebook, load_survey


@pytest.fixture
def survey_file(tmp_path: Path) -> Path:
    """Write a tiny SPSS file with an id, a gender and a phone number."""
    path = tmp_path / "w1.sav"
    df = pd.DataFrame(
        {
            "RESPNO": ["a", "b", "c"],
            "Q101": [1.0, 2.0, 9.0],
            "PHONE": ["+1 555 0100", "+1 555 0101", ""],
        }
    )
    pyreadstat.write_sav(
        df,
        str(path),
        column_labels={
            "RESPNO": "Respondent number",
            "Q101": "Gender of respondent",
            "PHONE": "Phone",
        },
        variable_value_labels={"Q101": {1: "Male", 2: "Female", 9: "Don't know"}},
    )
    return path


def test_codebook_init_writes_a_loadable_stub(survey_file: Path, tmp_path: Path) -> None:
    """It writes a stub that loads as a codebook, with the wave given on the command line."""
    out = tmp_path / "codebooks" / "w3.yaml"
    assert main(["codebook", "init", str(survey_file), "-o", str(out), "--wave", "w3"]) == 0
    book = load_codebook(out)
    assert book.wave == "w3"
    assert book.source_file == "w1.sav"
    assert book.targets() == {"respondent_id": "RESPNO", "gender": "Q101"}
    assert book.variables["Q101"].missing == {9: "dont_know"}
    assert book.variables["PHONE"].pii


def test_codebook_init_prints_to_stdout(
    survey_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It prints the stub when no output file is given."""
    assert main(["codebook", "init", str(survey_file)]) == 0
    assert "Q101: {target: gender, missing: {9: dont_know}}" in capsys.readouterr().out


def test_existing_output_is_kept_without_force(
    survey_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It refuses to overwrite an edited codebook unless --force is given."""
    out = tmp_path / "w1.yaml"
    out.write_text("edited by hand\n", encoding="utf-8")
    assert main(["codebook", "init", str(survey_file), "-o", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    assert out.read_text(encoding="utf-8") == "edited by hand\n"
    assert main(["codebook", "init", str(survey_file), "-o", str(out), "--force"]) == 0
    assert load_codebook(out).targets()["gender"] == "Q101"


def test_unreadable_file_exits_2_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It prints the error message, not a traceback, and exits with 2."""
    bad = tmp_path / "broken.sav"
    bad.write_bytes(b"not an SPSS file at all")
    assert main(["codebook", "init", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert "broken.sav" in err
    assert "Traceback" not in err


def test_config_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """It validates a whole project, and reports a broken codebook with its key path."""
    survey = write_project(tmp_path)
    assert main(["config", "check", str(survey)]) == 0
    assert "OK" in capsys.readouterr().out
    write_project(tmp_path, codebook=CODEBOOK_YAML.replace("target: region", "target: regoin"))
    assert main(["config", "check", str(survey)]) == 2
    assert "variables.REGION.target" in capsys.readouterr().err


def test_config_check_needs_targets_for_calibration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It accepts a survey without targets weighted as delivered, not one that calibrates."""
    no_targets = SURVEY_YAML.replace("targets: config/targets/demo_census.yaml\n", "")
    survey = write_project(tmp_path, survey=no_targets)
    assert main(["config", "check", str(survey)]) == 0
    assert "calibration none: OK" in capsys.readouterr().out
    raking = "base_weight: {column: base_weight}\ncalibration: {margins: [gender]}\n"
    write_project(tmp_path, survey=no_targets, weighting=raking)
    assert main(["config", "check", str(survey)]) == 2
    err = capsys.readouterr().err
    assert "needs population targets" in err and "waves[0].targets" in err


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """It exits with 2 on a usage error."""
    assert main(["codebook"]) == 2
    assert "usage" in capsys.readouterr().err


def test_module_entry_point(survey_file: Path) -> None:
    """It runs as `python -m perception.cli` and exits with 2, no traceback, on a bad file."""
    missing = survey_file.with_name("nope.sav")
    run = subprocess.run(
        [sys.executable, "-m", "perception.cli", "codebook", "init", str(missing)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 2
    assert "nope.sav" in run.stderr
    assert "Traceback" not in run.stderr


def test_config_check_reports_unmatched_map_regions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It fails config check naming the GeoJSON file and the regions it lacks."""
    import shutil

    root = tmp_path / "demo"
    shutil.copytree(Path(__file__).resolve().parents[1] / "config", root / "config")
    survey = root / "config" / "survey.yaml"
    assert main(["config", "check", str(survey)]) == 0
    assert "map boundaries: OK" in capsys.readouterr().out
    geo = root / "config" / "geo" / "demo_admin1.geojson"
    data = json.loads(geo.read_text(encoding="utf-8"))
    data["features"] = [f for f in data["features"] if f["properties"]["code"] not in (3, 7)]
    geo.write_text(json.dumps(data), encoding="utf-8")
    assert main(["config", "check", str(survey)]) == 2
    err = capsys.readouterr().err
    assert "demo_admin1.geojson" in err and "region code(s) 3, 7" in err


def _mission(root: Path, name: str, *, fieldwork: bool = True) -> Path:
    """Write ``config/<name>/survey.yaml`` beside a shared catalogue and codebook; return it."""
    text = SURVEY_YAML.replace("survey: demo", f"survey: {name}")
    if not fieldwork:
        text = text.replace("    fieldwork: {start: 2025-03-03, end: 2025-03-24}\n", "")
    (root / "config" / name).mkdir(parents=True, exist_ok=True)
    path = root / "config" / name / "survey.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_config_check_resolves_a_mission_subfolder_from_the_project_root(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """It resolves config/<mission>/survey.yaml's paths from the folder holding config/."""
    write_project(tmp_path)
    survey = _mission(tmp_path, "tunisia")
    monkeypatch.chdir(tmp_path / "config")  # the current directory plays no part
    assert main(["config", "check", str(survey)]) == 0, capsys.readouterr().err
    assert "survey 'tunisia'" in capsys.readouterr().out
    assert load_survey(survey).root == tmp_path.resolve()
    assert load_survey(tmp_path / "config" / "survey.yaml").root == tmp_path.resolve()


def test_config_check_without_argument_checks_every_deployed_survey(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no argument it checks every survey of config/deployment.yaml, and fails on any."""
    write_project(tmp_path)
    _mission(tmp_path, "tunisia")
    deployment = tmp_path / "config" / "deployment.yaml"
    deployment.write_text(
        "surveys:\n  - config/survey.yaml\n  - config/tunisia/survey.yaml\n", encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    assert main(["config", "check"]) == 0
    out = capsys.readouterr().out
    assert "survey 'demo'" in out and "survey 'tunisia'" in out
    (tmp_path / "config" / "tunisia" / "survey.yaml").write_text(
        SURVEY_YAML.replace("survey: demo", "survey: tunisia").replace(
            "config/codebooks/w1.yaml", "config/codebooks/w9.yaml"
        ),
        encoding="utf-8",
    )
    assert main(["config", "check"]) == 2
    err = capsys.readouterr().err
    assert "tunisia" in err and "waves[0].codebook" in err


def test_config_check_warns_about_missing_fieldwork_dates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It passes a survey without fieldwork dates but warns, naming waves[i].fieldwork."""
    write_project(tmp_path)
    survey = _mission(tmp_path, "nodates", fieldwork=False)
    assert main(["config", "check", str(survey)]) == 0
    captured = capsys.readouterr()
    assert "OK" in captured.out
    assert "warning:" in captured.err and "waves[0].fieldwork (line 10)" in captured.err
    assert "no projection" in captured.err
    assert main(["config", "check", str(tmp_path / "config" / "survey.yaml")]) == 0
    assert "warning" not in capsys.readouterr().err
