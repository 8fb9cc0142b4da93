"""Fixtures shared by every test module: the demo project run once per test session.

The demo (three waves and the reporting, through Dagster as ``make demo`` runs it) is built once
per session. Under pytest-xdist one worker builds it in the session's shared temporary folder,
holding a file lock, and the other workers wait for it and reuse it: the first worker builds it
before its first test, while the others run the test modules that do not need it, which come
first. The run is read-only: a test that writes into a project takes :func:`demo_copy` (or
``demo.copy(to)``); a test that changed the shared run fails the session at teardown.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout, suppress
from pathlib import Path

import pandas as pd
import pytest
from demo_project import DemoRun
from filelock import FileLock
from golden import dataset
from threadpoolctl import threadpool_limits

from perception.demo import generate
from pipelines.definitions import PROJECT_ROOT, build_definitions
from pipelines.demo import run_demo
from pipelines.run import open_instance


def _build(root: Path, log: Path) -> dict[str, bool]:
    """Run the demo in a new project at ``root``; return its checks' outcomes."""
    shutil.copytree(PROJECT_ROOT / "config", root / "config")
    stdout = io.StringIO()
    with (
        pytest.MonkeyPatch.context() as env,
        warnings.catch_warnings(),
        redirect_stdout(stdout),
    ):
        env.delenv("DAGSTER_HOME", raising=False)  # the run's own instance, in root/.dagster
        warnings.simplefilter("ignore")
        code = run_demo(root)
        log.write_text(stdout.getvalue(), encoding="utf-8")
        assert code == 0, stdout.getvalue()
        checks = {}
        with open_instance(root) as instance:
            for key in build_definitions(root).resolve_asset_graph().asset_check_keys:
                record = instance.get_latest_asset_check_evaluation_record(key)
                if record is not None and record.evaluation is not None:
                    name = f"{key.asset_key.to_user_string()}:{key.name}"
                    checks[name] = record.evaluation.passed
    return checks


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Return every file of a tree with its size and modification time."""
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _uses_demo(item: pytest.Item) -> bool:
    """Tell whether a test needs the shared demo run."""
    return "demo" in getattr(item, "fixturenames", ())


def _heavy(item: pytest.Item) -> bool:
    """Tell whether a test is marked slow or uses a fixture built once per module."""
    info = getattr(item, "_fixtureinfo", None)
    chains = info.name2fixturedefs.values() if info is not None else ()
    module_fixture = any(d.scope == "module" for chain in chains for d in chain)
    return module_fixture or item.get_closest_marker("slow") is not None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Order the modules for two workers, keeping the order within each module.

    ``make pytest`` hands out whole modules (``--dist loadfile``), so a module's fixtures are
    built once. The modules that need the demo run come last (the first worker builds it while
    the other starts on the rest); within each part, the modules with slow tests or module
    fixtures come first, so the last modules handed out are short.
    """
    modules = {item: item.nodeid.split("::")[0] for item in items}
    needing = {modules[item] for item in items if _uses_demo(item)}
    heavy = {modules[item] for item in items if _heavy(item)}
    items.sort(key=lambda item: (modules[item] in needing, modules[item] not in heavy))


def _shared_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the session's temporary folder, shared by the xdist workers."""
    base = tmp_path_factory.getbasetemp()
    # Each xdist worker has its own base folder inside the session's: share the session's.
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def _shared_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Build the demo in the session's shared folder unless done; return it and its outcomes."""
    shared = _shared_folder(tmp_path_factory)
    root = shared / "demo"
    outcomes = shared / "demo-checks.json"
    with FileLock(str(shared / "demo.lock")):
        if not outcomes.exists():
            shutil.rmtree(root, ignore_errors=True)  # what a failed build left
            checks = _build(root, shared / "demo-run.log")
            outcomes.write_text(json.dumps(checks), encoding="utf-8")
    return root, outcomes


@pytest.fixture(scope="session", autouse=True)
def _one_blas_thread() -> Iterator[None]:
    """Run every test with BLAS on one thread, as the pipeline's steps run (perception.forking).

    The workers share the cores: BLAS threads beside them spin against each other.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(scope="session", autouse=True)
def _demo_first(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Under xdist, build the demo on the first worker before its first test, if any test needs it.

    The other workers meanwhile run the modules that do not need it (sorted first), so no core
    waits for the build. A failed build is left to the ``demo`` fixture, which reports it.
    """
    if os.environ.get("PYTEST_XDIST_WORKER") == "gw0" and any(
        _uses_demo(item) for item in request.session.items
    ):
        with suppress(Exception):
            _shared_demo(tmp_path_factory)


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    """Yield the demo project run once for the session (shared by xdist workers); read-only."""
    root, outcomes = _shared_demo(tmp_path_factory)
    run = DemoRun(root, json.loads(outcomes.read_text(encoding="utf-8")))
    with _unchanged(root, "the shared demo run (use demo_copy)"):
        yield run


@pytest.fixture(scope="session")
def demo_raw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Yield a folder with the demo survey's three raw wave files, generated once; read-only."""
    folder = tmp_path_factory.mktemp("demo-raw")
    generate(folder)
    with _unchanged(folder, "the shared demo raw files (copy them first)"):
        yield folder


@contextmanager
def _unchanged(root: Path, what: str) -> Iterator[None]:
    """Fail when the files under ``root`` changed inside the block."""
    before = _snapshot(root)
    yield
    after = _snapshot(root)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"tests changed {what}: {changed[:10]}"


@pytest.fixture
def demo_copy(demo: DemoRun, tmp_path: Path) -> DemoRun:
    """Return a private copy of the demo run, for a test that writes into the project."""
    return demo.copy(tmp_path / "project")


# --------------------------------------------------------------------------- R's datasets


@pytest.fixture(scope="module")
def apistrat() -> pd.DataFrame:
    """Return R's stratified API sample (200 schools, strata stype), the module's own copy."""
    return dataset("apistrat").copy()


@pytest.fixture(scope="module")
def apiclus1() -> pd.DataFrame:
    """Return R's one-stage cluster API sample (15 districts), the module's own copy."""
    return dataset("apiclus1").copy()


@pytest.fixture(scope="module")
def nhanes() -> pd.DataFrame:
    """Return R's NHANES extract (HI_CHOL missing in 745 rows; PSU ids 1-2 repeat across strata)."""
    return dataset("nhanes").copy()
