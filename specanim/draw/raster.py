"""Drawing many coloured points into an RGBA image with numpy, and images into PNG data URLs.

Each point is an antialiased disc. A point's coverage of the pixels around it comes from a
precomputed table indexed by where inside its pixel the point lies (1/8 pixel steps), so the
per-point work is a table look-up and ``np.add.at``. With many points it is cheaper to spread
each point over its 2x2 nearest pixels and convolve the image once with the disc.

Compositing does not depend on draw order. ``over`` gives a pixel that points cover with
fractions c_i the alpha ``1 - prod(1 - opacity * c_i)``: summing each point's optical depth
``-log(1 - opacity * c_i)`` gives exactly that alpha in any order. The colour is the mean of the
colours there, weighted by depth. (With many points, depth is estimated from the summed
coverage after the convolution: exact for a lone point and for points stacked exactly.)
"""

from __future__ import annotations

import base64
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

PHASES = 8  # sub-pixel positions per axis that a point snaps to
SUBSAMPLES = 16  # samples per pixel and axis when measuring a disc's coverage
CHUNK = 1 << 16  # points drawn at once: keeps the temporaries in cache
# A process that draws more frames than this loads the compiled loops (use_compiled_loops).
LOOPS_FOR = 8
OPAQUE = 1 - 1e-4  # the most a point may hide: keeps its optical depth finite


def disc_coverage(centres: np.ndarray, radius: float, size: int) -> np.ndarray:
    """How much of each pixel of a size x size grid a disc covers, for every pair of centres.

    centres: (m,) positions in pixels from the grid's top left corner; returns (m, m, size, size)
    where [iy, ix] is the disc centred at (centres[ix], centres[iy]). Each grid sums to the disc's
    area.
    """
    samples = (np.arange(size)[:, None] + (np.arange(SUBSAMPLES) + 0.5) / SUBSAMPLES).ravel()
    d2 = (samples[None, :] - centres[:, None]) ** 2  # (m, size * SUBSAMPLES)
    inside = d2[:, None, :, None] + d2[None, :, None, :] <= radius * radius  # iy, ix, y, x
    m = len(centres)
    cover = inside.reshape(m, m, size, SUBSAMPLES, size, SUBSAMPLES).mean(axis=(3, 5))
    # Sampling miscounts a small disc's area; scale to the exact area so small points keep
    # their weight.
    total = cover.sum(axis=(2, 3), keepdims=True)
    area = np.pi * radius * radius
    return np.minimum(np.where(total > 0, cover * (area / np.maximum(total, 1e-12)), 0.0), 1.0)


