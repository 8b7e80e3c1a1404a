"""Image encoders: animated ``gif``, ``webp`` and ``apng``, and ``png``, a folder of frames.

Pillow writes all three animated formats, but its writers hold every frame until the end
(GIF and APNG keep them to compare neighbours, WebP lists ``append_images`` first), so memory
would grow with the animation. FFmpeg's encoders and muxers (through PyAV) write frame by frame,
so every format here goes through them; Pillow only quantises GIF frames to one fixed palette.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image
from pydantic import Field

from specanim.sdk import Encoder, FrameSink, InputError, Options, hookimpl

from ._common import AvEncoder, AvFormat, AvSink, Loop, check_frame
from .page import Page

_PALETTE_FRAMES = 8  # how many distinct leading frames the GIF palette is quantised from
_GIF_MAX_FPS = 50  # browsers play delays under 2 centiseconds as 10


class GifOptions(Options):
    """Options of the ``gif`` encoder."""

    loop: Loop = 0


class GifSink(FrameSink):
    """Writes a GIF whose frames share one global palette, so colours cannot flicker.

    The palette comes from the first distinct frames (at most _PALETTE_FRAMES, so memory stays
    bounded; repeats of a frame, as in a hold, are counted rather than copied). Those frames wait
    until the palette is made, then every frame is quantised against it without dithering as it
    arrives and goes to FFmpeg's GIF encoder, which writes the palette once, globally. The GIF
    muxer turns each frame's time into whole centiseconds from the start, so single delays round
    (3, 4, 3, ... cs at 30 fps) while the total duration stays right.
    """

    def __init__(self, path: Path, width: int, height: int, fps: float, loop: int) -> None:
        fmt = AvFormat("gif", "gif", "pal8", container_options={"loop": str(_repeats(loop))})
        self._sink = AvSink(path, fmt, width, height, fps)
        self._waiting: list[tuple[np.ndarray, int]] = []  # leading frames and their repeats
        self._palette: Image.Image | None = None
        self._argb = np.zeros((256, 4), np.uint8)

    def write(self, rgb: np.ndarray) -> None:
        check_frame(rgb, self._sink.width, self._sink.height)
        if self._palette is not None:
            self._encode(rgb)
        elif self._waiting and np.array_equal(self._waiting[-1][0], rgb):
            frame, repeats = self._waiting[-1]
            self._waiting[-1] = (frame, repeats + 1)
        else:
            self._waiting.append((rgb.copy(), 1))  # a copy: the caller may reuse its buffer
            if len(self._waiting) == _PALETTE_FRAMES:
                self._start()

    def close(self) -> None:
        if self._palette is None and self._waiting:
            self._start()
        self._sink.close()

    def _start(self) -> None:
        self._palette = _palette(np.concatenate([frame for frame, _ in self._waiting]))
        rgb = np.asarray(self._palette.getpalette("RGB"), np.uint8).reshape(-1, 3)
        self._argb[:, 0] = 255  # opaque
        self._argb[: len(rgb), 1:] = rgb
        waiting, self._waiting = self._waiting, []
        for frame, repeats in waiting:
            for _ in range(repeats):
                self._encode(frame)

    def _encode(self, rgb: np.ndarray) -> None:
        from av.video.frame import VideoFrame  # PyAV only when encoding: every command loads this

        assert self._palette is not None
        indices = Image.fromarray(rgb).quantize(palette=self._palette, dither=Image.Dither.NONE)
        pal8 = (np.asarray(indices), self._argb)
        # PyAV takes pal8 as (indices, palette); its stubs know only single arrays.
        frame = VideoFrame.from_ndarray(pal8, format="pal8")  # type: ignore[arg-type]
        self._sink.write_frame(frame)


def _repeats(plays: int) -> int:
    """The GIF muxer's loop value for plays (0 = forever).

    GIF counts the repeats after the first play, 0 meaning forever; -1 makes FFmpeg write no
    loop block at all, which plays once.
    """
    if plays == 0:
        return 0
    return plays - 1 if plays > 1 else -1


def _palette(rgb: np.ndarray) -> Image.Image:
    """A palette image of at most 256 colours for the pixels of rgb.

    When rgb has no more colours, they are the palette; Pillow's mapping to it still merges
    colours within a few levels of each other (it looks colours up in 4x4x4 cells).
    """
    image = Image.fromarray(rgb)
    colors = image.getcolors(256)
    if colors is None:
        # Fast octree: far quicker than median cut, with about the same error.
        return image.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    palette = Image.new("P", (1, 1))
    # An RGB image's colours are (r, g, b) tuples; the union type also allows single bands.
    palette.putpalette([channel for _, color in colors for channel in color])  # type: ignore[union-attr]
    return palette


class Gif(Encoder):
    """An animated GIF with one global palette of 256 colours: plays anywhere, large files."""

    name = "gif"
    extensions = (".gif",)
    Options = GifOptions

    def open(self, path: Path, width: int, height: int, fps: float) -> FrameSink:
        if fps > _GIF_MAX_FPS:
            raise InputError(
                f"gif plays at most {_GIF_MAX_FPS} frames a second (browsers slow shorter "
                f"frame delays to 0.1 s), got fps {fps:g}: lower the timeline's fps or use webp"
            )
        return GifSink(path, width, height, fps, self.options.loop)


class WebPOptions(Options):
    """Options of the ``webp`` encoder."""

    quality: int = Field(
        90,
        ge=0,
        le=100,
        description="lossy: picture quality (100 = best); lossless: effort (100 = smallest file)",
    )
    lossless: bool = Field(False, description="store the pixels exactly (large for dense scatters)")
    loop: Loop = 0


class WebP(AvEncoder):
    """An animated WebP: lossy or lossless, far smaller than a GIF, played by browsers."""

    name = "webp"
    extensions = (".webp",)
    Options = WebPOptions

    def av_format(self) -> AvFormat:
        options = self.options
        return AvFormat(
            container="webp",
            # libwebp encodes each frame as a still and the webp muxer appends it: this streams,
            # while libwebp_anim assembles the whole animation in memory.
            codec="libwebp",
            # Lossy WebP is yuv420p inside; lossless needs the RGB (as BGRA) to stay exact.
            pix_fmt="bgra" if options.lossless else "yuv420p",
            codec_options={
                "lossless": str(int(options.lossless)),
                "quality": str(options.quality),
                # libwebp's method (0 fast .. 6 small): 2 for lossy and 0 for lossless are much
                # faster than the defaults (4 and 1), for somewhat larger files.
                "compression_level": "0" if options.lossless else "2",
            },
            container_options={"loop": str(options.loop)},
        )


class ApngOptions(Options):
    """Options of the ``apng`` encoder."""

    loop: Loop = 0


class Apng(AvEncoder):
    """An animated PNG: lossless full colour, played by browsers, large files."""

    name = "apng"
    extensions = (".apng",)
    Options = ApngOptions

    def av_format(self) -> AvFormat:
        return AvFormat(
            container="apng",
            codec="apng",
            pix_fmt="rgb24",
            # zlib level 3: faster than the default, for files barely larger.
            codec_options={"compression_level": "3"},
            container_options={"plays": str(self.options.loop)},
        )


class PngOptions(Options):
    """Options of the ``png`` encoder."""

    compress_level: int = Field(
        1, ge=0, le=9, description="zlib level: 0 = none, 1 = fastest, 9 = smallest files"
    )


class PngFolder(AvEncoder):
    """A folder of numbered PNG frames (frame_00000.png, ...): for other tools to assemble."""

    name = "png"
    # A path without an ending means a folder of frames; '.png' alone is ambiguous (one image?).
    extensions = ("",)
    Options = PngOptions

    def open(self, path: Path, width: int, height: int, fps: float) -> FrameSink:
        path.mkdir(exist_ok=True)
        # FFmpeg's image2 muxer numbers the files; '%%' keeps a '%' in the folder's name.
        pattern = Path(str(path).replace("%", "%%")) / "frame_%05d.png"
        return super().open(pattern, width, height, fps)

    def av_format(self) -> AvFormat:
        # FFmpeg's PNG encoder: quicker than Pillow's, for files of the same size.
        return AvFormat(
            container="image2",
            codec="png",
            pix_fmt="rgb24",
            codec_options={"compression_level": str(self.options.compress_level)},
            container_options={"start_number": "0"},
        )


@hookimpl
def register_encoders(register: Callable[[type[Encoder]], None]) -> None:
    """Register the gif, webp, apng and png encoders, and html, the explorer page (the formats
    that are no video)."""
    register(Gif)
    register(WebP)
    register(Apng)
    register(PngFolder)
    register(Page)
