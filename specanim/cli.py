"""The ``specanim`` command: parses arguments, calls the library, reports the outcome."""

from __future__ import annotations

import json
import logging
import signal
import sys
import time
import warnings
from pathlib import Path
from typing import NoReturn

import click

from specanim import __version__
from specanim.errors import SpecanimError, UserError
from specanim.output import atomic_path, check_target
from specanim.plugins import default_registry
from specanim.progress import reporter
from specanim.spec.validate import load_plan
from specanim.trajectories import CacheMode


def main() -> None:
    """Run the CLI; expected errors print one line each, never a traceback."""
    _one_line_messages()
    _signals_unwind()
    try:
        cli.main(standalone_mode=False)
    except Stopped as exc:
        notes = getattr(exc, "__notes__", None) or ["no output was written"]
        _fail([f"interrupted: {'; '.join(notes)}"], 128 + exc.signum)
    except (click.exceptions.Abort, KeyboardInterrupt):  # click turns Ctrl-C into Abort
        _fail(["interrupted: no output was written"], 128 + signal.SIGINT)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except UserError as exc:
        _fail(_noted(exc.lines(), exc), exc.exit_code)
    except SpecanimError as exc:
        _fail(_noted([f"error: {exc}"], exc), exc.exit_code)


class Stopped(BaseException):
    """SIGINT or SIGTERM arrived: unwind (every finally block runs, no `except Exception`
    stops it; click, which would print a blank line for a KeyboardInterrupt, lets it pass),
    then exit 128 + the signal's number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _signals_unwind() -> None:
    """SIGINT and SIGTERM raise Stopped in the main thread; a second one while the first
    unwinds is ignored, so the clean-up (ending workers, removing temporary files) finishes."""
    stopping: list[int] = []

    def stop(signum: int, _: object) -> None:
        if not stopping:
            stopping.append(signum)
            raise Stopped(signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop)


def _noted(lines: list[str], exc: BaseException) -> list[str]:
    """lines, the last one followed by the exception's notes (what a failed render kept)."""
    notes = getattr(exc, "__notes__", None)
    return [*lines[:-1], f"{lines[-1]}; {'; '.join(notes)}"] if notes else lines


