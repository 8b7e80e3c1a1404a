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

# The document keys that hold component entries: the kind they name, the model of the keys the
# core reads in each entry, and whether the key holds a list of entries.
_ENTRIES: dict[str, tuple[str, type[Entry] | type[OutputEntry], bool]] = {
    "dataset": ("dataset", Entry, False),
    "reducer": ("reducer", Entry, False),
    "panels": ("panel", PanelEntry, True),
    "output": ("encoder", OutputEntry, False),
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

    def take(model: type[BaseModel]) -> dict[str, Any]:
        name = refs[(model, "validation")]["$ref"].rsplit("/", 1)[-1]
        schema: dict[str, Any] = defs.pop(name) if name in defs else {}
        return schema

    scene = take(SceneSpec)
    core = {model: take(model) for model in (Entry, PanelEntry, OutputEntry)}
    options: dict[type[BaseModel], dict[str, Any]] = {}  # components may share one model
    # A spec that extends another holds only changes: what a whole spec must have is required
    # only of one that does not.
    whole: dict[str, Any] = {"required": scene.pop("required", []), "properties": {}}
    for key, (kind, model, many) in _ENTRIES.items():
        branches: list[dict[str, Any]] = []
        for reg in components:
            if reg.kind != kind:
                continue
            own = options.setdefault(reg.cls.Options, take(reg.cls.Options))
            name = f"{kind}.{reg.name}"
            defs[name] = _branch(reg.name, reg.cls.summary(), own, core[model])
            branches.append({"$ref": f"#/$defs/{name}"})
        # anyOf, not oneOf: yaml-language-server merges the property completions of anyOf
        # branches, which the values of ``type`` keep apart.
        choice = {"anyOf": branches}
        if "type" in core[model].get("required", []):
            needs_type = {"required": ["type"]}
            whole["properties"][key] = {"items": needs_type} if many else needs_type
        field = scene["properties"][key]
        description = SceneSpec.model_fields[key].description
        target = field.setdefault("items", {}) if many else field
        for ref_key in ("$ref", "allOf", "anyOf"):
            target.pop(ref_key, None)
        target.update(choice)
        if description and not many:
            field["description"] = description
    # reducers: maps names to reducer entries, each the same choice as reducer:.
    scene["properties"]["reducers"] = {
        "type": "object",
        "description": SceneSpec.model_fields["reducers"].description,
        "additionalProperties": {"anyOf": scene["properties"]["reducer"]["anyOf"]},
        "minProperties": 1,
    }
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
