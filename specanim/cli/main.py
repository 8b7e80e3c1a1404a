"""The ``specanim`` command: parses arguments, calls the library, reports the outcome."""

from __future__ import annotations

import gc
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn

import click

from specanim.components import KINDS, Kind
from specanim.engine.progress import one_line_warnings, reporter
from specanim.errors import (
    ComponentError,
    SpecanimError,
    UserError,
    did_you_mean,
    message_lines,
)
from specanim.plugins import Registered, Registry, UnknownComponent, default_registry
from specanim.spec.validate import load_plan, spec_registry
from specanim.store.output import atomic_path, check_target, noting_replaced
from specanim.store.trajectories import CacheMode
from specanim.versions import __version__

TRACEBACK_VARIABLE = "SPECANIM_TRACEBACK"  # =1: an error in a plugin's code shows its traceback

if TYPE_CHECKING:
    from specanim.store.cache import Entry
    from specanim.store.manifest import Outcome


def main() -> None:
    """Run the CLI; expected errors print one line each, never a traceback."""
    # multiprocessing's resource tracker, a process started with this interpreter's -W options,
    # removes the semaphores that workers ended by a signal leave behind and warns about each
    # one (a semaphore already gone included): after a Ctrl-C that is noise, not a leak.
    sys.warnoptions.append("ignore:resource_tracker:UserWarning")
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
    except SpecanimError as exc:
        # A plugin's fault shows its traceback only on request.
        if isinstance(exc, ComponentError) and exc.detail:
            if os.environ.get(TRACEBACK_VARIABLE, "0") not in ("", "0"):
                click.echo(exc.detail.rstrip(), err=True)
        _fail(message_lines(exc), exc.exit_code)
    finally:
        # The process ends next, and the interpreter's last collection walks every object
        # first: after umap-learn (numba, llvmlite) that is a long walk that frees nothing that
        # matters at exit. Frozen objects are left out of it.
        gc.freeze()


def run() -> None:
    """The ``specanim`` program: main(), then an exit that no late signal turns into a kill."""
    try:
        main()
    except Stopped:  # it came after the command had said how it ended: it ends as it said
        pass
    finally:
        # Python restores the default handlers of SIGINT and SIGTERM as it tears itself down,
        # so one arriving then would kill a process whose run is complete (exit -15, no line):
        # from here on they are ignored, and the exit code is the command's.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)


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


class _Lower(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {record.getMessage()}"


def _one_line_messages() -> None:
    """Warnings and log records print as ``warning: ...`` lines, without source lines."""
    handler = logging.StreamHandler()
    handler.setFormatter(_Lower())
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    one_line_warnings()


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
@click.option(
    "--data",
    "with_data",
    is_flag=True,
    help="Also load each spec's data (no fit) and check it against the spec: its columns, "
    "labels and values, and a colour for each class.",
)
def validate(specs: tuple[Path, ...], overrides: tuple[str, ...], with_data: bool) -> None:
    """Check spec files; print every problem, one per line."""
    problems: list[str] = []
    for spec in specs:
        try:
            plan = load_plan(spec, default_registry(), overrides=overrides)
            if with_data:
                from specanim import engine

                engine.check_data(plan)
        except UserError as exc:
            problems += exc.lines()
    if problems:
        _fail(problems, UserError.exit_code)
    for spec in specs:
        click.echo(f"{spec}: valid")


@cli.command()
@click.argument("specs", nargs=-1, required=True, metavar="SPEC...")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Output file (its ending picks the format); for several renders a template such as "
    "'out/{spec}.{n_neighbors}.mp4'.",
)
@click.option(
    "--frames", "frames", metavar="A:B", help="Render only frames A to B-1 (Python slice)."
)
@click.option(
    "--executor",
    metavar="NAME",
    help="Where fits and frames run: local (worker processes) or dask.  [default: the spec's "
    "executor entry, else local]",
)
@click.option(
    "--scheduler",
    metavar="ADDR",
    help="The Dask scheduler to run on (tcp://host:8786); implies --executor dask, which "
    "without it starts a cluster on this machine.",
)
@click.option(
    "-w",
    "--workers",
    type=click.IntRange(min=1),
    help="Processes rendering frames at once (dask without --scheduler: the cluster's "
    "workers).  [default: all cores]",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Keep finished frames beside the output while rendering, and reuse the ones an "
    "interrupted --resume render kept.",
)
@click.option(
    "--check",
    is_flag=True,
    help="Render again without writing, and compare every frame with the output's manifest.",
)
@set_option
@click.option(
    "--sweep",
    "sweeps",
    metavar="PATH=V1,V2",
    multiple=True,
    help="Render once per value (YAML values, separated by commas), e.g. "
    "reducer.n_neighbors=5,15,50; repeatable: every combination.",
)
@cache_option
@quiet_option
@verbose_option
def render(
    specs: tuple[str, ...],
    output: Path | None,
    frames: str | None,
    executor: str | None,
    scheduler: str | None,
    workers: int | None,
    resume: bool,
    check: bool,
    overrides: tuple[str, ...],
    sweeps: tuple[str, ...],
    cache: CacheMode,
    quiet: bool,
) -> None:
    """Render SPEC to an animation, with a manifest beside it (OUT.manifest.json).

    Several specs, globs ('specs/*.yaml') or --sweep render each job in turn, fitting their
    trajectories in parallel first, and end with a summary table; a failed job does not stop
    the others (exit 2 if only bad input failed, 1 if a render failed)."""
    from specanim.api.sweeps import is_pattern

    name = executor or ("dask" if scheduler is not None else None)
    options = {"workers": workers, "scheduler": scheduler}
    if sweeps or len(specs) > 1 or any(is_pattern(s) for s in specs):
        if check:
            raise UserError("--check takes one spec: it compares one output with its manifest")
        _render_batch(specs, output, frames, name, options, resume, overrides, sweeps, cache, quiet)
    else:
        spec = Path(specs[0])
        _render_one(spec, output, frames, name, options, resume, check, overrides, cache, quiet)


