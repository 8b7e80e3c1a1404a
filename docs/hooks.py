"""MkDocs hooks (mkdocs.yml ``hooks:``): the pages generated from the code when the site is built.

- ``reference/components.md``: every component's options, read from its ``Options`` model as
  ``specanim describe`` prints them;
- ``gallery.md``: every shipped spec (``specs/*.yaml``) beside a still and a short animation,
  rendered by the ``specanim`` command into ``build/gallery`` (outside ``docs/`` and git) and
  reused while the spec and the command are unchanged. ``SPECANIM_DOCS_GALLERY=0`` builds the
  page without rendering;
- ``benchmarks.md``: ``benchmarks/README.md``, how the speed was measured.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from specanim.cli.describe import option_rows
from specanim.components import KINDS
from specanim.plugins import Registry, default_registry
from specanim.versions import __version__

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "specs"
GALLERY = ROOT / "build" / "gallery"
COMPONENTS_PAGE = "reference/components.md"
GALLERY_PAGE = "gallery.md"
BENCHMARKS_PAGE = "benchmarks.md"

# The MNIST scenes fit 10,000 and 30,000 digits: for the docs they render 3,000 of them.
SMALLER = {"mnist_umap.yaml": ["dataset.limit=3000"], "mnist_tsne.yaml": ["dataset.limit=3000"]}
# A folder holding MNIST's test split (the four IDX .gz files or the two t10k ones): the MNIST
# scenes read their digits from it instead of downloading, as a machine with no internet must.
MNIST_VARIABLE = "SPECANIM_DOCS_MNIST"


def mnist_copy() -> list[str]:
    """The overrides that point the MNIST scenes at a local copy, if one is given."""
    folder = os.environ.get(MNIST_VARIABLE)
    if not folder:
        return []
    return [f"dataset.path={Path(folder).resolve()}", "dataset.split=test"]


def cell(text: str) -> str:
    """Text for a Markdown table cell: a `|` inside would end the cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def components_page(registry: Registry) -> str:
    """The reference of every registered component: its summary and its options' table."""
    lines = [
        "# Components",
        "",
        "Every component a spec can name with `type:`, by kind, with its options as "
        "`specanim describe NAME` prints them (generated from the `Options` models when the "
        "site is built). Nested options are dotted (`view.mode`).",
    ]
    for kind in KINDS:
        lines += ["", f"## {kind.capitalize()}s"]
        for name in registry.names(kind):
            cls = registry.get(kind, name)
            summary = (cls.__doc__ or "").strip().split("\n")[0]
            lines += ["", f"### {kind} `{name}`", "", summary, ""]
            rows = option_rows(cls.Options)
            if not rows:
                lines.append("No options.")
                continue
            lines += ["| option | type | default | description |", "|---|---|---|---|"]
            lines += [
                f"| `{row.name}` | {cell(row.type)} | `{cell(row.default_text())}` "
                f"| {cell(row.description)} |"
                for row in rows
            ]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Exhibit:
    """One shipped spec in the gallery and the two commands that render it for the docs."""

    spec: Path

    def overrides(self) -> list[str]:
        """Half the spec's size and text, 5 s at 10 frames/s (fewer points for the MNIST scenes)."""
        scene = yaml.safe_load(self.spec.read_text(encoding="utf-8"))
        # mp4 and webm need even sizes; webp takes any, but even halves keep the aspect
        width, height = (int(scene.get(key, 640)) // 4 * 2 for key in ("width", "height"))
        return [
            f"width={width}",
            f"height={height}",
            "title_size=13",  # half the default sizes, as the frame is
            "subtitle_size=10",
            "timeline.fps=10",
            "timeline.duration=5",
            "timeline.hold_end=1",
            *SMALLER.get(self.spec.name, []),
            *(mnist_copy() if self.spec.name in SMALLER else []),
        ]

    def commands(self) -> dict[str, list[str]]:
        """Each output's file name and the specanim arguments that make it."""
        spec = f"specs/{self.spec.name}"
        sets = [arg for value in self.overrides() for arg in ("--set", value)]
        return {
            f"{self.spec.stem}.webp": ["render", spec, *sets, "-q"],
            f"{self.spec.stem}.png": ["still", spec, *sets, "--frame", "-1", "-q"],
        }

    def folder(self) -> Path:
        """The renders' folder, named by what they depend on: spec, commands, version."""
        key = hashlib.sha256(
            repr((self.spec.read_bytes(), self.commands(), __version__)).encode()
        ).hexdigest()[:16]
        return GALLERY / f"{self.spec.stem}-{key}"

    def render(self) -> Path:
        """Render both outputs unless they are there already; their folder."""
        folder = self.folder()
        if all((folder / name).is_file() for name in self.commands()):
            return folder
        work = folder.with_name(folder.name + ".part")
        work.mkdir(parents=True, exist_ok=True)
        for name, arguments in self.commands().items():
            command = [sys.executable, "-m", "specanim", *arguments, "-o", str(work / name)]
            subprocess.run(command, cwd=ROOT, check=True)
        work.rename(folder)
        return folder

    def section(self, rendered: bool) -> str:
        """The spec's gallery entry: its pictures (if rendered), the spec and the commands."""
        stem, spec = self.spec.stem, f"specs/{self.spec.name}"
        shown = " ".join(shlex.quote(arg) for arg in self.commands()[f"{stem}.webp"][:-1])
        lines = [f"## {stem}", ""]
        if rendered:
            lines += [
                f"![{stem}, the last frame](gallery/{stem}.png){{ width=49% }}",
                f"![{stem}, animated](gallery/{stem}.webp){{ width=49% }}",
                "",
            ]
        lines += [f"Rendered for this page with `specanim {shown} -o {stem}.webp`"]
        if self.spec.name in SMALLER:
            lines[-1] += f": {', '.join(SMALLER[self.spec.name])}, fewer points than the scene"
        lines[-1] += f". The full scene: `specanim render {spec}`."
        body = self.spec.read_text(encoding="utf-8").rstrip("\n")
        lines += ["", f'```yaml title="{spec}"', body, "```", ""]
        return "\n".join(lines)


def exhibits() -> list[Exhibit]:
    """Every shipped spec, by name."""
    return [Exhibit(path) for path in sorted(SPECS.glob("*.yaml"))]


def gallery_wanted() -> bool:
    return os.environ.get("SPECANIM_DOCS_GALLERY", "1") != "0"


def gallery_page(rendered: bool) -> str:
    """The gallery: every shipped spec, with its pictures when they were rendered."""
    intro = [
        "# Gallery",
        "",
        "Every scene in `specs/`, rendered when this site was built: its last frame, a short "
        "animation (half the size, 5 seconds at 10 frames/s) and the spec itself. The MNIST "
        "scenes download MNIST once (or, with `SPECANIM_DOCS_MNIST` naming a folder of its files, "
        "read its 10,000 test digits from there) and are drawn here with 3,000 of their "
        "digits; each entry gives the command for the full scene.",
        "",
    ]
    if not rendered:
        intro += ["This build skipped the renders (`SPECANIM_DOCS_GALLERY=0`).", ""]
    return "\n".join(intro + [exhibit.section(rendered) for exhibit in exhibits()])


def on_files(files: Any, config: Any) -> Any:
    """Add the generated pages, and the gallery's renders as files of the site."""
    from mkdocs.structure.files import File

    rendered = gallery_wanted()
    pages = {
        COMPONENTS_PAGE: components_page(default_registry()),
        GALLERY_PAGE: gallery_page(rendered),
        BENCHMARKS_PAGE: (ROOT / "benchmarks" / "README.md").read_text(encoding="utf-8"),
    }
    for uri, content in pages.items():
        files.append(File.generated(config, uri, content=content))
    if rendered:
        for exhibit in exhibits():
            folder = exhibit.render()
            for name in exhibit.commands():
                path = str(folder / name)
                files.append(File.generated(config, f"gallery/{name}", abs_src_path=path))
    return files
