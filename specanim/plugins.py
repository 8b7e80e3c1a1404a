"""Loading plugins and looking up their components: the only module that touches pluggy.

Plugins come from the ``specanim`` entry points of installed packages and from a spec's
``plugins:`` list (local plugins: module files or package folders beside the spec). Each is
loaded on its own: an installed plugin that fails to import, or whose register hook raises, is
recorded as broken (with its registrations dropped) and the others still load. The rest of
specanim asks a ``Registry`` for a component class by kind and name.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
import inspect
import os
import re
import sys
import traceback
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import Literal, cast

import pluggy

from specanim import hookspecs
from specanim.components import (
    KINDS,
    Component,
    Dataset,
    Encoder,
    Executor,
    Kind,
    Panel,
    Reducer,
)
from specanim.errors import PluginError, describe_exception, did_you_mean

ENTRY_POINT_GROUP = "specanim"
DISABLE_VARIABLE = "SPECANIM_DISABLE_PLUGINS"  # entry-point names to skip, comma-separated
LOCAL_PREFIX = "_specanim_local_"  # module names of local plugins start with this

_BASES: dict[Kind, type[Component]] = {
    "dataset": Dataset,
    "reducer": Reducer,
    "panel": Panel,
    "encoder": Encoder,
    "executor": Executor,
}
_HOOKS: dict[Kind, str] = {kind: f"register_{kind}s" for kind in KINDS}

Status = Literal["ok", "broken", "disabled"]


@dataclass(frozen=True)
class Plugin:
    """One plugin: an installed entry point, a spec's local plugin, or one added for tests."""

    # The entry point's name (``distribution:entry`` when another distribution declares an
    # entry point of that name too), or a local plugin's path as its spec writes it.
    name: str
    distribution: str | None = None  # the installed package that declares it
    version: str | None = None
    status: Status = "ok"
    error: str = ""  # when broken, one line: "ImportError: No module named 'x'"

    def label(self) -> str:
        """``'legend' (specanim-legend 0.2)`` for messages."""
        dist = " ".join(x for x in (self.distribution, self.version) if x)
        return f"'{self.name}'" + (f" ({dist})" if dist else "")

    def answers_to(self, word: str) -> bool:
        """Whether a name in SPECANIM_DISABLE_PLUGINS means this plugin: its name, its entry
        point's name, or ``distribution:entry``."""
        entry = self.name.rpartition(":")[2]
        return word in (self.name, entry, f"{self.distribution}:{entry}")


@dataclass(frozen=True)
class Registered:
    """A component class and the plugin that registered it."""

    cls: type[Component]
    plugin: str

    @property
    def kind(self) -> Kind:
        return self.cls.kind

    @property
    def name(self) -> str:
        return self.cls.name


def _twice(first: Registered, then: Registered) -> PluginError:
    """A name that a plugin given by name (a spec's, a session's) takes from another."""
    return PluginError(
        f"{then.kind} '{then.name}' is registered twice: by plugin '{first.plugin}' "
        f"({first.cls.__module__}.{first.cls.__qualname__}) and by plugin "
        f"'{then.plugin}' ({then.cls.__module__}.{then.cls.__qualname__})"
    )


class UnknownComponent(LookupError):
    """No one component of that kind has that name: none (the message suggests the closest
    one), or several installed plugins register it (the message says how to choose)."""


