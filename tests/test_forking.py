"""perception.forking: a call in a forked process gives back its value or its error."""

from __future__ import annotations

import os
import pickle
import signal
from pathlib import Path

import pytest

from perception.errors import ConfigError, PerceptionError
from perception.forking import CAN_FORK, Forked, first_done

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


def test_calls_run_side_by_side_and_first_done_returns_the_finished_one() -> None:
    """A call that waits for this process does not hold back one that has ended."""
    read, write = os.pipe()
    waiting = Forked(lambda: os.read(read, 1))  # ends only once this process writes
    fast = Forked(lambda: "fast")
    assert first_done([waiting, fast]) == [fast]
    assert fast.result() == "fast"
    os.write(write, b"x")
    assert waiting.result() == b"x"
    assert fast.result() == "fast"  # asked again: the same answer
    os.close(read)
    os.close(write)


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
