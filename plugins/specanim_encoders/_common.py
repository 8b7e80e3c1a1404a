"""What the built-in encoders share: option types, checks, and a sink that streams frames
through one FFmpeg encoder and muxer (via PyAV) into a file."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, ClassVar

import numpy as np
from pydantic import Field

from specanim.sdk import Encoder, FrameSink, RenderError

if TYPE_CHECKING:  # PyAV is imported when a sink opens: every command loads this plugin
    from av.container import OutputContainer
    from av.video.codeccontext import VideoCodecContext
    from av.video.frame import VideoFrame

Loop = Annotated[
    int,
    Field(ge=0, le=65535, description="how many times the animation plays; 0 = forever"),
]


def frame_rate(fps: float) -> Fraction:
    """fps as an exact fraction (29.97 -> 2997/100, 12.5 -> 25/2), for FFmpeg's time bases."""
    return Fraction(fps).limit_denominator(1001)


def check_frame(rgb: np.ndarray, width: int, height: int) -> None:
    """Raise RenderError unless rgb is a (height, width, 3) uint8 frame."""
    if rgb.shape != (height, width, 3) or rgb.dtype != np.uint8:
        raise RenderError(
            f"expected a ({height}, {width}, 3) uint8 frame, got {rgb.shape} {rgb.dtype}"
        )


@dataclass(frozen=True)
class AvFormat:
    """One FFmpeg muxer and encoder pair and their options."""

    container: str  # the muxer: "mp4"
    codec: str  # the encoder: "libx264"
    pix_fmt: str  # the pixel format the encoder takes; PyAV converts rgb24 frames to it
    codec_options: Mapping[str, str] = field(default_factory=dict)
    container_options: Mapping[str, str] = field(default_factory=dict)


class AvSink(FrameSink):
    """Streams frames through one FFmpeg encoder into one file, frame i at time i / fps.

    Memory stays flat: each frame is encoded and muxed as it arrives; FFmpeg keeps only its
    bounded look-ahead.
    """

    def __init__(self, path: Path, fmt: AvFormat, width: int, height: int, fps: float) -> None:
        import av
        from av.video.stream import VideoStream

        self.path = path
        self.width = width
        self.height = height
        self._codec = fmt.codec
        self._count = 0
        rate = frame_rate(fps)
        self._container: OutputContainer | None = None
        with self._failures("start"):
            # bitexact: no random ids (WebM's segment UID) or version strings in the file, so
            # the same frames give the same bytes.
            options = {"fflags": "+bitexact", **fmt.container_options}
            container = av.open(str(path), "w", format=fmt.container, options=options)
            try:
                stream = container.add_stream(fmt.codec, rate=rate, options=dict(fmt.codec_options))
                if not isinstance(stream, VideoStream):
                    raise RenderError(f"{fmt.codec} is not a video codec")
                self._stream = stream
                context = stream.codec_context
                context.width, context.height, context.pix_fmt = width, height, fmt.pix_fmt
                context.time_base = 1 / rate
                context.thread_type = "AUTO"  # frame threads where the codec has them (x264)
                self.configure(context)
            except BaseException:
                container.close()
                raise
        self._container = container

    def configure(self, context: VideoCodecContext) -> None:
        """Set more of the encoder's fields before it opens; subclasses override."""

    def convert(self, frame: VideoFrame) -> VideoFrame:
        """Turn an rgb24 frame into what the encoder takes; by default PyAV converts it."""
        return frame

    def write(self, rgb: np.ndarray) -> None:
        from av.video.frame import VideoFrame

        check_frame(rgb, self.width, self.height)
        self.write_frame(self.convert(VideoFrame.from_ndarray(rgb, format="rgb24")))

    def write_frame(self, frame: VideoFrame) -> None:
        """Encode one frame already in (or convertible to) the encoder's pixel format."""
        if self._container is None:
            raise RenderError(f"{self.path} is closed: no more frames can be written to it")
        frame.pts = self._count
        frame.time_base = self._stream.codec_context.time_base
        with self._failures("encode"):
            self._container.mux(self._stream.encode(frame))
        self._count += 1

    def close(self) -> None:
        if self._container is None:
            return
        container, self._container = self._container, None
        with self._failures("finish"):
            try:
                if self._count:  # flushing an encoder that never started is an error in FFmpeg
                    container.mux(self._stream.encode(None))  # the frames it still holds
            finally:
                container.close()

    @contextmanager
    def _failures(self, doing: str) -> Iterator[None]:
        """Turn FFmpeg's errors into RenderError that names the codec and the file."""
        import av

        try:
            yield
        except av.FFmpegError as exc:
            raise RenderError(f"{self._codec} could not {doing} {self.path}: {exc}") from exc


class AvEncoder(Encoder):
    """An encoder that streams frames through one FFmpeg encoder; subclasses say which one."""

    sink: ClassVar[type[AvSink]] = AvSink

    @abstractmethod
    def av_format(self) -> AvFormat:
        """The muxer, encoder and their options for this encoder's options."""

    def open(self, path: Path, width: int, height: int, fps: float) -> FrameSink:
        return self.sink(path, self.av_format(), width, height, fps)
