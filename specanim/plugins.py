"""Loading plugins and looking up their components: the only module that touches pluggy.

The rest of specanim asks a ``Registry`` for a component class by kind and name.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import cast

import pluggy

from specanim import hookspecs
from specanim.components import KINDS, Component, Dataset, Encoder, Kind, Panel, Reducer
from specanim.errors import PluginError, did_you_mean

ENTRY_POINT_GROUP = "specanim"

_BASES: dict[Kind, type[Component]] = {
    "dataset": Dataset,
    "reducer": Reducer,
    "panel": Panel,
    "encoder": Encoder,
}
_HOOKS: dict[Kind, str] = {kind: f"register_{kind}s" for kind in KINDS}


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


class UnknownComponent(LookupError):
    """No component of that kind has that name; the message suggests the closest one."""


class Registry:
    """Every component the loaded plugins registered, by kind and name."""

    def __init__(self, manager: pluggy.PluginManager) -> None:
        self._by_kind: dict[Kind, dict[str, Registered]] = {kind: {} for kind in KINDS}
        for kind in KINDS:
            caller = getattr(manager.hook, _HOOKS[kind])
            for impl in caller.get_hookimpls():
                # One call per plugin, so every registration knows which plugin made it.
                impl.function(register=self._registrar(kind, impl.plugin_name))

    def _registrar(self, kind: Kind, plugin: str) -> Callable[[type[Component]], None]:
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
            table = self._by_kind[kind]
            if name in table:
                raise PluginError(
                    f"{kind} '{name}' is registered twice: by plugin '{table[name].plugin}' "
                    f"({table[name].cls.__module__}.{table[name].cls.__qualname__}) and by plugin "
                    f"'{plugin}' ({cls.__module__}.{cls.__qualname__})"
                )
            table[name] = Registered(cls, plugin)

        return register

    def names(self, kind: Kind) -> list[str]:
        """The registered names of one kind, sorted."""
        return sorted(self._by_kind[kind])

    def __iter__(self) -> Iterator[Registered]:
        for kind in KINDS:
            yield from (self._by_kind[kind][n] for n in self.names(kind))

    def get(self, kind: Kind, name: str) -> type[Component]:
        """The class registered as name; UnknownComponent (with a suggestion) if there is none."""
        try:
            return self._by_kind[kind][name].cls
        except KeyError:
            raise UnknownComponent(
                f"unknown {kind} '{name}'{did_you_mean(name, self._by_kind[kind])}"
            ) from None

    # Registration checked each class's base, so these casts only name what get() returns.
    def dataset(self, name: str) -> type[Dataset]:
        return cast("type[Dataset]", self.get("dataset", name))

    def reducer(self, name: str) -> type[Reducer]:
        return cast("type[Reducer]", self.get("reducer", name))

    def panel(self, name: str) -> type[Panel]:
        return cast("type[Panel]", self.get("panel", name))

    def encoder(self, name: str) -> type[Encoder]:
        return cast("type[Encoder]", self.get("encoder", name))

    def encoder_for_extension(self, extension: str) -> str | None:
        """The name of the encoder that claims a file ending such as ``.mp4``, if any."""
        for reg in self._by_kind["encoder"].values():
            if extension.lower() in getattr(reg.cls, "extensions", ()):
                return reg.name
        return None


def plugin_manager(extra: Iterable[tuple[str, object]] = ()) -> pluggy.PluginManager:
    """A plugin manager with every installed plugin, plus ``extra`` (name, module) pairs."""
    manager = pluggy.PluginManager("specanim")
    manager.add_hookspecs(hookspecs)
    try:
        manager.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    except Exception as exc:  # a broken third-party plugin must not look like a specanim bug
        raise PluginError(f"a specanim plugin failed to load: {type(exc).__name__}: {exc}") from exc
    for name, plugin in extra:
        try:
            manager.register(plugin, name=name)
        except ValueError as exc:
            raise PluginError(f"plugin '{name}' cannot be registered: {exc}") from exc
    try:
        manager.check_pending()
    except pluggy.PluginValidationError as exc:
        name = manager.get_name(exc.plugin) or repr(exc.plugin)
        raise PluginError(f"plugin '{name}' implements an unknown hook: {exc}") from exc
    return manager


def load_registry(extra: Iterable[tuple[str, object]] = ()) -> Registry:
    """The registry of every installed plugin's components, plus extra plugins for tests."""
    return Registry(plugin_manager(extra))


@functools.cache
def default_registry() -> Registry:
    """The registry of the installed plugins, built once per process."""
    return load_registry()
