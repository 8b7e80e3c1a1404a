"""vl-convert, drawing text only with the fonts it carries, whatever fonts the host has.

vl-convert 1.9 builds one font database per process, at its first use: the host's fonts first
(fontdb's ``load_system_fonts``: on Linux the folders a fontconfig file lists, the file
``FONTCONFIG_FILE`` names when that is set), then its own copy of Liberation Sans. Where the
host has a face of the family asked for, that face draws the text, so installing a font package
changed the pixels of every frame. specanim therefore starts the database itself, with
``FONTCONFIG_FILE`` naming a file that lists one empty folder: no host font is loaded, and the
variable is restored at once. Every conversion of the process then draws with vl-convert's own
Liberation Sans, which its version (part of every fingerprint and manifest) decides.
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path
from types import ModuleType
from xml.sax.saxutils import escape

FAMILY = "Liberation Sans"  # the family vl-convert carries (regular, bold, italic, bold italic)
_VARIABLE = "FONTCONFIG_FILE"
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
    """Make vl-convert build its font database now, from an empty folder alone."""
    with tempfile.TemporaryDirectory(prefix="specanim-fonts-") as folder:
        config = Path(folder, "fonts.conf")
        # fontdb reads the folders of the <dir> elements only; with none it would fall back to
        # the host's font folders, so the (empty) folder itself is listed.
        config.write_text(
            f'<?xml version="1.0"?>\n<fontconfig><dir>{escape(folder)}</dir></fontconfig>\n',
            encoding="utf-8",
        )
        before = os.environ.get(_VARIABLE)
        os.environ[_VARIABLE] = str(config)
        try:
            # Any call builds the database; this one loads nothing more (no font in folder).
            vlc.register_font_directory(folder)
        finally:
            if before is None:
                del os.environ[_VARIABLE]
            else:
                os.environ[_VARIABLE] = before