class Registry:
    """Every component the loaded plugins registered, by kind and name, and every plugin."""

    def __init__(self, plugins: Iterable[Plugin] = (), registered: Iterable[Registered] = ()):
        """A name registered by several plugins is kept with all of them: it stops only the
        specs that use it (lookup says how to choose), not the plugins' other components."""
        self.plugins: tuple[Plugin, ...] = tuple(plugins)  # ok, broken and disabled ones
        self._by_kind: dict[Kind, dict[str, list[Registered]]] = {kind: {} for kind in KINDS}
        for reg in registered:
            self._by_kind[reg.kind].setdefault(reg.name, []).append(reg)

    def extended(self, plugin: Plugin, registered: Iterable[Registered] = ()) -> Registry:
        """A new registry with one more plugin (a spec's local one) and its components;
        PluginError if one of them takes a name already registered."""
        added = list(registered)
        for reg in added:
            for first in self._by_kind[reg.kind].get(reg.name, ()):
                raise _twice(first, reg)
        return Registry((*self.plugins, plugin), (*self, *added))

    def names(self, kind: Kind) -> list[str]:
        """The registered names of one kind, sorted."""
        return sorted(self._by_kind[kind])

    def __iter__(self) -> Iterator[Registered]:
        for kind in KINDS:
            for name in self.names(kind):
                yield from self._by_kind[kind][name]

    def clashes(self) -> list[list[Registered]]:
        """The names registered by more than one plugin: each with its registrations."""
        return [regs for kind in KINDS for regs in self._by_kind[kind].values() if len(regs) > 1]

    def broken(self) -> list[Plugin]:
        """The plugins that failed to load."""
        return [p for p in self.plugins if p.status == "broken"]

    def plugin(self, name: str) -> Plugin | None:
        """The plugin of that name, if there is one."""
        return next((p for p in self.plugins if p.name == name), None)

    def lookup(self, kind: Kind, name: str) -> Registered:
        """The registration of name; UnknownComponent (with a suggestion) if there is none."""
        found = self._by_kind[kind].get(name, [])
        if len(found) == 1:
            return found[0]
        if found:
            raise UnknownComponent(self._clash_message(found))
        message = f"unknown {kind} '{name}'{did_you_mean(name, self._by_kind[kind])}"
        raise UnknownComponent(message + self._broken_note() + self._disabled_note(name))

    def _clash_message(self, found: list[Registered]) -> str:
        """Which plugins register one name, and how to keep only one of them."""
        plugins = [self.plugin(r.plugin) or Plugin(r.plugin) for r in found]
        both = " and ".join(p.label() for p in plugins)
        return (
            f"{found[0].kind} '{found[0].name}' is registered by {len(found)} plugins: {both}; "
            f"choose one by disabling the other{'s' if len(found) > 2 else ''}, e.g. "
            f"{DISABLE_VARIABLE}={plugins[-1].name}"
        )

    def get(self, kind: Kind, name: str) -> type[Component]:
        """The class registered as name; UnknownComponent (with a suggestion) if there is none."""
        return self.lookup(kind, name).cls

    def _broken_note(self) -> str:
        """Why a name may be missing: the plugins that failed to load."""
        broken = self.broken()
        if len(broken) == 1:
            return f"; plugin {broken[0].label()} failed to load: {broken[0].error}"
        if broken:
            return "; plugins that failed to load: " + ", ".join(p.label() for p in broken)
        return ""

    def _disabled_note(self, name: str) -> str:
        """A disabled plugin of the same name probably provides the missing component."""
        disabled = [p for p in self.plugins if p.status == "disabled" and p.answers_to(name)]
        if disabled:
            return f"; plugin '{disabled[0].name}' is disabled by {DISABLE_VARIABLE}"
        return ""

    # Registration checked each class's base, so these casts only name what get() returns.
    def dataset(self, name: str) -> type[Dataset]:
        return cast("type[Dataset]", self.get("dataset", name))

    def reducer(self, name: str) -> type[Reducer]:
        return cast("type[Reducer]", self.get("reducer", name))

    def panel(self, name: str) -> type[Panel]:
        return cast("type[Panel]", self.get("panel", name))

    def encoder(self, name: str) -> type[Encoder]:
        return cast("type[Encoder]", self.get("encoder", name))

    def executor(self, name: str) -> type[Executor]:
        return cast("type[Executor]", self.get("executor", name))

    def encoder_for_extension(self, extension: str) -> str | None:
        """The name of the encoder that claims a file ending such as ``.mp4``, if any."""
        for reg in self:
            if reg.kind == "encoder" and extension.lower() in getattr(reg.cls, "extensions", ()):
                return reg.name
        return None


# --- installed plugins -------------------------------------------------------------------------


