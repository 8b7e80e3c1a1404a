"""The manifest of a render: what an output was made from and what it holds, written beside it
(``OUT.manifest.json``; for a folder of frames, beside the folder), and the two checks against
it: ``render --check`` (render again, compare every frame's pixels) and ``verify`` (hash the
output again).

A manifest holds the resolved spec, the data's fingerprint, the trajectory's cache key, the
versions of specanim, of the plugin distributions and the libraries (for a local plugin: the digest
of its code), the encoder and its options, the frames' size, rate and count, the SHA-256 of every
frame's RGB bytes in order, and the hashes of the output. Nothing in it depends on when or where
the render ran (no times, no absolute paths the spec did not contain), so two renders of one spec
and data write the same manifest.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

from specanim.components import Component
from specanim.errors import UserError
from specanim.plugins import local_plugin
from specanim.spec.validate import Plan
from specanim.store.cache import path_free
from specanim.store.output import MANIFEST_SUFFIX
from specanim.store.trajectories import Origin
from specanim.versions import __version__, installed

FORMAT = 1  # bump when a field changes meaning; read() refuses newer manifests
SUFFIX = MANIFEST_SUFFIX
_SHOWN = 10  # at most this many differing files of a folder are named


@dataclass(frozen=True)
class Outcome:
    """The result of a check: its exit code (0 all match, 1 something differs) and its lines."""

    code: int
    lines: list[str]


def path_for(output: Path) -> Path:
    """Where the manifest of output (a file or a folder) is."""
    return output.with_name(output.name + SUFFIX)


# --- writing --------------------------------------------------------------------------------


class Described(Protocol):
    """What a manifest describes of a render's scene (``engine.Prepared`` is one)."""

    @property
    def plan(self) -> Plan: ...

    @property
    def fingerprint(self) -> str:
        """The data's."""

    @property
    def origins(self) -> Mapping[str, Origin]:
        """Where each trajectory came from, by reducer name."""

    @property
    def frames(self) -> int:
        """How many frames the whole animation has."""


class Writer:
    """Writes the manifest of a render beside its output: the recorder ``engine.render`` uses
    unless told otherwise. The manifest is placed in the same step as the output
    (``output.atomic_path``), just before it: an old manifest never stands beside a new output,
    nor a new one beside an old output (but for SIGKILL in that step's last moment)."""

    def __init__(self, scene: Described, first: int) -> None:
        """scene's frames first, first + 1, ... are rendered."""
        self.scene = scene
        self.first = first
        self.digests: list[str] = []

    def frame(self, index: int, digest: str) -> None:
        self.digests.append(digest)

    def beside(self, output: Path, written: Path) -> dict[Path, str]:
        """The manifest of output, whose complete bytes are at written, by its path."""
        return {path_for(output): text(describe(self.scene, self.first, self.digests, written))}


class Comparing:
    """A recorder that compares every frame's digest with a manifest's as it is rendered
    (``engine.check``) and writes nothing: Differs at the first that differs."""

    def __init__(self, expected: list[str]) -> None:
        self.expected = expected

    def frame(self, index: int, digest: str) -> None:
        if digest != self.expected[index]:
            raise Differs(index)

    def beside(self, output: Path, written: Path) -> dict[Path, str]:
        return {}


class Differs(Exception):
    """The frame at index (counted from the first checked) is not the manifest's."""

    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.index = index


def describe(scene: Described, first: int, digests: list[str], output: Path) -> dict[str, Any]:
    """The manifest of a render of scene whose frames first, first + 1, ... had digests."""
    plan, spec = scene.plan, scene.plan.spec
    return {
        "specanim_manifest": FORMAT,
        "reproducible": all(o.reproducible for o in scene.origins.values()),
        "output": digest(output),  # the output's name is the manifest's, less its suffix
        "spec": document(plan),
        "data": {"fingerprint": scene.fingerprint, "dataset": _entry(plan.dataset)},
        "trajectories": {  # by reducer name, as in the spec
            name: {
                "reducer": _entry(plan.reducers[name]),
                "key": origin.key,
            }
            for name, origin in scene.origins.items()
        },
        "encoder": _entry(plan.encoder),
        "frames": {
            "width": spec.width,
            "height": spec.height,
            "fps": spec.timeline.fps,
            "first": first,
            "count": len(digests),
            "of": scene.frames,
            "sha256": digests,
        },
        "versions": versions(scene),
    }


