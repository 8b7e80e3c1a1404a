"""Progress for long work: a live display on a terminal, silence in logs."""

from __future__ import annotations

import html
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class Task(Protocol):
    """A running stage: call it with the number of units done so far."""

    def __call__(self, done: int, total: int | None = None) -> None: ...


class Reporter(Protocol):
    """Shows stages of work (loading, fitting, rendering) as they advance."""

    def stage(
        self, description: str, total: int | None, unit: str = ""
    ) -> AbstractContextManager[Task]: ...

    def info(self, message: str) -> None: ...


class Quiet:
    """Shows nothing."""

    @contextmanager
    def stage(self, description: str, total: int | None, unit: str = "") -> Iterator[Task]:
        yield lambda done, total=None: None

    def info(self, message: str) -> None:
        pass


class Live:
    """A rich progress display: done / total, rate and time left for every stage."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)

    @contextmanager
    def stage(self, description: str, total: int | None, unit: str = "") -> Iterator[Task]:
        columns = [
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("elapsed,"),
            TimeRemainingColumn(),
            TextColumn("left"),
        ]
        with Progress(*columns, console=self.console, transient=False) as progress:
            task_id = progress.add_task(description, total=total, rate="")

            def update(done: int, total: int | None = None) -> None:
                task = progress.tasks[0]
                rate = f"{task.speed:.1f} {unit}/s" if unit and task.speed else ""
                if total is not None:
                    progress.update(task_id, total=total)
                progress.update(task_id, completed=done, rate=rate)

            try:
                yield update
            except BaseException as exc:
                progress.update(task_id, description=f"{description}: {ended(exc)}")
                raise
            else:
                task = progress.tasks[0]
                if task.total is None:  # a stage of unknown length, now done: a full bar
                    progress.update(
                        task_id, total=max(task.completed, 1), completed=max(task.completed, 1)
                    )

    def info(self, message: str) -> None:
        self.console.print(message, highlight=False)


class Notebook:
    """An HTML progress bar in a Jupyter notebook's output, updated in place (no escape
    codes): done / total, rate and time left for every stage."""

    @contextmanager
    def stage(self, description: str, total: int | None, unit: str = "") -> Iterator[Task]:
        from IPython.display import HTML, display

        handle = display(HTML(self._html(description, 0, total, unit, 0.0)), display_id=True)
        started = time.monotonic()
        last = [0.0]
        size = [total]
        count = [0]

        def show(ending: str = "") -> None:
            seconds = time.monotonic() - started
            shown = self._html(description, count[0], size[0], unit, seconds, ending)
            if handle is not None:
                handle.update(HTML(shown))

        def update(done: int, total: int | None = None) -> None:
            if total is not None:
                size[0] = total
            count[0] = done
            now = time.monotonic()
            if now - last[0] < 0.2 and done != size[0]:  # a notebook redraws slowly
                return
            last[0] = now
            show()

        try:
            yield update
        except BaseException as exc:
            show(ended(exc))
            raise
        if size[0] is None:  # a stage of unknown length, now done: a full bar
            size[0] = count[0] = max(count[0], 1)
        show()

    @staticmethod
    def _html(
        description: str,
        done: int,
        total: int | None,
        unit: str,
        seconds: float,
        ending: str = "",
    ) -> str:
        rate = done / seconds if seconds > 0 else 0.0
        parts = [f"{done}" + (f"/{total}" if total else "")]
        if unit and rate:
            parts.append(f"{rate:.1f} {unit}/s")
        if total and rate and done < total and not ending:
            parts.append(f"{(total - done) / rate:.0f} s left")
        if ending:
            parts.append(f"<b>{ending}</b>")
        bar = f'<progress value="{done}" max="{total or 1}" style="width: 40%"></progress>'
        return f"<div><b>{html.escape(description)}</b> {bar} {', '.join(parts)}</div>"

    def info(self, message: str) -> None:
        print(message)


def ended(exc: BaseException) -> str:
    """How a stage that exc stopped ended, for its progress line."""
    return "interrupted" if isinstance(exc, KeyboardInterrupt) else "stopped by an error"


def in_notebook() -> bool:
    """Whether this process is a Jupyter kernel (IPython with a kernel attached)."""
    if "IPython" not in sys.modules:
        return False
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def reporter(quiet: bool = False) -> Reporter:
    """Progress in a notebook's output or live on a terminal, unless quiet; in logs none."""
    if quiet:
        return Quiet()
    if in_notebook():
        return Notebook()
    if not sys.stderr.isatty():
        return Quiet()
    return Live()


def one_line_warnings() -> None:
    """Show every warning of this process as one ``warning: ...`` line on standard error,
    without Python's second line (the source line that warned, in a library's code)."""

    def show(message: Warning | str, *_: object, **__: object) -> None:
        print(f"warning: {message}", file=sys.stderr, flush=True)

    warnings.showwarning = show
