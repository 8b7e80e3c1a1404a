"""Showing renders in Jupyter (and VS Code, JupyterLab, Colab): a playable video inline, up to a
size; above it, a link to the file and its last frame."""

from __future__ import annotations

import base64
import dataclasses
import html
from dataclasses import dataclass
from pathlib import Path

from specanim.engine import Result

INLINE_LIMIT = 25 * 2**20  # bytes of video embedded in a notebook; larger files are linked
_VIDEO_TYPES = {".mp4": "video/mp4", ".webm": "video/webm"}
_IMAGE_TYPES = {".gif": "image/gif", ".webp": "image/webp", ".apng": "image/apng"}


def result_html(result: Result, limit: int = INLINE_LIMIT) -> str:
    """A rendered file as HTML: the video (or animated image) itself, or a link and a note."""
    path = Path(result.path)
    caption = (
        f"{html.escape(str(path))}: {result.frames} frames, {result.width}x{result.height}, "
        f"{result.fps:g} fps"
    )
    if path.is_dir():  # a folder of PNG frames
        return f"<p>{caption} (a folder of PNG frames)</p>"
    size = path.stat().st_size
    suffix = path.suffix.lower()
    if size > limit or suffix not in _VIDEO_TYPES | _IMAGE_TYPES:
        why = f"{size / 2**20:.1f} MB, above the {limit / 2**20:.0f} MB shown inline"
        return f'<p><a href="{html.escape(path.as_posix())}">{caption}</a> ({why})</p>'
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    style = f'style="max-width: 100%" width="{result.width}"'
    if suffix in _VIDEO_TYPES:
        body = (
            f"<video controls autoplay loop muted playsinline {style}>"
            f'<source src="data:{_VIDEO_TYPES[suffix]};base64,{data}" '
            f'type="{_VIDEO_TYPES[suffix]}"></video>'
        )
    else:
        body = f'<img {style} src="data:{_IMAGE_TYPES[suffix]};base64,{data}"/>'
    return f"<figure>{body}<figcaption>{caption}</figcaption></figure>"


@dataclass(frozen=True)
class Rendered(Result):
    """What a render wrote, shown in a notebook as the video itself (``result_html``)."""

    @classmethod
    def of(cls, result: Result) -> Rendered:
        return cls(**dataclasses.asdict(result))

    def _repr_html_(self) -> str:
        return result_html(self)


@dataclass(frozen=True)
class Explorer:
    """The explorer page of an animation, shown in a notebook (Jupyter, JupyterLab, VS Code)
    inline: an iframe holding the whole page (``srcdoc``), which needs no server and no file."""

    page: str  # the page's HTML
    width: int  # the frame's pixels
    height: int

    def _repr_html_(self) -> str:
        # Room for the page's margin, its controls and its class list under the frame.
        width, height = self.width + 20, self.height + 110
        return (
            f'<iframe srcdoc="{html.escape(self.page, quote=True)}" width="{width}" '
            f'height="{height}" style="border: 0; max-width: 100%" '
            'title="specanim explorer"></iframe>'
        )