def document(plan: Plan) -> Any:
    """The spec as the manifest records it: without its ``executor:``, which says where the
    render ran, not what it made."""
    data = plan.source.data
    if isinstance(data, dict) and "executor" in data:
        data = {key: value for key, value in data.items() if key != "executor"}
    return path_free(data)


def versions(scene: Described) -> dict[str, Any]:
    """specanim's version, those of the distributions that provided the components used, and of
    the libraries they require and the reducers name."""
    plan = scene.plan
    used: list[type[Component]] = [
        plan.dataset.cls,
        *(entry.cls for entry in plan.reducers.values()),
        *(entry.cls for entry in plan.panels.values()),
        plan.encoder.cls,
    ]
    local = {cls: local_plugin(cls) for cls in used}
    providers = _providers({cls.__module__.partition(".")[0] for cls in used if not local[cls]})
    plugins: dict[str, str] = {}
    for cls in used:
        module = cls.__module__
        dists = providers.get(module.partition(".")[0], [])
        for dist in dists:
            plugins[dist] = installed(dist)[dist]
        plugin = local[cls]
        if plugin is not None:  # by its path as the spec writes it, and its code's digest
            plugins[plugin.name] = f"local, sha256 {plugin.digest[:16]}"
        elif not dists:  # a module that no installed distribution provides
            plugins[module] = "not packaged"
    required = {
        name
        for dist in {"specanim", *plugins}
        for name in _requirements(dist)
        if name not in plugins
    }
    libraries = installed(*sorted(required))
    for origin in scene.origins.values():
        libraries.update(origin.versions)
    libraries.pop("specanim", None)
    return {
        "specanim": __version__,
        "plugins": dict(sorted(plugins.items())),
        "libraries": dict(sorted(libraries.items())),
    }


def _providers(modules: set[str]) -> Mapping[str, list[str]]:
    """The distributions that provide each of these top-level modules. specanim's own list
    answers for its built-in plugins; only other modules need ``packages_distributions``,
    which reads the file list of every installed distribution (slow: only when needed)."""
    try:
        own = (metadata.distribution("specanim").read_text("top_level.txt") or "").split()
    except metadata.PackageNotFoundError:
        own = []
    if modules <= set(own):
        return {name: ["specanim"] for name in own}
    return metadata.packages_distributions()


def _requirements(dist: str) -> list[str]:
    """The names of the distributions dist requires when installed without extras."""
    try:
        requires = metadata.requires(dist) or []
    except metadata.PackageNotFoundError:
        return []
    names = []
    for requirement in requires:
        spec, _, marker = requirement.partition(";")
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", spec)
        if match and "extra" not in marker:
            names.append(match[1])
    return names


def _entry(resolved: Any) -> dict[str, Any]:
    """A component entry as validated: its type and every option, defaults included."""
    return path_free({"type": resolved.cls.name, **resolved.options.model_dump(mode="json")})


def digest(output: Path) -> dict[str, Any]:
    """The SHA-256 of a file and its size, or of each file of a folder and of them all."""
    if not output.is_dir():
        with open(output, "rb") as f:
            return {"sha256": hashlib.file_digest(f, "sha256").hexdigest(), "size": f.tell()}
    files = {}
    for path in sorted(p for p in output.iterdir() if p.is_file()):
        with open(path, "rb") as f:
            files[path.name] = hashlib.file_digest(f, "sha256").hexdigest()
    combined = hashlib.sha256("".join(f"{n}\0{h}\n" for n, h in files.items()).encode())
    return {"sha256": combined.hexdigest(), "files": files}


def text(manifest: Mapping[str, Any]) -> str:
    """A manifest as it is written: indented JSON with a final newline."""
    return json.dumps(manifest, indent=2, ensure_ascii=False, default=str) + "\n"


# --- reading and checking ---------------------------------------------------------------------


def read(output: Path) -> dict[str, Any]:
    """The manifest beside output; UserError (one line) if there is none or it is unreadable."""
    path = path_for(output)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{output}: no manifest beside it ({path.name}): render it first") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UserError(f"{path}: not a readable manifest: {exc}") from None
    version = manifest.get("specanim_manifest") if isinstance(manifest, dict) else None
    if not isinstance(version, int):
        raise UserError(f"{path}: not a specanim manifest")
    if version > FORMAT:
        raise UserError(
            f"{path}: manifest format {version} is newer than this specanim's ({FORMAT}): "
            "upgrade specanim"
        )
    return manifest


