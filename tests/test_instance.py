"""The embedded instance's SQLite files while `perception run` has it open, and after."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from pipelines.run import open_instance


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Return a project folder whose runs use the embedded instance in ``.dagster``."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    return tmp_path


def _wal_files(root: Path) -> list[Path]:
    """Return the write-ahead logs under the instance's folder."""
    return sorted((root / ".dagster").rglob("*.db-wal"))


def test_files_are_checkpointed_once_when_the_instance_closes(root: Path) -> None:
    """While open, a closed connection leaves the log in place; closing the instance merges it."""
    with open_instance(root) as instance:
        instance.report_runless_asset_event(dg.AssetMaterialization("probe"))
        databases = sorted((root / ".dagster").rglob("*.db"))
        assert databases
        # Dagster closed each connection after writing: no checkpoint, so the logs remain.
        assert _wal_files(root)
        for database in databases:
            engine = sa.create_engine(f"sqlite:///{database}", poolclass=sa.NullPool)
            with engine.connect() as connection:
                assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
            engine.dispose()
    assert _wal_files(root) == []
    with open_instance(root) as instance:
        assert instance.get_latest_materialization_event(dg.AssetKey("probe")) is not None


def test_files_outside_the_instance_keep_sqlites_defaults(root: Path) -> None:
    """Another SQLite file opened meanwhile keeps its journal and sync modes."""
    other = root / "other.db"
    with open_instance(root):
        engine = sa.create_engine(f"sqlite:///{other}", poolclass=sa.NullPool)
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "delete"
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        engine.dispose()


def test_a_forked_child_opens_its_own_instance(root: Path) -> None:
    """A child forked while the instance is open writes through its own connections."""
    with open_instance(root) as instance:
        instance.report_runless_asset_event(dg.AssetMaterialization("parent"))
        pid = os.fork()
        if pid == 0:  # the child: exit code 0 only if its write went through
            code = 1
            try:
                with open_instance(root) as child:
                    child.report_runless_asset_event(dg.AssetMaterialization("child"))
                code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert instance.get_latest_materialization_event(dg.AssetKey("child")) is not None
    index = next((root / ".dagster").rglob("index.db"))
    with sqlite3.connect(index) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
