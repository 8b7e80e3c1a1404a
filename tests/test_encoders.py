"""The built-in encoders: each output is decoded again with a real decoder and compared."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import GifImagePlugin, Image
from pydantic import ValidationError
from specanim_executors.local import Local, LocalOptions

from specanim import engine
from specanim.components import Encoder
from specanim.engine import pictures
from specanim.errors import InputError, RenderError
from specanim.plugins import default_registry, load_registry
from specanim.spec.validate import load_plan
from specanim.store import manifest
from specanim_encoders.images import Apng, Gif, PngFolder, WebP
from specanim_encoders.page import Page
from specanim_encoders.video import Mp4, WebM

BACKGROUND = (20, 30, 40)
SQUARE = (230, 40, 40)
W, H = 64, 48
N = 12  # more than the GIF palette's sample of 8 frames, so frames after it stream too


def square_x(i: int, width: int, n: int) -> int:
    """The left edge of the square in frame i of n: it crosses the frame from left to right."""
    size = square_size(width)
    return 2 + i * (width - size - 4) // max(n - 1, 1)


def square_size(width: int) -> int:
    """The side of the square in frames width pixels wide."""
    return max(width // 4, 8)


def moving_square(n: int = N, width: int = W, height: int = H) -> Iterator[np.ndarray]:
    """n frames of a red square moving right over a dark background: two exact colours."""
    size = square_size(width)
    for i in range(n):
        rgb = np.empty((height, width, 3), np.uint8)
        rgb[:] = BACKGROUND
        x = square_x(i, width, n)
        rgb[height // 4 : height // 4 + size, x : x + size] = SQUARE
        yield rgb


def encode(
    cls: type[Encoder],
    path: Path,
    frames: Iterator[np.ndarray],
    *,
    width: int = W,
    height: int = H,
    fps: float = 12.5,
    **options: Any,
) -> Path:
    """Validate options as a spec entry would, and write frames to path."""
    with cls(cls.Options.model_validate(options)).open(path, width, height, fps) as sink:
        for rgb in frames:
            sink.write(rgb)
    return path


def square_centre(rgb: np.ndarray) -> float:
    """The mean column of the reddest pixels: where the square is."""
    red = (rgb[..., 0].astype(int) - rgb[..., 2]) > 100
    return float(np.nonzero(red)[1].mean())


def assert_square_frame(rgb: np.ndarray, i: int, n: int, tolerance: int) -> None:
    """The square's inside and the background far from it have their colours, within tolerance."""
    height, width = rgb.shape[:2]
    size = square_size(width)
    x, y = square_x(i, width, n), height // 4
    edge = max(size // 8, 3)  # lossy codecs ring next to the square's edges
    inside = rgb[y + edge : y + size - edge, x + edge : x + size - edge].reshape(-1, 3)
    below = rgb[y + size + edge :].reshape(-1, 3)
    assert np.abs(inside.astype(int) - SQUARE).max() <= tolerance, (i, inside.mean(axis=0))
    assert np.abs(below.astype(int) - BACKGROUND).max() <= tolerance, (i, below.mean(axis=0))


# --- registration ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("mp4", Mp4),
        ("webm", WebM),
        ("gif", Gif),
        ("webp", WebP),
        ("apng", Apng),
        ("png", PngFolder),
        ("html", Page),
    ],
)
def test_encoders_are_registered_through_their_entry_points(name: str, cls: type[Encoder]) -> None:
    assert load_registry().encoder(name) is cls


@pytest.mark.parametrize(
    ("ending", "name"),
    [
        (".mp4", "mp4"),
        (".MP4", "mp4"),
        (".webm", "webm"),
        (".gif", "gif"),
        (".webp", "webp"),
        (".apng", "apng"),
        (".html", "html"),
        ("", "png"),
        (".png", None),
    ],
)
def test_file_endings_choose_the_encoder(ending: str, name: str | None) -> None:
    assert load_registry().encoder_for_extension(ending) == name


@pytest.mark.parametrize(
    ("cls", "options"),
    [
        (Mp4, {"crf": 52}),
        (Mp4, {"crf": -1}),
        (Mp4, {"preset": "quick"}),
        (WebM, {"crf": 64}),
        (Gif, {"loop": -1}),
        (Gif, {"quality": 90}),  # GIF has no quality
        (WebP, {"quality": 101}),
        (Apng, {"quality": 90}),
        (PngFolder, {"compress_level": 10}),
        (PngFolder, {"loop": 0}),  # a folder does not loop
    ],
)
def test_options_out_of_range_or_foreign_are_rejected(
    cls: type[Encoder], options: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError):
        cls.Options.model_validate(options)


