"""Video encoders: ``mp4`` (H.264) and ``webm`` (VP9), both through PyAV's bundled FFmpeg."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np
from pydantic import Field

from specanim.sdk import Encoder, FrameSink, InputError, Options, hookimpl

from ._common import AvEncoder, AvFormat, AvSink, check_frame

if TYPE_CHECKING:  # PyAV is imported when a sink opens: every command loads this plugin
    from av.video.codeccontext import VideoCodecContext
    from av.video.frame import VideoFrame

X264Preset = Literal[
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
    "placebo",
]

Chroma = Literal["even", "weighted"]

X264_THREADS = 4

# BT.709: luma weights of red and blue, and limited ("MPEG") range levels.
KR, KB = 0.2126, 0.0722
# Chroma weighted by luma plus this: a black pixel still counts a little, so a dot's colour
# spreads less into the dark pixels that share its 2x2 block. On the digits scene
# (benchmarks/bench_shade.py), 0.1 cut the dots' colour error most for the least added fringe.
LUMA_FLOOR = 0.1


def weighted_yuv420p(rgb: np.ndarray, compiled: bool | None = None) -> np.ndarray:
    """An (h, w, 3) uint8 RGB frame (even sizes) as BT.709 limited-range yuv420p planes, (h * 3
    / 2, w) uint8: Y, then Cb and Cr, each 2x2 block's colour the mean of its pixels' weighted
    by their luma. compiled: by the numba loop (the same bytes); by default where this process
    has loaded numba already (render workers), since importing it takes a while.

    yuv420p keeps one colour per 2x2 pixels. FFmpeg averages it evenly, so a small bright dot on
    black loses half its saturation to the black pixels beside it; weighting by brightness keeps
    the colour where the light is.
    """
    h, w, _ = rgb.shape
    planes = np.empty((h * 3 // 2, w), np.uint8)
    luma, chroma = planes[:h], planes[h:].reshape(2, h // 2, w // 2)
    if compiled is None:
        compiled = "numba" in sys.modules
    if compiled:
        from specanim_encoders import yuv

        # One pass, without numpy's temporaries.
        yuv.weighted_yuv420p(
            rgb, LUMA_WEIGHTS, np.float32(LUMA_FLOOR * 255), CHROMA_SCALES, LEVELS, luma, chroma
        )
    else:
        _weighted_yuv420p(rgb, luma, chroma)
    return planes


LUMA_WEIGHTS = np.array([KR, 1 - KR - KB, KB], np.float32)
CHROMA_SCALES = np.array([224 / 255 / (2 * (1 - KB)), 224 / 255 / (2 * (1 - KR))], np.float32)
LEVELS = np.array([219 / 255, 16.5, 128.5], np.float32)  # luma scale and offset, chroma offset


def _weighted_yuv420p(rgb: np.ndarray, luma: np.ndarray, chroma: np.ndarray) -> None:
    r, g, b = (rgb[..., i].astype(np.float32) for i in range(3))  # 0..255
    y = r * LUMA_WEIGHTS[0] + g * LUMA_WEIGHTS[1] + b * LUMA_WEIGHTS[2]
    weight = y + np.float32(LUMA_FLOOR * 255)
    total = block_sum(weight)
    for out, difference, scale in zip(chroma, (b, r), CHROMA_SCALES, strict=True):
        difference -= y
        difference *= weight
        mean = block_sum(difference)
        mean *= scale / total
        mean += LEVELS[2]
        np.clip(mean, 0, 255, out=mean)
        out[...] = mean
    y *= LEVELS[0]
    y += LEVELS[1]
    luma[...] = y


def block_sum(a: np.ndarray) -> np.ndarray:
    """The sums of a's 2x2 blocks: (h / 2, w / 2) of an (h, w) array."""
    out = a[0::2, 0::2] + a[1::2, 0::2]
    out += a[0::2, 1::2]
    out += a[1::2, 1::2]
    return out