class _Lower(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {record.getMessage()}"


def _one_line_messages() -> None:
    """Warnings and log records print as ``warning: ...`` lines, without source lines."""
    handler = logging.StreamHandler()
    handler.setFormatter(_Lower())
    logging.basicConfig(level=logging.WARNING, handlers=[handler])

    def show(message: Warning | str, *_: object, **__: object) -> None:
        click.echo(f"warning: {message}", err=True)

    warnings.showwarning = show


def _fail(lines: list[str], code: int) -> NoReturn:
    for line in lines:
        click.echo(line, err=True)
    sys.exit(code)


spec_argument = click.argument("spec", type=click.Path(path_type=Path, dir_okay=False))
cache_option = click.option(
    "--cache",
    type=click.Choice(["use", "refresh", "off"]),
    default="use",
    show_default=True,
    help="Reuse a stored trajectory, recompute and store it, or neither read nor write.",
)
quiet_option = click.option("-q", "--quiet", is_flag=True, help="Show no progress.")
set_option = click.option(
    "--set",
    "overrides",
    metavar="PATH=VALUE",
    multiple=True,
    help="Change one value of the spec (a YAML value), e.g. reducer.random_state=7 or "
    "panels.scatter.point_size=3; repeatable.",
)


def _verbose(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    if value:  # specanim's own loggers and its built-in plugins', not every library's
        for name in ("specanim", "specanim_datasets", "specanim_reducers", "specanim_panels"):
            logging.getLogger(name).setLevel(logging.INFO)
    return value


verbose_option = click.option(
    "-v",
    "--verbose",
    is_flag=True,
    expose_value=False,
    callback=_verbose,
    help="Say what is reused and what is computed.",
)


@click.group()
@click.version_option(__version__, prog_name="specanim")
def cli() -> None:
    """Animate how a dimensionality reduction learns its layout, from a YAML scene spec."""


@cli.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@set_option
def validate(specs: tuple[Path, ...], overrides: tuple[str, ...]) -> None:
    """Check spec files; print every problem, one per line."""
    problems: list[str] = []
    for spec in specs:
        try:
            load_plan(spec, default_registry(), overrides=overrides)
        except UserError as exc:
            problems += exc.lines()
    if problems:
        _fail(problems, UserError.exit_code)
    for spec in specs:
        click.echo(f"{spec}: valid")


@cli.command()
@spec_argument
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Output file (its ending picks the format).",
)
@click.option(
    "--frames", "frames", metavar="A:B", help="Render only frames A to B-1 (Python slice)."
)
@click.option(
    "-w",
    "--workers",
    type=click.IntRange(min=1),
    help="Processes rendering frames at once.  [default: all cores]",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Keep finished frames beside the output while rendering, and reuse the ones an "
    "interrupted --resume render kept.",
)
@set_option
@cache_option
@quiet_option
@verbose_option
def render(
    spec: Path,
    output: Path | None,
    frames: str | None,
    workers: int | None,
    resume: bool,
    overrides: tuple[str, ...],
    cache: CacheMode,
    quiet: bool,
) -> None:
    """Render SPEC to an animation."""
    from specanim import engine

    plan = load_plan(spec, default_registry(), output, overrides)
    check_target(plan.output)
    report = reporter(quiet)
    started = time.perf_counter()
    prepared = engine.prepare(plan, cache=cache, report=report)
    from specanim.workers import default_workers

    result = engine.render(
        prepared,
        frames=_slice(frames),
        workers=workers or default_workers(),
        report=report,
        resume=resume,
    )
    seconds = time.perf_counter() - started
    if not quiet:
        click.echo(
            f"wrote {result.path}: {result.frames} frames, {result.width}x{result.height}, "
            f"{result.fps:g} fps, in {seconds:.1f} s",
            err=True,
        )


@cli.command()
@spec_argument
@click.option(
    "--frame",
    "frame",
    type=int,
    default=-1,
    show_default=True,
    help="Frame number; -1 is the last.",
)
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), required=True, help="PNG file to write."
)
@click.option(
    "--vega-lite",
    "vega_lite",
    is_flag=True,
    help="Write the frame's complete Vega-Lite spec (JSON, raster layers embedded) instead.",
)
@set_option
@cache_option
@quiet_option
@verbose_option
def still(
    spec: Path,
    frame: int,
    output: Path,
    vega_lite: bool,
    overrides: tuple[str, ...],
    cache: CacheMode,
    quiet: bool,
) -> None:
    """Render one frame of SPEC to a PNG, for a quick look (or its Vega-Lite, to look into)."""
    from PIL import Image

    from specanim import engine

    plan = load_plan(spec, default_registry(), overrides=overrides)
    check_target(output)
    prepared = engine.prepare(plan, cache=cache, report=reporter(quiet))
    if not -prepared.frames <= frame < prepared.frames:
        last = prepared.frames - 1
        raise UserError(f"--frame {frame}: the animation has {last + 1} frames (0 to {last})")
    if vega_lite:
        document = engine.frame_spec(prepared, frame)
        with atomic_path(output) as tmp:
            tmp.write_text(json.dumps(document, separators=(",", ":")), encoding="utf-8")
    else:
        with atomic_path(output) as tmp:
            Image.fromarray(engine.still(prepared, frame)).save(tmp, format="PNG")
    if not quiet:
        click.echo(f"wrote {output}", err=True)


@cli.command()
def plugins() -> None:
    """List every registered component with its kind and plugin."""
    rows = [(r.kind, r.name, r.plugin, r.cls.summary()) for r in default_registry()]
    widths = [max(len(row[i]) for row in rows) for i in range(3)] if rows else [0, 0, 0]
    for kind, name, plugin, summary in rows:
        click.echo(
            f"{kind:<{widths[0]}}  {name:<{widths[1]}}  {plugin:<{widths[2]}}  {summary}".rstrip()
        )


@cli.command()
def schema() -> None:
    """Print the JSON Schema of a spec, with the options of every installed plugin."""
    from specanim.spec.schema import json_schema

    click.echo(json.dumps(json_schema(default_registry()), indent=2, ensure_ascii=False))


@cli.command()
@spec_argument
@click.option(
    "-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="File to write."
)
@click.option("--in-place", is_flag=True, help="Rewrite SPEC itself.")
def migrate(spec: Path, output: Path | None, in_place: bool) -> None:
    """Rewrite SPEC in the current format, keeping its comments (to stdout by default)."""
    from specanim.spec.migrations import current_version, migrate_file

    if output is not None and in_place:
        raise UserError("migrate: -o and --in-place do not go together")
    text, applied = migrate_file(spec)
    for migration in applied:
        click.echo(
            f"{spec}: format {migration.version} -> {migration.version + 1}: "
            f"{migration.description}",
            err=True,
        )
    if not applied:
        click.echo(f"{spec}: already in format version {current_version()}", err=True)
    target = spec if in_place else output
    if target is None:
        click.echo(text, nl=False)
    elif applied or target != spec:
        with atomic_path(target) as tmp:
            tmp.write_text(text, encoding="utf-8")


def _slice(text: str | None) -> slice | None:
    if text is None:
        return None
    try:
        parts = [int(p) if p.strip() else None for p in text.split(":")]
    except ValueError:
        parts = []
    if len(parts) != 2:
        raise UserError(f"--frames {text}: expected A:B, e.g. 0:50 or -10:")
    return slice(parts[0], parts[1])
