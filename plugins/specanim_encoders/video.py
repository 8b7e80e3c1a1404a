"""Video encoders: ``mp4`` (H.264) and ``webm`` (VP9), both through PyAV's bundled FFmpeg."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field

from specanim import hookimpl
from specanim.components import Encoder, FrameSink, Options
from specanim.errors import InputError

from ._common import AvEncoder, AvFormat, AvSink

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


X264_THREADS = 4


class VideoSink(AvSink):
    """An AvSink that converts RGB to BT.709 limited-range yuv420p and tags the stream so.

    Players assume BT.709 for untagged HD video, while FFmpeg converts RGB with BT.601 by
    default: without this, colours would shift slightly in browsers.
    """

    def __init__(self, path: Path, fmt: AvFormat, width: int, height: int, fps: float) -> None:
        from av.video.reformatter import VideoReformatter

        self._reformatter = VideoReformatter()  # one per sink: it keeps its scaler set up
        super().__init__(path, fmt, width, height, fps)

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


class Mp4Options(Options):
    """Options of the ``mp4`` encoder."""

    crf: int = Field(
        18, ge=0, le=51, description="H.264 quality: 0 = lossless, 18 = looks lossless, 51 = worst"
    )
    preset: X264Preset = Field(
        # Measured on scatter frames: veryfast took 31 CPU-ms a frame against medium's ~80, and
        # the file was no bigger at the same crf.
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
        return super().open(path, width, height, fps)


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


class WebMOptions(Options):
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
                # libvpx's default 'good' deadline took ~450 ms a 1100x800 frame here;
                # realtime at cpu-used 6 took ~50 ms, for somewhat larger files.
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
