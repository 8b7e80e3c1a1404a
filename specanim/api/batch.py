"""Many renders in one call: several specs, times every combination of ``--sweep`` values.

A job is one spec with its overrides (``sweeps``). Every job is validated first; a job that is
bad input is reported and the others go on; two jobs that would write one file are refused
before any work.

The jobs' distinct fits (the same data and reducer options make one fit) then run at once in
worker processes, into the trajectory cache (with ``cache="off"`` they come back in memory);
then the jobs render one after the other, each with all the render workers. An output appears
only when complete; a job that fails leaves nothing and does not stop the others.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from specanim import engine, explore
from specanim.api.sweeps import (
    Job,
    expand_specs,
    fill_template,
    is_template,
    make_jobs,
    named_output,
    python_sweep,
)
from specanim.api.tables import aligned
from specanim.components import Executor
from specanim.engine import executors
from specanim.engine.progress import Quiet, Reporter
from specanim.engine.rendering import check_output
from specanim.errors import SpecanimError, UserError, describe_exception
from specanim.plugins import Registry, default_registry
from specanim.spec.overrides import Override, override
from specanim.spec.validate import Plan, load_plan
from specanim.store.trajectories import CacheMode
from specanim.values import Trajectory

Status = Literal["written", "bad input", "failed", "not run"]


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
        lines = aligned(rows, extra)
        counts = Counter(r.status for r in self.results)
        done = ", ".join(f"{k} {s}" for s, k in counts.items() if s != "written")
        total = f"{counts['written']} of {len(self.results)} written"
        lines.append(f"{total}{f' ({done})' if done else ''} in {self.seconds:.1f} s")
        return lines

    def problems(self) -> list[str]:
        """Every failed job's error lines."""
        return [line for r in self.results for line in r.lines]


# --- jobs -------------------------------------------------------------------------------------


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
            check_output(plan)
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
            if explore.is_page(plan):
                explore.check_request(plan, frames is not None, resume)
                rendered = explore.write(prepared)
            else:
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
