"""The JSON Schema (draft 2020-12) of a whole spec, for editors that complete and check YAML.

It is generated from the document model and from every registered component's ``Options``, so
descriptions and defaults are the models' own. Each component entry is a choice of one branch
per registered name, kept apart by ``type``: the branch's ``type`` is that name and its other
keys are the component's options, unknown keys rejected.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from specanim.plugins import Registry
from specanim.spec.migrations import current_version
from specanim.spec.models import Entry, OutputEntry, PanelEntry, SceneSpec

DIALECT = "https://json-schema.org/draft/2020-12/schema"

# The document keys that hold component entries (alone, in a list or by name): the kind they
# name and the model of the keys the core reads in each entry.
_ENTRIES: dict[str, tuple[str, type[Entry] | type[OutputEntry]]] = {
    "dataset": ("dataset", Entry),
    "reducer": ("reducer", Entry),
    "reducers": ("reducer", Entry),
    "panels": ("panel", PanelEntry),
    "output": ("encoder", OutputEntry),
    "executor": ("executor", Entry),
}


def json_schema(registry: Registry) -> dict[str, Any]:
    """The schema of a spec whose components are those of registry."""
    components = list(registry)
    models: list[type[BaseModel]] = [SceneSpec, Entry, PanelEntry, OutputEntry]
    models += [reg.cls.Options for reg in components]
    refs, top = models_json_schema(
        [(model, "validation") for model in dict.fromkeys(models)], ref_template="#/$defs/{model}"
    )
    defs: dict[str, Any] = top["$defs"]

    def ref(model: type[BaseModel]) -> str:
        return str(refs[(model, "validation")]["$ref"])

    def take(model: type[BaseModel]) -> dict[str, Any]:
        schema: dict[str, Any] = defs.pop(ref(model).rsplit("/", 1)[-1], {})
        return schema

    scene = take(SceneSpec)
    core = {model: take(model) for model in (Entry, PanelEntry, OutputEntry)}
    options: dict[type[BaseModel], dict[str, Any]] = {}  # components may share one model
    # A spec that extends another holds only changes: what a whole spec must have is required
    # only of one that does not.
    whole: dict[str, Any] = {"required": scene.pop("required", []), "properties": {}}
    for key, (kind, model) in _ENTRIES.items():
        if key not in scene["properties"]:
            continue
        branches: list[dict[str, Any]] = []
        for reg in components:
            if reg.kind != kind:
                continue
            own = options.setdefault(reg.cls.Options, take(reg.cls.Options))
            name = f"{kind}.{reg.name}"
            defs[name] = _branch(reg.name, reg.cls.summary(), own, core[model])
            branches.append({"$ref": f"#/$defs/{name}"})
        field = scene["properties"][key]
        # anyOf, not oneOf: yaml-language-server merges the property completions of anyOf
        # branches, which the values of ``type`` keep apart.
        scene["properties"][key] = _swap(field, ref(model), {"anyOf": branches})
        if "type" in core[model].get("required", []):
            whole["properties"][key] = _swap(field, ref(model), {"required": ["type"]})
    # A whole scene names its reducer one way: reducer: or reducers:.
    whole["oneOf"] = [{"required": ["reducer"]}, {"required": ["reducers"]}]
    scene["properties"]["version"]["maximum"] = current_version()
    return {
        "$schema": DIALECT,
        **scene,
        "if": {"required": ["extends"]},
        "else": whole,
        "title": "specanim scene spec",
        "$defs": dict(sorted(defs.items())),
    }


def _swap(node: Any, ref: str, replacement: dict[str, Any]) -> Any:
    """node with every ``{"$ref": ref}`` in it replaced (its other keywords kept)."""
    if isinstance(node, dict):
        if node.get("$ref") == ref:
            return {**{k: v for k, v in node.items() if k != "$ref"}, **replacement}
        return {k: _swap(v, ref, replacement) for k, v in node.items()}
    if isinstance(node, list):
        return [_swap(item, ref, replacement) for item in node]
    return node


def _branch(
    name: str, summary: str, options: dict[str, Any], core: dict[str, Any]
) -> dict[str, Any]:
    """One component's entry: ``type: name``, the core's keys and the component's options.

    ``type`` is required by the document (see ``whole``), not here: in a spec that extends
    another, an entry may change options and keep the base's ``type``."""
    # enum, not const: yaml-language-server offers enum values, and const ones not in list items
    properties = {"type": {"enum": [name], "description": summary}}
    properties.update({k: v for k, v in core.get("properties", {}).items() if k != "type"})
    properties.update(options.get("properties", {}))
    branch: dict[str, Any] = {
        "title": options.get("title", name),
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if summary:
        branch["description"] = summary
    if "required" in options:
        branch["required"] = options["required"]
    for keyword in ("allOf", "anyOf", "oneOf", "if", "then", "else"):  # model-level rules
        if keyword in options:
            branch[keyword] = options[keyword]
    return branch
