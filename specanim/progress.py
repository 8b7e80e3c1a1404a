"""Progress for long work: a live display on a terminal, silence in logs."""

from __future__ import annotations

import sys
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

            yield update

    def info(self, message: str) -> None:
        self.console.print(message, highlight=False)


def reporter(quiet: bool = False) -> Reporter:
    """Live progress when stderr is a terminal and not quiet; otherwise none."""
    if quiet or not sys.stderr.isatty():
        return Quiet()
    return Live()