def load_registry(extra: Iterable[tuple[str, object]] = ()) -> Registry:
    """The registry of every installed plugin's components, plus extra (name, plugin object)
    pairs for tests. A plugin that fails to import, has a hook specanim cannot call, or whose
    register hook raises is recorded as broken, with a warning; an extra one's bad hook is a
    PluginError."""
    manager = _manager()
    plugins: list[Plugin] = []
    for entry_point, plugin in _entry_points():
        if plugin.status == "disabled":
            plugins.append(plugin)
            continue
        try:
            module = entry_point.load()
            _register(manager, module, plugin)
        except Exception as exc:  # a broken third-party plugin must not stop the others
            error = exc.problem if isinstance(exc, _HookProblem) else describe_exception(exc)
            plugins.append(replace(plugin, status="broken", error=error))
            continue
        plugins.append(plugin)
    for name, obj in extra:
        plugin = Plugin(name)
        try:
            _register(manager, obj, plugin)
        except _HookProblem as exc:
            raise PluginError(f"plugin {plugin.label()} {exc.problem}") from None
        plugins.append(plugin)
    registered: list[Registered] = []
    for i, plugin in enumerate(plugins):
        if plugin.status != "ok":
            continue
        try:
            registered += _collect(manager, plugin.name)
        except PluginError:
            raise
        except Exception as exc:  # the plugin's partial registrations are dropped with it
            plugins[i] = replace(plugin, status="broken", error=_hook_failure(exc))
    # Extra plugins are chosen by their caller (the components given to the Python API):
    # a name one of them takes from an installed plugin is the caller's mistake, at once.
    given = {name for name, _ in extra}
    for regs in Registry(registered=registered).clashes():
        if any(r.plugin in given for r in regs):
            raise _twice(regs[0], regs[1])  # in loading order: installed plugins first
    for plugin in plugins:
        if plugin.status == "broken":
            warnings.warn(
                f"plugin {plugin.label()} failed to load: {plugin.error} "
                f"(set {DISABLE_VARIABLE}={plugin.name} to skip it)",
                stacklevel=2,
            )
    return Registry(plugins, registered)


@functools.cache
def default_registry() -> Registry:
    """The registry of the installed plugins, built once per process."""
    return load_registry()


def _entry_points() -> list[tuple[importlib.metadata.EntryPoint, Plugin]]:
    """The group's entry points, each with its plugin record (disabled ones marked), by name.

    Entry-point names are each distribution's own: one that two distributions declare is
    named ``distribution:entry`` in both, and both load."""
    disabled = {n.strip() for n in os.environ.get(DISABLE_VARIABLE, "").split(",") if n.strip()}
    found: dict[tuple[str | None, str], tuple[importlib.metadata.EntryPoint, Plugin]] = {}
    # A distribution's name and version, by the distribution's entry: each of them reads and
    # parses its whole metadata file, and one distribution holds many plugins (all the
    # built-in ones): read once per distribution, since every command's start pays for it.
    named: dict[int, tuple[str | None, str | None]] = {}
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist
        if id(dist) not in named:
            metadata = dist.metadata if dist else None
            named[id(dist)] = (metadata["Name"], metadata["Version"]) if metadata else (None, None)
        # A distribution seen twice on sys.path: the first one is the one Python imports.
        found.setdefault((named[id(dist)][0], ep.name), (ep, Plugin(ep.name, *named[id(dist)])))
    entries = [name for _, name in found]
    out: list[tuple[importlib.metadata.EntryPoint, Plugin]] = []
    for (dist_name, name), (ep, plugin) in found.items():
        if entries.count(name) > 1:
            plugin = replace(plugin, name=f"{dist_name}:{name}")
        if any(plugin.answers_to(word) for word in disabled):
            plugin = replace(plugin, status="disabled")
        out.append((ep, plugin))
    for word in sorted(disabled):
        if not any(plugin.answers_to(word) for _, plugin in out):
            warnings.warn(
                f"{DISABLE_VARIABLE} names '{word}', which is no installed plugin"
                f"{did_you_mean(word, [p.name for _, p in out])}",
                stacklevel=3,
            )
    return sorted(out, key=lambda pair: pair[1].name)


# --- pluggy --------------------------------------------------------------------------------------


