"""Every error specanim raises on purpose, in one hierarchy.

SpecanimError
├── UserError                 bad input: the CLI prints one line per problem and exits 2
│   ├── SpecError             a problem at one place of a spec file (file, line, YAML path)
│   ├── SpecErrors            several SpecErrors found in one validation pass
│   ├── ExternalURL           a frame would load a file or a URL that is not inline data
│   ├── InputError            raised by a component about its own entry (a missing file, a bad
│   │                         shape); the core turns it into a SpecError that names the entry
│   └── PluginError           plugins that cannot be loaded together (a duplicate name, a bad hook)
├── ComponentError            a plugin's code failed (an exception in view(), load(), fit(), an
│                             encoder; a panel that cannot be pickled): exit 1, one line naming
│                             the spec entry and the plugin; it survives a pickle round trip
└── RenderError               rendering or encoding failed for a reason that is not the input's
    ├── WorkerDied            a worker process ended before it answered
    └── VegaLiteError         vl-convert cannot draw a frame's Vega-Lite; the core names the
                              panel at fault (a ComponentError) when one is
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


class SpecanimError(Exception):
    """Base of every error specanim raises on purpose."""

    exit_code = 1


class UserError(SpecanimError):
    """The input is wrong; the message alone tells the user what to fix."""

    exit_code = 2

    def lines(self) -> list[str]:
        """The lines to print for this error, one problem per line."""
        return [str(self)]


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return `` (did you mean 'x'?)`` for the closest choice, or an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def shortened(text: str, keep: int = 60) -> str:
    """text as a message shows it: on one line, its control characters escaped, and cut short,
    since a long value would fill the line (and every line naming it)."""
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text[: keep + 1])
    return shown if len(text) <= keep else f"{shown[:keep]}… ({len(text):,} characters)"


def describe_exception(exc: BaseException) -> str:
    """An exception as one line: its type and the first line of its message."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


@dataclass(frozen=True)
class Location:
    """Where a value stands in a spec: the file, its 1-based line and its YAML path."""

    file: str
    line: int | None
    path: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.path}" if self.path else where


class SpecError(UserError):
    """One problem at one place of a spec file."""

    def __init__(self, location: Location, message: str) -> None:
        self.location = location
        self.message = message
        super().__init__(f"{location}: {message}")

    def __reduce__(self) -> tuple[type[SpecError], tuple[Location, str]]:
        # Errors cross from render workers to the parent by pickle, which by default calls the
        # class with ``self.args`` (here the whole line), not with __init__'s arguments.
        return type(self), (self.location, self.message)


class SpecErrors(UserError):
    """All the problems found in one spec, in the order of their lines."""

    def __init__(self, errors: Sequence[SpecError]) -> None:
        self.errors = sorted(errors, key=lambda e: (e.location.line or 0, e.location.path))
        super().__init__("\n".join(str(e) for e in self.errors))

    def __reduce__(self) -> tuple[type[SpecErrors], tuple[list[SpecError]]]:
        return type(self), (self.errors,)

    def lines(self) -> list[str]:
        return [str(e) for e in self.errors]


class InputError(UserError):
    """A component's complaint about its own spec entry.

    ``key`` names the option at fault (``"path"``), so the located message points at its line.
    """

    def __init__(self, message: str, key: str | None = None) -> None:
        self.message = message
        self.key = key
        super().__init__(message)


class ExternalURL(UserError):
    """A frame that would load something other than inline data."""

    def __init__(self, url: str, where: str) -> None:
        self.url = url
        self.where = where
        super().__init__(f"{where}: {self.refusal(url)}")

    @staticmethod
    def refusal(url: str) -> str:
        """What is wrong with url, for messages located elsewhere."""
        return (
            f"refused the URL {url!r}: a frame may use inline data (data: URLs) only, "
            "never files or the network"
        )

    def __reduce__(self) -> tuple[type[ExternalURL], tuple[str, str]]:
        return type(self), (self.url, self.where)


class PluginError(UserError):
    """Plugins that cannot work together, or one that breaks the plugin API."""


class ComponentError(SpecanimError):
    """A component's own code failed: the plugin's fault, not the input's.

    The message names the spec entry and the plugin; ``detail`` keeps the plugin's traceback as
    text (shown with ``SPECANIM_TRACEBACK=1``), so it survives the trip from a worker process.
    """

    def __init__(self, location: Location, message: str, detail: str = "") -> None:
        self.location = location
        self.message = message
        self.detail = detail
        super().__init__(f"{location}: {message}")

    def __reduce__(self) -> tuple[type[ComponentError], tuple[Location, str, str]]:
        return type(self), (self.location, self.message, self.detail)


class RenderError(SpecanimError):
    """Rendering or encoding failed for a reason that is not the input's fault."""


class WorkerDied(RenderError):
    """The worker process running a job ended (killed, out of memory) before it answered.
    how says how it ended, as `` (killed by SIGKILL, ...)``, or is empty when that is not
    known; what names the job (its function)."""

    def __init__(self, how: str, what: str) -> None:
        super().__init__(f"a worker died{how} while running {what}")
        self.how, self.what = how, what

    def __reduce__(self) -> tuple[type[WorkerDied], tuple[str, str]]:
        return type(self), (self.how, self.what)


class VegaLiteError(RenderError):
    """vl-convert could not draw a spec: what it said, as one line. The engine turns it into a
    ComponentError naming the panel whose view alone cannot be drawn either, if there is one."""


def message_lines(exc: SpecanimError) -> list[str]:
    """The lines that tell a person about exc, as the command prints them: a user's mistake as
    its own lines, a plugin's fault as its located line, anything else after ``error:``; the
    last line followed by the error's notes (what a failed render kept)."""
    if isinstance(exc, UserError):
        lines = exc.lines()
    elif isinstance(exc, ComponentError):
        lines = [str(exc)]
    else:
        lines = [f"error: {exc}"]
    notes = getattr(exc, "__notes__", None)
    return [*lines[:-1], f"{lines[-1]}; {'; '.join(notes)}"] if notes else lines
