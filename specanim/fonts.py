"""vl-convert, drawing text only with the fonts it carries, whatever fonts the host has.

vl-convert 1.9 builds one font database per process, at its first use: the host's fonts first
(fontdb's ``load_system_fonts``: on Linux the folders a fontconfig file lists, the file
``FONTCONFIG_FILE`` names when that is set), then its own copy of Liberation Sans. Where the
host has a face of the family asked for, that face draws the text, so installing a font package
changed the pixels of every frame. specanim therefore starts the database itself, with
``FONTCONFIG_FILE`` naming its own file (``fontconfig/fonts.conf``), which lists one folder
holding no font: no host font is loaded, and the variable is restored at once. Every conversion
of the process then draws with vl-convert's own Liberation Sans, which its version (part of
every fingerprint and manifest) decides.

This holds where fontdb reads fontconfig files (Linux and the other Unixes but macOS), and in a
process where nothing used vl-convert before specanim (render workers always are such).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from types import ModuleType

FAMILY = "Liberation Sans"  # the family vl-convert carries (regular, bold, italic, bold italic)
# The names under which text is drawn: the family, the generic family vl-convert maps onto it,
# and its faces' PostScript names (vl-convert matches those too). Others draw no text at all.
DRAWN = frozenset(
    {FAMILY, "sans-serif", *(f"LiberationSans{s}" for s in ("", "-Bold", "-Italic", "-BoldItalic"))}
)
_VARIABLE = "FONTCONFIG_FILE"
# It lists its own folder, which holds no font: fontdb loads the <dir> folders only, and a file
# listing none would make it fall back to the host's font folders.
_CONFIG = Path(__file__).with_name("fontconfig") / "fonts.conf"
_lock = threading.Lock()
_started = False


def vl_convert() -> ModuleType:
    """The ``vl_convert`` module, its font database started without the host's fonts.

    The database is started once per process, by the first call, so this must run before
    anything else in the process uses vl-convert (a render worker always starts it so).
    """
    import vl_convert as vlc  # imported late: worker processes import it themselves

    global _started
    with _lock:
        if not _started:
            _start(vlc)
            _started = True
    return vlc


def _start(vlc: ModuleType) -> None:
    """Make vl-convert build its font database now, from specanim's font folder alone."""
    before = os.environ.get(_VARIABLE)
    os.environ[_VARIABLE] = str(_CONFIG)
    try:
        # Any call builds the database; this one loads nothing more (no font in the folder).
        vlc.register_font_directory(str(_CONFIG.parent))
    except ValueError:
        pass  # raised only while a conversion holds the database: it was built before this
    finally:
        if before is None:
            del os.environ[_VARIABLE]
        else:
            os.environ[_VARIABLE] = before


def drawn(font: str) -> bool:
    """Whether text in font, a font-family list as CSS writes it ("Liberation Sans, sans-serif"),
    is drawn: one of its names is a name of vl-convert's own font (``DRAWN``; case matters)."""
    return any(name.strip().strip("'\"") in DRAWN for name in font.split(","))


def not_drawn(font: str) -> str:
    """The one-line message for a font that no text would be drawn with."""
    return (
        f"'{font}' draws no text: specanim draws text only with vl-convert's own "
        f"{FAMILY} (never the host's fonts, so that frames are the same on every machine); "
        f"use '{FAMILY}'"
    )