class _HookProblem(Exception):
    """A plugin's hook that specanim cannot call; problem says which and what was meant."""

    def __init__(self, problem: str):
        super().__init__(problem)
        self.problem = problem


def _manager() -> pluggy.PluginManager:
    manager = pluggy.PluginManager("specanim")
    manager.add_hookspecs(hookspecs)
    return manager


def _register(manager: pluggy.PluginManager, obj: object, plugin: Plugin) -> None:
    """Register a plugin's hooks; _HookProblem if one is misspelt or takes other arguments."""
    hooks = list(_HOOKS.values())
    for attr in dir(obj):
        if manager.parse_hookimpl_opts(obj, attr) is None:
            continue
        if attr not in hooks:
            raise _HookProblem(f"implements an unknown hook '{attr}'{did_you_mean(attr, hooks)}")
        try:
            arguments = list(inspect.signature(getattr(obj, attr)).parameters)
        except (TypeError, ValueError):  # a callable whose signature Python cannot read
            arguments = []
        if arguments != ["register"]:
            raise _HookProblem(
                f"has a hook {attr}({', '.join(arguments)}) that specanim cannot call: "
                f"it takes one argument named register: def {attr}(register)"
            )
    try:
        manager.register(obj, name=plugin.name)
    except (pluggy.PluginValidationError, ValueError) as exc:
        raise _HookProblem(f"cannot be registered: {describe_exception(exc)}") from exc


def _collect(manager: pluggy.PluginManager, plugin: str) -> list[Registered]:
    """Call one plugin's register hooks; what it registers, checked."""
    out: list[Registered] = []
    for kind in KINDS:
        for impl in getattr(manager.hook, _HOOKS[kind]).get_hookimpls():
            if impl.plugin_name == plugin:
                impl.function(register=_registrar(kind, plugin, out))
    return out


def _registrar(kind: Kind, plugin: str, out: list[Registered]) -> Callable[[type[Component]], None]:
    def register(cls: type[Component]) -> None:
        base = _BASES[kind]
        if not (isinstance(cls, type) and issubclass(cls, base)):
            raise PluginError(
                f"plugin '{plugin}' registered {cls!r} as a {kind}, "
                f"but it is not a subclass of {base.__module__}.{base.__qualname__}"
            )
        name = getattr(cls, "name", None)
        if not isinstance(name, str) or not name:
            raise PluginError(f"plugin '{plugin}' registered {cls.__qualname__} with no name")
        out.append(Registered(cls, plugin))

    return register


def _hook_failure(exc: Exception) -> str:
    """``register_panels() raised ZeroDivisionError: division by zero``."""
    hooks = set(_HOOKS.values())
    names = [f.name for f in traceback.extract_tb(exc.__traceback__) if f.name in hooks]
    where = f"{names[0]}() raised " if names else ""
    return where + describe_exception(exc)


# --- local plugins -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalPlugin:
    """A plugin that lives beside a spec: a module file or a package folder.

    It is imported under ``module`` in this process and in every render worker, so the classes
    it defines pickle by reference like an installed package's. Its files' digest is part of
    everything that records or reuses what its code made (work folders, cached trajectories,
    manifests), as an installed plugin's version is; the module name holds it too, so code
    edited since a process imported the plugin is imported again, not taken for the old.
    """

    name: str  # the path as the spec writes it: "panels/legend.py"
    path: Path  # absolute: the .py file, or the package folder holding __init__.py
    module: str
    digest: str  # SHA-256 of its files (source_digest)

    @classmethod
    def at(cls, name: str, base_dir: Path) -> LocalPlugin:
        """The local plugin a spec names, relative to the spec's folder; PluginError if absent."""
        path = (base_dir / name).resolve()
        if path.is_dir():
            if not (path / "__init__.py").is_file():
                raise PluginError(f"plugin folder '{name}' has no __init__.py ({path})")
        elif not path.is_file():
            raise PluginError(f"no plugin file '{name}' (looked for {path})")
        elif path.suffix != ".py":
            raise PluginError(f"plugin '{name}' is neither a .py file nor a package folder")
        try:
            digest = source_digest(path)
        except OSError as exc:
            raise PluginError(f"plugin '{name}' cannot be read: {exc}") from None
        key = hashlib.sha256(f"{path}\0{digest}".encode()).hexdigest()[:12]
        stem = re.sub(r"\W", "_", path.stem if path.is_file() else path.name)
        return cls(name, path, f"{LOCAL_PREFIX}{key}_{stem}", digest)


