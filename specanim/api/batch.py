"""Many renders in one call: several specs, times every combination of ``--sweep`` values.

A job is one spec with its overrides: a sweep is a set of ``--set`` overrides per job. Every
job is validated first; a job that is bad input is reported and the others go on. Each output
is the spec's with the sweep's values in its stem (``digits_umap.n_neighbors=5.mp4``), or the
``-o`` template's; two jobs that would write one file are refused before any work.

The jobs' distinct fits (the same data and reducer options make one fit) then run at once in
worker processes, into the trajectory cache (with ``cache="off"`` they come back in memory);
then the jobs render one after the other, each with all the render workers. An output appears
only when complete; a job that fails leaves nothing and does not stop the others.
"""

from __future__ import annotations

import glob
import itertools
import math
import re
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import yaml

from specanim import engine
from specanim.components import Executor
from specanim.engine import executors
from specanim.engine.progress import Quiet, Reporter
from specanim.errors import SpecanimError, UserError, describe_exception
from specanim.plugins import Registry, default_registry
from specanim.spec.overrides import Override, override, parse_override
from specanim.spec.validate import Plan, load_plan
from specanim.store.output import check_target
from specanim.store.trajectories import CacheMode
from specanim.values import Trajectory

Status = Literal["written", "bad input", "failed", "not run"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._=+-]+")  # what may not stand in a file name made of values
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_MAGIC = re.compile(r"[*?[]")


class Setting(NamedTuple):
    """One swept value of a job: the path it sets, its short name and the value as written."""

    path: str
    name: str
    text: str


@dataclass(frozen=True)
class Sweep:
    """One ``--sweep PATH=V1,V2``: its path and one override per value."""

    path: str
    overrides: tuple[Override, ...]
    texts: tuple[str, ...]  # each value as written, for names


@dataclass(frozen=True)
class Job:
    """One render of a batch: a spec, its overrides, and the swept values among them."""

    spec: Path
    overrides: tuple[str | Override, ...] = ()
    values: tuple[Setting, ...] = ()

    @property
    def label(self) -> str:
        """The spec and its swept values, e.g. ``digits_umap.yaml n_neighbors=5``."""
        return " ".join([str(self.spec), *(f"{v.name}={v.text}" for v in self.values)])


@dataclass
class JobResult:
    """What became of a job: written, or why not."""

    job: Job
    output: Path | None = None
    status: Status = "not run"
    frames: int | None = None
    seconds: float | None = None
    lines: list[str] = field(default_factory=list)  # the error, one problem a line
    code: int = 0  # the exit code the error would have alone

    def failed(self, exc: BaseException) -> None:
        """Record exc as the reason this job wrote nothing."""
        if isinstance(exc, UserError):
            self.status, lines = "bad input", exc.lines()
        else:
            self.status, lines = "failed", [_one_line(exc)]
        notes = getattr(exc, "__notes__", None)
        if notes:  # e.g. how many frames a --resume render kept
            lines[-1] += f"; {'; '.join(notes)}"
        self.lines = lines
        self.code = exc.exit_code if isinstance(exc, SpecanimError) else 1


@dataclass
class Batch:
    """The results of a batch, in job order."""

    results: list[JobResult]
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        """0 when every job wrote its output; 2 when the only failures are bad input; else 1."""
        codes = {r.code for r in self.results if r.status != "written"}
        if not codes:
            return 0
        return 2 if codes == {UserError.exit_code} else 1

    def table(self) -> list[str]:
        """The summary: one row per job (spec and values, output, frames, time, result), the
        further problems of a bad spec indented under its row, and a total."""
        rows = [("job", "output", "frames", "time", "result")]
        extra: dict[int, list[str]] = {}
        for n, r in enumerate(self.results, 1):
            result = r.status if not r.lines else f"{r.status}: {r.lines[0]}"
            frames = "-" if r.frames is None else str(r.frames)
            seconds = "-" if r.seconds is None else f"{r.seconds:.1f} s"
            output = str(r.output) if r.status == "written" else "-"
            rows.append((r.job.label, output, frames, seconds, result))
            extra[n] = r.lines[1:]
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        lines = []
        for n, row in enumerate(rows):
            cells = [f"{cell:<{w}}" for cell, w in zip(row, widths, strict=False)]
            lines.append("  ".join([*cells, row[-1]]).rstrip())
            lines += [f"{' ' * (sum(widths) + 8)}  {line}" for line in extra.get(n, [])]
        counts = Counter(r.status for r in self.results)
        done = ", ".join(f"{k} {s}" for s, k in counts.items() if s != "written")
        total = f"{counts['written']} of {len(self.results)} written"
        lines.append(f"{total}{f' ({done})' if done else ''} in {self.seconds:.1f} s")
        return lines

    def problems(self) -> list[str]:
        """Every failed job's error lines."""
        return [line for r in self.results for line in r.lines]


