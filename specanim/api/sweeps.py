"""Jobs from specs and sweeps: spec globs expanded, ``--sweep PATH=V1,V2`` parsed into
overrides, every combination a job, and each job's output named after its swept values
(``digits_umap.n_neighbors=5.mp4``) or an ``-o`` template's fields."""

from __future__ import annotations

import glob
import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from specanim.errors import UserError
from specanim.spec.overrides import Override, override, parse_override
from specanim.spec.validate import Plan

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