class VideoSink(AvSink):
    """An AvSink that converts RGB to BT.709 limited-range yuv420p and tags the stream so.

    Players assume BT.709 for untagged HD video, while FFmpeg converts RGB with BT.601 by
    default: without this, colours would shift slightly in browsers.
    """

    def __init__(
        self,
        path: Path,
        fmt: AvFormat,
        width: int,
        height: int,
        fps: float,
        chroma: Chroma = "weighted",
    ) -> None:
        from av.video.reformatter import VideoReformatter

        self._reformatter = VideoReformatter()  # one per sink: it keeps its scaler set up
        self._chroma = chroma
        super().__init__(path, fmt, width, height, fps)

    def write(self, rgb: np.ndarray) -> None:
        if self._chroma == "even":
            super().write(rgb)
            return
        check_frame(rgb, self.width, self.height)
        self.write_converted(weighted_yuv420p(rgb))

    def write_converted(self, frame: np.ndarray) -> None:
        """Append a frame as weighted_yuv420p's planes (what render workers send)."""
        from av.video.frame import VideoFrame
        from av.video.reformatter import ColorRange, Colorspace

        if frame.shape != (self.height * 3 // 2, self.width):
            raise ValueError(
                f"yuv420p planes of shape {frame.shape} for {self.width}x{self.height} frames"
            )
        picture = VideoFrame.from_ndarray(frame, format="yuv420p")
        picture.colorspace, picture.color_range = Colorspace.ITU709, ColorRange.MPEG
        self.write_frame(picture)

    def configure(self, context: VideoCodecContext) -> None:
        from av.video.reformatter import ColorPrimaries, ColorRange, Colorspace, ColorTrc

        context.colorspace = Colorspace.ITU709
        context.color_range = ColorRange.MPEG
        context.color_primaries = ColorPrimaries.BT709
        context.color_trc = ColorTrc.BT709

    def convert(self, frame: VideoFrame) -> VideoFrame:
        from av.video.reformatter import ColorPrimaries, ColorRange, Colorspace, ColorTrc

        return self._reformatter.reformat(
            frame,
            format="yuv420p",
            dst_colorspace=Colorspace.ITU709,
            dst_color_range=ColorRange.MPEG,
            dst_color_primaries=ColorPrimaries.BT709,
            dst_color_trc=ColorTrc.BT709,
        )


class VideoOptions(Options):
    """Options of every yuv420p video encoder."""

    chroma: Chroma = Field(
        # weighted about halves the saturation small dots lose and cuts their colour error, for
        # a little more error beside them, slightly larger files and a little time a frame
        # (benchmarks/bench_shade.py's chroma part compares them).
        "weighted",
        description="how each 2x2 pixel block's one colour is taken: even: their mean (FFmpeg's "
        "conversion); weighted: weighted by brightness, so small coloured dots on a dark "
        "background keep their colour",
    )


class Mp4Options(VideoOptions):
    """Options of the ``mp4`` encoder."""

    crf: int = Field(
        18, ge=0, le=51, description="H.264 quality: 0 = lossless, 18 = looks lossless, 51 = worst"
    )
    preset: X264Preset = Field(
        # veryfast: on scatter frames, much less CPU a frame than the default medium, and files
        # no bigger at the same crf.
        "veryfast",
        description="x264 speed preset: slower ones make smaller files at equal quality",
    )


class VideoEncoder(AvEncoder):
    """An encoder of yuv420p video: frame sizes must be even."""

    sink = VideoSink
    codec: ClassVar[str]  # the codec's name for messages: "H.264"

    @classmethod
    def check_size(cls, width: int, height: int) -> None:
        # yuv420p stores colour once per 2x2 pixels.
        if width % 2 or height % 2:
            raise InputError(
                f"{cls.name} ({cls.codec}, yuv420p) needs an even width and height; "
                f"got {width}x{height}",
                key="width" if width % 2 else "height",
            )

    def open(self, path: Path, width: int, height: int, fps: float) -> FrameSink:
        self.check_size(width, height)
        options = self.options
        assert isinstance(options, VideoOptions)
        return VideoSink(path, self.av_format(), width, height, fps, options.chroma)

    def converter(self) -> Callable[[np.ndarray], np.ndarray] | None:
        """Weighted chroma is converted in the render workers; FFmpeg's even one by the sink."""
        options = self.options
        assert isinstance(options, VideoOptions)
        return weighted_yuv420p if options.chroma == "weighted" else None


class Mp4(VideoEncoder):
    """H.264 video in an MP4 file (yuv420p, fast start): plays everywhere, browsers included."""

    name = "mp4"
    codec = "H.264"
    extensions = (".mp4",)
    Options = Mp4Options

    def av_format(self) -> AvFormat:
        return AvFormat(
            container="mp4",
            codec="libx264",
            pix_fmt="yuv420p",
            codec_options={
                "crf": str(self.options.crf),
                "preset": self.options.preset,
                # x264's bytes depend on its thread count (it also writes it into the stream),
                # which defaults to 1.5 per core: a fixed count gives the same file everywhere.
                "threads": str(X264_THREADS),
            },
            # The index goes first, so browsers can start playing before the whole file is in.
            container_options={"movflags": "+faststart"},
        )


class WebMOptions(VideoOptions):
    """Options of the ``webm`` encoder."""

    crf: int = Field(32, ge=0, le=63, description="VP9 quality: 0 = best, 63 = worst")


class WebM(VideoEncoder):
    """VP9 video in a WebM file (yuv420p): an open format that browsers play."""

    name = "webm"
    codec = "VP9"
    extensions = (".webm",)
    Options = WebMOptions

    def av_format(self) -> AvFormat:
        return AvFormat(
            container="webm",
            codec="libvpx-vp9",
            pix_fmt="yuv420p",
            codec_options={
                "crf": str(self.options.crf),
                "b": "0",  # no bit-rate cap: crf alone sets the quality
                # libvpx's default 'good' deadline is very slow on frames this size; realtime
                # at cpu-used 6 is many times faster, for somewhat larger files.
                "deadline": "realtime",
                "cpu-used": "6",
                "row-mt": "1",
            },
        )


@hookimpl
def register_encoders(register: Callable[[type[Encoder]], None]) -> None:
    """Register the mp4 and webm encoders."""
    register(Mp4)
    register(WebM)
