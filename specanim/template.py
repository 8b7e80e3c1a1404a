"""Text templates: titles and labels that show a frame's values, such as ``{epoch}``."""

from __future__ import annotations

import string

from specanim.errors import did_you_mean

# The values every frame carries (see timeline.make_frame).
FRAME_FIELDS = ("epoch", "epochs", "iteration", "phase", "progress", "frame", "frames")


def check_template(text: str) -> str:
    """Return text if every ``{field}`` in it is a frame value; ValueError otherwise."""
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
        if name not in FRAME_FIELDS:
            raise ValueError(
                f"unknown field '{{{field}}}'{did_you_mean(name, FRAME_FIELDS)}; "
                f"known: {', '.join(FRAME_FIELDS)}"
            )
        if spec and "{" in spec:
            raise ValueError(f"nested fields are not supported in {text!r}")
    return text
