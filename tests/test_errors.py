"""Every error class survives a pickle round trip: errors raised in render workers reach the
parent through pickle, and one that cannot be rebuilt there kills the pool's result thread."""

from __future__ import annotations

import inspect
import pickle
from typing import Any

import pytest

from specanim import errors
from specanim.errors import Location, SpecError

HERE = Location("scene.yaml", 3, "panels[0].type")

# One sample value per constructor parameter name used in errors.py. A new error class whose
# __init__ takes a parameter not listed here fails the test until a sample is added.
SAMPLES: dict[str, Any] = {
    "location": HERE,
    "message": "unknown panel 'scater'",
    "errors": [SpecError(HERE, "one"), SpecError(Location("scene.yaml", 1, "title"), "two")],
    "key": "path",
    "url": "file:///etc/passwd",
    "where": "frame spec data.url",
    "detail": 'Traceback (most recent call last):\n  File "panel.py", line 3\nZeroDivisionError',
    "how": " (killed by SIGKILL, as the system does when memory runs out)",
    "what": "fit_task",
}


def error_classes() -> list[type[BaseException]]:
    return [
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, BaseException) and cls.__module__ == errors.__name__
    ]


def sample(cls: type[BaseException]) -> BaseException:
    """An instance of cls built from SAMPLES by its __init__'s parameter names."""
    own = [b for b in cls.__mro__ if b.__module__ == errors.__name__ and "__init__" in vars(b)]
    if not own:  # Exception's own constructor
        return cls("something went wrong")
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    missing = [p.name for p in params if p.name not in SAMPLES]
    assert not missing, f"add sample values for {cls.__name__}'s parameters {missing}"
    return cls(**{p.name: SAMPLES[p.name] for p in params})


def test_the_module_has_the_classes_this_test_knows() -> None:
    names = {cls.__name__ for cls in error_classes()}
    assert {"SpecError", "SpecErrors", "InputError", "UserError", "RenderError"} <= names


@pytest.mark.parametrize("cls", error_classes(), ids=lambda c: c.__name__)
def test_every_error_survives_a_pickle_round_trip(cls: type[BaseException]) -> None:
    error = sample(cls)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is cls
    assert str(copy) == str(error)
    assert copy.args == error.args
    if isinstance(error, errors.UserError):
        assert copy.lines() == error.lines()  # type: ignore[attr-defined]
    for name, value in vars(error).items():  # location, message, key, errors ...
        got = getattr(copy, name)
        if isinstance(value, list):
            assert [str(v) for v in got] == [str(v) for v in value]
        else:
            assert got == value
