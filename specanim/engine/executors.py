"""Choosing the executor a render runs on: the command line's choice, else the spec's
``executor:`` entry, else ``local``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from specanim.components import Executor
from specanim.errors import UserError, did_you_mean
from specanim.plugins import Registry, UnknownComponent
from specanim.spec.validate import Plan, error_message

DEFAULT_EXECUTOR = "local"


def choose(
    plan: Plan | None,
    registry: Registry,
    name: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> Executor[Any]:
    """The executor named (``--executor``), else the plan's, else ``local``, not started.

    options are the command line's (``{"workers": 2, "scheduler": None}``; None means not
    given): they win over the spec entry's options when it names the same executor. An unknown
    name or an option the executor does not take is a UserError naming the option.
    """
    entry = plan.executor if plan is not None else None
    chosen = name or (entry.cls.name if entry is not None else DEFAULT_EXECUTOR)
    try:
        cls = registry.executor(chosen)
    except UnknownComponent as exc:
        raise UserError(f"--executor {chosen}: {exc}") from None
    given = {key: value for key, value in (options or {}).items() if value is not None}
    for key in given:
        if key not in cls.Options.model_fields:
            fields = list(cls.Options.model_fields)
            raise UserError(
                f"--{key}: executor '{chosen}' takes no {key}{did_you_mean(key, fields)}"
            )
    base = {}
    if entry is not None and entry.cls is cls:
        base = entry.options.model_dump(exclude_unset=True)
    try:
        valid = cls.Options.model_validate({**base, **given})
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in error["loc"])
        raise UserError(f"--{where}: {error_message(error)} (executor '{chosen}')") from None
    return cls(valid)
