"""perception.forking: a call in a forked process gives back its value or its error."""

from __future__ import annotations

import os
import pickle
import select
import signal
import threading
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from perception.errors import ConfigError, PerceptionError
from perception.forking import CAN_FORK, Forked, forked_results, one_blas_thread

pytestmark = pytest.mark.skipif(not CAN_FORK, reason="forked calls run on Linux only")


class _UnrebuildableError(Exception):
    """An error that pickles but cannot be rebuilt (its constructor needs two arguments)."""

    def __init__(self, first: str, second: str) -> None:
        super().__init__(f"{first} and {second}")


def _raise_unrebuildable() -> None:
    raise _UnrebuildableError("one", "two")


def _raise_config_error() -> None:
    raise ConfigError(
        "bad", expected="a wave", found="none", hint="add it", file=Path("survey.yaml")
    )


def test_returns_the_value_computed_in_another_process() -> None:
    """The value comes back, and the call ran in a child (another process id)."""
    assert Forked(os.getpid).result() != os.getpid()
    assert Forked(lambda: [1, "two", 3.0]).result() == [1, "two", 3.0]


def test_raises_the_child_error_with_its_fields() -> None:
    """A PerceptionError in the child is raised here as itself, with expected, found and hint."""
    with pytest.raises(ConfigError) as raised:
        Forked(_raise_config_error).result()
    assert (raised.value.expected, raised.value.found, raised.value.hint) == (
        "a wave",
        "none",
        "add it",
    )


def test_an_error_that_cannot_be_rebuilt_comes_back_as_its_traceback() -> None:
    """An error that does not unpickle is a RuntimeError carrying the child's traceback."""
    with pytest.raises(RuntimeError, match=r"_UnrebuildableError: one and two"):
        Forked(_raise_unrebuildable).result()


def test_a_value_that_does_not_pickle_is_a_runtime_error() -> None:
    """A value that cannot be sent back says so instead of hanging."""
    with pytest.raises(RuntimeError, match="could not be sent back"):
        Forked(lambda: lambda: None).result()


def test_a_killed_child_is_a_runtime_error() -> None:
    """A child that dies without an answer (SIGKILL) is an error, not a hang."""
    with pytest.raises(RuntimeError, match="ended without an answer"):
        Forked(lambda: os.kill(os.getpid(), signal.SIGKILL)).result()


def test_a_free_worker_takes_the_next_call_while_an_earlier_one_still_runs() -> None:
    """Values come in order; a call queued behind two workers starts when either ends.

    The first call ends only once the third has run, so this cannot finish unless the third
    started in the worker the second freed.
    """
    release_read, release_write = os.pipe()
    ran_read, ran_write = os.pipe()
    seen: list[bytes] = []

    def relay() -> None:  # writes the first call's release once the third call has run
        if select.select([ran_read], [], [], 60)[0]:
            seen.append(os.read(ran_read, 1))
        os.write(release_write, b"go")

    thread = threading.Thread(target=relay)
    thread.start()
    calls = [
        lambda: os.read(release_read, 2),
        lambda: "second",
        lambda: os.write(ran_write, b"3"),
    ]
    assert list(forked_results(calls, workers=2)) == [b"go", "second", 1]
    thread.join()
    assert seen == [b"3"]
    for fd in (release_read, release_write, ran_read, ran_write):
        os.close(fd)


def test_one_worker_runs_the_calls_here_in_order() -> None:
    """With one worker nothing is forked: the calls run in this process, one after another."""
    assert list(forked_results([os.getpid, lambda: 2], workers=1)) == [os.getpid(), 2]


def test_an_error_is_raised_in_its_turn_after_the_others_end() -> None:
    """The values before a failed call come out; its error is raised when its turn comes."""
    results = forked_results([lambda: 1, _raise_config_error, lambda: 3], workers=3)
    assert next(results) == 1
    with pytest.raises(ConfigError, match="bad"):
        next(results)


def test_every_perception_error_pickles_whole() -> None:
    """Each error class crosses a process boundary with its class, message and every field."""
    for kind in (PerceptionError, *PerceptionError.__subclasses__()):
        error = kind(
            "message", expected="e", found="f", hint="h", file="a.sav", column="c", rows=[3, 1]
        )
        again = pickle.loads(pickle.dumps(error))
        assert type(again) is kind
        assert str(again) == str(error)
        assert again.rows == [3, 1] and again.column == "c" and again.file == "a.sav"


def _blas_threads() -> set[int]:
    """Return the thread counts of the BLAS libraries loaded in this process."""
    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}


def test_one_blas_thread_inside_a_step_and_as_before_after_it() -> None:
    """A decorated step sees every BLAS on one thread; the counts are restored after it."""
    np.linalg.lstsq(np.eye(3), np.ones(3), rcond=None)  # BLAS loaded
    before = _blas_threads()

    @one_blas_thread
    def step(value: int) -> tuple[int, set[int]]:
        return value, _blas_threads()

    assert step(7) == (7, {1})
    assert _blas_threads() == before
