"""A component's options as table rows, read from its ``Options`` model's JSON schema.

Any pydantic model works, so ``specanim describe`` shows a third-party plugin's options the same
way as a built-in's: nested models are flattened (``view.mode``), types are written in the
spec's terms (``number in (0, 64]``, ``global | follow | fixed``, ``list of string``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

Schema = dict[str, Any]


NO_DEFAULT = object()  # a nested model's own row: its fields' rows carry the defaults


@dataclass(frozen=True)
class OptionRow:
    """One option: its dotted name, type, default (a JSON value) and description."""

    name: str
    type: str
    default: Any  # NO_DEFAULT when required (or a nested model's row)
    required: bool
    description: str

    def default_text(self) -> str:
        """The default as a spec would write it: ``auto``, ``0.5``, ``null``, ``""``."""
        if self.required:
            return "required"
        if self.default is NO_DEFAULT:
            return "-"
        if isinstance(self.default, str) and self.default:
            return self.default
        return json.dumps(self.default)

    def as_json(self) -> dict[str, Any]:
        default = None if self.default is NO_DEFAULT else self.default
        return {**vars(self), "default": default}


def option_rows(model: type[BaseModel]) -> list[OptionRow]:
    """Every option of model, in field order; a nested model's row comes before its fields."""
    schema = model.model_json_schema()
    defs: dict[str, Schema] = schema.get("$defs", {})
    rows: list[OptionRow] = []

    def walk(obj: Schema, prefix: str, defaults: Any) -> None:
        required = set(obj.get("required", ()))
        for key, prop in obj.get("properties", {}).items():
            name = prefix + key
            default: Any = NO_DEFAULT
            if isinstance(defaults, dict) and key in defaults:
                default = defaults[key]  # the enclosing model's default overrides the field's
            elif "default" in prop:
                default = prop["default"]
            nested = _nested_model(prop, defs)
            row = OptionRow(
                name,
                type_text(prop, defs),
                NO_DEFAULT if nested else default,
                key in required,
                prop.get("description", ""),
            )
            rows.append(row)
            if nested is not None:
                walk(nested, name + ".", default)

    walk(schema, "", None)
    return rows


def _resolve(prop: Schema, defs: dict[str, Schema]) -> Schema:
    ref = prop.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return defs.get(ref.removeprefix("#/$defs/"), {})
    return prop


def _nested_model(prop: Schema, defs: dict[str, Schema]) -> Schema | None:
    """The object schema with properties that prop is (or is one member of), to flatten."""
    for member in [prop, *prop.get("anyOf", ()), *prop.get("allOf", ())]:
        target = _resolve(member, defs)
        if target.get("type") == "object" and target.get("properties"):
            return target
    return None


def type_text(prop: Schema, defs: dict[str, Schema]) -> str:
    """A JSON schema as a short type: ``integer >= 1``, ``line | bar``, ``list of number``."""
    prop = _resolve(prop, defs)
    for union in ("anyOf", "oneOf"):
        if union in prop:
            return " | ".join(dict.fromkeys(type_text(m, defs) for m in prop[union]))
    if "enum" in prop:
        return " | ".join(_literal(v) for v in prop["enum"])
    if "const" in prop:
        return _literal(prop["const"])
    kind = prop.get("type")
    if isinstance(kind, list):
        return " | ".join(kind)
    if kind == "array":
        if "prefixItems" in prop:
            return "[" + ", ".join(type_text(m, defs) for m in prop["prefixItems"]) + "]"
        items = prop.get("items")
        return f"list of {type_text(items, defs)}" if items else "list"
    if kind == "object":
        values = prop.get("additionalProperties")
        if isinstance(values, dict) and values:
            return f"mapping of string to {type_text(values, defs)}"
        return "object"
    if kind in ("number", "integer"):
        return kind + _bounds(prop)
    return str(kind) if kind else "any"


def _bounds(prop: Schema) -> str:
    low = ("[", prop["minimum"]) if "minimum" in prop else None
    low = ("(", prop["exclusiveMinimum"]) if "exclusiveMinimum" in prop else low
    high = ("]", prop["maximum"]) if "maximum" in prop else None
    high = (")", prop["exclusiveMaximum"]) if "exclusiveMaximum" in prop else high
    if low and high:
        return f" in {low[0]}{low[1]}, {high[1]}{high[0]}"
    if low:
        return f" {'>=' if low[0] == '[' else '>'} {low[1]}"
    if high:
        return f" {'<=' if high[0] == ']' else '<'} {high[1]}"
    return ""


def _literal(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
