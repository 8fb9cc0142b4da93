"""`make dev`'s server stops on Ctrl-C and on SIGTERM, leaving no process behind."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from pipelines.definitions import PROJECT_ROOT

START_TIMEOUT = 180.0
STOP_TIMEOUT = 45.0


def _free_port() -> int:
    """Return a TCP port on the loopback interface that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _processes_naming(text: str) -> list[int]:
    """Return the ids of live processes whose command line contains ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().split(") ")[-1][:1]
        except OSError:
            continue
        if text in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


def _serving(port: int) -> bool:
    """Say whether the Dagster webserver answers on ``port``."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2) as reply:
            return bool(reply.status == 200)
    except OSError:
        return False


def test_dev_server_stops_on_sigterm(tmp_path: Path) -> None:
    """The UI, daemon and code servers of `dagster dev` all exit within seconds of SIGTERM."""
    root, home = tmp_path / "project", tmp_path / "dagster_home"
    shutil.copytree(PROJECT_ROOT / "config", root / "config")
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "deploy" / "local" / "dagster.yaml", home / "dagster.yaml")
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home), "PERCEPTION_ROOT": str(root)}
    command = [sys.executable, "-m", "pipelines.dev", "-h", "127.0.0.1", "-p", str(port)]
    server = subprocess.Popen(
        command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _serving(port):
            assert server.poll() is None, "the dev server exited before serving"
            assert time.monotonic() < deadline, "the dev server did not start in time"
            time.sleep(0.2)
        assert _processes_naming(str(home)), "no Dagster process found for this instance"
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=STOP_TIMEOUT) == 0
        assert not _serving(port)
        deadline = time.monotonic() + 5
        while _processes_naming(str(home)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _processes_naming(str(home)) == []
    finally:
        for pid in [server.pid, *_processes_naming(str(home))]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


# A stand-in for `dagster dev`'s shape only (the real server is tested above): a process that
# ignores SIGTERM, starts a grandchild that ignores every stop signal, and exits on SIGINT.
STUBBORN = """
import os, signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
subprocess.Popen([sys.executable, "-c", "import signal, time; "
                  "[signal.signal(s, signal.SIG_IGN) for s in (1, 2, 15)]; time.sleep(600)",
                  os.environ["DEV_TEST_MARK"]])
try:
    time.sleep(600)
except KeyboardInterrupt:
    sys.exit(0)
"""


def test_ctrl_c_reaches_the_session_and_stragglers_are_killed(tmp_path: Path) -> None:
    """Ctrl-C becomes the SIGINT the server stops on; a process ignoring it is killed after."""
    mark = f"MARK_{tmp_path.name}"
    wrapper = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import sys; from pipelines.dev import run; "
            f"sys.exit(run([sys.executable, '-c', {STUBBORN!r}], grace=2.0))",
        ],
        cwd=PROJECT_ROOT,
        env={**os.environ, "DEV_TEST_MARK": mark},
    )
    deadline = time.monotonic() + 60
    while not _processes_naming(mark):
        assert time.monotonic() < deadline and wrapper.poll() is None
        time.sleep(0.2)
    wrapper.send_signal(signal.SIGINT)
    assert wrapper.wait(timeout=30) == 0
    assert _processes_naming(mark) == []
