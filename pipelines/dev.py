"""``make dev``: Dagster's UI and daemon, stopped cleanly by Ctrl-C or SIGTERM.

``dagster dev`` ignores SIGTERM and leaves its webserver, daemon and code servers running when
its parent is killed. This wrapper runs it in a session of its own, turns Ctrl-C, SIGTERM and
SIGHUP into the SIGINT that ``dagster dev`` shuts down on, and kills whatever is left of that
session after a grace period.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from types import FrameType

#: Seconds ``dagster dev`` gets to shut down after the first stop signal.
GRACE_SECONDS = 20.0
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _signal_session(leader: int, signum: int) -> None:
    """Send ``signum`` to every process of the session led by ``leader``, if any is left."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(leader, signum)


def run(command: Sequence[str], grace: float = GRACE_SECONDS) -> int:
    """Run ``command`` in its own session until it exits or a stop signal arrives.

    Returns the command's exit status, or 0 when it was stopped by a signal.
    """
    child = subprocess.Popen(list(command), start_new_session=True)
    stop_at: list[float] = []

    def forward(signum: int, _frame: FrameType | None) -> None:
        """Ask the session to shut down (once), and note when to stop waiting."""
        if not stop_at:
            stop_at.append(time.monotonic() + grace)
            _signal_session(child.pid, signal.SIGINT)

    previous = {sig: signal.signal(sig, forward) for sig in _STOP_SIGNALS}
    try:
        while True:
            try:
                code = child.wait(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                if stop_at and time.monotonic() > stop_at[0]:
                    _signal_session(child.pid, signal.SIGKILL)
    finally:
        _signal_session(child.pid, signal.SIGKILL)  # code servers and run workers left behind
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0 if stop_at else code


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``dagster dev`` with the given arguments (``make dev``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    return run([sys.executable, "-m", "dagster", "dev", *args])


if __name__ == "__main__":
    sys.exit(main())