def test_option_fields_are_described() -> None:
    for cls in (Mp4, WebM, Gif, WebP, Apng, PngFolder):
        for name, info in cls.Options.model_fields.items():
            assert info.description, f"{cls.name}.{name}"


# --- video -------------------------------------------------------------------------------------


def decode_video(path: Path) -> tuple[list[np.ndarray], list[float], av.video.stream.VideoStream]:
    """Every frame of the file's video stream as RGB, their times in seconds, and the stream."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
        return [f.to_ndarray(format="rgb24") for f in frames], [f.time for f in frames], stream


@pytest.mark.parametrize("cls", [Mp4, WebM])
@pytest.mark.parametrize("fps", [12.5, 29.97])
def test_video_decodes_to_the_frames_at_their_times(
    cls: type[Encoder], fps: float, tmp_path: Path
) -> None:
    path = encode(cls, tmp_path / f"out.{cls.name}", moving_square(), fps=fps)

    frames, times, stream = decode_video(path)
    assert len(frames) == N
    assert (stream.codec_context.width, stream.codec_context.height) == (W, H)
    assert stream.average_rate == Fraction(fps).limit_denominator(1001)
    assert times == pytest.approx([i / fps for i in range(N)], abs=1e-3)
    for i, rgb in enumerate(frames):
        assert_square_frame(rgb, i, N, tolerance=16)
    centres = [square_centre(rgb) for rgb in frames]
    assert centres == sorted(centres) and centres[-1] - centres[0] > W / 2


def top_level_boxes(path: Path) -> list[str]:
    """The types of an MP4 file's top-level boxes, in file order."""
    data, pos, boxes = path.read_bytes(), 0, []
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos : pos + 4], "big")
        boxes.append(data[pos + 4 : pos + 8].decode("latin-1"))
        if size == 1:
            size = int.from_bytes(data[pos + 8 : pos + 16], "big")
        pos += size
    return boxes


def test_mp4_at_full_size_is_tagged_bt709_and_starts_fast(tmp_path: Path) -> None:
    n, width, height = 6, 1100, 800
    source = moving_square(n, width, height)
    path = encode(Mp4, tmp_path / "big.mp4", source, width=width, height=height, fps=20)

    frames, times, stream = decode_video(path)
    assert len(frames) == n and frames[0].shape == (height, width, 3)
    assert times == pytest.approx([i / 20 for i in range(n)], abs=1e-3)
    for i, rgb in enumerate(frames):
        assert_square_frame(rgb, i, n, tolerance=8)
    assert stream.codec_context.colorspace == av.video.reformatter.Colorspace.ITU709
    boxes = top_level_boxes(path)
    assert boxes.index("moov") < boxes.index("mdat"), boxes  # +faststart


@pytest.mark.parametrize(
    ("options", "settings"),
    [
        ({}, [b"crf=18.0", b"subme=2"]),  # the default preset: veryfast
        ({"crf": 30, "preset": "medium"}, [b"crf=30.0", b"subme=7"]),
    ],
)
def test_mp4_options_reach_x264(
    options: dict[str, Any], settings: list[bytes], tmp_path: Path
) -> None:
    # x264 writes the settings it encoded with into the stream, as text.
    data = encode(Mp4, tmp_path / "out.mp4", moving_square(3), **options).read_bytes()
    for setting in settings:
        assert setting in data