# --- jobs -------------------------------------------------------------------------------------


def is_pattern(text: str) -> bool:
    """Whether a spec argument is a glob (and not a file whose name has ``*?[``)."""
    return bool(_MAGIC.search(text)) and not Path(text).exists()


def expand_specs(patterns: Iterable[str | Path]) -> list[Path]:
    """The spec files that patterns name: a path as it is, a glob (``specs/*.yaml``; expanded
    here, as a shell that does not expand it would leave it) as its matches, sorted, each file
    once. UserError for a glob that matches nothing."""
    found: dict[Path, Path] = {}
    for pattern in map(str, patterns):
        if is_pattern(pattern):
            matches = sorted(Path(p) for p in glob.glob(pattern, recursive=True))
            files = [p for p in matches if not p.is_dir()]
            if not files:
                raise UserError(f"{pattern}: no spec file matches this pattern")
        else:
            files = [Path(pattern)]
        for file in files:
            found.setdefault(file.resolve(), file)
    return list(found.values())


def parse_sweep(text: str) -> Sweep:
    """``PATH=V1,V2,...``: the values are YAML, separated by commas as in a YAML flow list
    (``5,15``, ``0.1,0.5``, ``'a, b',c``, ``{type: pca},{type: tsne}``)."""
    shown = f"--sweep {text}"
    path, equals, values = text.partition("=")
    if not equals or not path.strip():
        raise UserError(f"{shown}: expected PATH=V1,V2,..., e.g. reducer.n_neighbors=5,15,50")
    try:
        node = yaml.compose(f"[{values}]", Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or "not YAML values"
        raise UserError(f"{shown}: cannot read the values: {problem}") from None
    # Each value's text as written, by its place in "[values]" (one character more in front).
    texts = tuple(
        values[item.start_mark.index - 1 : item.end_mark.index - 1].strip()
        for item in (node.value if isinstance(node, yaml.SequenceNode) else [])
    )
    if not texts:
        raise UserError(f"{shown}: no values: give them separated by commas, e.g. {path}=5,15")
    path = path.strip()
    return Sweep(path, tuple(parse_override(f"{path}={t}", "--sweep") for t in texts), texts)


def python_sweep(path: str, values: Sequence[Any]) -> Sweep:
    """A sweep given from Python: the path's values, written as YAML in names."""
    texts = tuple(_yaml_text(v) for v in values)
    if not texts:
        raise UserError(f"sweep {path}: no values")
    items = tuple(
        override(path, v, f"sweep {path}={t}") for v, t in zip(values, texts, strict=True)
    )
    return Sweep(path, items, texts)


def _yaml_text(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=math.inf)
    return text.removesuffix("\n").removesuffix("\n...").strip()


def make_jobs(
    specs: Sequence[Path], sweeps: Sequence[Sweep], overrides: Sequence[str | Override] = ()
) -> list[Job]:
    """One job per spec and combination of the sweeps' values (the first sweep varies
    slowest); overrides (``--set``) apply to every job, before the sweep's."""
    paths = [s.path for s in sweeps]
    twice = sorted({p for p in paths if paths.count(p) > 1})
    if twice:
        raise UserError(f"--sweep {twice[0]}: swept twice; give all its values in one --sweep")
    names = _short_names(paths)
    jobs = []
    for spec in specs:
        for combination in itertools.product(*(range(len(s.texts)) for s in sweeps)):
            chosen = list(zip(sweeps, combination, strict=True))
            values = tuple(Setting(s.path, names[s.path], s.texts[i]) for s, i in chosen)
            jobs.append(Job(spec, (*overrides, *(s.overrides[i] for s, i in chosen)), values))
    return jobs


def _short_names(paths: Sequence[str]) -> dict[str, str]:
    """Each path's last key (``n_neighbors``), or the whole path where two share it."""
    last = {p: re.split(r"[.\[]", p)[-1].rstrip("]") or p for p in paths}
    shared = Counter(last.values())
    return {p: last[p] if shared[last[p]] == 1 else p for p in paths}


# --- outputs ----------------------------------------------------------------------------------


def named_output(plan: Plan, job: Job) -> Path:
    """The plan's output with the job's swept values in its stem, before the format's ending:
    ``digits_umap.mp4`` -> ``digits_umap.n_neighbors=5.min_dist=0.1.mp4``."""
    output = plan.output
    if not job.values:
        return output
    tag = ".".join(f"{_safe(v.name)}={_safe(v.text)}" for v in job.values)
    ending = output.suffix if output.suffix in plan.encoder.cls.extensions else ""
    return output.with_name(
        f"{output.name.removesuffix(ending) if ending else output.name}.{tag}{ending}"
    )


def _safe(text: str) -> str:
    return _UNSAFE.sub("_", text).strip("._") or "_"


def is_template(output: Path) -> bool:
    """Whether an ``-o`` path has ``{placeholders}``."""
    return bool(_PLACEHOLDER.search(str(output)))


def fill_template(template: Path, job: Job) -> Path:
    """The ``-o`` template's path for job: ``{spec}`` is the spec file's name without its
    ending, ``{PATH}`` or ``{NAME}`` a swept value (``{reducer.n_neighbors}``,
    ``{n_neighbors}``)."""
    fields = {"spec": job.spec.stem}
    for value in job.values:
        fields[value.path] = fields[value.name] = _safe(value.text)

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in fields:
            known = ", ".join(f"{{{k}}}" for k in fields)
            raise UserError(f"-o {template}: unknown placeholder {{{name}}}: use {known}")
        return fields[name]

    return Path(_PLACEHOLDER.sub(fill, str(template)))


def plan_job(job: Job, registry: Registry, output: Path | None) -> Plan:
    """The job's validated plan, with its output named for the batch."""
    if output is not None and is_template(output):
        return load_plan(job.spec, registry, fill_template(output, job), job.overrides)
    plan = load_plan(job.spec, registry, output, job.overrides)
    return replace(plan, output=named_output(plan, job))


def _refuse_clashes(planned: Mapping[int, Plan], jobs: Sequence[Job]) -> None:
    by_output: dict[Path, list[int]] = {}
    for n, plan in planned.items():
        by_output.setdefault(plan.output.resolve(), []).append(n)
    for plan in planned.values():
        others = by_output[plan.output.resolve()]
        if len(others) > 1:
            a, b = (jobs[i].label for i in others[:2])
            raise UserError(
                f"{plan.output}: two jobs would write it ({a}; {b}): sweep a value the output's "
                "name shows, or give -o a template such as '{spec}.{n_neighbors}.mp4'"
            )


# --- fits in parallel -------------------------------------------------------------------------


@dataclass(frozen=True)
class FitTask:
    """One fit a worker makes: the reducer called reducer of a job's plan."""

    spec: Path
    overrides: tuple[str | Override, ...]
    reducer: str
    cache: CacheMode


def fit_task(task: FitTask) -> Trajectory | None:
    """In a worker: the job's trajectory, obtained as a render would; None when it is in the
    trajectory cache (the job reads it from there, memory-mapped), else the trajectory."""
    plan = load_plan(task.spec, default_registry(), overrides=task.overrides)
    data, fingerprint = engine.load(plan, Quiet())
    trajectory = engine.fit(plan, task.reducer, data, fingerprint, task.cache, Quiet())
    # A cache entry comes back as a view of its memory-mapped file: stored, so not sent back.
    return None if isinstance(trajectory.snapshots.base, np.memmap) else trajectory


def _fit_key(plan: Plan, name: str) -> tuple[str, ...] | None:
    """What decides the fit of plan's reducer name (None: every fit differs)."""
    resolved = plan.reducers[name]
    if not resolved.cls(resolved.options, resolved.base_dir).reproducible:
        return None
    return (
        plan.dataset.cls.name,
        plan.dataset.options.model_dump_json(),
        str(plan.dataset.base_dir),
        resolved.cls.name,
        resolved.options.model_dump_json(),
        str(resolved.base_dir),
    )


# --- running ----------------------------------------------------------------------------------


def render_many(
    specs: str | Path | Sequence[str | Path],
    *,
    sweep: Mapping[str, Sequence[Any]] | None = None,
    output: str | Path | None = None,
    frames: slice | None = None,
    workers: int | None = None,
    executor: str | None = None,
    cache: CacheMode = "use",
    quiet: bool = False,
    **overrides: Any,
) -> Batch:
    """Render several specs (paths or globs), once per combination of the sweep's values
    (``sweep={"reducer.n_neighbors": [5, 15]}``), as ``specanim render`` does; overrides set
    values in every job as ``load()``'s do (``reducer__epochs=50``). The result's ``table()``
    is the summary; ``results`` says what became of each job."""
    from specanim.engine.progress import reporter

    names = [specs] if isinstance(specs, str | Path) else list(specs)
    sweeps = [python_sweep(path, values) for path, values in (sweep or {}).items()]
    changes = [override(k.replace("__", "."), v, f"{k}={v!r}") for k, v in overrides.items()]
    return run(
        make_jobs(expand_specs(names), sweeps, changes),
        output=None if output is None else Path(output),
        frames=frames,
        executor=executor,
        executor_options={"workers": workers},
        cache=cache,
        report=reporter(quiet),
    )


def run(
    jobs: Sequence[Job],
    *,
    output: Path | None = None,
    frames: slice | None = None,
    executor: str | None = None,
    executor_options: Mapping[str, Any] | None = None,
    cache: CacheMode = "use",
    resume: bool = False,
    report: Reporter | None = None,
    registry: Registry | None = None,
) -> Batch:
    """Render every job, each output with its manifest; a job that fails does not stop the
    others. output is ``-o``: with several jobs it must be a template (``{placeholders}``).
    Every job runs on one executor: the one named (with the command line's options, as
    ``executors.choose`` takes them), else the first valid spec's, else ``local``.
    UserError before any work for an output several jobs would write; Ctrl-C or SIGTERM ends
    the batch, with a note on the exception naming the outputs written."""
    report = report or Quiet()
    registry = registry or default_registry()
    started = time.perf_counter()
    if output is not None and len(jobs) > 1 and not is_template(output):
        raise UserError(
            f"-o {output}: names one file for {len(jobs)} renders: leave -o out (each output "
            "is the spec's, with the swept values in its name) or give a template such as "
            "-o '{spec}.{n_neighbors}.mp4'"
        )
    if output is not None and is_template(output):
        for job in jobs:
            fill_template(output, job)  # an unknown placeholder is the call's error, not a job's
    results = [JobResult(job) for job in jobs]
    planned: dict[int, Plan] = {}
    for n, (job, result) in enumerate(zip(jobs, results, strict=True)):
        try:
            plan = plan_job(job, registry, output)
            check_target(plan.output)
        except UserError as exc:
            result.failed(exc)
            continue
        planned[n] = plan
        result.output = plan.output
    _refuse_clashes(planned, jobs)
    batch = Batch(results)
    if not planned:
        return batch
    first = planned[min(planned)]
    runner = executors.choose(first, registry, executor, executor_options)
    try:
        with runner:  # entered before the fits: a local pool's workers warm up meanwhile
            _run(planned, results, frames, runner, cache, resume, report)
    except BaseException as exc:
        written = [str(r.output) for r in results if r.status == "written"]
        if written:
            exc.add_note(f"{len(written)} of {len(jobs)} outputs written: {', '.join(written)}")
        raise
    finally:
        batch.seconds = time.perf_counter() - started
    return batch


def _run(
    planned: Mapping[int, Plan],
    results: Sequence[JobResult],
    frames: slice | None,
    runner: Executor[Any],
    cache: CacheMode,
    resume: bool,
    report: Reporter,
) -> None:
    # Each job's fits by reducer name: what decides them, or the job's own for a fit that no
    # other job can share (a reducer without a fixed seed).
    fits = {
        n: {name: _fit_key(plan, name) or (str(n), name) for name in plan.reducers}
        for n, plan in planned.items()
    }
    users = Counter(key for by_name in fits.values() for key in by_name.values())
    shared: dict[tuple[str, ...], Trajectory] = {}  # fits made, until their last job has them
    mode = cache
    tasks = _distinct_fits(planned, results, fits, cache)
    if len(tasks) > 1 and runner.slots > 1:
        for (n, name), outcome in _fit_all(tasks, runner, report).items():
            if isinstance(outcome, BaseException):  # every job of that fit fails with it
                for m in planned:
                    if fits[n][name] in fits[m].values() and results[m].status == "not run":
                        results[m].failed(outcome)
            elif outcome is not None:
                shared[fits[n][name]] = outcome
        mode = "use" if cache == "refresh" else cache  # refreshed just now
    left = [n for n in planned if results[n].status == "not run"]
    done_seconds: list[float] = []
    for k, n in enumerate(left, 1):
        plan, result = planned[n], results[n]
        report.info(f"[{k}/{len(left)}] {result.job.label} -> {plan.output}")
        obtained = {name: shared[key] for name, key in fits[n].items() if key in shared}
        started = time.perf_counter()
        try:
            prepared = engine.prepare(plan, cache=mode, report=report, obtained=obtained)
            for name, key in fits[n].items():
                users[key] -= 1
                if users[key]:
                    shared[key] = prepared.composer.trajectories[name]
                else:
                    shared.pop(key, None)
            rendered = engine.render(
                prepared, frames=frames, executor=runner, report=report, resume=resume
            )
        except Exception as exc:
            result.failed(exc)
            report.info(f"[{k}/{len(left)}] {result.status}: {result.lines[0]}")
        else:
            result.status, result.frames = "written", rendered.frames
        result.seconds = time.perf_counter() - started
        done_seconds.append(result.seconds)
        if k < len(left):
            eta = sum(done_seconds) / len(done_seconds) * (len(left) - k)
            report.info(f"{k} of {len(left)} renders done; about {eta:.0f} s left")


def _distinct_fits(
    planned: Mapping[int, Plan],
    results: Sequence[JobResult],
    fits: Mapping[int, Mapping[str, tuple[str, ...]]],
    cache: CacheMode,
) -> dict[tuple[int, str], FitTask]:
    """One task per distinct fit, under the first job and reducer name that needs it."""
    tasks: dict[tuple[int, str], FitTask] = {}
    seen: set[tuple[str, ...]] = set()
    for n in planned:
        for name, key in fits[n].items():
            if key not in seen:
                seen.add(key)
                job = results[n].job
                tasks[(n, name)] = FitTask(job.spec, job.overrides, name, cache)
    return tasks


def _fit_all(
    tasks: Mapping[tuple[int, str], FitTask], runner: Executor[Any], report: Reporter
) -> dict[tuple[int, str], Trajectory | BaseException | None]:
    """Every task's outcome, fitted on runner's slots at once: the trajectory, None when it
    is in the cache, or the error."""
    outcomes: dict[tuple[int, str], Trajectory | BaseException | None] = {}
    with report.stage(f"fitting {len(tasks)} trajectories", len(tasks), "fits") as progress:
        futures = {runner.submit(fit_task, task): at for at, task in tasks.items()}
        try:
            for future in as_completed(futures):
                try:
                    outcomes[futures[future]] = future.result()
                except Exception as exc:
                    outcomes[futures[future]] = exc
                progress(len(outcomes))
        finally:
            for future in futures:  # an error or Ctrl-C here: the fits are no longer wanted
                future.cancel()
    return outcomes


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, SpecanimError):
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return describe_exception(exc)
