"""How the pipeline uses the cores: calls in forked processes, one BLAS thread a process.

The pipeline's parallelism is across processes (the waves of a run, the workbooks): a call
started now gives back its value or its error later. Inside each process BLAS runs on one
thread: the survey's matrices are small, and BLAS threads beside other processes on the same
cores spin against each other (the demo's drivers step took 0.9-2.8 s with OpenBLAS's default
threads and 0.25 s with one, on 2 cores).
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
import pickle
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import Connection, wait
from typing import Generic, ParamSpec, TypeVar

from threadpoolctl import threadpool_limits

__all__ = ["CAN_FORK", "Forked", "forked_results", "one_blas_thread"]

T = TypeVar("T")
P = ParamSpec("P")

CAN_FORK = sys.platform == "linux"
"""Whether calls may run in forked processes: on Linux, where forking a loaded process is safe."""


class Forked(Generic[T]):
    """A call running in a process forked from this one (Linux only; see :data:`CAN_FORK`).

    The child starts with everything this process has loaded, runs ``call`` and sends back its
    value (which must pickle) or its error; :meth:`result` returns the value or raises the
    error here. An error that cannot be rebuilt here, or a child that ends without an answer
    (killed), raises a ``RuntimeError`` that says so.
    """

    def __init__(self, call: Callable[[], T]) -> None:
        context = multiprocessing.get_context("fork")
        sys.stdout.flush()  # else the child would print again what this process had not yet
        sys.stderr.flush()
        self.connection, send = context.Pipe(duplex=False)
        self._process = context.Process(target=_run_and_send, args=(send, call))
        self._process.start()
        send.close()
        self._answer: tuple[str, object] | None = None

    def result(self) -> T:
        """Wait for the call to end; return its value or raise its error."""
        if self._answer is None:
            try:
                self._answer = self.connection.recv()
            except EOFError:
                self._answer = ("defect", "the forked process ended without an answer")
            self.connection.close()
            self._process.join()
        kind, payload = self._answer
        if kind == "raised":
            assert isinstance(payload, bytes)
            raise pickle.loads(payload)
        if kind == "defect":
            raise RuntimeError(payload)
        return payload  # type: ignore[return-value]  # what the child's call returned

    def settle(self) -> None:
        """Wait for the call to end, dropping its value or error (cleanup on another error)."""
        with contextlib.suppress(BaseException):  # the caller is handling its own error
            self.result()


def forked_results(calls: Sequence[Callable[[], T]], workers: int) -> Iterator[T]:
    """Run the calls in forked processes, ``workers`` at a time; yield their values in order.

    A call is started as soon as a worker is free, whatever the order in which earlier ones
    end. A call's error is raised when its turn comes, once the calls still running have ended.
    Without :data:`CAN_FORK`, one worker or one call, the calls run here one after another.
    """
    if not CAN_FORK or workers < 2 or len(calls) < 2:
        for call in calls:
            yield call()
        return
    queue = list(enumerate(calls))
    running: dict[Connection, tuple[int, Forked[T]]] = {}
    ended: dict[int, Forked[T]] = {}
    try:
        for turn in range(len(calls)):
            while turn not in ended:
                while queue and len(running) < workers:
                    number, call = queue.pop(0)
                    forked = Forked(call)
                    running[forked.connection] = (number, forked)
                for ready in wait(list(running)):
                    number, forked = running.pop(ready)  # type: ignore[call-overload]
                    ended[number] = forked
            yield ended.pop(turn).result()
    finally:
        for _, forked in running.values():
            forked.settle()


def one_blas_thread(step: Callable[P, T]) -> Callable[P, T]:
    """Run ``step`` with BLAS (OpenBLAS, MKL, BLIS) on one thread, as it was after it ends."""

    @functools.wraps(step)
    def on_one_thread(*args: P.args, **kwargs: P.kwargs) -> T:
        with threadpool_limits(limits=1, user_api="blas"):
            return step(*args, **kwargs)

    return on_one_thread


def _run_and_send(send: Connection, call: Callable[[], object]) -> None:
    """Run ``call`` in the child and send its value, its pickled error, or its traceback."""
    try:
        answer: tuple[str, object] = ("ok", call())
    except BaseException as error:  # handed to the parent, which raises it
        try:
            blob = pickle.dumps(error)
            pickle.loads(blob)  # some exceptions pickle but cannot be rebuilt
            answer = ("raised", blob)
        except Exception:  # then its traceback, as text
            answer = ("defect", "".join(traceback.format_exception(error)))
    try:
        send.send(answer)
    except Exception as error:  # a value that does not pickle
        send.send(("defect", f"the forked call's value could not be sent back: {error!r}"))
    finally:
        send.close()