def source_digest(path: Path) -> str:
    """The SHA-256 of a plugin file, or of every file of a package folder and its names
    (Python's ``__pycache__`` and hidden files aside)."""
    if path.is_file():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    h = hashlib.sha256()
    for file in sorted(path.rglob("*")):
        inside = file.relative_to(path).parts
        if not file.is_file() or any(p == "__pycache__" or p.startswith(".") for p in inside):
            continue
        content = hashlib.sha256(file.read_bytes()).hexdigest()
        h.update(f"{'/'.join(inside)}\0{content}\n".encode())
    return h.hexdigest()


# The local plugins imported in this process, by module name.
_imported: dict[str, LocalPlugin] = {}


def local_plugin(cls: type) -> LocalPlugin | None:
    """The local plugin whose code defines cls, if a local plugin does."""
    return _imported.get(cls.__module__.partition(".")[0])


def import_local(plugin: LocalPlugin) -> ModuleType:
    """Import a local plugin's module (once per process); PluginError naming the line at fault,
    or if its files changed since the spec was read (a render worker imports it again)."""
    if plugin.module in sys.modules:
        return sys.modules[plugin.module]
    try:
        now: str | None = source_digest(plugin.path)
    except OSError:
        now = None
    if now != plugin.digest:
        raise PluginError(
            f"plugin '{plugin.name}' changed or went while specanim was using it ({plugin.path}): "
            "run the command again"
        )
    is_package = plugin.path.is_dir()
    file = plugin.path / "__init__.py" if is_package else plugin.path
    spec = importlib.util.spec_from_file_location(
        plugin.module, file, submodule_search_locations=[str(plugin.path)] if is_package else None
    )
    assert spec is not None and spec.loader is not None, "a .py file always has a loader"
    module = importlib.util.module_from_spec(spec)
    sys.modules[plugin.module] = module  # before running it: dataclasses and pickle look it up
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        for name in [m for m in sys.modules if m.partition(".")[0] == plugin.module]:
            del sys.modules[name]
        raise PluginError(
            f"plugin '{plugin.name}' failed to load: {describe_exception(exc)}"
            f"{_where(exc, plugin.path)}"
        ) from exc
    _imported[plugin.module] = plugin
    return module


def import_locals(plugins: Sequence[LocalPlugin]) -> None:
    """Import local plugins: what a render worker does before it unpickles the scene."""
    for plugin in plugins:
        import_local(plugin)


def with_local(registry: Registry, plugin: LocalPlugin) -> Registry:
    """The registry plus a local plugin's components; PluginError if it cannot load or clashes."""
    module = import_local(plugin)
    manager = _manager()
    try:
        _register(manager, module, Plugin(plugin.name))
    except _HookProblem as exc:
        raise PluginError(f"plugin '{plugin.name}' {exc.problem}") from None
    if not any(getattr(manager.hook, hook).get_hookimpls() for hook in _HOOKS.values()):
        raise PluginError(
            f"plugin '{plugin.name}' has no hook: mark its register_panels (or register_datasets, "
            "register_reducers, register_encoders, register_executors) function with @hookimpl"
        )
    try:
        registered = _collect(manager, plugin.name)
    except PluginError:
        raise
    except Exception as exc:
        raise PluginError(
            f"plugin '{plugin.name}' failed to load: {_hook_failure(exc)}{_where(exc, plugin.path)}"
        ) from exc
    return registry.extended(Plugin(plugin.name), registered)


def _where(exc: BaseException, path: Path) -> str:
    """`` (legend.py, line 3)``: the last line of the plugin's own code the error passed."""
    if isinstance(exc, SyntaxError):
        return ""  # its message already names the file and line
    inside = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if Path(f.filename) == path or path in Path(f.filename).parents
    ]
    return f" ({Path(inside[-1].filename).name}, line {inside[-1].lineno})" if inside else ""