@dataclass(frozen=True)
class Footprint:
    """How one point spreads over pixels: per-phase weights of a k x k block, then a kernel.

    A point at pixel position p covers the block whose top-left pixel is floor(p - offset).
    """

    size: int  # k
    offset: float
    weights: np.ndarray  # (PHASES * PHASES, k * k), row = phase_y * PHASES + phase_x
    kernel: np.ndarray | None  # (j, j), convolved with the whole image afterwards

    @staticmethod
    def disc(diameter: float) -> Footprint:
        """Exact antialiased discs: one table look-up per point."""
        r = diameter / 2
        size = int(np.ceil(2 * r + 1))
        centres = (np.arange(PHASES) + 0.5) / PHASES + r
        weights = disc_coverage(centres, r, size).reshape(PHASES * PHASES, size * size)
        return Footprint(size, r, weights.astype(np.float32), None)

    @staticmethod
    def bilinear_disc(diameter: float) -> Footprint:
        """Points split over their 2x2 nearest pixels, then the image convolved with a disc."""
        f = (np.arange(PHASES) + 0.5) / PHASES
        w1 = np.stack([1 - f, f], axis=1)  # (PHASES, 2)
        weights = np.einsum("ya,xb->yxab", w1, w1).reshape(PHASES * PHASES, 4)
        r = diameter / 2
        size = 2 * int(np.ceil(max(r - 0.5, 0))) + 1
        kernel = disc_coverage(np.array([size / 2]), r, size)[0, 0]
        return Footprint(2, 0.5, weights.astype(np.float32), kernel.astype(np.float32))

    @property
    def reach(self) -> int:
        """How many pixels beyond the block's corner a point can colour."""
        return self.size + (0 if self.kernel is None else len(self.kernel) // 2)


class PointRasterizer:
    """Draws the same points, frame after frame, as antialiased discs.

    With one opacity for all points, overlaps composite exactly as ``over`` would; with an
    opacity per point, a pixel's optical depth is each point's depth times the share of the
    pixel it covers (exact where points cover whole pixels, slightly darker at disc edges).
    """

    def __init__(
        self, colors: np.ndarray | Sequence[int], diameter: float, opacity: float | np.ndarray
    ) -> None:
        """colors: (n, 3) uint8 RGB, one per point, or one (3,) colour for all; diameter in
        pixels; opacity in (0, 1], one for all or (n,) one per point."""
        rgb = np.asarray(colors, np.float64).reshape(-1, 3) / 255.0
        self.paint = read_only(np.ascontiguousarray(rgb.T, np.float32))  # (3, n) or (3, 1)
        alpha = np.asarray(opacity, np.float64)
        disc = Footprint.disc(diameter)
        self.strength: np.ndarray | None = None  # per point: optical depth of a whole covering
        if alpha.ndim == 0:
            self.opacity: float | None = min(float(alpha), OPAQUE)
            # The exact footprint adds up optical depth; the spread one coverage, converted later.
            depth = -np.log1p(-self.opacity * disc.weights)
            self.exact = Footprint(disc.size, disc.offset, depth.astype(np.float32), None)
        else:
            self.opacity = None
            depths = -np.log1p(-np.clip(alpha, 0, OPAQUE))
            self.strength = read_only(depths.astype(np.float32).ravel())
            self.exact = disc
        self.spread = Footprint.bilinear_disc(diameter)

    def footprint(self, n: int, width: int, height: int) -> Footprint:
        """The cheaper footprint for n points on a width x height image."""
        assert self.spread.kernel is not None
        # The weight 6: one point-tap costs about as much as six pixel-taps of the convolution.
        exact = 6 * n * self.exact.weights.shape[1]
        spread = 6 * n * 4 + width * height * np.count_nonzero(self.spread.kernel)
        return self.exact if exact <= spread else self.spread

    def draw(self, xy: np.ndarray, width: int, height: int) -> np.ndarray:
        """A (height, width, 4) uint8 RGBA image (straight alpha) of the points at xy.

        xy: (n, 2) pixel positions of the points, in the order of ``colors``: x to the right,
        y down, (0, 0) the top left corner of the image; points off the image are left out.
        """
        fp = self.footprint(len(xy), width, height)
        planes, pad = self.accumulate(fp, xy, width, height)
        rgba = compose(planes, None if fp is self.exact else self.opacity, _compiled_paint)
        return np.ascontiguousarray(rgba[pad : pad + height, pad : pad + width])

    def accumulate(
        self, fp: Footprint, xy: np.ndarray, width: int, height: int
    ) -> tuple[np.ndarray, int]:
        """Per pixel of the image padded by ``pad`` on every side, the sum of the footprint's
        weights and of weight x red, green, blue: (4, height + 2 pad, width + 2 pad); and pad."""
        pad = fp.reach + 1
        wp, hp = width + 2 * pad, height + 2 * pad
        taps = (np.arange(fp.size)[:, None] * wp + np.arange(fp.size)[None, :]).ravel()
        sums = np.zeros((4, hp + fp.size + 1, wp), np.float32)
        flat = sums.reshape(4, -1)
        shift = np.float32(pad - fp.offset)
        by_loops = _compiled_paint
        if by_loops:
            from specanim.draw import compiled as loops

            strength = NO_STRENGTH if self.strength is None else self.strength
            points = np.ascontiguousarray(xy, np.float32)
            # Many points: a pixel's four sums side by side while adding, one cache line a
            # point's tap rather than four (much quicker at many points), added in after.
            many = len(xy) * fp.size * fp.size > flat.shape[1]
            target = np.zeros((flat.shape[1], 4), np.float32) if many else flat.T
            loops.splat(
                points, fp.weights, fp.size, shift, PHASES, self.paint, strength,
                sums.shape[1], target, CHUNK,
            )  # fmt: skip
            if many:
                flat += target.T
        for start in range(0, 0 if by_loops else len(xy), CHUNK):
            chunk = slice(start, start + CHUNK)
            x, y = xy[chunk, 0] + shift, xy[chunk, 1] + shift
            inside = (x >= 0) & (y >= 0) & (x < wp - fp.size + 1) & (y < hp - fp.size + 1)
            if not inside.all():  # off the image (or not finite): to the rows past it
                x, y = np.where(inside, x, 0), np.where(inside, y, hp)
            bx, by = np.floor(x), np.floor(y)
            phase_x = ((x - bx) * PHASES).astype(np.intp)
            phase = ((y - by) * PHASES).astype(np.intp) * PHASES + phase_x
            first = by.astype(np.intp) * wp + bx.astype(np.intp)
            weights = fp.weights.T[:, phase]  # (taps, m)
            if self.strength is not None:
                weights *= self.strength[chunk]
            paint = self.paint if self.paint.shape[1] == 1 else self.paint[:, chunk]
            for tap, weight in zip(taps, weights, strict=True):
                index = first + tap
                np.add.at(flat[0], index, weight)
                for plane, color in zip(flat[1:], paint, strict=True):
                    np.add.at(plane, index, weight * color)
        image = sums[:, :hp]
        if fp.kernel is None:
            return image, pad
        spread = loops.correlate(sums, fp.kernel, hp) if by_loops else correlate(image, fp.kernel)
        return spread, pad - len(fp.kernel) // 2


def draw_polylines(
    paths: np.ndarray | Sequence[np.ndarray],
    colors: np.ndarray | Sequence[int],
    width: float,
    opacity: float | np.ndarray | Sequence[np.ndarray],
    size: tuple[int, int],
) -> np.ndarray:
    """A (height, width, 4) uint8 RGBA image (straight alpha, row 0 at the top) of n polylines
    with round joins, antialiased.

    paths: pixel positions along each line (x from the left, y down): an (n, k, 2) array of n
    lines of k points each, or a list of n (k_i, 2) arrays of any lengths (rings of different
    sizes); a line of fewer than 2 points draws nothing. colors: (n, 3) per line or one (3,)
    colour, numbers 0..255 (any dtype). width: the stroke's width in pixels. opacity: 0..1, one
    for all, (n,) per line, or per segment: (n, k - 1) (or broadcast to it: (1, k - 1)) for an
    array of paths, a list of n (k_i - 1,) arrays for a list (a trail that fades). size: (width,
    height) of the image. Segments are drawn as discs every half pixel along them, each
    carrying its share of the stroke's opacity, so a stroke's opacity does not depend on its
    length or direction.
    """
    box_w, box_h = size
    if isinstance(paths, np.ndarray):  # n lines of k points: no copy of each line
        n, k = paths.shape[:2]
        points = paths.reshape(-1, 2).astype(np.float32, copy=False)
        lengths = np.full(n, k, np.intp)
    else:
        lines = [np.asarray(p, np.float32).reshape(-1, 2) for p in paths]
        n = len(lines)
        points = np.concatenate(lines) if lines else np.zeros((0, 2), np.float32)
        lengths = np.array([len(p) for p in lines], np.intp)
    segments_of = np.maximum(lengths - 1, 0)  # per line
    # A segment starts at every point but the last of its line.
    starts = np.ones(len(points), bool)
    starts[np.cumsum(lengths)[lengths > 0] - 1] = False
    start_at = np.flatnonzero(starts)
    if len(start_at) == 0:
        return np.zeros((box_h, box_w, 4), np.uint8)
    line = np.repeat(np.arange(n), segments_of)  # the line of each segment
    start = points[start_at]
    step = points[start_at + 1] - start
    length = np.hypot(step[:, 0], step[:, 1])
    ok = np.isfinite(length)
    spacing = 0.5
    count = np.where(ok, np.ceil(np.where(ok, length, 0) / spacing).astype(np.intp), 0) + ok
    segment = np.repeat(np.arange(len(start)), count)
    first = np.cumsum(count) - count
    t = (np.arange(len(segment)) - first[segment]) / np.maximum(count[segment], 1)
    xy = start[segment] + step[segment] * t[:, None].astype(np.float32)
    alpha = _per_segment(opacity, n, segments_of, line)
    # Depth per disc: the stroke's over the discs that cover a point of it (width / spacing).
    depth = -np.log1p(-np.clip(alpha, 0, OPAQUE)) * min(spacing / max(width, spacing), 1.0)
    per_disc = -np.expm1(-depth[segment])
    rgb = np.asarray(colors, np.float64).reshape(-1, 3)
    paint = rgb if len(rgb) == 1 else rgb[line][segment]
    return PointRasterizer(paint, max(width, 0.5), per_disc).draw(xy, box_w, box_h)


def _per_segment(
    opacity: float | np.ndarray | Sequence[np.ndarray],
    n: int,
    segments_of: np.ndarray,
    line: np.ndarray,
) -> np.ndarray:
    """draw_polylines' opacity as one float64 per segment, in the order of the lines."""
    if isinstance(opacity, (list, tuple)) and any(np.ndim(a) for a in opacity):
        # Per segment of lines of any lengths: (k_i - 1,) for line i.
        given = [np.asarray(a, np.float64).ravel() for a in opacity]
        if [len(a) for a in given] != segments_of.tolist():
            raise ValueError(
                f"opacity per segment: arrays of {[len(a) for a in given]} values for lines "
                f"of {segments_of.tolist()} segments"
            )
        return np.concatenate(given)
    alpha = np.asarray(opacity, np.float64)
    if alpha.ndim < 2:  # one for all, or one per line
        return np.broadcast_to(alpha, (n,))[line]
    return np.broadcast_to(alpha, (n, int(segments_of.max()))).ravel()


def over(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """Two (h, w, 4) uint8 RGBA images with straight alpha, top composited over bottom."""
    a = top[..., 3:].astype(np.float32) / 255
    b = bottom[..., 3:].astype(np.float32) / 255
    alpha = a + b * (1 - a)
    colour = top[..., :3] * a + bottom[..., :3] * (b * (1 - a))
    out = np.empty_like(top)
    np.divide(colour, alpha, out=colour, where=alpha > 0)
    out[..., :3] = np.minimum(colour + 0.5, 255)
    out[..., 3:] = np.minimum(alpha * 255 + 0.5, 255)
    return out


_compiled_paint = False


def read_only(array: np.ndarray) -> np.ndarray:
    """array, marked read-only. numba compiles a loop apart for read-only arguments, and a
    render worker receives a large array as a read-only mapped file: the loops' inputs are
    read-only everywhere, so that every process uses the loops use_compiled_loops loaded."""
    array.flags.writeable = False
    return array


NO_STRENGTH = read_only(np.zeros(0, np.float32))  # no strength per point


def use_compiled_loops() -> None:
    """Paint layers and draw points with the compiled loops (compiled.py) from now on in this
    process: the same bytes, several times faster, for numba's import and loading paid once:
    worth it in a render worker as it warms up (the pool's server) or a
    process that draws many frames, not for one frame (``still``, preparing)."""
    global _compiled_paint

    _compiled_paint = True
    # Loading a loop from numba's cache takes a moment at its first call, and compiling it
    # (after an install or an upgrade) much longer: both now, in the worker server, for
    # every kind of argument frames pass, not in each worker's first frame.
    canvas = np.zeros((3, 3, 3), np.uint8)
    for layer, x in ((np.zeros((2, 2, 4), np.uint8), 0), (np.zeros((3, 3, 4), np.uint8), -1)):
        paint(canvas, layer, x, x)  # a layer inside the frame, one cut off by its edge
    paint(canvas, np.zeros((3, 3, 4), np.uint8), 0, 0)  # one covering the whole frame
    # Few points take exact discs, many the spread and the correlation; opacity for all
    # points or per point.
    points = np.linspace(0, 8, 400, dtype=np.float32).reshape(200, 2)
    for opacity in (0.8, np.full(200, 0.8)):
        PointRasterizer(np.zeros((200, 3), np.uint8), 2.5, opacity).draw(points, 64, 64)
        PointRasterizer(np.zeros((200, 3), np.uint8), 2.5, opacity).draw(points, 8, 8)


def paint(canvas: np.ndarray, rgba: np.ndarray, x: int, y: int) -> None:
    """Composite an (h, w, 4) uint8 RGBA image (straight alpha) over an opaque (H, W, 3) uint8
    canvas in place, its top left corner at (x, y); what falls outside is left out. An
    (h, w, 3) RGB image is opaque: it replaces what it covers."""
    h, w = rgba.shape[:2]
    top, left = max(y, 0), max(x, 0)
    bottom, right = min(y + h, canvas.shape[0]), min(x + w, canvas.shape[1])
    if bottom <= top or right <= left:
        return
    src = rgba[top - y : bottom - y, left - x : right - x]
    dst = canvas[top:bottom, left:right]
    if src.shape[2] == 3:
        dst[...] = src
        return
    if _compiled_paint:
        from specanim.draw import compiled

        compiled.blend(dst, read_only(src))  # a view: the layer itself stays as it was
        return
    alpha = src[..., 3:].astype(np.uint16)
    if not alpha.any():
        return
    # (s a + d (255 - a)) / 255 rounded, in integers: x + 128 + (x + 128) / 256, over 256, is
    # exact for every x below 65536.
    mixed = src[..., :3] * alpha + dst * (np.uint16(255) - alpha) + np.uint16(128)
    dst[...] = np.right_shift(mixed + np.right_shift(mixed, 8), 8)


def correlate(planes: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """planes (c, h, w) correlated with a (j, j) kernel, keeping only the fully covered part:
    (c, h - j + 1, w - j + 1). Shifted in-place sums: quicker than scipy.ndimage here."""
    j = len(kernel)
    c, h, w = planes.shape[0], planes.shape[1] - j + 1, planes.shape[2] - j + 1
    out = np.zeros((c, h, w), planes.dtype)
    term = np.empty_like(out)
    for (dy, dx), weight in np.ndenumerate(kernel):
        if weight:
            np.multiply(planes[:, dy : dy + h, dx : dx + w], weight, out=term)
            out += term
    return out


def use_compiled_loops_for(frames: int) -> None:
    """Load the compiled loops in a process that is about to draw this many frames, if they
    earn their loading there."""
    if frames > LOOPS_FOR and not _compiled_paint:
        use_compiled_loops()


def compose(
    planes: np.ndarray, coverage_opacity: float | None = None, by_loops: bool = False
) -> np.ndarray:
    """RGBA uint8 from optical depth and depth-weighted colour (see the module docstring).

    planes: (4, h, w); only pixels with some depth are computed. With coverage_opacity, the
    first plane is summed coverage of points of that opacity instead of depth. by_loops: the
    colours by the compiled loop (the same bytes).
    """
    h, w = planes.shape[1:]
    flat = planes.reshape(4, -1)
    rgba = np.zeros((h * w, 4), np.uint8)
    if by_loops:
        from specanim.draw import compiled as loops

        lit = loops.lit_colours(flat, rgba)
        weight = flat[0, lit]
    else:
        lit = np.flatnonzero(flat[0])
        weight = flat[0, lit]
        scale = np.float32(255) / weight
        for ch in range(3):
            rgba[lit, ch] = np.minimum(flat[ch + 1, lit] * scale + 0.5, 255)
    depth = weight if coverage_opacity is None else coverage_depth(weight, coverage_opacity)
    rgba[lit, 3] = np.minimum(-np.expm1(-depth) * 255 + 0.5, 255)
    return rgba.reshape(h, w, 4)


def coverage_depth(coverage: np.ndarray, opacity: float) -> np.ndarray:
    """Optical depth from summed coverage: exact up to one point's worth of coverage (a lone
    point), and for whole points stacked beyond it."""
    single = -np.log1p(-opacity * np.minimum(coverage, 1))
    depth: np.ndarray = np.where(coverage <= 1, single, -np.log1p(-opacity) * coverage)
    return depth


def png_data_url(image: np.ndarray) -> str:
    """A (h, w, 4) RGBA or (h, w, 3) RGB uint8 image as a ``data:image/png;base64,`` URL."""
    return "data:image/png;base64," + base64.b64encode(encode_png(image)).decode("ascii")


def encode_png(image: np.ndarray) -> bytes:
    """A PNG of a uint8 RGBA or RGB image, written for speed rather than size.

    Rows are not filtered and zlib runs at level 1 with run-length matching: several times
    faster than Pillow's PNG writer, whose adaptive filtering dominates, and small enough that
    vl-convert reads it quickly (stored, uncompressed data costs more there than it saves).
    """
    h, w, channels = image.shape
    rows = np.zeros((h, w * channels + 1), np.uint8)  # a 0 before each row: filter "none"
    rows[:, 1:] = image.reshape(h, -1)
    packer = zlib.compressobj(1, zlib.DEFLATED, 15, 9, zlib.Z_RLE)
    data = packer.compress(rows.tobytes()) + packer.flush()
    color_type = {3: 2, 4: 6}[channels]
    header = struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", data)
        + _chunk(b"IEND", b"")
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
