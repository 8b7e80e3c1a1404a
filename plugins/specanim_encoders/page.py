"""The ``html`` output: the animation as one page a reader explores (play, scrub, hover, zoom).

The page is written from the prepared scene by specanim's explorer, not frame by frame: this
encoder names the format (``type: html`` or an ``.html`` path) and its options.
"""

from __future__ import annotations

from pathlib import Path

from specanim.sdk import Encoder, FrameSink, Options, UserError


class PageOptions(Options):
    """Options of the ``html`` output (none yet)."""


class Page(Encoder):
    """A self-contained HTML page that plays the animation and lets the reader explore it."""

    name = "html"
    extensions = (".html",)
    Options = PageOptions

    def open(self, path: Path, width: int, height: int, fps: float) -> FrameSink:
        raise UserError(
            "an html output is a page written from the whole scene, not from frames: "
            "render it with `specanim render SPEC -o scene.html` or Animation.render()"
        )
