"""Text templates: titles and labels that show a frame's values, such as ``{epoch}``."""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from typing import Annotated

from pydantic import AfterValidator, ValidationInfo

from specanim.errors import did_you_mean

# The values every frame carries (see timeline.make_frame).
FRAME_FIELDS = ("epoch", "epochs", "iteration", "phase", "progress", "frame", "frames")
# The key of pydantic's validation context that holds every field a template may use: the
# frame's own and the reducer's declared values (Reducer.frame_values).
FIELDS_CONTEXT = "frame_fields"


def check_template(text: str, fields: Sequence[str] = FRAME_FIELDS) -> str:
    """Return text if every ``{field}`` in it is one of fields; ValueError otherwise."""
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ValueError(
            f"broken template {text!r}: {exc} (write {{{{ and }}}} for braces)"
        ) from None
    for _, field, spec, _ in parts:
        if field is None:
            continue
        name = field.split(".")[0].split("[")[0]
        if name not in fields:
            raise ValueError(
                f"unknown field '{{{field}}}'{did_you_mean(name, fields)}; "
                f"known: {', '.join(fields)}"
            )
        if spec and "{" in spec:
            raise ValueError(f"nested fields are not supported in {text!r}")
        if spec and re.search(r"\d{4,}", spec):  # '{epoch:>1000000000}' takes a GB a frame
            raise ValueError(f"a width or precision above 999 in {text!r}")
    return text


def _check_in_context(text: str, info: ValidationInfo) -> str:
    context = info.context if isinstance(info.context, dict) else {}
    return check_template(text, context.get(FIELDS_CONTEXT, FRAME_FIELDS))


# An option that is a template over the frame's values, checked when the spec is validated.
Template = Annotated[str, AfterValidator(_check_in_context)]