def checkable(plan: Plan) -> dict[str, Any]:
    """The manifest beside the plan's output, to check a new render of plan against (quick:
    nothing is loaded or fitted). UserError if there is none, or either render cannot be
    reproduced."""
    manifest = read(plan.output)
    if not manifest.get("reproducible", True):
        raise UserError(
            f"{path_for(plan.output)}: the render it describes cannot be reproduced: its reducer "
            "made a new layout (no fixed seed, e.g. random_state: null): nothing to check"
        )
    for resolved in plan.reducers.values():
        reducer = resolved.cls(resolved.options, resolved.base_dir)
        if not reducer.reproducible:
            raise plan.source.error(
                resolved.path,
                f"{reducer.name} makes a new layout every run (no fixed seed): a render cannot "
                "be checked; set a random_state",
            )
    return manifest


def differences(scene: Described, manifest: Mapping[str, Any]) -> list[str]:
    """Lines naming what differs between the manifest and this render's inputs."""
    lines = []
    recorded = manifest.get("data", {}).get("fingerprint")
    if recorded != scene.fingerprint:
        lines.append(
            f"  the data differ: fingerprint {scene.fingerprint[:12]}, "
            f"the manifest's {str(recorded)[:12]}"
        )
    changed = _changed_paths(manifest.get("spec"), document(scene.plan))
    if changed:
        more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
        lines.append(f"  the spec differs at {', '.join(changed[:3])}{more}")
    now = versions(scene)
    then = manifest.get("versions", {})
    moved = [
        f"{name} {now[group].get(name, 'absent')} (manifest: {old})"
        for group in ("plugins", "libraries")
        for name, old in then.get(group, {}).items()
        if now[group].get(name) != old
    ]
    if then.get("specanim") != now["specanim"]:
        moved.insert(0, f"specanim {now['specanim']} (manifest: {then.get('specanim')})")
    if moved:
        lines.append(f"  versions differ: {', '.join(moved)}")
    return lines


def _changed_paths(old: Any, new: Any, prefix: str = "") -> list[str]:
    """The YAML paths (``reducer.random_state``, ``panels[1]``) where two documents differ."""
    if isinstance(old, dict) and isinstance(new, dict):
        return [
            path
            for key in list(old) + [k for k in new if k not in old]
            for path in _changed_paths(
                old.get(key), new.get(key), f"{prefix}.{key}" if prefix else str(key)
            )
        ]
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [
            path
            for i, (a, b) in enumerate(zip(old, new, strict=True))
            for path in _changed_paths(a, b, f"{prefix}[{i}]")
        ]
    return [] if old == new else [prefix or "(the whole document)"]


def verify(output: Path) -> Outcome:
    """Hash output (a file or folder; or name its manifest) again and compare with its
    manifest. UserError if the output or its manifest is missing."""
    if output.name.endswith(SUFFIX) and not output.is_dir():
        output = output.with_name(output.name.removesuffix(SUFFIX))
    manifest = read(output)
    if not output.exists():
        raise UserError(f"{output}: not found (its manifest {path_for(output).name} is there)")
    expected = manifest.get("output", {})
    actual = digest(output)
    count = manifest.get("frames", {}).get("count")
    if actual["sha256"] == expected.get("sha256"):
        return Outcome(0, [f"{output}: matches its manifest ({count} frames)"])
    if "files" in expected and "files" in actual:
        return Outcome(1, _folder_differences(output, expected["files"], actual["files"]))
    if ("files" in expected) != ("files" in actual):
        kind = "a folder" if "files" in expected else "a file"
        return Outcome(1, [f"{output}: differs from its manifest, which describes {kind}"])
    return Outcome(
        1,
        [
            f"{output}: differs from its manifest: {actual.get('size')} bytes with SHA-256 "
            f"{actual['sha256'][:16]}..., the manifest says {expected.get('size')} bytes with "
            f"{str(expected.get('sha256'))[:16]}..."
        ],
    )


def _folder_differences(
    output: Path, expected: Mapping[str, str], actual: Mapping[str, str]
) -> list[str]:
    lines = []
    for name in sorted(set(expected) | set(actual)):
        if name not in actual:
            lines.append(f"{output / name}: missing (the manifest lists it)")
        elif name not in expected:
            lines.append(f"{output / name}: not in the manifest")
        elif actual[name] != expected[name]:
            lines.append(f"{output / name}: differs from the manifest")
    shown = lines[:_SHOWN]
    if len(lines) > _SHOWN:
        shown.append(f"... and {len(lines) - _SHOWN} more files differ")
    return shown
