"""`perception run` on bad input: a PerceptionError and exit status 2, never a traceback."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pytest

from pipelines.cli import main
from pipelines.definitions import PROJECT_ROOT


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """Return a copy of the demo configuration with no raw files."""
    shutil.copytree(PROJECT_ROOT / "config", tmp_path / "config")
    return tmp_path


def test_a_missing_survey_file_is_named(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """It exits 2 naming the survey file it could not find."""
    assert main(["run", "--root", str(root), "--survey", "config/nope/survey.yaml"]) == 2
    err = capsys.readouterr().err
    assert "config/nope/survey.yaml" in err and "Traceback" not in err


def test_an_unknown_wave_lists_the_waves(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """It exits 2 listing the survey's wave ids, before any run starts."""
    assert main(["run", "--root", str(root), "--wave", "w9"]) == 2
    err = capsys.readouterr().err
    assert "w9" in err and "w1, w2, w3" in err
    assert not (root / "data" / "processed").exists()


def test_an_undelivered_wave_is_named(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """It exits 2 naming the raw file a selected wave still lacks."""
    assert main(["run", "--root", str(root), "--wave", "w2"]) == 2
    assert "demo_w2_university.dta" in capsys.readouterr().err


def test_a_broken_raw_file_fails_its_wave_with_exit_2(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A corrupt file fails its own wave: the reader's error is printed and the status is 2."""
    raw = root / "data" / "raw"
    raw.mkdir(parents=True)
    (raw / "demo_w1_pollster.sav").write_bytes(b"not an SPSS file at all")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["run", "--root", str(root), "--wave", "w1"]) == 2
    out = capsys.readouterr().out
    assert "harmonized_responses     FAILED" in out
    assert "demo_w1_pollster.sav" in out and "Traceback" not in out
    assert "reporting skipped: no wave ran" in out
    assert (raw / "demo_w1_pollster.sav").read_bytes() == b"not an SPSS file at all"
