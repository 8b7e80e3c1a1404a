"""Text templates: titles and labels that show a frame's values, such as ``{epoch}``."""

from __future__ import annotations

import re
import string
import typing
from collections.abc import Iterator, Sequence
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ValidationInfo

from specanim.errors import did_you_mean

# The values every frame carries (see timeline.make_frame).
FRAME_FIELDS = ("epoch", "epochs", "iteration", "phase", "progress", "frame", "frames")
# The key of pydantic's validation context that holds every field a template may use: the
# frame's own and the reducer's declared values (Reducer.frame_values).
FIELDS_CONTEXT = "frame_fields"


# A standard format spec (``[[fill]align][sign][z][#][0][width][grouping][.precision][type]``),
# with width and precision below 1000: '{epoch:>1000000000}' would take a GB a frame.
_FORMAT_SPEC = re.compile(r"(?:.?[<>=^])?[-+ ]?z?#?0?\d{0,3}[,_]?(?:\.\d{1,3})?[bcdeEfFgGnosxX%]?")


def check_template(text: str, fields: Sequence[str] = FRAME_FIELDS) -> str:
    """Return text if every ``{field}`` in it is one of fields, by name alone (no attribute or
    item), with at most a conversion and a standard format spec; ValueError otherwise."""
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ValueError(
            f"broken template {text!r}: {exc} (write {{{{ and }}}} for braces)"
        ) from None
    for _, field, spec, conversion in parts:
        if field is None:
            continue
        if conversion not in (None, "r", "s", "a"):
            raise ValueError(f"'{{{field}!{conversion}}}': a conversion is !r, !s or !a")
        if field not in fields:
            name = re.split(r"[.\[]", field)[0]
            if name in fields:  # '{epoch.__class__}' would show Python's internals
                raise ValueError(f"'{{{field}}}': a field is a name alone, without '.' or '[...]'")
            raise ValueError(
                f"unknown field '{{{field}}}'{did_you_mean(name, fields)}; "
                f"known: {', '.join(fields)}"
            )
        if spec and "{" in spec:
            raise ValueError(f"nested fields are not supported in {text!r}")
        if spec and not _FORMAT_SPEC.fullmatch(spec):
            raise ValueError(
                f"'{{{field}:{spec}}}': not a format such as :.0% or :>4, "
                "with a width or precision of at most 999"
            )
    return text


def _check_in_context(text: str, info: ValidationInfo) -> str:
    context = info.context if isinstance(info.context, dict) else {}
    return check_template(text, context.get(FIELDS_CONTEXT, FRAME_FIELDS))


# An option that is a template over the frame's values, checked when the spec is validated.
Template = Annotated[str, AfterValidator(_check_in_context)]


def unknown_in_defaults(model: type[BaseModel], fields: Sequence[str]) -> Iterator[tuple[str, str]]:
    """The options of model (nested ones as ``trail.label``) whose default is a Template that
    does not suit fields, each with what is wrong: pydantic never checks a default."""
    for name, info in model.model_fields.items():
        default = info.get_default(call_default_factory=True)
        if isinstance(default, str) and _is_template(info.annotation, info.metadata):
            try:
                check_template(default, fields)
            except ValueError as exc:
                yield name, f"defaults to {default!r}: {exc}"
        for nested in _models(info.annotation):
            for inner, problem in unknown_in_defaults(nested, fields):
                yield f"{name}.{inner}", problem


def _is_template(annotation: Any, metadata: Sequence[Any]) -> bool:
    """Whether a field of this annotation (and metadata) is a Template, or Template | None."""
    if any(isinstance(m, AfterValidator) and m.func is _check_in_context for m in metadata):
        return True
    return any(
        _is_template(arg, getattr(arg, "__metadata__", ())) for arg in typing.get_args(annotation)
    )


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models a field of this annotation may hold (a nested model, or one | None)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models(arg)]