def _render_batch(
    specs: tuple[str, ...],
    output: Path | None,
    frames: str | None,
    executor: str | None,
    options: dict[str, Any],
    resume: bool,
    overrides: tuple[str, ...],
    sweeps: tuple[str, ...],
    cache: CacheMode,
    quiet: bool,
) -> None:
    from specanim.api import batch
    from specanim.api.sweeps import expand_specs, make_jobs, parse_sweep

    jobs = make_jobs(expand_specs(specs), [parse_sweep(s) for s in sweeps], overrides)
    result = batch.run(
        jobs,
        output=output,
        frames=_slice(frames),
        executor=executor,
        executor_options=options,
        cache=cache,
        resume=resume,
        report=reporter(quiet),
    )
    for line in result.problems() if quiet else result.table():
        click.echo(line, err=True)
    sys.exit(result.exit_code)


def _render_one(
    spec: Path,
    output: Path | None,
    frames: str | None,
    executor: str | None,
    options: dict[str, Any],
    resume: bool,
    check: bool,
    overrides: tuple[str, ...],
    cache: CacheMode,
    quiet: bool,
) -> None:
    from specanim import engine, explore
    from specanim.engine import executors
    from specanim.engine.rendering import check_output
    from specanim.store import manifest

    plan = load_plan(spec, default_registry(), output, overrides)
    check_output(plan)
    if explore.is_page(plan):
        explore.check_request(plan, frames is not None, resume, check)
        with noting_replaced(plan.output):
            prepared = engine.prepare(plan, cache=cache, report=reporter(quiet))
            result = explore.write(prepared)
        if not quiet:
            click.echo(f"wrote {result.path}: {result.frames} frames to explore", err=True)
        return
    if check:
        if frames is not None:
            raise UserError("--frames cannot go with --check: the manifest says which frames")
        recorded = manifest.checkable(plan)  # before the long work
    runner = executors.choose(plan, default_registry(), executor, options)
    report = reporter(quiet)
    started = time.perf_counter()
    # Entered before the fit: the workers start and warm up while the reducer fits. A signal
    # that comes once the output is in place says so.
    with noting_replaced(plan.output):
        with runner:
            prepared = engine.prepare(plan, cache=cache, report=report)
            if check:
                _report(engine.check(prepared, recorded, executor=runner, report=report))
            result = engine.render(
                prepared, frames=_slice(frames), executor=runner, report=report, resume=resume
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
    from specanim.engine.rendering import output_kind

    plan = load_plan(spec, default_registry(), overrides=overrides)
    if not vega_lite and output.suffix.lower() != ".png":  # PNG bytes whatever the name says
        raise UserError(f"{output}: still writes a PNG image: give it a .png ending")
    check_target(output, keep=output_kind(plan)[1])
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
@spec_argument
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port to listen on; 0 picks a free one (printed).",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; only loopback unless you give another.",
)
@set_option
@cache_option
@verbose_option
def preview(spec: Path, port: int, host: str, overrides: tuple[str, ...], cache: CacheMode) -> None:
    """Serve a page that shows SPEC's frames while you write it, updated on every save."""
    from specanim import preview

    try:
        preview.serve(spec, host=host, port=port, overrides=overrides, cache=cache, said=_say)
    except Stopped as exc:
        exc.add_note("the preview ended")
        raise


