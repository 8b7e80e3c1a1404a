"""specanim's mistakes in IPython and Jupyter: a UserError shows as its lines, one per problem,
as the command line prints them, not as a traceback into specanim's code."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any

from specanim.errors import UserError


def show_user_errors() -> None:
    """In IPython (a notebook's kernel, say), show UserErrors as their lines; elsewhere, or if
    another exception handler is registered there, nothing."""
    ipython = sys.modules.get("IPython")  # only if already imported: a plain script has none
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None or shell.custom_exceptions not in ((), (UserError,)):
        return
    shell.set_custom_exc((UserError,), _show)


def _show(
    shell: Any,
    etype: type[BaseException],
    value: BaseException,
    tb: TracebackType | None,
    tb_offset: int | None = None,
) -> list[str]:
    """IPython's handler: show the error's lines in place of a traceback. IPython discards what
    a handler returns (run_code ignores it), so the handler shows the lines itself, through the
    method a kernel sends its error output with."""
    lines = value.lines() if isinstance(value, UserError) else [str(value)]
    shown = [f"{etype.__name__}: {lines[0]}", *lines[1:]]
    # As IPython's own display of an error, so that %tb and %debug still find it.
    sys.last_type, sys.last_value, sys.last_traceback = etype, value, tb
    shell._showtraceback(etype, value, shown)
    return shown