def half_noise(n: int = 4) -> Iterator[np.ndarray]:
    """n frames, random pixels above a flat half: a size that follows every quality setting."""
    rng = np.random.default_rng(0)
    for _ in range(n):
        rgb = np.empty((H, W, 3), np.uint8)
        rgb[:] = BACKGROUND
        rgb[: H // 2] = rng.integers(0, 256, (H // 2, W, 3), dtype=np.uint8)
        yield rgb


@pytest.mark.parametrize(
    ("cls", "small", "large"),
    [
        (WebM, {"crf": 60}, {"crf": 4}),
        (WebP, {"quality": 10}, {"quality": 95}),
        (WebP, {"quality": 95}, {"lossless": True}),
        (PngFolder, {"compress_level": 9}, {"compress_level": 0}),
    ],
)
def test_quality_options_reach_the_encoder(
    cls: type[Encoder], small: dict[str, Any], large: dict[str, Any], tmp_path: Path
) -> None:
    def size(name: str, options: dict[str, Any]) -> int:
        path = encode(cls, tmp_path / name, half_noise(), **options)
        files = list(path.iterdir()) if path.is_dir() else [path]
        return sum(file.stat().st_size for file in files)

    assert size(f"small.{cls.name}", small) < size(f"large.{cls.name}", large)


@pytest.mark.parametrize("cls", [Mp4, WebM])
@pytest.mark.parametrize(("width", "height"), [(63, 48), (64, 47)])
def test_video_needs_even_sizes(
    cls: type[Encoder], width: int, height: int, tmp_path: Path
) -> None:
    path = tmp_path / f"odd.{cls.name}"
    with pytest.raises(InputError, match=rf"even width and height.*{width}x{height}"):
        cls(cls.Options()).open(path, width, height, 20)
    assert not path.exists()


@pytest.mark.parametrize("cls", [Mp4, Gif, PngFolder])
def test_a_frame_of_the_wrong_size_is_a_render_error(cls: type[Encoder], tmp_path: Path) -> None:
    with cls(cls.Options()).open(tmp_path / f"out.{cls.name}", W, H, 10) as sink:
        with pytest.raises(RenderError, match=r"\(48, 64, 3\) uint8"):
            sink.write(np.zeros((H, W + 2, 3), np.uint8))
        sink.write(next(moving_square()))


# --- animated images ---------------------------------------------------------------------------


def decode_image(path: Path) -> tuple[Image.Image, list[np.ndarray], list[float], set[str]]:
    """Pillow's view of an animation: the image, every frame as RGB, durations (ms) and modes."""
    image = Image.open(path)
    frames, durations, modes = [], [], set()
    for i in range(image.n_frames):
        image.seek(i)
        image.load()
        durations.append(image.info["duration"])
        modes.add(image.mode)
        frames.append(np.asarray(image.convert("RGB")))
    return image, frames, durations, modes


@pytest.fixture
def gif_palettes_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make Pillow turn a GIF frame to RGB only if its palette differs from the first frame's."""
    strategy = GifImagePlugin.LoadingStrategy.RGB_AFTER_DIFFERENT_PALETTE_ONLY
    monkeypatch.setattr(GifImagePlugin, "LOADING_STRATEGY", strategy)


def one_palette(path: Path) -> bool:
    """Whether every frame of the GIF is drawn with the first frame's palette."""
    with Image.open(path) as image:
        first = image.getpalette()
        for i in range(image.n_frames):
            image.seek(i)
            image.load()
            if image.mode != "P" or image.getpalette() != first:
                return False
    return True


@pytest.mark.usefixtures("gif_palettes_kept")
def test_gif_frames_are_exact_share_one_palette_and_loop(tmp_path: Path) -> None:
    path = encode(Gif, tmp_path / "out.gif", moving_square())

    image, frames, durations, modes = decode_image(path)
    assert (image.format, image.n_frames, image.size) == ("GIF", N, (W, H))
    assert image.info["loop"] == 0
    assert durations == [80] * N
    for rgb, expected in zip(frames, moving_square(), strict=True):
        assert np.array_equal(rgb, expected)
    assert modes == {"P"} and one_palette(path)


@pytest.mark.usefixtures("gif_palettes_kept")
def test_the_palette_check_sees_per_frame_palettes(tmp_path: Path) -> None:
    # Pillow's own writer gives each frame of different colours its own palette.
    first, *rest = (Image.new("RGB", (W, H), (i * 40, 255 - i * 40, 7)) for i in range(4))
    path = tmp_path / "pillow.gif"
    first.save(path, save_all=True, append_images=rest, duration=100)
    assert not one_palette(path)


def test_gif_delays_round_to_centiseconds_but_the_total_stays_right(tmp_path: Path) -> None:
    path = encode(Gif, tmp_path / "out.gif", moving_square(), fps=30)

    _, _, durations, _ = decode_image(path)
    assert set(durations) == {30, 40}
    assert sum(durations) == round(N / 30 * 1000)


def test_gif_refuses_more_frames_a_second_than_browsers_play(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="at most 50 frames a second.*got fps 60"):
        Gif(Gif.Options()).open(tmp_path / "fast.gif", W, H, 60)
    _, _, durations, _ = decode_image(encode(Gif, tmp_path / "ok.gif", moving_square(), fps=50))
    assert durations == [20] * N


@pytest.mark.parametrize(("loop", "stored"), [(0, 0), (1, None), (3, 2)])
def test_gif_loop_counts_plays(loop: int, stored: int | None, tmp_path: Path) -> None:
    # GIF stores the repeats after the first play, and no loop block for a single play.
    path = encode(Gif, tmp_path / "out.gif", moving_square(3), loop=loop)
    with Image.open(path) as image:
        assert image.info.get("loop") == stored


@pytest.mark.usefixtures("gif_palettes_kept")
def test_gif_hold_frames_are_kept_and_many_colours_share_one_palette(tmp_path: Path) -> None:
    # A hold of 20 equal frames, then frames with a gradient: more than 256 colours.
    ramp = np.linspace(0, 255, W * H).reshape(H, W)
    held = [next(moving_square())] * 20
    graded = [
        np.stack([ramp, np.roll(ramp, 5 * i, axis=1), 255 - ramp], axis=-1).astype(np.uint8)
        for i in range(N)
    ]
    path = encode(Gif, tmp_path / "out.gif", iter(held + graded))

    image, frames, _, _ = decode_image(path)
    assert image.n_frames == len(held) + len(graded)
    for rgb, expected in zip(frames, held + graded, strict=True):
        error = np.abs(rgb.astype(int) - expected)
        assert error.mean() < 6 and error.max() < 48
    assert one_palette(path)


@pytest.mark.parametrize("fps", [12.5, 29.97])
def test_webp_lossy_is_close_and_times_frames(fps: float, tmp_path: Path) -> None:
    path = encode(WebP, tmp_path / "out.webp", moving_square(), fps=fps, quality=90)

    image, frames, durations, _ = decode_image(path)
    assert (image.format, image.n_frames, image.size) == ("WEBP", N, (W, H))
    assert image.info["loop"] == 0
    assert all(abs(d - 1000 / fps) <= 1 for d in durations), durations
    assert sum(durations) == pytest.approx(N * 1000 / fps, abs=1)
    for i, rgb in enumerate(frames):
        assert_square_frame(rgb, i, N, tolerance=12)


def test_webp_lossless_is_exact(tmp_path: Path) -> None:
    path = encode(WebP, tmp_path / "out.webp", moving_square(), lossless=True, loop=2)

    image, frames, durations, _ = decode_image(path)
    assert image.n_frames == N and image.info["loop"] == 2 and durations == [80] * N
    for rgb, expected in zip(frames, moving_square(), strict=True):
        assert np.array_equal(rgb, expected)


def test_apng_is_exact_and_loops(tmp_path: Path) -> None:
    path = encode(Apng, tmp_path / "out.apng", moving_square(), fps=29.97, loop=3)

    image, frames, durations, _ = decode_image(path)
    assert (image.format, image.n_frames, image.size) == ("PNG", N, (W, H))
    assert image.info["loop"] == 3
    assert durations == pytest.approx([1000 / 29.97] * N, abs=0.01)
    for rgb, expected in zip(frames, moving_square(), strict=True):
        assert np.array_equal(rgb, expected)


@pytest.mark.parametrize(("compress_level", "name"), [(0, "frames"), (1, "100%d"), (9, "a b")])
def test_png_folder_holds_exact_numbered_frames(
    compress_level: int, name: str, tmp_path: Path
) -> None:
    folder = encode(PngFolder, tmp_path / name, moving_square(), compress_level=compress_level)

    assert [p.name for p in tmp_path.iterdir()] == [name]  # '%d' in a name is no pattern
    files = sorted(folder.iterdir())
    assert [p.name for p in files] == [f"frame_{i:05d}.png" for i in range(N)]
    for file, expected in zip(files, moving_square(), strict=True):
        with Image.open(file) as image:
            assert image.format == "PNG"
            assert np.array_equal(np.asarray(image.convert("RGB")), expected)


@pytest.mark.parametrize("cls", [Gif, WebP, Apng, PngFolder])
def test_image_formats_take_odd_sizes(cls: type[Encoder], tmp_path: Path) -> None:
    path = encode(cls, tmp_path / f"odd.{cls.name}", moving_square(3, 63, 47), width=63, height=47)
    first = sorted(path.iterdir())[0] if path.is_dir() else path
    with Image.open(first) as image:
        assert image.size == (63, 47)


@pytest.mark.parametrize("cls", [Mp4, WebM, Gif, WebP, Apng, PngFolder])
def test_closing_before_any_frame_raises_nothing(cls: type[Encoder], tmp_path: Path) -> None:
    # A sink closes as the engine unwinds from a failed first frame: an error here would hide
    # the one that matters.
    cls(cls.Options()).open(tmp_path / f"empty.{cls.name}", W, H, 10).close()


# --- memory ------------------------------------------------------------------------------------


def numbered(frames: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    """The frames, each made unlike the one before by its number in its first pixel."""
    for i, rgb in enumerate(frames):
        rgb[0, 0] = (i % 256, i // 256, 0)
        yield rgb


def encode_numbered(name: str, path: str, n: int) -> None:
    """Encode n numbered 640x480 frames with the encoder called name (for peak_rss)."""
    cls = {c.__name__: c for c in (Gif, WebP, Apng, Mp4, WebM, PngFolder)}[name]
    width, height = 640, 480
    encode(cls, Path(path), numbered(moving_square(n, width, height)), width=width, height=height)


def peak_rss(cls: type[Encoder], path: Path, n: int) -> int:
    """The peak resident memory, in bytes, of a new process that encodes n frames: FFmpeg's
    buffers count (tracemalloc sees only Python's allocations)."""
    code = (
        "import resource, sys\n"
        "from tests.test_encoders import encode_numbered\n"
        "encode_numbered(sys.argv[1], sys.argv[2], int(sys.argv[3]))\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"  # KiB on Linux
    )
    result = subprocess.run(
        [sys.executable, "-c", code, cls.__name__, str(path), str(n)],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return int(result.stdout) * 1024


@pytest.mark.parametrize("cls", [Gif, WebP, Apng, Mp4, WebM, PngFolder])
def test_memory_does_not_grow_with_the_number_of_frames(cls: type[Encoder], tmp_path: Path) -> None:
    short = peak_rss(cls, tmp_path / f"short.{cls.name}", 60)
    long = peak_rss(cls, tmp_path / f"long.{cls.name}", 300)
    # A 640x480 frame is 900 KiB: keeping the 240 more frames of the long run would need
    # 211 MiB more; allocators and FFmpeg's own buffers vary by a few MiB between runs.
    assert long < short + 40 * 2**20, (short >> 20, long >> 20)


@pytest.mark.parametrize("cls", [Mp4, WebM])
def test_frames_converted_in_the_render_workers_give_the_bytes_of_rgb_frames(
    cls: type[Encoder], tmp_path: Path, write_spec: Callable[..., Path]
) -> None:
    """Video encoders convert frames in the render workers (Encoder.converter): the file is the
    one the sink writes from the RGB frames itself, and each frame's hash is its RGB's."""
    spec = write_spec(
        """
        width: 160
        height: 120
        dataset: {type: sklearn-digits, limit: 300}
        reducer: {type: tsne, n_iter: 10, early_exaggeration_iter: 10}
        panels: [{type: scatter, point_size: 3}, {type: progress-bar}]
        layout: {column: [progress-bar, scatter], sizes: [1, 5]}
        timeline: {hold_end: 0.2}
        """
    )
    out = tmp_path / f"workers{cls.extensions[0]}"
    prepared = engine.prepare(load_plan(spec, default_registry(), out), cache="off")
    encoder = cls(cls.Options())
    assert encoder.converter() is not None
    with Local(LocalOptions(workers=2)) as executor:
        engine.render(prepared, executor=executor)
    hashes = manifest.read(out)["frames"]["sha256"]
    rgb_file = tmp_path / f"rgb{cls.extensions[0]}"
    spec_ = prepared.plan.spec
    with encoder.open(rgb_file, spec_.width, spec_.height, spec_.timeline.fps) as sink:
        for frame in range(prepared.frames):
            rgb = engine.still(prepared, frame)
            sink.write(rgb)
            assert hashes[frame] == pictures.digest(rgb)
    assert len(hashes) == prepared.frames > 10
    assert out.read_bytes() == rgb_file.read_bytes()


@pytest.mark.parametrize("shape", [(7,), (6, 5), (4, 3, 2)])
def test_a_converted_frame_travels_with_its_digest(shape: tuple[int, ...]) -> None:
    frame = np.arange(np.prod(shape), dtype=np.uint8).reshape(shape)
    digest = pictures.digest(np.zeros((2, 2, 3), np.uint8))
    back, digest_back = pictures.unpack(pictures.pack(frame, digest))
    np.testing.assert_array_equal(back, frame)
    assert back.shape == shape and digest_back == digest