def _say(line: str) -> None:
    click.echo(line, err=True)


spec_option = click.option(
    "--spec",
    "spec",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also load the local plugins this spec lists.",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def _registry(spec: Path | None) -> Registry:
    return default_registry() if spec is None else spec_registry(spec, default_registry())


@cli.command()
@click.argument("output", type=click.Path(path_type=Path))
def verify(output: Path) -> None:
    """Check that OUTPUT (a file or a folder of frames) is what its manifest describes."""
    from specanim.store import manifest

    _report(manifest.verify(output))


def _report(outcome: Outcome) -> NoReturn:
    for line in outcome.lines:
        click.echo(line, err=outcome.code != 0)
    sys.exit(outcome.code)


@cli.group()
def cache() -> None:
    """List, clear and prune the stored trajectories and the arrays of scenes made in Python
    (limit: $SPECANIM_CACHE_MAX_SIZE, 5GB)."""


@cache.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print every entry's details as JSON.")
def cache_list(as_json: bool) -> None:
    """Every entry: its kind (a trajectory, or the arrays of a scene made in Python), key,
    reducer, dataset (arrays: their role and shapes), size, age and last use."""
    from specanim.store import cache as store

    found = store.entries()
    if as_json:
        click.echo(json.dumps([e.as_json() for e in found], indent=2))
        return
    if not found:
        click.echo(f"the cache is empty ({store.root()})")
        return
    now = time.time()
    rows = [("kind", "key", "reducer", "dataset", "size", "made", "last used")]
    for e in found:
        if e.created is not None:
            made = f"{store.age_text(now - e.created)} ago"
        else:  # arrays do not record it; a trajectory whose header is damaged cannot say
            made = "-" if e.kind == "arrays" else "?"
        dataset = f"(damaged: {e.damaged})" if e.damaged else e.dataset()
        used = f"{store.age_text(now - e.used)} ago"
        size = store.size_text(e.size)
        rows.append((e.kind, e.key[:12], e.reducer, dataset, size, made, used))
    _table(rows)
    limit = store.max_size()
    total = store.size_text(sum(e.size for e in found))
    shown = "no limit" if limit is None else f"limit {store.size_text(limit)}"
    click.echo(f"{len(found)} entries, {total} in {store.root()} ({shown})")


@cache.command("clear")
@click.option("--reducer", metavar="NAME", help="Only the trajectories this reducer made.")
@click.option(
    "--kind", type=click.Choice(["trajectory", "arrays"]), help="Only the entries of this kind."
)
def cache_clear(reducer: str | None, kind: Literal["trajectory", "arrays"] | None) -> None:
    """Delete every entry (or one kind's, or one reducer's trajectories)."""
    from specanim.store import cache as store

    _removed(store.clear(reducer, kind=kind))


@cache.command("prune")
@click.option("--older-than", metavar="AGE", help="Delete entries unused for AGE (30d, 12h, 2w).")
@click.option(
    "--max-size",
    metavar="SIZE",
    help="Then delete the least recently used until the rest fit in SIZE (2GB, 500MB). "
    "[default without --older-than: $SPECANIM_CACHE_MAX_SIZE or 5GB]",
)
def cache_prune(older_than: str | None, max_size: str | None) -> None:
    """Delete entries not used for a while, or the least recently used beyond a size."""
    from specanim.store import cache as store

    age = None if older_than is None else store.parse_age(older_than, "--older-than")
    if max_size is not None:
        size: int | None = store.parse_size(max_size, "--max-size")
    else:
        size = store.max_size() if age is None else None
    _removed(store.prune(older_than=age, max_size=size))


def _removed(entries: list[Entry]) -> None:
    from specanim.store import cache as store

    total = store.size_text(sum(e.size for e in entries))
    click.echo(f"removed {len(entries)} entries, {total}")


@cli.command()
@json_option
@spec_option
def plugins(as_json: bool, spec: Path | None) -> None:
    """List every registered component with its kind and plugin, and broken plugins."""
    registry = _registry(spec)
    records: list[dict[str, str | None]] = []
    for reg in registry:
        plugin = registry.plugin(reg.plugin)
        try:
            registry.lookup(reg.kind, reg.name)
            clash = None
        except UnknownComponent as exc:  # another plugin registers the name too
            clash = str(exc)
        records.append(
            {
                "kind": reg.kind,
                "name": reg.name,
                "plugin": reg.plugin,
                "distribution": plugin.distribution if plugin else None,
                "version": plugin.version if plugin else None,
                "summary": reg.cls.summary(),
                "status": "clash" if clash else "ok",
                "error": clash,
            }
        )
    for plugin in registry.plugins:
        if plugin.status != "ok":
            records.append(
                {
                    "kind": None,
                    "name": None,
                    "plugin": plugin.name,
                    "distribution": plugin.distribution,
                    "version": plugin.version,
                    "summary": "",
                    "status": plugin.status,
                    "error": plugin.error or None,
                }
            )
    if as_json:
        click.echo(json.dumps(records, indent=2))
        return
    rows = [
        (r["kind"] or str(r["status"]), r["name"] or "-", str(r["plugin"]), _summary(r))
        for r in records
    ]
    _table(rows)


def _summary(record: dict[str, str | None]) -> str:
    if record["status"] == "ok":
        return str(record["summary"])
    dist = " ".join(str(record[k]) for k in ("distribution", "version") if record[k])
    text = record["error"] or "skipped by $SPECANIM_DISABLE_PLUGINS"
    return f"{text} ({dist})" if dist else text


def _table(rows: Sequence[Sequence[str]]) -> None:
    """Aligned columns, the last one left ragged."""
    from specanim.api.tables import aligned

    for line in aligned(rows):
        click.echo(line)


@cli.command()
@click.argument("words", nargs=-1, required=True, metavar="[KIND] NAME")
@json_option
@spec_option
def describe(words: tuple[str, ...], as_json: bool, spec: Path | None) -> None:
    """Print a component's options: name, type, default, description."""
    from specanim.cli.describe import option_rows

    reg = _find(_registry(spec), words)
    rows = option_rows(reg.cls.Options)
    if as_json:
        click.echo(json.dumps([row.as_json() for row in rows], indent=2))
        return
    click.echo(f"{reg.kind} {reg.name} (plugin '{reg.plugin}'): {reg.cls.summary()}".rstrip())
    if not rows:
        click.echo("no options")
        return
    _table(
        [("option", "type", "default", "description")]
        + [(r.name, r.type, r.default_text(), r.description) for r in rows]
    )


def _find(registry: Registry, words: tuple[str, ...]) -> Registered:
    """The component ``NAME`` or ``KIND NAME`` names; UserError if none or several."""
    if len(words) > 2 or (len(words) == 2 and words[0] not in KINDS):
        raise UserError(f"describe takes NAME or KIND NAME (KIND: {', '.join(KINDS)})")
    name = words[-1]
    if len(words) == 2:
        kinds: list[Kind] = [words[0]]  # type: ignore[list-item]  # checked against KINDS above
    else:
        kinds = [kind for kind in KINDS if name in registry.names(kind)]
    if len(kinds) > 1:
        which = " and ".join(f"a {kind}" for kind in kinds)
        raise UserError(f"'{name}' is {which}: say which, e.g. specanim describe {kinds[0]} {name}")
    if not kinds:
        names = sorted({r.name for r in registry})
        raise UserError(f"unknown component '{name}'{did_you_mean(name, names)}")
    try:
        return registry.lookup(kinds[0], name)
    except UnknownComponent as exc:  # none, or two plugins register it
        raise UserError(str(exc)) from None


@cli.command()
@spec_option
def schema(spec: Path | None) -> None:
    """Print the JSON Schema of a spec, with the options of every installed plugin."""
    from specanim.spec.schema import json_schema

    click.echo(json.dumps(json_schema(_registry(spec)), indent=2, ensure_ascii=False))


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


@cli.command("new-plugin")
@click.argument("name")
@click.option(
    "--dir",
    "parent",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("."),
    show_default=True,
    help="Folder to write the package's folder, specanim-NAME, in.",
)
def new_plugin(name: str, parent: Path) -> None:
    """Write a new plugin package whose panel is called NAME: the panel and its options, a
    test with specanim.testing, an example spec, py.typed, pyproject.toml and a README."""
    from specanim.api.new_plugin import new_plugin as write

    folder = write(name, parent)
    click.echo(f"wrote {folder}: see its README.md", err=True)


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
