"""Atomic writes: a killed write leaves the old file whole; the next write sweeps its leftovers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from perception.storage import atomic_write

KILLED_WRITER = """
import sys, time
from perception.storage import atomic_write

def write(stream):
    stream.write(b"half of the new content")
    stream.flush()
    print("writing", flush=True)
    time.sleep(60)

atomic_write(sys.argv[1], write)
"""


def _kill_mid_write(target: Path) -> None:
    """Start a process that writes ``target`` through atomic_write; SIGKILL it mid-write."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(target)], env=env, stdout=subprocess.PIPE
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == b"writing"
    process.send_signal(signal.SIGKILL)
    process.wait()


def test_next_write_sweeps_what_a_sigkilled_write_left(tmp_path: Path) -> None:
    """It SIGKILLs a write mid-file: the old file stays whole; the next write removes the .tmp."""
    target = tmp_path / "estimates.parquet"
    target.write_bytes(b"old")
    other = tmp_path / ".status.parquet.abc123.tmp"  # another file's leftover: not this write's
    other.write_bytes(b"x")
    _kill_mid_write(target)
    (first,) = tmp_path.glob(".estimates.parquet.*.tmp")
    _kill_mid_write(target)  # the killed writer swept the first leftover before leaving its own
    (second,) = tmp_path.glob(".estimates.parquet.*.tmp")
    assert second != first
    assert target.read_bytes() == b"old"
    atomic_write(target, lambda stream: stream.write(b"new"))
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == [other.name, target.name]
